//! What the keyboard sends, as keys.
//!
//! A terminal in raw mode sends bytes: UTF-8 for text, one control byte for
//! Ctrl-letter, and an escape sequence for an arrow or Home (`ESC [ A`,
//! `ESC O H`, `ESC [ 1 ~`, with variants by terminal). A sequence or a
//! character can be split between two reads, so what is incomplete is kept
//! for the next. Keys the editor has no use for come out as `Other`, whole,
//! so that their bytes never turn into typed text.

/// One key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character to insert.
    Char(char),
    /// Return (or Ctrl-J).
    Enter,
    /// Backspace (DEL or Ctrl-H).
    Backspace,
    /// The Delete key.
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    /// Ctrl with a letter, lowercase: `Ctrl('d')`.
    Ctrl(char),
    /// Anything else: Tab, function keys, Alt-something.
    Other,
}

/// The longest escape sequence kept waiting for its end; past that the
/// bytes are not a key any terminal sends, and are dropped.
const MAX_SEQUENCE: usize = 32;

/// Turns the bytes of successive reads into keys.
#[derive(Default)]
pub struct Decoder {
    /// The start of a key whose end has not arrived yet.
    pending: Vec<u8>,
}

impl Decoder {
    /// Appends to `keys` every key that `bytes` completes.
    pub fn feed(&mut self, bytes: &[u8], keys: &mut Vec<Key>) {
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        while at < self.pending.len() {
            match decode(&self.pending[at..]) {
                Some((key, used)) => {
                    keys.push(key);
                    at += used;
                }
                None if self.pending.len() - at > MAX_SEQUENCE => {
                    keys.push(Key::Other);
                    at = self.pending.len();
                }
                None => break,
            }
        }
        self.pending.drain(..at);
    }
}

/// The first key of `bytes` and how many bytes it takes, or `None` when
/// `bytes` is only its beginning.
fn decode(bytes: &[u8]) -> Option<(Key, usize)> {
    let first = *bytes.first()?;
    let key = match first {
        b'\r' | b'\n' => Key::Enter,
        0x7f | 0x08 => Key::Backspace,
        0x1b => return escape(bytes),
        0x01..=0x1a => Key::Ctrl(char::from(first - 1 + b'a')),
        0x00..=0x1f => Key::Other,
        0x20..=0x7e => Key::Char(char::from(first)),
        _ => return utf8(bytes),
    };
    Some((key, 1))
}

/// An escape sequence: `ESC [ params final` (CSI), `ESC O final` (SS3), or
/// ESC and a key (Alt-key, ignored).
fn escape(bytes: &[u8]) -> Option<(Key, usize)> {
    match *bytes.get(1)? {
        b'[' => {
            // Parameter and intermediate bytes, then one final byte.
            let end = bytes[2..].iter().position(|b| (0x40..=0x7e).contains(b))? + 2;
            let params = &bytes[2..end];
            let key = match (bytes[end], params) {
                (b'A', _) => Key::Up,
                (b'B', _) => Key::Down,
                (b'C', _) => Key::Right,
                (b'D', _) => Key::Left,
                (b'H', _) => Key::Home,
                (b'F', _) => Key::End,
                (b'~', p) => match p.split(|&b| b == b';').next() {
                    Some(b"1" | b"7") => Key::Home,
                    Some(b"4" | b"8") => Key::End,
                    Some(b"3") => Key::Delete,
                    _ => Key::Other,
                },
                _ => Key::Other,
            };
            Some((key, end + 1))
        }
        b'O' => {
            let key = match *bytes.get(2)? {
                b'A' => Key::Up,
                b'B' => Key::Down,
                b'C' => Key::Right,
                b'D' => Key::Left,
                b'H' => Key::Home,
                b'F' => Key::End,
                _ => Key::Other,
            };
            Some((key, 3))
        }
        // Alt with a key: take the key whole, so none of it is typed.
        _ => decode(&bytes[1..]).map(|(_, used)| (Key::Other, used + 1)),
    }
}

/// One UTF-8 character; a byte that cannot start or continue one is a key
/// of its own, ignored.
fn utf8(bytes: &[u8]) -> Option<(Key, usize)> {
    let len = match bytes[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Some((Key::Other, 1)),
    };
    if bytes.len() < len {
        // Wait for the rest, unless what came already cannot be UTF-8.
        return match std::str::from_utf8(bytes) {
            Err(error) if error.error_len().is_some() => Some((Key::Other, 1)),
            _ => None,
        };
    }
    match std::str::from_utf8(&bytes[..len]) {
        // A C1 control (U+0080 to U+009F) typed or pasted would drive the
        // terminal when the line is drawn: not text.
        Ok(text) => text.chars().next().map(|c| {
            let key = if c.is_control() {
                Key::Other
            } else {
                Key::Char(c)
            };
            (key, len)
        }),
        Err(_) => Some((Key::Other, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(reads: &[&[u8]]) -> Vec<Key> {
        let mut decoder = Decoder::default();
        let mut keys = Vec::new();
        for read in reads {
            decoder.feed(read, &mut keys);
        }
        keys
    }

    #[test]
    fn text_controls_and_sequences() {
        assert_eq!(
            keys(&["a\u{e9}\u{1f600}\r\x04\x7f".as_bytes()]),
            [
                Key::Char('a'),
                Key::Char('\u{e9}'),
                Key::Char('\u{1f600}'),
                Key::Enter,
                Key::Ctrl('d'),
                Key::Backspace,
            ]
        );
        assert_eq!(
            keys(&[b"\x1b[D\x1bOH\x1b[3~\x1b[1;5C\x1b[4~\x1b[15~"]),
            [
                Key::Left,
                Key::Home,
                Key::Delete,
                Key::Right,
                Key::End,
                Key::Other,
            ]
        );
    }

    #[test]
    fn a_key_split_between_reads_waits_for_its_end() {
        assert_eq!(keys(&[b"\x1b", b"[", b"A"]), [Key::Up]);
        assert_eq!(keys(&[b"\xc3", b"\xa9"]), [Key::Char('\u{e9}')]);
        assert_eq!(keys(&[b"\x1b"]), []);
    }

    #[test]
    fn nothing_unknown_becomes_text() {
        // Alt-x, a stray continuation byte, a bad lead byte, a C1 control
        // (CSI, U+009B) and a sequence that never ends.
        assert_eq!(
            keys(&[b"\x1bx\x80\xc3(\xc2\x9b", b"\x1b[", &[b'1'; 40]]),
            [
                Key::Other,
                Key::Other,
                Key::Other,
                Key::Char('('),
                Key::Other,
                Key::Other
            ]
        );
    }
}
