//! Backups of the embedded store: `kefu backup` (a consistent copy, also of a running `kefu serve`) and
//! `kefu restore` (put a copy back into a stopped data directory).
//!
//! A running server holds `kefu.redb` locked, so `kefu backup --target URL` asks it for the copy:
//! `POST /operator/backup` with the operator's bootstrap token (`X-Bootstrap-Token`), which writes a snapshot of
//! one read transaction (`EmbeddedStore::backup_to`: every write before it, none after) and answers the file.
//! Without `--target` the store is opened directly (the server must be stopped). The route exists only on
//! `kefu serve` with the embedded store and a bootstrap token; it is not part of the public API.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kefu_embedded::EmbeddedStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The header carrying the operator's token.
pub const TOKEN_HEADER: &str = "x-bootstrap-token";

#[derive(Clone)]
struct BackupState {
    store: Arc<EmbeddedStore>,
    token: String,
    dir: PathBuf,
}

/// Writes a snapshot of `store` into `dir` and answers its bytes, removing the file afterwards.
async fn snapshot(store: Arc<EmbeddedStore>, dir: &Path) -> Result<Vec<u8>, BoxError> {
    tokio::fs::create_dir_all(dir).await?;
    let path = dir.join(format!("kefu-{}.redb", ulid::Ulid::new()));
    let p = path.clone();
    let copied = tokio::task::spawn_blocking(move || store.backup_to(&p)).await?;
    let bytes = match copied {
        Ok(_) => tokio::fs::read(&path).await,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e.into());
        }
    };
    let _ = tokio::fs::remove_file(&path).await;
    Ok(bytes?)
}

async fn handle(State(s): State<BackupState>, headers: HeaderMap) -> Response {
    let given = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let ok: bool =
        given.len() == s.token.len() && given.bytes().zip(s.token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match snapshot(s.store.clone(), &s.dir).await {
        Ok(bytes) => {
            tracing::info!(bytes = bytes.len(), "backup taken");
            ([(header::CONTENT_TYPE, "application/octet-stream")], Body::from(bytes)).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "backup failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The operator's backup route of a running server over `store`, guarded by `token`; snapshots are staged in
/// `data_dir/backups`.
pub fn routes<S>(store: Arc<EmbeddedStore>, token: String, data_dir: &Path) -> Router<S> {
    let state = BackupState { store, token, dir: data_dir.join("backups") };
    Router::new().route("/operator/backup", post(handle)).with_state(state)
}

/// `kefu backup --out FILE [--target URL]`: a running server's copy (its bootstrap token from
/// `KEFU_BOOTSTRAP_TOKEN`), or, without a target, a copy of the stopped store under `data_dir`. Answers the
/// copy's size in bytes.
pub async fn backup(data_dir: &Path, out: &Path, target: Option<&str>, token: Option<&str>) -> Result<u64, BoxError> {
    if out.exists() {
        return Err(format!("{} exists already", out.display()).into());
    }
    let bytes = match target {
        Some(url) => {
            let token = token.ok_or("KEFU_BOOTSTRAP_TOKEN is needed to ask a running server for a backup")?;
            let r = reqwest::Client::new()
                .post(format!("{}/operator/backup", url.trim_end_matches('/')))
                .header(TOKEN_HEADER, token)
                .send()
                .await?;
            if !r.status().is_success() {
                return Err(format!("the server refused the backup: {}", r.status()).into());
            }
            r.bytes().await?.to_vec()
        }
        None => {
            let store = EmbeddedStore::open(&data_dir.join("kefu.redb"), Arc::new(kefu_ports::SystemClock))?;
            snapshot(store, &data_dir.join("backups")).await?
        }
    };
    let tmp = out.with_extension("partial");
    tokio::fs::write(&tmp, &bytes).await?;
    tokio::fs::rename(&tmp, out).await?;
    Ok(bytes.len() as u64)
}

/// `kefu restore --from FILE`: checks that the copy opens as a store, then puts it in place of `data_dir`'s
/// `kefu.redb` (the server must be stopped; the file it replaces is kept as `kefu.redb.before-restore-{ulid}`).
pub async fn restore(data_dir: &Path, from: &Path) -> Result<PathBuf, BoxError> {
    let staged = data_dir.join(format!("kefu.redb.restoring-{}", ulid::Ulid::new()));
    tokio::fs::create_dir_all(data_dir).await?;
    tokio::fs::copy(from, &staged).await?;
    {
        let store = EmbeddedStore::open(&staged, Arc::new(kefu_ports::SystemClock))
            .map_err(|e| format!("{} is not a kefu store: {e}", from.display()))?;
        store.table();
    }
    let live = data_dir.join("kefu.redb");
    let mut kept = PathBuf::new();
    if live.exists() {
        kept = data_dir.join(format!("kefu.redb.before-restore-{}", ulid::Ulid::new()));
        tokio::fs::rename(&live, &kept).await?;
    }
    tokio::fs::rename(&staged, &live).await?;
    Ok(kept)
}
