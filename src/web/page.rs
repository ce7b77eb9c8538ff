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

/// The page's source: one file of HTML, CSS and JavaScript, with one
/// inline `<style>` and one inline `<script>`, written to be read.
const SOURCE: &[u8] = include_bytes!("page.html");

/// The page as served and compiled in: the source without indentation,
/// blank lines and the script's `//` comment lines, which no browser
/// needs and which would cost the binary a third of the page.
const PAGE: &str = match std::str::from_utf8(&SERVED) {
    Ok(page) => page,
    Err(_) => panic!("the page is UTF-8"),
};
const SERVED: [u8; minify::<0>(SOURCE).1] = minify(SOURCE).0;

/// `page` with each line's leading spaces dropped, and the lines left
/// empty or starting with `//` left out; and the length that takes, whose
/// bytes past `N` are not kept. Only ASCII is dropped, so UTF-8 stays so.
const fn minify<const N: usize>(page: &[u8]) -> ([u8; N], usize) {
    let mut out = [0u8; N];
    let mut len = 0;
    let mut start = 0;
    while start < page.len() {
        while start < page.len() && page[start] == b' ' {
            start += 1;
        }
        let mut end = start;
        while end < page.len() && page[end] != b'\n' {
            end += 1;
        }
        let comment = end > start + 1 && page[start] == b'/' && page[start + 1] == b'/';
        if end > start && !comment {
            // The line and its newline.
            let mut at = start;
            while at <= end && at < page.len() {
                if len < N {
                    out[len] = page[at];
                }
                len += 1;
                at += 1;
            }
        }
        start = end + 1;
    }
    (out, len)
}

/// The answer to `GET /`: the page, told the longest line the server
/// takes (`max_line` bytes), so that it refuses a longer one itself rather
/// than send it and be closed, and whether names mode is on, so that it
/// keeps a list of who is here. Both are attributes of its `<html>`,
/// outside the script and style that the policy names by their hashes.
pub fn response(head_only: bool, max_line: usize, names: bool) -> Response {
    let names = if names { " data-names" } else { "" };
    let body = PAGE.replacen(
        "<html lang=\"en\">",
        &format!("<html lang=\"en\" data-max-line=\"{max_line}\"{names}>"),
        1,
    );
    Response {
        status: "200 OK",
        headers: vec![
            format!("Content-Security-Policy: {}", policy()),
            "Cache-Control: no-cache".to_string(),
            "Referrer-Policy: no-referrer".to_string(),
            "X-Frame-Options: DENY".to_string(),
        ],
        content_type: "text/html; charset=utf-8",
        body: body.into_bytes(),
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
    fn the_page_is_served_without_indentation_or_comment_lines() {
        let (short, len) = minify::<64>(b"<p>\n  a // b\n\n  // gone\n    c\n");
        assert_eq!(&short[..len], b"<p>\na // b\nc\n");
        assert!(PAGE.len() < SOURCE.len() * 4 / 5, "{} bytes", PAGE.len());
        assert!(PAGE.contains("\nconst MAX_LINES = 5000;\n"));
    }

    #[test]
    fn the_page_is_told_the_line_limit_and_the_mode() {
        let body = |names| String::from_utf8(response(false, 200, names).body).unwrap();
        assert!(body(false).contains("<html lang=\"en\" data-max-line=\"200\">"));
        assert!(body(true).contains("<html lang=\"en\" data-max-line=\"200\" data-names>"));
    }

    #[test]
    fn the_policy_names_the_page_by_hash() {
        let policy = policy();
        assert!(policy.starts_with("default-src 'none'; script-src 'sha256-"));
        assert!(!policy.contains("unsafe"));
    }
}
