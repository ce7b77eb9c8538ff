//! What a name is in names mode, and when two names are the same.
//!
//! People pick names to be recognised, and others must be able to trust
//! that `alice` today is the `alice` of yesterday. So a name is short, made
//! of letters and digits of one script (any script: `李雷`, `José`,
//! `Ζωή`), and two names are the same when they differ only by case or
//! merely look alike: Cyrillic `а` passing for Latin `a`, `rn` for `m`,
//! `0` for `O`. Look-alikes are found with the skeletons of Unicode TR39
//! (the tables rustc uses for confusable identifiers, here in a compact
//! form: see `unicode`), not a hand-made list, and two rules on top for
//! what TR39 leaves apart (see `looks`): diacritics, and letters that pass
//! for ASCII ones (`ᴀʟɪᴄᴇ`, `aɭice`). A few names are refused
//! outright because a message from them would pass for a server line
//! (`error: ...`, `Here: ...`).
//!
//! Everything here is pure: the room decides who holds which name, this
//! only says what a name is and what it is compared by.

mod data;
#[cfg(test)]
mod generate;
mod looks;
#[cfg(test)]
mod oracle;
mod tables;
mod unicode;

use std::fmt;
use std::sync::Arc;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 24;

/// Names nobody may take: a message from them would read as a server line
/// (`error: ...` is the server's error line, `Here: ...` its `/who` reply,
/// `Topic: ...` the room's topic, shown before a newcomer's history, and
/// `Ignoring: ...` the answer to `/ignore`; the page shows all four as the
/// server's notices). Reserved in every build, so that a name good in one
/// is good in all.
const RESERVED: [&str; 4] = ["error", "here", "topic", "ignoring"];

/// A valid name, as its owner wrote it and as it is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// As shown to everyone: the owner's spelling, in Unicode's composed
    /// form (NFC), so that `é` typed either way is one character.
    pub shown: Arc<str>,
    /// What it is compared by: two names that share a key are the same
    /// name (see [`keys`]).
    pub keys: Keys,
}

/// A name's keys: one or two strings, and two names are the same when
/// they share one.
pub type Keys = Box<[Box<str>]>;

/// Why a name is refused; its `Display` is the text of the `error:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The bytes are not UTF-8.
    NotUtf8,
    /// Nothing but spaces.
    Empty,
    /// No letter or digit at all: `-`, `...` name nobody.
    NoLetter,
    /// More than [`MAX_NAME_CHARS`] characters.
    TooLong,
    /// A space (or other blank) inside the name.
    Space,
    /// A character that is not a letter, a digit, `-`, `_` or `.`.
    Character(char),
    /// Letters of more than one script.
    MixedScripts,
    /// One of the reserved names, in some spelling.
    Reserved(Arc<str>),
    /// Someone present has this name, or one that looks the same: theirs.
    Taken {
        /// The name asked for.
        wanted: Arc<str>,
        /// The name of the one who has it.
        holder: Arc<str>,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotUtf8 => write!(f, "a name must be valid UTF-8"),
            Refusal::Empty => write!(f, "a name cannot be empty"),
            Refusal::NoLetter => write!(f, "a name needs a letter or a digit"),
            Refusal::TooLong => write!(f, "a name is at most {MAX_NAME_CHARS} characters"),
            Refusal::Space => write!(f, "a name cannot have spaces"),
            Refusal::Character(c) => write!(
                f,
                "a name cannot have '{}': letters, digits, '-', '_' and '.' only",
                c.escape_debug()
            ),
            Refusal::MixedScripts => write!(
                f,
                "a name is written in one script (not Latin and Cyrillic, say)"
            ),
            Refusal::Reserved(name) => write!(f, "the name {name} is reserved"),
            Refusal::Taken { wanted, holder } if wanted == holder => {
                write!(f, "{holder} is taken")
            }
            Refusal::Taken { wanted, holder } => {
                write!(f, "{wanted} is too much like {holder}, who is here")
            }
        }
    }
}

/// Reads a name from what a client sent: spaces around it are dropped
/// (the line reader already dropped a trailing `\r`), then the rest must
/// be a valid name. Whether it is free is the room's to say.
pub fn parse(line: &[u8]) -> Result<Name, Refusal> {
    let text = std::str::from_utf8(line).map_err(|_| Refusal::NotUtf8)?;
    let shown = unicode::nfc(text.trim());
    let mut count = 0;
    let mut letters = false;
    for c in shown.chars() {
        count += 1;
        if c.is_whitespace() {
            return Err(Refusal::Space);
        }
        // A mark (an accent, a vowel sign) belongs to the letter before it.
        let part_of_a_letter = count > 1 && unicode::is_combining_mark(c);
        letters |= c.is_alphanumeric();
        if !(c.is_alphanumeric() || part_of_a_letter || matches!(c, '-' | '_' | '.')) {
            return Err(Refusal::Character(c));
        }
    }
    if count == 0 {
        return Err(Refusal::Empty);
    }
    if !letters {
        return Err(Refusal::NoLetter);
    }
    if count > MAX_NAME_CHARS {
        return Err(Refusal::TooLong);
    }
    // Digits and `-_.` are common to every script and go with any.
    if !unicode::is_single_script(&shown) {
        return Err(Refusal::MixedScripts);
    }
    let keys = keys(&shown);
    let shown: Arc<str> = shown.into();
    if RESERVED
        .iter()
        .any(|reserved| share_a_key(&keys, &self::keys(reserved)))
    {
        return Err(Refusal::Reserved(shown));
    }
    Ok(Name { shown, keys })
}

/// What a name is compared by. Sameness by case and sameness by looks do
/// not combine into one key: `Ill` is `ill` by case and `lll` by looks (a
/// capital I is a small L in most fonts), yet `ill` and `lll` differ. So a
/// name has two keys, and two names are the same when they share one:
///
/// - the TR39 skeleton of the name as written, taken plainly (see
///   `looks`: no diacritics, small capitals as letters), case folded after
///   it (the skeleton maps `0` to `O`, which must then meet `o`):
///   `Ill` -> `lll`;
/// - the same of the name case folded first: `Ill` -> `ill`.
pub fn keys(name: &str) -> Keys {
    let as_written = looks::look(name);
    let folded = looks::look(&name.to_lowercase());
    if as_written == folded {
        Box::new([folded])
    } else {
        Box::new([as_written, folded])
    }
}

/// Whether two names, by their keys, are the same name.
pub fn share_a_key(a: &[Box<str>], b: &[Box<str>]) -> bool {
    a.iter().any(|key| b.contains(key))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn shown(text: &str) -> String {
        parse(text.as_bytes()).unwrap().shown.to_string()
    }

    fn same(a: &str, b: &str) -> bool {
        share_a_key(
            &parse(a.as_bytes()).unwrap().keys,
            &parse(b.as_bytes()).unwrap().keys,
        )
    }

    #[test]
    fn names_of_any_script() {
        assert_eq!(shown("alice"), "alice");
        assert_eq!(shown("  bob  "), "bob");
        assert_eq!(shown("李雷"), "李雷");
        assert_eq!(shown("José"), "José");
        assert_eq!(shown("Jose\u{301}"), "José", "composed");
        assert_eq!(shown("Ζωή"), "Ζωή");
        assert_eq!(shown("नमस्ते"), "नमस्ते");
        assert_eq!(shown("山田たろう"), "山田たろう", "Japanese is one script");
        assert_eq!(shown("r2-d2_v1.0"), "r2-d2_v1.0");
        assert_eq!(shown("Вася"), "Вася");
        assert_eq!(shown(&"x".repeat(24)), "x".repeat(24));
    }

    #[test]
    fn refusals_say_why() {
        let refused = |text: &[u8]| parse(text).unwrap_err();
        assert_eq!(refused(b"\xff"), Refusal::NotUtf8);
        assert_eq!(refused(b""), Refusal::Empty);
        assert_eq!(refused(b"   "), Refusal::Empty);
        for punctuation in ["-", "...", "_.-", "-\u{301}"] {
            let refusal = refused(punctuation.as_bytes());
            assert_eq!(refusal, Refusal::NoLetter, "{punctuation:?}");
            assert_eq!(refusal.to_string(), "a name needs a letter or a digit");
        }
        assert_eq!(refused("x".repeat(25).as_bytes()), Refusal::TooLong);
        assert_eq!(refused(b"no way"), Refusal::Space);
        assert_eq!(refused(b"a\tb"), Refusal::Space);
        assert_eq!(refused(b"a:b"), Refusal::Character(':'));
        assert_eq!(refused(b"*"), Refusal::Character('*'));
        assert_eq!(refused(b"a\x1bb"), Refusal::Character('\u{1b}'));
        assert_eq!(
            refused("a\u{200b}b".as_bytes()),
            Refusal::Character('\u{200b}')
        );
        assert_eq!(
            refused("\u{301}a".as_bytes()),
            Refusal::Character('\u{301}')
        );
        assert_eq!(
            refused("alicе".as_bytes()),
            Refusal::MixedScripts,
            "Cyrillic е"
        );
        assert_eq!(refused("李alice".as_bytes()), Refusal::MixedScripts);
        assert_eq!(refused(b"Error"), Refusal::Reserved("Error".into()));
        assert_eq!(refused(b"HERE"), Refusal::Reserved("HERE".into()));
        assert_eq!(refused(b"ERR0R"), Refusal::Reserved("ERR0R".into()));
        assert_eq!(refused(b"Topic"), Refusal::Reserved("Topic".into()));
        assert_eq!(refused(b"T0PIC"), Refusal::Reserved("T0PIC".into()));
        assert_eq!(refused(b"Ignoring"), Refusal::Reserved("Ignoring".into()));
        assert_eq!(
            refused("еrrоr".as_bytes()),
            Refusal::MixedScripts,
            "Cyrillic е and о among Latin letters"
        );
        assert_eq!(
            Refusal::Character('\u{1b}').to_string(),
            "a name cannot have '\\u{1b}': letters, digits, '-', '_' and '.' only"
        );
    }

    #[test]
    fn case_and_look_alikes_are_the_same_name() {
        assert!(same("alice", "ALICE"));
        assert!(same("ape", "аре"), "all Cyrillic");
        assert!(same("pop", "РОР"), "all Cyrillic, upper case");
        assert!(same("bob", "b0b"));
        assert!(same("BOB", "b0b"));
        assert!(same("modern", "rnodern"));
        assert!(same("Ill", "ill"), "case");
        assert!(same("Ill", "lll"), "capital I, small L");
        assert!(!same("ill", "lll"), "small i and small L differ");
        assert!(same("lll", "1ll"));
        assert!(!same("alice", "alicia"));
        assert!(!same("李雷", "李"));
    }

    /// Characters names are made of, and their usual troublemakers: case,
    /// look-alikes across scripts, combining marks, spaces, punctuation.
    pub const CHARS: &str =
        "[a-zA-Z0-9OoIl1аеорсухАВЕКМНОРСТХΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοι李雷たろ\u{301}\u{308} ._:\\-]{0,28}";

    proptest::proptest! {
        /// Every string is refused or is a name that reads back as itself.
        #[test]
        fn a_name_is_refused_or_round_trips(text in CHARS) {
            if let Ok(name) = parse(text.as_bytes()) {
                let again = parse(name.shown.as_bytes()).expect("a name parses again");
                proptest::prop_assert_eq!(&again, &name);
                let count = name.shown.chars().count();
                proptest::prop_assert!((1..=MAX_NAME_CHARS).contains(&count));
                proptest::prop_assert_eq!(name.shown.trim(), &*name.shown);
            }
        }

        /// Sameness goes both ways (the roster's test of it: see
        /// `room::roster`), and a name is the same as itself in capitals.
        #[test]
        fn the_same_names_are_refused_together(a in CHARS, b in CHARS) {
            let (Ok(a), Ok(b)) = (parse(a.as_bytes()), parse(b.as_bytes())) else {
                return Ok(());
            };
            let same = share_a_key(&a.keys, &b.keys);
            proptest::prop_assert_eq!(same, share_a_key(&b.keys, &a.keys));
            if let Ok(upper) = parse(a.shown.to_uppercase().as_bytes()) {
                proptest::prop_assert!(share_a_key(&a.keys, &upper.keys));
            }
        }
    }
}
