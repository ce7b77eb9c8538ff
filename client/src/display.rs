//! How to show the chat where `client` runs.
//!
//! A pipe gets the server's bytes unchanged, as netcat gives them. A
//! terminal gets the line editor, unless it says it cannot move its cursor
//! (`TERM=dumb`, as in Emacs' shell buffers): then it gets plain lines,
//! still escaped, under the terminal's own line editing. Colour is for
//! terminals that can show it, and `NO_COLOR` turns it off, as
//! <https://no-color.org> asks.

use std::ffi::OsStr;

/// When to colour the terminal display (`--color`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Color {
    Never,
    Auto,
    Always,
}

/// How the session looks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Bytes in both directions, unchanged.
    Pipe,
    /// Lines escaped and printed as they come; typing is the terminal's.
    Plain,
    /// The prompt line, with what arrives printed above it.
    Editor,
}

/// The mode for a terminal or not, given `TERM`.
pub fn mode(at_terminal: bool, term: Option<&OsStr>) -> Mode {
    match (at_terminal, term) {
        (false, _) => Mode::Pipe,
        (true, Some(term)) if term == "dumb" => Mode::Plain,
        // An unset TERM says nothing: VT100 cursor movement is the safe
        // bet, as readline and linenoise make it.
        (true, _) => Mode::Editor,
    }
}

/// Whether to colour, given `--color`, `TERM` and `NO_COLOR`. `auto`
/// colours only a terminal that names itself: `dumb` cannot show colour, and
/// without `TERM` nothing says it can.
pub fn colored(when: Color, term: Option<&OsStr>, no_color: Option<&OsStr>) -> bool {
    match when {
        Color::Never => false,
        Color::Always => true,
        Color::Auto => {
            let no_color = no_color.is_some_and(|value| !value.is_empty());
            let term_colors = term.is_some_and(|term| !term.is_empty() && term != "dumb");
            term_colors && !no_color
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(value: &str) -> Option<&OsStr> {
        Some(OsStr::new(value))
    }

    #[test]
    fn auto_colours_only_a_terminal_that_can() {
        assert!(colored(Color::Auto, os("xterm-256color"), None));
        assert!(colored(Color::Auto, os("xterm"), os("")));
        assert!(!colored(Color::Auto, os("xterm"), os("1")));
        assert!(!colored(Color::Auto, os("dumb"), None));
        assert!(!colored(Color::Auto, None, None));
        assert!(!colored(Color::Auto, os(""), None));
        assert!(colored(Color::Always, os("dumb"), os("1")));
        assert!(!colored(Color::Never, os("xterm"), None));
    }

    #[test]
    fn a_dumb_terminal_gets_plain_lines() {
        assert_eq!(mode(false, os("xterm")), Mode::Pipe);
        assert_eq!(mode(true, os("xterm")), Mode::Editor);
        assert_eq!(mode(true, None), Mode::Editor);
        assert_eq!(mode(true, os("dumb")), Mode::Plain);
    }
}
