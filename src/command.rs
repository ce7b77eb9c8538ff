//! A line in names mode: a message, or a command; the one shape of what a
//! line asks, from the reader through the room's order to the wire between
//! servers.
//!
//! A line that starts with `/` is a command, as in IRC; `//` escapes it, so
//! `//etc/hosts` says `/etc/hosts`. The command word is matched without
//! case (`/WHO` is `/who`); what follows it is its argument. Lines are
//! bytes, as everywhere in the server: a message need not be UTF-8, and a
//! command's text is passed on as it came.
//!
//! Pure: parsing says what a line asks for; the room decides what it does
//! (see `room::commands`), in its place in the one order. So adding a
//! command is a variant and its parsing here, its line in [`HELP`], what
//! the room does with it, and its byte on the wire.

/// What a line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A message for everyone: `NAME: TEXT`.
    Say(Vec<u8>),
    /// `/who`: who is here.
    Who,
    /// `/nick NEW`: NEW is the rest of the line, trimmed, to be judged as a
    /// name by the room (so `/nick no way` is refused for its space); a
    /// `/nick` without one is told its usage.
    Nick(Vec<u8>),
    /// `/me TEXT`: an action, `* NAME TEXT`.
    Me(Vec<u8>),
    /// `/msg NAME TEXT`: a line for NAME alone.
    Msg {
        /// The first word: whom it is for.
        to: Vec<u8>,
        /// The rest of the line.
        text: Vec<u8>,
    },
    /// `/help`: the commands.
    Help,
    /// `/quit`: the end of the session, as the end of input is. The reader
    /// ends there: it never reaches the room.
    Quit,
    /// One of the commands that keep a room civil (see [`Ask`]), and the
    /// rest of its line, trimmed, which the room reads. `/op`'s password
    /// never travels so: [`vouch`] puts its verdict in its place.
    Ask(Ask, Vec<u8>),
    /// A command used wrongly: its usage, as the help shows it (one of
    /// [`USAGES`]).
    Usage(&'static str),
    /// Anything else: the command word as typed.
    Unknown(Vec<u8>),
}

/// The commands of operators and manners (PROTOCOL.md, "Operators and
/// manners"): one variant a word, in the order of [`ASKS`], whose
/// arguments the room reads (`room::manners`), as only it knows names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `/op PASSWORD`, once vouched for: its argument is [`RIGHT`],
    /// [`WRONG`], or empty when the server has no password.
    Op,
    /// `/kick NAME [REASON]`.
    Kick,
    /// `/ban NAME [DURATION] [REASON]`.
    Ban,
    /// `/unban ADDRESS`.
    Unban,
    /// `/bans`.
    Bans,
    /// `/mute NAME [DURATION]`.
    Mute,
    /// `/unmute NAME` or `/unmute ADDRESS`.
    Unmute,
    /// `/topic [TEXT]`.
    Topic,
    /// `/ignore [NAME]`.
    Ignore,
    /// `/unignore NAME`.
    Unignore,
    /// `/away [TEXT]`.
    Away,
    /// `/back`.
    Back,
    /// No command anyone types: what the server of a member banned or
    /// muted adds to the room's order, as from that member, so that every
    /// server learns its address (`ban ADDRESS UNTIL OP [REASON]`, `mute
    /// ADDRESS UNTIL OP`, UNTIL in seconds since the epoch): only its own
    /// server knows where a member comes from.
    Mark,
    /// `/mutes`. (After [`Ask::Mark`]: a variant's place is its byte
    /// between servers, and those before it keep theirs.)
    Mutes,
}

/// Each [`Ask`] and its word, in the order of the enum: its place is its
/// byte on the wire between servers.
pub const ASKS: [(Ask, &str); 14] = [
    (Ask::Op, "op"),
    (Ask::Kick, "kick"),
    (Ask::Ban, "ban"),
    (Ask::Unban, "unban"),
    (Ask::Bans, "bans"),
    (Ask::Mute, "mute"),
    (Ask::Unmute, "unmute"),
    (Ask::Topic, "topic"),
    (Ask::Ignore, "ignore"),
    (Ask::Unignore, "unignore"),
    (Ask::Away, "away"),
    (Ask::Back, "back"),
    (Ask::Mark, "mark"),
    (Ask::Mutes, "mutes"),
];

impl Ask {
    /// The command word, as `/help` and the error lines write it.
    pub fn word(self) -> &'static str {
        ASKS[self as usize].1
    }
}

/// `/op`'s verdict when the password was right.
pub const RIGHT: &[u8] = b"right";

/// `/op`'s verdict when it was wrong.
pub const WRONG: &[u8] = b"wrong";

/// Puts `/op`'s verdict in place of its password, checked against the
/// server's `password` (in constant time), so that the password goes no
/// further than the connection that read it: not to the room, not to the
/// other servers. Any other command is passed on as it is.
#[cfg(feature = "manners")]
pub fn vouch(command: Command, password: Option<&[u8]>) -> Command {
    let Command::Ask(Ask::Op, given) = command else {
        return command;
    };
    let verdict = match password {
        None => &b""[..],
        Some(password) if same(&given, password) => RIGHT,
        Some(_) => WRONG,
    };
    Command::Ask(Ask::Op, verdict.to_vec())
}

#[cfg(feature = "manners")]
/// Whether `given` is `secret`, in time that depends on their lengths
/// alone, never on where they first differ.
fn same(given: &[u8], secret: &[u8]) -> bool {
    let longest = given.len().max(secret.len());
    let mut differ = u8::from(given.len() != secret.len());
    for at in 0..longest {
        let a = given.get(at).copied().unwrap_or(0);
        let b = secret.get(at).copied().unwrap_or(0xff);
        differ |= std::hint::black_box(a ^ b);
    }
    differ == 0
}

/// `/nick`'s usage.
const NICK_USAGE: &str = "/nick NAME";

/// `/me`'s usage.
const ME_USAGE: &str = "/me TEXT";

/// `/msg`'s usage.
const MSG_USAGE: &str = "/msg NAME TEXT";

/// Every usage a misused command is told: a [`Command::Usage`] is one of
/// these, wherever it travels.
pub const USAGES: [&str; 3] = [NICK_USAGE, ME_USAGE, MSG_USAGE];

/// The usage of [`USAGES`] whose bytes are `text`, if any: a usage read
/// back from the wire.
pub fn known_usage(text: &[u8]) -> Option<&'static str> {
    USAGES.into_iter().find(|usage| usage.as_bytes() == text)
}

/// The help, one command a line, as `/help` shows it (without the
/// feature `manners`, only the commands the server then has).
#[cfg(not(feature = "manners"))]
pub const HELP: [&str; 7] = [
    "/who: list who is here",
    "/nick NAME: change your name",
    "/me TEXT: an action, shown as * NAME TEXT",
    "/msg NAME TEXT: a line for NAME alone",
    "/quit: leave",
    "//TEXT: a line that starts with /",
    "/help: this list",
];

/// The help, one command a line, as `/help` shows it.
#[cfg(feature = "manners")]
pub const HELP: [&str; 20] = [
    "/who: list who is here (@ marks an operator)",
    "/nick NAME: change your name",
    "/me TEXT: an action, shown as * NAME TEXT",
    "/msg NAME TEXT: a line for NAME alone",
    "/away [TEXT]: say you are away, in /who and to whoever writes to you",
    "/back: you are back",
    "/ignore [NAME]: see no more of NAME's lines, or list whom you ignore",
    "/unignore NAME: see NAME's lines again",
    "/topic [TEXT]: show the topic; (operators) set it",
    "/op PASSWORD: become an operator",
    "/kick NAME [REASON]: (operators) send NAME away",
    "/ban NAME [DURATION] [REASON]: (operators) send NAME away and refuse its address (1h by default)",
    "/unban ADDRESS: (operators) end a ban",
    "/bans: (operators) list the bans",
    "/mute NAME [DURATION]: (operators) silence NAME and its address (10m by default)",
    "/unmute NAME|ADDRESS: (operators) end a mute, of NAME or of an address",
    "/mutes: (operators) list the mutes",
    "/quit: leave",
    "//TEXT: a line that starts with /",
    "/help: this list",
];

/// What `line` (without its `\n`) asks for.
pub fn parse(line: &[u8]) -> Command {
    let Some(command) = line.strip_prefix(b"/") else {
        return Command::Say(line.to_vec());
    };
    if command.starts_with(b"/") {
        return Command::Say(command.to_vec());
    }
    let (word, rest) = split_word(command);
    let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
    if is("who") {
        Command::Who
    } else if is("nick") {
        let name = rest.trim_ascii();
        if name.is_empty() {
            return Command::Usage(NICK_USAGE);
        }
        Command::Nick(name.to_vec())
    } else if is("me") {
        if rest.is_empty() {
            return Command::Usage(ME_USAGE);
        }
        Command::Me(rest.to_vec())
    } else if is("msg") {
        let (to, text) = split_word(rest);
        if to.is_empty() || text.is_empty() {
            return Command::Usage(MSG_USAGE);
        }
        Command::Msg {
            to: to.to_vec(),
            text: text.to_vec(),
        }
    } else if is("help") {
        Command::Help
    } else if is("quit") {
        Command::Quit
    } else if let Some(&(ask, _)) = ASKS
        .iter()
        // A line may ask for any but [`Ask::Mark`], the servers' own.
        .find(|(ask, word)| cfg!(feature = "manners") && *ask != Ask::Mark && is(word))
    {
        Command::Ask(ask, rest.trim_ascii().to_vec())
    } else {
        Command::Unknown(word.to_vec())
    }
}

/// The first word of `text` (up to a space or a tab) and what follows the
/// blanks after it.
pub fn split_word(text: &[u8]) -> (&[u8], &[u8]) {
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
        assert_eq!(parse(b"hello"), Command::Say(b"hello".to_vec()));
        assert_eq!(parse(b""), Command::Say(b"".to_vec()));
        assert_eq!(parse(b" /who"), Command::Say(b" /who".to_vec()));
        assert_eq!(parse(b"//etc/hosts"), Command::Say(b"/etc/hosts".to_vec()));
        assert_eq!(parse(b"//"), Command::Say(b"/".to_vec()));
        assert_eq!(parse(b"\xff/x"), Command::Say(b"\xff/x".to_vec()));
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
        assert_eq!(parse(b"/nick  bob "), Command::Nick(b"bob".to_vec()));
        assert_eq!(parse(b"/nick no way"), Command::Nick(b"no way".to_vec()));
        assert_eq!(parse(b"/nick"), Command::Usage("/nick NAME"));
        assert_eq!(parse(b"/nick  "), Command::Usage("/nick NAME"));
        assert_eq!(
            parse(b"/me waves  twice"),
            Command::Me(b"waves  twice".to_vec())
        );
        assert_eq!(parse(b"/me"), Command::Usage("/me TEXT"));
        assert_eq!(parse(b"/me   "), Command::Usage("/me TEXT"));
        assert_eq!(
            parse(b"/msg bob  hi there"),
            Command::Msg {
                to: b"bob".to_vec(),
                text: b"hi there".to_vec()
            }
        );
        assert_eq!(parse(b"/msg bob"), Command::Usage("/msg NAME TEXT"));
        assert_eq!(parse(b"/msg"), Command::Usage("/msg NAME TEXT"));
    }

    #[test]
    fn unknown_commands_keep_their_word() {
        assert_eq!(parse(b"/dance now"), Command::Unknown(b"dance".to_vec()));
        assert_eq!(parse(b"/"), Command::Unknown(b"".to_vec()));
        assert_eq!(parse(b"/ who"), Command::Unknown(b"".to_vec()));
        assert_eq!(parse(b"/whois x"), Command::Unknown(b"whois".to_vec()));
    }

    #[cfg(feature = "manners")]
    #[test]
    fn asks_and_the_password_that_stays_here() {
        assert_eq!(
            parse(b"/KICK bob  be nice "),
            Command::Ask(Ask::Kick, b"bob  be nice".to_vec())
        );
        assert_eq!(parse(b"/bans"), Command::Ask(Ask::Bans, Vec::new()));
        assert_eq!(parse(b"/mark x"), Command::Unknown(b"mark".to_vec()));
        assert_eq!(parse(b"/mutes"), Command::Ask(Ask::Mutes, Vec::new()));
        for (at, (ask, word)) in ASKS.iter().enumerate() {
            assert_eq!(*ask as usize, at);
            assert_eq!(ask.word(), *word);
        }
        let op = |password: &[u8]| Command::Ask(Ask::Op, password.to_vec());
        assert_eq!(vouch(parse(b"/op s3cret"), Some(b"s3cret")), op(RIGHT));
        assert_eq!(vouch(parse(b"/op s3cre"), Some(b"s3cret")), op(WRONG));
        assert_eq!(vouch(parse(b"/op s3cretx"), Some(b"s3cret")), op(WRONG));
        assert_eq!(vouch(parse(b"/op"), Some(b"s3cret")), op(WRONG));
        assert_eq!(vouch(parse(b"/op right"), None), op(b""));
        assert_eq!(vouch(parse(b"/who"), Some(b"x")), Command::Who);
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
                    proptest::prop_assert_eq!(&text[..], &line[1..]);
                }
                Command::Say(text) => {
                    proptest::prop_assert!(!line.starts_with(b"/"));
                    proptest::prop_assert_eq!(&text[..], &line[..]);
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
