//! Why names mode's Unicode data can be trusted: they are written from the
//! `unicode-normalization` and `unicode-security` crates (see `generate`),
//! and every code point, and random names, are checked against those
//! crates here: what `unicode` says, and what `names` makes of it.

use unicode_normalization::char::is_combining_mark as crate_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_security::mixed_script::AugmentedScriptSet;
use unicode_security::{skeleton as crate_skeleton, MixedScript};

use super::generate::{every_char, generate, in_a_name, script_number};
use super::looks::LIKE_ASCII;
use super::tables::Scripts;
use super::unicode;
use super::{share_a_key, Keys, Name, Refusal, MAX_NAME_CHARS, RESERVED};

#[test]
fn the_data_are_the_crates() {
    let (source, blob) = generate();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/names/");
    let (source_path, blob_path) = (format!("{dir}data.rs"), format!("{dir}unicode.bin"));
    if std::env::var_os("CHAT_WRITE_UNICODE_TABLES").is_some() {
        std::fs::write(&source_path, &source).expect("write data.rs");
        std::fs::write(&blob_path, &blob).expect("write unicode.bin");
        return;
    }
    let kept = (
        std::fs::read_to_string(&source_path).expect("read data.rs"),
        std::fs::read(&blob_path).expect("read unicode.bin"),
    );
    assert!(
        kept == (source, blob),
        "src/names/data.rs or unicode.bin is not what the crates give: \
         CHAT_WRITE_UNICODE_TABLES=1 cargo test --lib names::oracle"
    );
}

#[test]
fn every_code_point_is_as_the_crates_say() {
    for c in every_char() {
        let text = c.to_string();
        assert_eq!(unicode::nfc(&text), text.nfc().collect::<String>(), "{c:?}");
        assert_eq!(
            unicode::skeleton(&text),
            crate_skeleton(&text).collect::<Vec<_>>(),
            "{c:?}"
        );
        let decomposed: String = text.nfd().collect();
        assert_eq!(
            unicode::nfc(&decomposed),
            decomposed.nfc().collect::<String>(),
            "{c:?}"
        );
        assert_eq!(unicode::is_combining_mark(c), crate_mark(c), "{c:?}");
        assert_eq!(super::looks::is_diacritic(c), is_diacritic(c), "{c:?}");
        if in_a_name(c) {
            let set = AugmentedScriptSet::for_char(c);
            let scripts: Vec<u8> = if set.is_all() {
                (0..=191).collect()
            } else {
                set.base.iter().map(script_number).collect()
            };
            let (ours, flags) = Scripts::of(c).numbers();
            let ours = if ours.len() == 192 {
                (0..=191).collect()
            } else {
                ours
            };
            assert_eq!(
                (ours, flags),
                (scripts, [set.hanb, set.jpan, set.kore]),
                "{c:?}"
            );
        }
    }
}

/// `looks::is_diacritic` on the crates: a mark that Latin, Greek or
/// Cyrillic may take.
fn is_diacritic(c: char) -> bool {
    crate_mark(c)
        && ['a', 'α', 'а'].iter().any(|&letter| {
            let mut scripts = AugmentedScriptSet::for_char(c);
            scripts.intersect_with(AugmentedScriptSet::for_char(letter));
            !scripts.is_empty()
        })
}

/// `names::keys` on the crates: their skeleton, then the rule of `looks`
/// (diacritics and apostrophes dropped; the
/// letters of [`LIKE_ASCII`] as ASCII ones).
fn keys_by_the_crates(name: &str) -> Keys {
    let plainly = |c: char| -> String {
        let like = LIKE_ASCII.iter().find(|&&(like, _)| like == c);
        match like {
            _ if is_diacritic(c) || c == '\'' => String::new(),
            Some(&(_, b'm')) => "rn".to_string(),
            Some(&(_, ascii)) => char::from(ascii).to_string(),
            None => c.to_string(),
        }
    };
    let look = |text: &str| -> Box<str> {
        let text: String = text.nfd().filter(|&c| !is_diacritic(c)).collect();
        crate_skeleton(&text)
            .map(plainly)
            .collect::<String>()
            .chars()
            .flat_map(char::to_lowercase)
            .collect::<String>()
            .into()
    };
    let as_written = look(name);
    let folded = look(&name.to_lowercase());
    if as_written == folded {
        Box::new([folded])
    } else {
        Box::new([as_written, folded])
    }
}

/// `names::parse` as it was, on the crates: the oracle of what a name is.
fn parse_by_the_crates(line: &[u8]) -> Result<Name, Refusal> {
    let text = std::str::from_utf8(line).map_err(|_| Refusal::NotUtf8)?;
    let shown: String = text.trim().nfc().collect();
    let mut count = 0;
    let mut letters = false;
    for c in shown.chars() {
        count += 1;
        if c.is_whitespace() {
            return Err(Refusal::Space);
        }
        let part_of_a_letter = count > 1 && crate_mark(c);
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
    if !shown.as_str().is_single_script() {
        return Err(Refusal::MixedScripts);
    }
    let keys = keys_by_the_crates(&shown);
    let shown: std::sync::Arc<str> = shown.into();
    if RESERVED
        .iter()
        .any(|reserved| share_a_key(&keys, &keys_by_the_crates(reserved)))
    {
        return Err(Refusal::Reserved(shown));
    }
    Ok(Name { shown, keys })
}

/// Characters a name might be made of, and some it cannot: many scripts,
/// marks, look-alikes, ignorables, Hangul's syllables and jamo.
const POOL: &str =
    "aAbBlI10oO-_.éèEeÀçÇñÑßſǅẞĳŉ\u{301}\u{300}\u{308}\u{304}\u{323}\u{327}\u{302}\u{31b}\u{345}\
    αΑβΩΩωώᾇ\u{342}\u{313}аАеЕорсхіІјѐ\u{483}\
    가각힣각\u{1160}ㄱ李雷中文あアガガーㄅ\
    नमस्तेक़\u{94d}\u{93c}ابپ٣۳\u{64b}\
    ０ａＡ𝐀𝐚𝟎ℓℐⅠ\u{200b}\u{200d}\u{fe0f}\u{ad}\u{2223} \t!/";

proptest::proptest! {
    #[test]
    fn names_are_normalised_and_compared_as_the_crates_do(
        picks in proptest::collection::vec(0..POOL.chars().count(), 0..12),
    ) {
        let pool: Vec<char> = POOL.chars().collect();
        let text: String = picks.iter().map(|&pick| pool[pick]).collect();
        proptest::prop_assert_eq!(unicode::nfc(&text), text.nfc().collect::<String>());
        proptest::prop_assert_eq!(
            unicode::skeleton(&text),
            crate_skeleton(&text).collect::<Vec<_>>()
        );
        let names: String = text.chars().filter(|&c| in_a_name(c)).collect();
        proptest::prop_assert_eq!(
            unicode::is_single_script(&names),
            names.as_str().is_single_script()
        );
        for name in [&text, &names] {
            proptest::prop_assert_eq!(super::parse(name.as_bytes()), parse_by_the_crates(name.as_bytes()));
            proptest::prop_assert_eq!(super::keys(name), keys_by_the_crates(name));
        }
    }

    /// Two names the crates call look-alikes still are, and no others.
    #[test]
    fn look_alikes_are_the_crates(
        a in proptest::collection::vec(0..POOL.chars().count(), 1..6),
        b in proptest::collection::vec(0..POOL.chars().count(), 1..6),
    ) {
        let pool: Vec<char> = POOL.chars().collect();
        let a: String = a.iter().map(|&pick| pool[pick]).collect();
        let b: String = b.iter().map(|&pick| pool[pick]).collect();
        proptest::prop_assert_eq!(
            share_a_key(&super::keys(&a), &super::keys(&b)),
            share_a_key(&keys_by_the_crates(&a), &keys_by_the_crates(&b))
        );
    }
}
