//! A line in names mode: a message, or a command.
//!
//! A line that starts with `/` is a command, as in IRC; `//` escapes it, so
//! `//etc/hosts` says `/etc/hosts`. The command word is matched without
//! case (`/WHO` is `/who`); what follows it is its argument. Lines are
//! bytes, as everywhere in the server: a message need not be UTF-8, and a
//! command's text is passed on as it came.
//!
//! Pure: parsing says what a line asks for; the room decides what it does.

/// What a line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// A message for everyone: `NAME: TEXT`.
    Say(&'a [u8]),
    /// `/who`: who is here.
    Who,
    /// `/nick NEW`: NEW is the rest of the line, trimmed, to be judged as a
    /// name (so `/nick no way` is refused for its space).
    Nick(&'a [u8]),
    /// `/me TEXT`: an action, `* NAME TEXT`.
    Me(&'a [u8]),
    /// `/msg NAME TEXT`: a line for NAME alone.
    Msg {
        /// The first word: whom it is for.
        to: &'a [u8],
        /// The rest of the line.
        text: &'a [u8],
    },
    /// `/help`: the commands.
    Help,
    /// `/quit`: the end of the session, as the end of input is.
    Quit,
    /// A command used wrongly: its usage, as the help shows it.
    Usage(&'static str),
    /// Anything else: the command word as typed.
    Unknown(&'a [u8]),
}

/// The help, one command a line, as `/help` shows it.
pub const HELP: [&str; 7] = [
    "/who: list who is here",
    "/nick NAME: change your name",
    "/me TEXT: an action, shown as * NAME TEXT",
    "/msg NAME TEXT: a line for NAME alone",
    "/quit: leave",
    "//TEXT: a line that starts with /",
    "/help: this list",
];

/// What `line` (without its `\n`) asks for.
pub fn parse(line: &[u8]) -> Command<'_> {
    let Some(command) = line.strip_prefix(b"/") else {
        return Command::Say(line);
    };
    if command.starts_with(b"/") {
        return Command::Say(command);
    }
    let (word, rest) = split_word(command);
    let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
    if is("who") {
        Command::Who
    } else if is("nick") {
        Command::Nick(rest.trim_ascii())
    } else if is("me") {
        if rest.is_empty() {
            return Command::Usage("/me TEXT");
        }
        Command::Me(rest)
    } else if is("msg") {
        let (to, text) = split_word(rest);
        if to.is_empty() || text.is_empty() {
            return Command::Usage("/msg NAME TEXT");
        }
        Command::Msg { to, text }
    } else if is("help") {
        Command::Help
    } else if is("quit") {
        Command::Quit
    } else {
        Command::Unknown(word)
    }
}

/// The first word of `text` (up to a space or a tab) and what follows the
/// blanks after it.
fn split_word(text: &[u8]) -> (&[u8], &[u8]) {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let end = text.iter().position(blank).unwrap_or(text.len());
    let (word, rest) = text.split_at(end);
    let start = rest.iter().position(|b| !blank(b)).unwrap_or(rest.len());
    (word, &rest[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_escapes() {
        assert_eq!(parse(b"hello"), Command::Say(b"hello"));
        assert_eq!(parse(b""), Command::Say(b""));
        assert_eq!(parse(b" /who"), Command::Say(b" /who"));
        assert_eq!(parse(b"//etc/hosts"), Command::Say(b"/etc/hosts"));
        assert_eq!(parse(b"//"), Command::Say(b"/"));
        assert_eq!(parse(b"\xff/x"), Command::Say(b"\xff/x"));
    }

    #[test]
    fn commands_without_case() {
        assert_eq!(parse(b"/who"), Command::Who);
        assert_eq!(parse(b"/WHO"), Command::Who);
        assert_eq!(parse(b"/who is there"), Command::Who);
        assert_eq!(parse(b"/Help"), Command::Help);
        assert_eq!(parse(b"/quit"), Command::Quit);
        assert_eq!(parse(b"/QUIT now"), Command::Quit);
    }

    #[test]
    fn arguments() {
        assert_eq!(parse(b"/nick  bob "), Command::Nick(b"bob"));
        assert_eq!(parse(b"/nick no way"), Command::Nick(b"no way"));
        assert_eq!(parse(b"/nick"), Command::Nick(b""));
        assert_eq!(parse(b"/me waves  twice"), Command::Me(b"waves  twice"));
        assert_eq!(parse(b"/me"), Command::Usage("/me TEXT"));
        assert_eq!(parse(b"/me   "), Command::Usage("/me TEXT"));
        assert_eq!(
            parse(b"/msg bob  hi there"),
            Command::Msg {
                to: b"bob",
                text: b"hi there"
            }
        );
        assert_eq!(parse(b"/msg bob"), Command::Usage("/msg NAME TEXT"));
        assert_eq!(parse(b"/msg"), Command::Usage("/msg NAME TEXT"));
    }

    #[test]
    fn unknown_commands_keep_their_word() {
        assert_eq!(parse(b"/dance now"), Command::Unknown(b"dance"));
        assert_eq!(parse(b"/"), Command::Unknown(b""));
        assert_eq!(parse(b"/ who"), Command::Unknown(b""));
        assert_eq!(parse(b"/whois x"), Command::Unknown(b"whois"));
    }

    proptest::proptest! {
        /// Any bytes parse; a line that is a message says exactly what was
        /// sent, less the `/` of a `//` escape; a command never is one.
        #[test]
        fn any_line_parses_and_messages_keep_their_bytes(
            line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            match parse(&line) {
                Command::Say(text) if line.starts_with(b"//") => {
                    proptest::prop_assert_eq!(text, &line[1..]);
                }
                Command::Say(text) => {
                    proptest::prop_assert!(!line.starts_with(b"/"));
                    proptest::prop_assert_eq!(text, &line[..]);
                }
                _ => proptest::prop_assert!(line.starts_with(b"/") && !line.starts_with(b"//")),
            }
        }

        /// The command word is matched without case (ASCII case: a Kelvin
        /// sign is not a K).
        #[test]
        fn command_words_ignore_case(
            word in proptest::sample::select(vec!["who", "help", "quit", "me", "nick", "msg"]),
            capitals in proptest::prelude::any::<u8>(),
            rest in "( [ a-z]{0,8})?",
        ) {
            let mixed: String = word
                .chars()
                .enumerate()
                .map(|(at, c)| if capitals >> at & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect();
            let line = format!("/{mixed}{rest}");
            let lower = format!("/{word}{rest}");
            proptest::prop_assert_eq!(parse(line.as_bytes()), parse(lower.as_bytes()));
        }
    }
}
