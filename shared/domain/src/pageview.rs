//! Page views: the pages a visitor opened on the tenant's site (`POST /v1/widget/pageviews`), kept as the
//! customer's page trail so an agent sees what the customer was looking at. Only the latest
//! [`TRAIL_LEN`] are kept: the trail is context for the conversation at hand, not analytics.

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::text::bounded_text;

/// How many page views a customer's trail keeps (the newest).
pub const TRAIL_LEN: usize = 50;
/// The longest URL kept (longer ones are refused: browsers and proxies commonly stop near here too).
pub const URL_MAX_CHARS: usize = 2048;
/// The longest page title kept (longer titles are cut, not refused: the page chose it, not the visitor).
pub const TITLE_MAX_CHARS: usize = 200;

/// A page the visitor opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pageview {
    /// The page's address: absolute `http` or `https`, without its `#fragment`.
    pub url: String,
    /// The page's title, if the widget sent one.
    pub title: Option<String>,
}

impl Pageview {
    /// Checks a page view: `url` must be an absolute http(s) address of at most 2048 characters without spaces
    /// or control characters (its fragment is dropped: it names a place on the page, often a client-side token);
    /// `title` is trimmed, its control characters made spaces, and cut to 200 characters.
    pub fn parse(url: &str, title: Option<&str>) -> Result<Self, ValidationError> {
        let u = url.trim();
        let u = u.split_once('#').map_or(u, |(before, _)| before);
        let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &u[8..]
        } else if lower.starts_with("http://") {
            &u[7..]
        } else {
            return Err(ValidationError::new("url", "must be an http or https address"));
        };
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        if host.is_empty() {
            return Err(ValidationError::new("url", "must name a host"));
        }
        let u = bounded_text(u, "url", 1, URL_MAX_CHARS, false)?;
        if u.chars().any(char::is_whitespace) {
            return Err(ValidationError::new("url", "must not contain spaces"));
        }
        let title = title
            .map(|t| t.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>())
            .map(|t| t.trim().chars().take(TITLE_MAX_CHARS).collect::<String>().trim_end().to_owned())
            .filter(|t| !t.is_empty());
        Ok(Self { url: u, title })
    }
}

/// Adds `view` to a trail held newest last, keeping the newest [`TRAIL_LEN`].
pub fn push_to_trail(trail: &mut Vec<Pageview>, view: Pageview) {
    trail.push(view);
    if trail.len() > TRAIL_LEN {
        let extra = trail.len() - TRAIL_LEN;
        trail.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn urls_are_absolute_web_addresses_without_fragments() {
        let p = Pageview::parse(" https://shop.example/p/42?c=red#reviews ", Some("  耳机\t详情 ")).unwrap();
        assert_eq!(p.url, "https://shop.example/p/42?c=red");
        assert_eq!(p.title.as_deref(), Some("耳机 详情"));
        assert!(Pageview::parse("HTTP://Shop.example", None).is_ok());
        assert_eq!(Pageview::parse("http://x.example", Some("  ")).unwrap().title, None);
        for bad in [
            "",
            "javascript:alert(1)",
            "ftp://x.example",
            "/relative",
            "https://",
            "https:///path",
            "https://a b.example",
        ] {
            assert_eq!(Pageview::parse(bad, None).unwrap_err().field, "url", "{bad:?}");
        }
        let long = format!("https://x.example/{}", "a".repeat(URL_MAX_CHARS));
        assert!(Pageview::parse(&long, None).is_err());
        let t = Pageview::parse("https://x.example", Some(&"题".repeat(300))).unwrap().title.unwrap();
        assert_eq!(t.chars().count(), TITLE_MAX_CHARS);
    }

    proptest! {
        #[test]
        fn the_trail_keeps_the_newest_fifty(n in 0usize..120) {
            let mut trail = Vec::new();
            for i in 0..n {
                push_to_trail(&mut trail, Pageview::parse(&format!("https://x.example/{i}"), None).unwrap());
            }
            prop_assert_eq!(trail.len(), n.min(TRAIL_LEN));
            if n > 0 {
                prop_assert_eq!(&trail.last().unwrap().url, &format!("https://x.example/{}", n - 1));
                prop_assert_eq!(&trail[0].url, &format!("https://x.example/{}", n - trail.len()));
            }
        }

        #[test]
        fn any_input_is_refused_or_a_clean_http_url(s in "\\PC{0,40}", t in "\\PC{0,40}") {
            if let Ok(p) = Pageview::parse(&s, Some(&t)) {
                let lower = p.url.to_ascii_lowercase();
                prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"));
                prop_assert!(!p.url.contains('#') && !p.url.chars().any(char::is_whitespace));
                prop_assert!(p.title.iter().all(|t| !t.chars().any(char::is_control)));
            }
        }
    }
}
