//! The page, compiled into the binary, and the answer that serves it.
//!
//! The page shows every line as text, so a peer's markup is never markup.
//! The answer's Content-Security-Policy makes that a rule of the browser's
//! too: only the page's own inline script and style run (named by their
//! hashes, so an injected `<script>` or `onerror=` would not), nothing is
//! loaded from anywhere, and the page connects only to its own server.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::http::Response;

/// The page: one file of HTML, CSS and JavaScript, with one inline
/// `<style>` and one inline `<script>`.
const PAGE: &str = include_str!("page.html");

/// The answer to `GET /`.
pub fn response(head_only: bool) -> Response {
    Response {
        status: "200 OK",
        headers: vec![
            format!("Content-Security-Policy: {}", policy()),
            "Cache-Control: no-cache".to_string(),
            "Referrer-Policy: no-referrer".to_string(),
            "X-Frame-Options: DENY".to_string(),
        ],
        content_type: "text/html; charset=utf-8",
        body: PAGE.as_bytes().to_vec(),
        head_only,
    }
}

/// The page's Content-Security-Policy, computed once.
fn policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
             img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            hash(inline("script")),
            hash(inline("style")),
        )
    })
}

/// The text of the page's one `<tag>` element, as the browser hashes it.
fn inline(tag: &str) -> &'static str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    PAGE.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map_or("", |(text, _)| text)
}

/// A CSP source naming `text` by its SHA-256.
fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("sha256-{}", data_encoding::BASE64.encode(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_one_inline_script_and_one_inline_style_and_nothing_else_runs() {
        for tag in ["script", "style"] {
            assert_eq!(PAGE.matches(&format!("<{tag}")).count(), 1, "one <{tag}>");
            assert!(!inline(tag).trim().is_empty(), "<{tag}> has content");
        }
        // Handlers in attributes would need 'unsafe-inline' (or hashes of
        // their own): the page adds its listeners from its script.
        let lower = PAGE.to_ascii_lowercase();
        for attribute in [
            " onclick=",
            " onload=",
            " oninput=",
            " onsubmit=",
            " style=",
        ] {
            assert!(!lower.contains(attribute), "{attribute} in the page");
        }
        for outside in ["src=\"http", "href=\"http", "@import", "url("] {
            assert!(!lower.contains(outside), "{outside} in the page");
        }
    }

    #[test]
    fn the_policy_names_the_page_by_hash() {
        let policy = policy();
        assert!(policy.starts_with("default-src 'none'; script-src 'sha256-"));
        assert!(!policy.contains("unsafe"));
    }
}
