//! What a line from the server looks like at a terminal.
//!
//! A peer's bytes must never drive the user's terminal: an escape sequence
//! could move the cursor, retitle the window or hide text. So every control
//! character is shown visibly (`^[` for ESC, `^G` for BEL, `\u{9b}` for the
//! C1 controls) and invalid UTF-8 becomes the replacement character. Nor
//! may they rearrange what is shown: the bidirectional controls (which can
//! turn the rest of a line around), the zero-width characters and the
//! line and paragraph separators are shown by their numbers (`<U+202E>`),
//! and a run of spaces long enough to push text onto the next row, where
//! it would pass for a line of its own, by its length (`<70 spaces>`).
//! Lines
//! are then styled by kind, so that your own messages, others' messages,
//! actions, private lines and notices (arrivals, leaves, renames, replies,
//! errors) are told apart at a glance.
//!
//! A line's kind is read from its shape alone, and no peer can forge one:
//! everything a peer says comes prefixed by its name, `NAME: `, `* NAME `
//! or `NAME -> `, and a name (an address in book mode) has no space, and no
//! colon in names mode, so every other shape is the server's own.

/// What kind of line the server sent, for its style.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Kind {
    /// One of your own messages, echoed.
    Own,
    /// Someone else's message.
    Other,
    /// An action, `* NAME TEXT` (`/me`), yours or another's.
    Action,
    /// A private line, `FROM -> TO: TEXT` (`/msg`): you are one end.
    Private,
    /// What the server says about the chat: a greeting, an arrival, a
    /// leave, a rename, who is here, the question of your name, help.
    Notice,
    /// An `error: ...` line from the server, or a warning of the client's.
    Error,
}

/// A run of this many spaces or more is shown by its length.
const LONG_SPACES: usize = 4;

/// The line (without its `\n`) with every control character and every
/// character that rearranges text made visible, long runs of spaces
/// counted, and invalid UTF-8 replaced.
pub fn escape(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len());
    let mut spaces = 0;
    for c in text.chars().chain(['\n']) {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        match spaces {
            0 => {}
            1..LONG_SPACES => out.extend(std::iter::repeat_n(' ', spaces)),
            _ => out.push_str(&format!("<{spaces} spaces>")),
        }
        spaces = 0;
        match c {
            // The end, added above to flush the spaces.
            '\n' => {}
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(c as u8 ^ 0x40));
            }
            '\u{7f}' => out.push_str("^?"),
            '\u{80}'..='\u{9f}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Lines the server starts this way are its own notices: greetings
/// (`You are NAME`, `Also here: ...`) and the `/who` reply.
const NOTICE_PREFIXES: [&[u8]; 3] = [b"You are ", b"Also here: ", b"Here: "];

/// Whole lines that are the server's notices.
const NOTICE_LINES: [&[u8]; 2] = [b"Nobody else is here", b"What is your name?"];

/// The kind of `line`, given your name (from `You are NAME`, and your
/// renames since).
pub fn kind(line: &[u8], me: Option<&str>) -> Kind {
    if line.starts_with(b"error: ") {
        return Kind::Error;
    }
    // `/help` lines start with the command; no name starts with `/`.
    if line.starts_with(b"/")
        || NOTICE_LINES.contains(&line)
        || NOTICE_PREFIXES
            .iter()
            .any(|prefix| line.starts_with(prefix))
    {
        return Kind::Notice;
    }
    if line.starts_with(b"* ") {
        return Kind::Action;
    }
    let (first, rest) = first_word(line);
    if let Some(sender) = first.strip_suffix(b":") {
        let mine = me.is_some_and(|me| me.as_bytes() == sender);
        return if mine { Kind::Own } else { Kind::Other };
    }
    if let Some(to) = rest.strip_prefix(b" -> ") {
        let (to, text) = first_word(to);
        if to.len() > 1 && to.ends_with(b":") && text.starts_with(b" ") {
            return Kind::Private;
        }
    }
    if rest == b" has arrived" || rest == b" has left" || renamed(line).is_some() {
        return Kind::Notice;
    }
    Kind::Other
}

/// The old and new names of a rename, `OLD is now NEW`, or `None` for any
/// other line.
pub fn renamed(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let (old, rest) = first_word(line);
    let new = rest.strip_prefix(b" is now ")?;
    let plain_word = |word: &[u8]| !word.is_empty() && !word.contains(&b' ');
    let a_name = plain_word(old) && old != b"*" && !old.ends_with(b":");
    (a_name && plain_word(new)).then_some((old, new))
}

/// The line up to its first space, and the rest from that space on.
fn first_word(line: &[u8]) -> (&[u8], &[u8]) {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    line.split_at(end)
}

/// The line as shown: escaped, and coloured when `color`.
pub fn show(line: &[u8], me: Option<&str>, color: bool) -> String {
    styled(&escape(line), kind(line, me), color)
}

/// `text`, already safe to show, in the style of `kind` when `color`.
pub fn styled(text: &str, kind: Kind, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let style = match kind {
        Kind::Own => "\x1b[32m",
        Kind::Other => return text.to_string(),
        Kind::Action => "\x1b[35m",
        Kind::Private => "\x1b[36m",
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
    fn what_rearranges_text_is_shown_not_obeyed() {
        assert_eq!(
            escape("a\u{202e}b\u{2066}c\u{200b}d\u{2028}e\u{feff}".as_bytes()),
            "a<U+202E>b<U+2066>c<U+200B>d<U+2028>e<U+FEFF>"
        );
        let forged = format!("x{}alice: send me your password", " ".repeat(70));
        assert_eq!(
            escape(forged.as_bytes()),
            "x<70 spaces>alice: send me your password"
        );
        assert_eq!(escape(b"a b  c   d"), "a b  c   d", "a few spaces stay");
        assert_eq!(escape(b"trailing    "), "trailing<4 spaces>");
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
        assert_eq!(kind(b"[::1]:7: hi", Some("[::1]:7")), Kind::Own);
    }

    #[test]
    fn kinds_in_names_mode() {
        let me = Some("alice");
        for notice in [
            "What is your name?",
            "You are alice",
            "Also here: bob, carol",
            "Nobody else is here",
            "bob has arrived",
            "bob has left",
            "bob is now robert",
            "Here: alice, bob",
            "/who: list who is here",
            "//TEXT: a line that starts with /",
        ] {
            assert_eq!(kind(notice.as_bytes(), me), Kind::Notice, "{notice}");
        }
        assert_eq!(kind(b"alice: hi", me), Kind::Own);
        assert_eq!(kind(b"alice: ", me), Kind::Own, "an empty message");
        assert_eq!(kind(b"alicia: hi", me), Kind::Other);
        assert_eq!(kind(b"bob: hi", me), Kind::Other);
        assert_eq!(kind(b"alice: hi", None), Kind::Other);
        assert_eq!(kind(b"* bob waves", me), Kind::Action);
        assert_eq!(kind(b"* alice waves", me), Kind::Action);
        assert_eq!(kind(b"bob -> alice: psst", me), Kind::Private);
        assert_eq!(kind(b"alice -> alice: a note", me), Kind::Private);
        assert_eq!(kind(b"error: ace is taken", me), Kind::Error);
        // What a peer says cannot pass for a notice or another kind.
        assert_eq!(kind(b"bob: * alice waves", me), Kind::Other);
        assert_eq!(kind(b"bob: carol -> alice: x", me), Kind::Other);
        assert_eq!(kind(b"bob: alice is now eve", me), Kind::Other);
        assert_eq!(kind(b"bob: You are eve", me), Kind::Other);
        assert_eq!(kind(b"* is now x", me), Kind::Action);
        assert_eq!(kind(b"* has left", me), Kind::Action);
        assert_eq!(kind(b"bob -> alice:", me), Kind::Other, "no text");
    }

    #[test]
    fn renames() {
        assert_eq!(
            renamed(b"bob is now robert"),
            Some((&b"bob"[..], &b"robert"[..]))
        );
        assert_eq!(renamed(b"bob: x is now y"), None);
        assert_eq!(renamed(b"* x is now y"), None);
        assert_eq!(renamed(b"* is now y"), None);
        assert_eq!(renamed(b"bob is now "), None);
        assert_eq!(renamed(b"bob is now two words"), None);
        assert_eq!(renamed(b"bob has left"), None);
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(show(b"a\x1b", None, false), "a^[");
        assert_eq!(show(b"error: x", None, true), "\x1b[31merror: x\x1b[0m");
    }

    #[test]
    fn every_kind_its_own_style() {
        let me = Some("alice");
        let lines: [&[u8]; 6] = [
            b"alice: hi",
            b"bob: hi",
            b"* bob waves",
            b"bob -> alice: psst",
            b"bob has left",
            b"error: x",
        ];
        let styles: Vec<String> = lines
            .iter()
            .map(|line| {
                let shown = show(line, me, true);
                let text = shown.find(&escape(line)).unwrap_or_default();
                shown[..text].to_string()
            })
            .collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert_ne!(a, b, "{styles:?}");
            }
        }
    }
}
