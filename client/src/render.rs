//! What a line from the server looks like at a terminal.
//!
//! A peer's bytes must never drive the user's terminal: an escape sequence
//! could move the cursor, retitle the window or hide text. So every control
//! character is shown visibly (`^[` for ESC, `^G` for BEL, `\u{9b}` for the
//! C1 controls) and invalid UTF-8 becomes the replacement character. Lines
//! are then styled by kind, so that your own messages, others' messages and
//! notices (arrivals, leaves, errors) are told apart at a glance.

/// What kind of line the server sent, for its style.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Kind {
    /// One of your own messages, echoed.
    Own,
    /// Someone else's message.
    Other,
    /// A greeting, an arrival or a leave.
    Notice,
    /// An `error: ...` line from the server.
    Error,
}

/// The line (without its `\n`) with every control character made visible
/// and invalid UTF-8 replaced.
pub fn escape(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(c as u8 ^ 0x40));
            }
            '\u{7f}' => out.push_str("^?"),
            '\u{80}'..='\u{9f}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The kind of `line`, given the name the server gave us (`You are NAME`).
pub fn kind(line: &[u8], me: Option<&str>) -> Kind {
    if line.starts_with(b"error: ") {
        return Kind::Error;
    }
    if line.starts_with(b"You are ") {
        return Kind::Notice;
    }
    if let Some(me) = me {
        if line.starts_with(me.as_bytes()) && line[me.len()..].starts_with(b": ") {
            return Kind::Own;
        }
    }
    // `ADDR has arrived` / `ADDR has left`: an address has no space, and a
    // message has ": " right after it.
    let first_word = line.split(|&b| b == b' ').next().unwrap_or_default();
    let rest = &line[first_word.len()..];
    if !first_word.ends_with(b":") && (rest == b" has arrived" || rest == b" has left") {
        return Kind::Notice;
    }
    Kind::Other
}

/// The line as shown: escaped, and coloured when `color`.
pub fn show(line: &[u8], me: Option<&str>, color: bool) -> String {
    let text = escape(line);
    if !color {
        return text;
    }
    let style = match kind(line, me) {
        Kind::Own => "\x1b[32m",
        Kind::Other => return text,
        Kind::Notice => "\x1b[2m",
        Kind::Error => "\x1b[31m",
    };
    format!("{style}{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape(b"a\x1b[2Jb\x07\t\x7f\0"), "a^[[2Jb^G^I^?^@");
        assert_eq!(escape("x\u{9b}31m".as_bytes()), "x\\u{9b}31m");
        assert_eq!(escape(b"caf\xc3\xa9 \xff"), "caf\u{e9} \u{fffd}");
    }

    #[test]
    fn kinds() {
        let me = Some("127.0.0.1:5");
        assert_eq!(kind(b"127.0.0.1:5: hi", me), Kind::Own);
        assert_eq!(kind(b"127.0.0.1:55: hi", me), Kind::Other);
        assert_eq!(kind(b"127.0.0.1:6 has left", me), Kind::Notice);
        assert_eq!(kind(b"127.0.0.1:6: x has left", me), Kind::Other);
        assert_eq!(kind(b"You are 127.0.0.1:5", None), Kind::Notice);
        assert_eq!(kind(b"error: server full", me), Kind::Error);
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(show(b"a\x1b", None, false), "a^[");
        assert_eq!(show(b"error: x", None, true), "\x1b[31merror: x\x1b[0m");
    }
}
