//! The web assets `kefu serve` serves beside the API: the console at `/` (a single-page app: a path that is not
//! a file falls back to `index.html`) and the widget at `/widget/` (`/widget/kefu.js`, loaded by tenants'
//! pages, and the chunks it imports), from the built directory (`web/dist`).
//!
//! Headers, so browsers and CDNs cache what is safe to cache and the widget works from any site:
//! - `index.html` (and every SPA fallback): `Cache-Control: no-cache`, so a deploy shows at once;
//! - `/widget/kefu.js` (a stable URL pasted into tenants' pages): `public, max-age=300`;
//! - fingerprinted files (a content hash in the name, under `assets/` or `widget/`): one year, `immutable`;
//! - everything under `/widget/`: `Access-Control-Allow-Origin: *` and `Cross-Origin-Resource-Policy:
//!   cross-origin` (the chat UI is loaded with `import()` from the tenant's page, which needs CORS);
//! - the console's pages: `X-Frame-Options: DENY` (no framing by other sites); every file: `nosniff`.
//!
//! Precompressed `.br` and `.gz` siblings are served when the browser accepts them. The API itself is not
//! touched: every `/v1/…` request goes to the API router unchanged.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// `Cache-Control` of `index.html` and other files that must be revalidated.
pub const NO_CACHE: &str = "no-cache";
/// `Cache-Control` of the widget's loader (`/widget/kefu.js`): its URL never changes, so it is cached briefly.
pub const LOADER_CACHE: &str = "public, max-age=300";
/// `Cache-Control` of fingerprinted files: their URL changes with their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The build's directory from the compile-time location of the workspace (`web/dist`), for `cargo run`.
pub const COMPILED_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/dist");

/// Whether `dir` holds a web build (the console's `index.html` or the widget's `widget/kefu.js`).
pub fn has_build(dir: &Path) -> bool {
    dir.join("index.html").is_file() || dir.join("widget").join("kefu.js").is_file()
}

/// Where the web build is, without relying on the working directory: `KEFU_WEB_DIR` when set (given as
/// `explicit`), else a `web` directory next to the executable, else the workspace's `web/dist` (where
/// `npm run build` in `web/` puts it). `None` when none of them holds a build.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return has_build(dir).then(|| dir.to_path_buf());
    }
    let beside_exe = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("web")));
    beside_exe.into_iter().chain([PathBuf::from(COMPILED_WEB_DIR)]).find(|d| has_build(d)).map(|d| {
        // `local/../web/dist` reads better without the `..`.
        std::fs::canonicalize(&d).unwrap_or(d)
    })
}

/// Whether a path belongs to the API (and so never to the web build).
pub fn is_api(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// The whole site: the API for `/v1/…` (handed the request untouched), the web build (or, without one, a page
/// saying how to build it) for everything else.
pub fn with_site(api: Router, web_dir: Option<&Path>) -> Router {
    let console = web_dir.map(|dir| {
        ServeDir::new(dir)
            .precompressed_br()
            .precompressed_gzip()
            .fallback(ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip())
    });
    // Each request clones only the service it goes to (the console's holds paths: a clone allocates).
    let dispatch = tower::service_fn(move |req: Request| {
        let api = is_api(req.uri().path()).then(|| api.clone());
        let console = if api.is_none() { console.clone() } else { None };
        async move {
            if let Some(api) = api {
                return api.oneshot(req).await;
            }
            match console {
                Some(console) => console.oneshot(req).await.map(IntoResponse::into_response),
                None => Ok(not_built(req).await),
            }
        }
    });
    let mut site = Router::new();
    if let Some(dir) = web_dir {
        site = site
            .nest_service("/widget", ServeDir::new(dir.join("widget")).precompressed_br().precompressed_gzip())
            .nest_service("/assets", ServeDir::new(dir.join("assets")).precompressed_br().precompressed_gzip());
    }
    site.fallback_service(dispatch).layer(middleware::from_fn(headers))
}

/// Sets the caching, CORS and framing headers by path (see the module's documentation).
async fn headers(req: Request, next: Next) -> Response {
    if is_api(req.uri().path()) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A `.br` or `.gz` sibling may answer instead: caches must key on the encoding asked for.
    h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let widget = path.starts_with("/widget/");
    if widget {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    } else {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if (res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED)
        && !res.headers().contains_key(header::CACHE_CONTROL)
    {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(&path)));
    }
    res
}

/// The `Cache-Control` of a successful answer for `path`.
pub fn cache_control(path: &str) -> &'static str {
    if path == "/widget/kefu.js" {
        return LOADER_CACHE;
    }
    let in_hashed_dir = path.starts_with("/assets/") || path.starts_with("/widget/");
    let name = path.rsplit('/').next().unwrap_or_default();
    if in_hashed_dir && is_fingerprinted(name) { IMMUTABLE } else { NO_CACHE }
}

/// Whether a file name carries a content hash, as bundlers write them: `index-B6d2Fa9x.js`,
/// `chat.3f9a1c2e.js` — a last name segment (after `-` or `.`, before the extension) of 8 to 64 letters,
/// digits, `_` or `-`, with a digit or both cases (so `settings-panel.js` is not taken for one).
pub fn is_fingerprinted(name: &str) -> bool {
    let Some((stem, _ext)) = name.rsplit_once('.') else { return false };
    let stem = stem.strip_suffix(".min").unwrap_or(stem);
    let Some(seg) = stem.rsplit(['-', '.']).next().filter(|s| s.len() < stem.len()) else { return false };
    (8..=64).contains(&seg.len())
        && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && (seg.bytes().any(|b| b.is_ascii_digit())
            || (seg.bytes().any(|b| b.is_ascii_uppercase()) && seg.bytes().any(|b| b.is_ascii_lowercase())))
}

/// What `/` and the widget's paths answer when no web build was found.
async fn not_built(req: Request) -> Response {
    if req.uri().path().starts_with("/widget/") {
        return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, NO_CACHE)], "the widget is not built: see GET /")
            .into_response();
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, NO_CACHE)], Html(NOT_BUILT_PAGE)).into_response()
}

/// The page that says how to build the console.
pub const NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kefu: the console is not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code,pre{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}pre{padding:1rem}</style>
</head><body>
<h1>Kefu is running, but the console is not built</h1>
<p>The API answers under <a href="/v1/health"><code>/v1/</code></a>. To get the console at <code>/</code> and the
widget at <code>/widget/kefu.js</code>, build the web assets once and restart <code>kefu serve</code>:</p>
<pre>cd web
npm ci
npm run build</pre>
<p><code>kefu serve</code> looks for the build in <code>KEFU_WEB_DIR</code> when it is set, else in a
<code>web</code> directory next to the <code>kefu</code> executable, else in the workspace's <code>web/dist</code>.</p>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_told_from_plain_names() {
        for hashed in
            ["index-B6d2Fa9x.js", "chat.3f9a1c2e.js", "ui-Dq_x7Zk1.css", "logo-12345678.svg", "x-AbCdEfGh.min.js"]
        {
            assert!(is_fingerprinted(hashed), "{hashed}");
        }
        for plain in
            ["kefu.js", "index.js", "settings-panel.js", "component.js", "index-abc.js", "favicon.ico", "README"]
        {
            assert!(!is_fingerprinted(plain), "{plain}");
        }
    }

    #[test]
    fn cache_rules_by_path() {
        assert_eq!(cache_control("/widget/kefu.js"), LOADER_CACHE);
        assert_eq!(cache_control("/widget/chat-B6d2Fa9x.js"), IMMUTABLE);
        assert_eq!(cache_control("/assets/index-B6d2Fa9x.js"), IMMUTABLE);
        assert_eq!(cache_control("/index.html"), NO_CACHE);
        assert_eq!(cache_control("/"), NO_CACHE);
        assert_eq!(cache_control("/inbox/cv_123"), NO_CACHE);
        assert_eq!(
            cache_control("/favicon-B6d2Fa9x.ico"),
            NO_CACHE,
            "hashed names count only under assets/ and widget/"
        );
    }
}
