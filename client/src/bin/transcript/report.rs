//! What `transcript` prints: one verdict line per script (its failure's
//! detail indented under it), then the one summary line, coloured on a
//! terminal unless `NO_COLOR` or `--color never` says otherwise.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::args::Color;
use crate::judge::{Kind, Verdict};

/// The verdicts so far, and how to show them.
pub struct Report {
    colour: bool,
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Report {
    /// A report on standard output, coloured as `color` says: `auto` is
    /// colour on a terminal, unless `NO_COLOR` is set (no-color.org).
    pub fn new(color: Color) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let colour = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        Report {
            colour,
            passed: 0,
            failed: 0,
            skipped: 0,
        }
    }

    /// Prints a script's verdict, and counts it.
    pub fn verdict(&mut self, script: &Path, verdict: &Verdict) {
        let (word, colour) = match verdict.kind {
            Kind::Pass => {
                self.passed += 1;
                ("PASS", "32")
            }
            Kind::Fail => {
                self.failed += 1;
                ("FAIL", "31")
            }
            Kind::Skip => {
                self.skipped += 1;
                ("SKIP", "33")
            }
        };
        let word = if self.colour {
            format!("\x1b[1;{colour}m{word}\x1b[0m")
        } else {
            word.to_string()
        };
        let mut out = format!("{word} {}{}\n", script.display(), verdict.note);
        for line in verdict.detail.lines() {
            out.push_str("  ");
            out.push_str(&self.diff_colour(line));
            out.push('\n');
        }
        // A closed pipe (`| head`) ends the report, not with a panic.
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }

    /// A diff's line in its colour: removed red, added green.
    fn diff_colour(&self, line: &str) -> String {
        let colour = match line.as_bytes().first() {
            _ if !self.colour || line.starts_with("---") || line.starts_with("+++") => None,
            Some(b'-') => Some("31"),
            Some(b'+') => Some("32"),
            Some(b'@') => Some("36"),
            _ => None,
        };
        match colour {
            Some(colour) => format!("\x1b[{colour}m{line}\x1b[0m"),
            None => line.to_string(),
        }
    }

    /// Prints the summary line; whether nothing failed.
    pub fn summary(&self) -> bool {
        let _ = writeln!(
            std::io::stdout(),
            "{} passed, {} failed, {} skipped",
            self.passed,
            self.failed,
            self.skipped
        );
        self.failed == 0
    }
}
