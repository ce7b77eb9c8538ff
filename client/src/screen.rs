//! The terminal while `client` edits a line on it: raw mode, the prompt
//! line at the bottom, and lines printed above it.
//!
//! One owner writes to the terminal, so nothing can land in the middle of
//! the prompt line: printing a line clears the prompt line, writes the line,
//! and draws the prompt line again below it. The prompt line wraps like any
//! text; the screen remembers on which of its rows the cursor is, to find
//! its first row again. The terminal's own settings come back on every way
//! out, even a panic: see [`RawMode`].

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::sync::Mutex;

use rustix::termios::{self, InputModes, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

use crate::editor::Editor;
use crate::unicode;

/// The terminal's settings before raw mode, for whoever restores them
/// first: the session, or the panic hook.
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// Raw mode on standard input for as long as this lives: keys come one by
/// one, unechoed, Ctrl-C and Ctrl-D as bytes. Output processing stays on,
/// so a `\n` still returns the carriage.
pub struct RawMode(());

impl RawMode {
    pub fn enable() -> io::Result<Self> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(&stdin)?;
        let mut raw = saved.clone();
        raw.local_modes -=
            LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG | LocalModes::IEXTEN;
        raw.input_modes -=
            InputModes::IXON | InputModes::ICRNL | InputModes::INLCR | InputModes::IGNCR;
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        if let Ok(mut slot) = SAVED.lock() {
            *slot = Some(saved);
        }
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous_hook(info);
        }));
        termios::tcsetattr(&stdin, OptionalActions::Flush, &raw)?;
        Ok(RawMode(()))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the saved settings back, once.
fn restore() {
    let saved = SAVED.lock().ok().and_then(|mut slot| slot.take());
    if let Some(saved) = saved {
        let _ = termios::tcsetattr(io::stdin(), OptionalActions::Drain, &saved);
    }
}

/// A position on the prompt line: row from its first row, and column.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Spot {
    row: usize,
    col: usize,
}

/// The prompt line as drawn, and where new output goes.
pub struct Screen {
    prompt: String,
    /// Where the cursor was left, relative to the prompt line's first row.
    cursor: Spot,
    /// Where the prompt line's text ends.
    end: Spot,
    /// What is still to be written, written in one go by `flush`.
    out: String,
}

impl Screen {
    pub fn new(prompt: &str) -> Self {
        Screen {
            prompt: prompt.to_string(),
            cursor: Spot::default(),
            end: Spot::default(),
            out: String::new(),
        }
    }

    /// Changes the prompt, from the next [`Screen::draw`] on.
    pub fn set_prompt(&mut self, prompt: &str) {
        self.prompt = prompt.to_string();
    }

    /// Prints `lines` above the prompt line, then draws it again. A line
    /// wider than the terminal goes on in rows that start indented (see
    /// `wrap`).
    pub fn print_above(&mut self, lines: &[String], editor: &Editor) -> io::Result<()> {
        self.erase();
        let cols = columns();
        for line in lines {
            wrap(&mut self.out, line, cols);
            self.out.push_str("\r\n");
        }
        self.draw(editor)
    }

    /// Draws the prompt line afresh, with the cursor where the editor has it.
    pub fn draw(&mut self, editor: &Editor) -> io::Result<()> {
        self.erase();
        let cols = columns();
        self.out.push_str(&self.prompt);
        self.out.push_str(editor.line());
        let (cursor, end) = layout(&self.prompt, editor.line(), editor.cursor(), cols);
        // A line that fills its last row exactly leaves the terminal
        // waiting to wrap; make it wrap, so the cursor can stand there.
        if end.col == 0 && end.row > 0 {
            self.out.push_str("\r\n");
        }
        if end.row > cursor.row {
            let _ = write!(self.out, "\x1b[{}A", end.row - cursor.row);
        }
        self.out.push('\r');
        if cursor.col > 0 {
            let _ = write!(self.out, "\x1b[{}C", cursor.col);
        }
        self.cursor = cursor;
        self.end = end;
        self.flush()
    }

    /// Clears the whole screen; the next draw is at the top.
    pub fn clear(&mut self) {
        self.out.push_str("\x1b[H\x1b[2J");
        self.cursor = Spot::default();
        self.end = Spot::default();
    }

    /// Leaves the screen for good: the prompt line stays if it holds text,
    /// so nothing typed vanishes, and the cursor goes below it.
    pub fn finish(&mut self, editor: &Editor) -> io::Result<()> {
        if editor.line().is_empty() {
            self.erase();
        } else {
            if self.end.row > self.cursor.row {
                let _ = write!(self.out, "\x1b[{}B", self.end.row - self.cursor.row);
            }
            self.out
                .push_str(if self.end.col > 0 { "\r\n" } else { "\r" });
        }
        self.cursor = Spot::default();
        self.end = Spot::default();
        self.flush()
    }

    /// Takes the prompt line off the screen, leaving the cursor at the start
    /// of its first row.
    fn erase(&mut self) {
        self.out.push('\r');
        if self.cursor.row > 0 {
            let _ = write!(self.out, "\x1b[{}A", self.cursor.row);
        }
        self.out.push_str("\x1b[J");
        self.cursor = Spot::default();
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(self.out.as_bytes())?;
        self.out.clear();
        stdout.flush()
    }
}

/// The terminal's width, or the traditional 80 when it does not say.
fn columns() -> usize {
    match termios::tcgetwinsize(io::stdout()) {
        Ok(size) if size.ws_col > 0 => usize::from(size.ws_col),
        _ => 80,
    }
}

/// How far a line's continuation rows are indented. No line from the server
/// starts with a space, so a row that does is always the rest of the row
/// above, never a line of its own (a peer cannot make its text pass for
/// another's by pushing it onto a row of its own).
const CONTINUATION: &str = "  ";

/// Appends `line` (shown text: escaped, perhaps with our own colour
/// sequences) to `out` in rows `cols` wide, each row after the first
/// indented.
fn wrap(out: &mut String, line: &str, cols: usize) {
    let indent = if cols > 2 * CONTINUATION.len() {
        CONTINUATION
    } else {
        ""
    };
    let mut col = 0;
    // Inside one of our own colour sequences, `ESC [ ... m`: no columns.
    // (A peer's ESC is shown as `^[`.)
    let mut styling = false;
    for (_, cluster) in unicode::clusters(line) {
        styling |= cluster == "\x1b";
        let width = if styling { 0 } else { unicode::width(cluster) };
        styling &= cluster != "m";
        if col + width > cols {
            out.push_str("\r\n");
            out.push_str(indent);
            col = indent.len();
        }
        col += width;
        out.push_str(cluster);
    }
}

/// Where the cursor (at byte `cursor` of `line`) and the end of the text
/// fall when `prompt` and `line` are written on rows `cols` wide. A
/// character too wide for what is left of a row goes to the next, as
/// terminals do.
fn layout(prompt: &str, line: &str, cursor: usize, cols: usize) -> (Spot, Spot) {
    let mut at = Spot::default();
    let mut cursor_at = None;
    let prompt_clusters = unicode::clusters(prompt).map(|(_, g)| (None, g));
    let line_clusters = unicode::clusters(line).map(|(i, g)| (Some(i), g));
    for (index, cluster) in prompt_clusters.chain(line_clusters) {
        let width = unicode::width(cluster).min(cols);
        if at.col + width > cols {
            at = Spot {
                row: at.row + 1,
                col: 0,
            };
        }
        if index == Some(cursor) {
            cursor_at = Some(at);
        }
        at.col += width;
    }
    if at.col == cols {
        at = Spot {
            row: at.row + 1,
            col: 0,
        };
    }
    (cursor_at.unwrap_or(at), at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot(row: usize, col: usize) -> Spot {
        Spot { row, col }
    }

    #[test]
    fn a_long_line_wraps_and_the_cursor_follows() {
        assert_eq!(layout("> ", "abc", 3, 10), (spot(0, 5), spot(0, 5)));
        assert_eq!(layout("> ", "abcdefghij", 1, 10), (spot(0, 3), spot(1, 2)));
        // Exactly full: the end is the start of the next row.
        assert_eq!(layout("> ", "abcdefgh", 8, 10), (spot(1, 0), spot(1, 0)));
        assert_eq!(layout("> ", "abcdefgh", 0, 10), (spot(0, 2), spot(1, 0)));
    }

    #[test]
    fn a_long_line_goes_on_in_indented_rows() {
        let rows = |line: &str, cols| {
            let mut out = String::new();
            wrap(&mut out, line, cols);
            out
        };
        assert_eq!(rows("bob: hi", 10), "bob: hi");
        assert_eq!(rows("bob: hello world", 10), "bob: hello\r\n   world");
        assert_eq!(
            rows("abcdefghijklmnopqrst", 10),
            "abcdefghij\r\n  klmnopqr\r\n  st"
        );
        // Colour takes no room.
        assert_eq!(
            rows("\x1b[32malice: hi there\x1b[0m", 10),
            "\x1b[32malice: hi \r\n  there\x1b[0m"
        );
        // A wide character is not split.
        assert_eq!(rows("abcdefghi\u{4e2d}", 10), "abcdefghi\r\n  \u{4e2d}");
    }

    #[test]
    fn a_wide_character_never_straddles_two_rows() {
        // Eight columns used, a two-column character at the ninth: it goes
        // to the next row, whole.
        assert_eq!(
            layout("> ", "abcdef\u{4e2d}x", 6, 9),
            (spot(1, 0), spot(1, 3))
        );
    }
}
