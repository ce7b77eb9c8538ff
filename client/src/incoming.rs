//! The server's bytes, as lines to show at a terminal.
//!
//! A read can end anywhere in a line, so the start of a line waits for its
//! end. The first line, `You are NAME`, says which messages are your own, for
//! their colour. Every line comes out through `render`, escaped.

use crate::render;

/// The last line shown, when the server closes the connection.
pub const SERVER_CLOSED: &str = "(the server closed the connection)";

/// Lines being assembled from what the server sends.
pub struct Incoming {
    /// The start of a line whose `\n` has not arrived yet.
    partial: Vec<u8>,
    /// The name the server gave us, once greeted.
    me: Option<String>,
    color: bool,
}

impl Incoming {
    pub fn new(color: bool) -> Self {
        Incoming {
            partial: Vec::new(),
            me: None,
            color,
        }
    }

    /// The lines that `bytes` completes, ready to show.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut shown = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let line = if self.partial.is_empty() {
                &rest[..end]
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                &self.partial[..]
            };
            if self.me.is_none() {
                if let Some(name) = line.strip_prefix(b"You are ") {
                    self.me = Some(String::from_utf8_lossy(name).into_owned());
                }
            }
            shown.push(render::show(line, self.me.as_deref(), self.color));
            self.partial.clear();
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        shown
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere_come_out_whole_and_escaped() {
        let mut incoming = Incoming::new(false);
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
        let mut incoming = Incoming::new(true);
        let shown = incoming.feed(b"You are 1.2.3.4:5\n1.2.3.4:5: mine\n");
        assert_eq!(shown[1], "\x1b[32m1.2.3.4:5: mine\x1b[0m");
    }
}
