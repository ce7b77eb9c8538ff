//! The line you are typing, and what each key does to it.
//!
//! The keys are readline's (Emacs mode), so that fingers trained on a shell
//! work here: in particular Ctrl-D deletes the character under the cursor
//! and ends input only on an empty line, so that what you typed is never
//! thrown away by a key meant to edit it. No terminal here: the screen draws
//! what this holds, which keeps the editing testable on its own.

use crate::keys::Key;
use crate::unicode;

/// How many sent lines up and down browse; the oldest go first.
const HISTORY: usize = 1000;

/// What a key asks of the session.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do, or nothing visible.
    None,
    /// The line or the cursor changed: draw it again.
    Redraw,
    /// Clear the screen and draw the line at the top (Ctrl-L).
    ClearScreen,
    /// Send this line; the editor is empty again.
    Send(String),
    /// Ctrl-D on an empty line: the user is done typing.
    EndOfInput,
    /// Ctrl-C: quit now.
    Interrupt,
}

/// The line being edited, the cursor, and the history of sent lines.
#[derive(Default)]
pub struct Editor {
    line: String,
    /// A byte offset in `line`, always on a grapheme boundary.
    cursor: usize,
    history: Vec<String>,
    /// The history entry shown, when browsing with up and down.
    browsing: Option<usize>,
    /// The line being typed before browsing started, restored at the bottom.
    draft: String,
    /// After Ctrl-D: no more editing.
    closed: bool,
}

impl Editor {
    /// The text typed so far.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Where the cursor is, as a byte offset in [`Editor::line`].
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Applies one key.
    pub fn key(&mut self, key: Key) -> Action {
        match key {
            Key::Ctrl('c') => return Action::Interrupt,
            Key::Ctrl('l') => return Action::ClearScreen,
            _ if self.closed => return Action::None,
            Key::Char(c) => {
                self.line.insert(self.cursor, c);
                self.cursor += c.len_utf8();
            }
            Key::Enter => return self.send(),
            Key::Ctrl('d') if self.line.is_empty() => {
                self.closed = true;
                return Action::EndOfInput;
            }
            // At the end of the line there is nothing to delete.
            Key::Ctrl('d') | Key::Delete if self.cursor == self.line.len() => return Action::None,
            Key::Ctrl('d') | Key::Delete => {
                let end = self.next_boundary();
                self.line.replace_range(self.cursor..end, "");
            }
            Key::Backspace | Key::Ctrl('h') => {
                let start = self.previous_boundary();
                self.line.replace_range(start..self.cursor, "");
                self.cursor = start;
            }
            Key::Left | Key::Ctrl('b') => self.cursor = self.previous_boundary(),
            Key::Right | Key::Ctrl('f') => self.cursor = self.next_boundary(),
            Key::Home | Key::Ctrl('a') => self.cursor = 0,
            Key::End | Key::Ctrl('e') => self.cursor = self.line.len(),
            Key::Up | Key::Ctrl('p') => self.browse_back(),
            Key::Down | Key::Ctrl('n') => self.browse_forward(),
            Key::Ctrl('u') => {
                self.line.replace_range(..self.cursor, "");
                self.cursor = 0;
            }
            Key::Ctrl('k') => self.line.truncate(self.cursor),
            Key::Ctrl('w') => {
                // readline's unix-word-rubout: back over spaces, then over
                // the word before them.
                let before = self.line[..self.cursor].trim_end_matches(' ');
                let start = before.rfind(' ').map_or(0, |space| space + 1);
                self.line.replace_range(start..self.cursor, "");
                self.cursor = start;
            }
            _ => return Action::None,
        }
        Action::Redraw
    }

    /// Hands over the line, keeping it in the history.
    fn send(&mut self) -> Action {
        let line = std::mem::take(&mut self.line);
        self.cursor = 0;
        self.browsing = None;
        self.draft.clear();
        if !line.is_empty() && self.history.last() != Some(&line) {
            if self.history.len() == HISTORY {
                self.history.remove(0);
            }
            self.history.push(line.clone());
        }
        Action::Send(line)
    }

    fn browse_back(&mut self) {
        let entry = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = std::mem::take(&mut self.line);
                self.history.len() - 1
            }
            Some(0) => return,
            Some(entry) => entry - 1,
        };
        self.show(entry);
    }

    fn browse_forward(&mut self) {
        match self.browsing {
            None => {}
            Some(entry) if entry + 1 < self.history.len() => self.show(entry + 1),
            Some(_) => {
                self.browsing = None;
                self.line = std::mem::take(&mut self.draft);
                self.cursor = self.line.len();
            }
        }
    }

    fn show(&mut self, entry: usize) {
        self.browsing = Some(entry);
        self.line.clone_from(&self.history[entry]);
        self.cursor = self.line.len();
    }

    /// The start of the grapheme before the cursor.
    fn previous_boundary(&self) -> usize {
        unicode::previous_boundary(&self.line, self.cursor)
    }

    /// The end of the grapheme under the cursor.
    fn next_boundary(&self) -> usize {
        unicode::next_boundary(&self.line, self.cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(editor: &mut Editor, text: &str) {
        for c in text.chars() {
            editor.key(Key::Char(c));
        }
    }

    #[test]
    fn ctrl_d_deletes_on_a_line_and_ends_input_only_on_an_empty_one() {
        let mut editor = Editor::default();
        typed(&mut editor, "unsent text");
        // At the end of the line there is nothing to delete.
        assert_eq!(editor.key(Key::Ctrl('d')), Action::None);
        assert_eq!(editor.line(), "unsent text");
        for _ in 0..3 {
            editor.key(Key::Left);
        }
        editor.key(Key::Ctrl('d'));
        assert_eq!((editor.line(), editor.cursor()), ("unsent txt", 8));
        assert_eq!(editor.key(Key::Enter), Action::Send("unsent txt".into()));
        assert_eq!(editor.key(Key::Ctrl('d')), Action::EndOfInput);
        // Once input is closed only Ctrl-C and Ctrl-L do anything.
        assert_eq!(editor.key(Key::Char('x')), Action::None);
        assert_eq!(editor.key(Key::Enter), Action::None);
        assert_eq!(editor.key(Key::Ctrl('c')), Action::Interrupt);
    }

    #[test]
    fn editing_moves_by_whole_characters() {
        let mut editor = Editor::default();
        // "e" with a combining acute accent is one character on screen.
        typed(&mut editor, "cafe\u{301} ok");
        editor.key(Key::Home);
        editor.key(Key::Right);
        editor.key(Key::Ctrl('f'));
        editor.key(Key::Right);
        editor.key(Key::Right);
        editor.key(Key::Backspace);
        assert_eq!(editor.line(), "caf ok");
        editor.key(Key::Ctrl('e'));
        editor.key(Key::Ctrl('w'));
        assert_eq!(editor.line(), "caf ");
        editor.key(Key::Ctrl('a'));
        editor.key(Key::Ctrl('k'));
        assert_eq!((editor.line(), editor.cursor()), ("", 0));
    }

    #[test]
    fn up_and_down_browse_sent_lines_and_come_back_to_the_draft() {
        let mut editor = Editor::default();
        for line in ["one", "two", "two", ""] {
            typed(&mut editor, line);
            editor.key(Key::Enter);
        }
        typed(&mut editor, "dra");
        editor.key(Key::Up);
        assert_eq!(editor.line(), "two");
        editor.key(Key::Up);
        editor.key(Key::Up);
        assert_eq!(editor.line(), "one");
        editor.key(Key::Down);
        assert_eq!(editor.line(), "two");
        editor.key(Key::Down);
        assert_eq!((editor.line(), editor.cursor()), ("dra", 3));
        editor.key(Key::Up);
        assert_eq!(editor.key(Key::Enter), Action::Send("two".into()));
    }
}
