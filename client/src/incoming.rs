//! The server's bytes, as lines to show at a terminal.
//!
//! A read can end anywhere in a line, so the start of a line waits for its
//! end. Your name says which messages are your own, for their colour: it
//! comes from `You are NAME`, and follows your renames (`OLD is now NEW`),
//! so that `/nick` does not make your lines look like a stranger's. With
//! `--name`, the server's question is answered here, unseen (see `naming`).
//! Every line comes out through `render`, escaped.

use crate::naming::{Naming, Step, NO_NAMES_MODE};
use crate::render::{self, Kind};

/// The last line shown, when the server closes the connection.
pub const SERVER_CLOSED: &str = "(the server closed the connection)";

/// Lines being assembled from what the server sends.
pub struct Incoming {
    /// The start of a line whose `\n` has not arrived yet.
    partial: Vec<u8>,
    /// Your name, once greeted.
    me: Option<String>,
    naming: Naming,
    /// The name to send, once the server has asked for it.
    answer: Option<String>,
    color: bool,
}

impl Incoming {
    /// Lines to show, coloured when `color`; `name` answers the server's
    /// question.
    pub fn new(color: bool, name: Option<String>) -> Self {
        Incoming {
            partial: Vec::new(),
            me: None,
            naming: Naming::new(name),
            answer: None,
            color,
        }
    }

    /// The lines that `bytes` completes, ready to show.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut shown = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.line(&rest[..end], &mut shown);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.line(&line, &mut shown);
                // Keep the allocation for the next partial line.
                line.clear();
                self.partial = line;
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        shown
    }

    /// The name the server asked for, to send it: once, after the
    /// question arrived.
    pub fn take_answer(&mut self) -> Option<String> {
        self.answer.take()
    }

    /// The last line, when the server closed without ending it.
    pub fn finish(&mut self) -> Option<String> {
        if self.partial.is_empty() {
            return None;
        }
        let line = render::show(&self.partial, self.me.as_deref(), self.color);
        self.partial.clear();
        Some(line)
    }

    /// Takes in one whole line: answers it, or shows it.
    fn line(&mut self, line: &[u8], shown: &mut Vec<String>) {
        match self.naming.step(line) {
            Step::Answer(name) => {
                self.answer = Some(name);
                return;
            }
            Step::NoNamesMode => {
                let warning = format!("client: {NO_NAMES_MODE}");
                shown.push(render::styled(&warning, Kind::Error, self.color));
            }
            Step::Pass | Step::Refused(_) | Step::Accepted => {}
        }
        self.follow_my_name(line);
        shown.push(render::show(line, self.me.as_deref(), self.color));
    }

    /// Learns your name from the greeting, and from your renames.
    fn follow_my_name(&mut self, line: &[u8]) {
        match &self.me {
            None => {
                if let Some(name) = line.strip_prefix(b"You are ") {
                    self.me = Some(String::from_utf8_lossy(name).into_owned());
                }
            }
            Some(me) => {
                if let Some((old, new)) = render::renamed(line) {
                    if old == me.as_bytes() {
                        self.me = Some(String::from_utf8_lossy(new).into_owned());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere_come_out_whole_and_escaped() {
        let mut incoming = Incoming::new(false, None);
        assert_eq!(
            incoming.feed(b"You are 1.2.3.4:5\n1.2.3.4:5: h"),
            ["You are 1.2.3.4:5"]
        );
        assert_eq!(incoming.feed(b"i\x1b\n\nlast"), ["1.2.3.4:5: hi^[", ""]);
        assert_eq!(incoming.finish().as_deref(), Some("last"));
        assert_eq!(incoming.finish(), None);
    }

    #[test]
    fn own_lines_are_told_apart_once_greeted() {
        let mut incoming = Incoming::new(true, None);
        let shown = incoming.feed(b"You are 1.2.3.4:5\n1.2.3.4:5: mine\n");
        assert_eq!(shown[1], "\x1b[32m1.2.3.4:5: mine\x1b[0m");
    }

    #[test]
    fn own_lines_stay_yours_after_a_rename() {
        let mut incoming = Incoming::new(true, None);
        incoming.feed(b"What is your name?\nYou are alice\nbob is now alice2\n");
        let shown = incoming.feed(b"alice is now alicia\nalicia: hi\nalice: hi\n");
        assert_eq!(shown[1], "\x1b[32malicia: hi\x1b[0m");
        assert_eq!(shown[2], "alice: hi", "no longer you");
        // Someone else's rename is not yours.
        let shown = incoming.feed(b"alice2 is now bob\nalicia: still me\n");
        assert_eq!(shown[1], "\x1b[32malicia: still me\x1b[0m");
    }

    #[test]
    fn the_question_is_answered_unseen_once() {
        let mut incoming = Incoming::new(false, Some("ace".into()));
        assert_eq!(incoming.feed(b"What is your n"), [] as [String; 0]);
        assert_eq!(incoming.take_answer(), None);
        assert_eq!(incoming.feed(b"ame?\n"), [] as [String; 0]);
        assert_eq!(incoming.take_answer().as_deref(), Some("ace"));
        assert_eq!(incoming.take_answer(), None);
        // Refused: the reason and the next question are the user's to see.
        assert_eq!(
            incoming.feed(b"error: ace is taken\nWhat is your name?\n"),
            ["error: ace is taken", "What is your name?"]
        );
        assert_eq!(incoming.take_answer(), None);
    }

    #[test]
    fn a_name_for_a_server_without_names_mode_is_a_warning() {
        let mut incoming = Incoming::new(false, Some("alice".into()));
        assert_eq!(
            incoming.feed(b"You are 1.2.3.4:5\n"),
            [
                "client: the server has no names mode; --name ignored",
                "You are 1.2.3.4:5"
            ]
        );
        assert_eq!(incoming.take_answer(), None);
    }
}
