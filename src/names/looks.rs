//! Look-alikes that TR39's skeletons leave apart, and the rule that
//! brings them together: what a name looks like, plainly.
//!
//! A skeleton keeps combining marks, and maps a letter with a hook to the
//! letter and a mark (`ɭ` is `l` and an ogonek); it leaves small capitals
//! and some hooked letters as they are. So `ali̇ce` (an `i` with a second
//! dot), `alı̇ce` (a dotless `ı` given one), `aɭice` and `ᴀʟɪᴄᴇ` all had
//! skeletons of their own, and each passes for `alice`. Two rules close
//! that gap, on top of the skeleton:
//!
//! - diacritics do not tell names apart: the combining marks that Latin,
//!   Greek or Cyrillic may take (accents, dots, hooks) are dropped, so
//!   `José` is `Jose` too. Other scripts' marks (a Devanagari vowel sign,
//!   a Hebrew point) stay: there they are letters;
//! - a letter that looks like an ASCII letter in common fonts (the small
//!   capitals, the letters with a hook, a tail, a curl or a descender) is
//!   that letter, where the skeleton does not already say so ([`LIKE_ASCII`]).
//!
//! Apostrophes go too: names have none, and TR39 writes some hooks as one
//! (`Ɓ` is `'B`).

use super::tables::Scripts;
use super::unicode;

/// The letters a skeleton keeps that look like an ASCII letter, sorted: the
/// small capitals and the hooked, tailed, curled letters of Latin (their
/// Unicode names say which letter each is), and that letter (`m` is then
/// written `rn`, as the skeleton writes it).
/// (Its tests check every letter of Latin so named.)
pub const LIKE_ASCII: [(char, u8); 61] = [
    ('\u{138}', b'k'),   // ĸ, the skeleton of ᴋ
    ('\u{188}', b'c'),   // ƈ
    ('\u{1b2}', b'v'),   // Ʋ
    ('\u{221}', b'd'),   // ȡ
    ('\u{234}', b'l'),   // ȴ
    ('\u{235}', b'n'),   // ȵ
    ('\u{236}', b't'),   // ȶ
    ('\u{24b}', b'q'),   // ɋ
    ('\u{255}', b'c'),   // ɕ
    ('\u{262}', b'g'),   // ɢ
    ('\u{274}', b'n'),   // ɴ
    ('\u{280}', b'r'),   // ʀ
    ('\u{288}', b't'),   // ʈ
    ('\u{28d}', b'm'),   // ʍ, the skeleton of ᴍ
    ('\u{291}', b'z'),   // ʑ
    ('\u{299}', b'b'),   // ʙ
    ('\u{29c}', b'h'),   // ʜ
    ('\u{29f}', b'l'),   // ʟ
    ('\u{1d00}', b'a'),  // ᴀ
    ('\u{1d05}', b'd'),  // ᴅ
    ('\u{1d07}', b'e'),  // ᴇ
    ('\u{1d0a}', b'j'),  // ᴊ
    ('\u{1d18}', b'p'),  // ᴘ
    ('\u{1d1b}', b't'),  // ᴛ
    ('\u{1d80}', b'b'),  // ᶀ
    ('\u{1d81}', b'd'),  // ᶁ
    ('\u{1d82}', b'f'),  // ᶂ
    ('\u{1d84}', b'k'),  // ᶄ
    ('\u{1d85}', b'l'),  // ᶅ
    ('\u{1d86}', b'm'),  // ᶆ
    ('\u{1d87}', b'n'),  // ᶇ
    ('\u{1d88}', b'p'),  // ᶈ
    ('\u{1d89}', b'r'),  // ᶉ
    ('\u{1d8a}', b's'),  // ᶊ
    ('\u{1d8d}', b'x'),  // ᶍ
    ('\u{1d8e}', b'z'),  // ᶎ
    ('\u{1d91}', b'd'),  // ᶑ
    ('\u{1d92}', b'e'),  // ᶒ
    ('\u{1d96}', b'i'),  // ᶖ
    ('\u{2c64}', b'r'),  // Ɽ
    ('\u{2c68}', b'h'),  // ⱨ
    ('\u{2c6a}', b'k'),  // ⱪ
    ('\u{2c6e}', b'm'),  // Ɱ
    ('\u{2c71}', b'v'),  // ⱱ
    ('\u{2c72}', b'w'),  // Ⱳ
    ('\u{2c73}', b'w'),  // ⱳ
    ('\u{2c74}', b'v'),  // ⱴ
    ('\u{a727}', b'h'),  // ꜧ, the skeleton of ꞕ
    ('\u{a730}', b'f'),  // ꜰ
    ('\u{a790}', b'n'),  // Ꞑ
    ('\u{a791}', b'n'),  // ꞑ
    ('\u{a794}', b'c'),  // ꞔ
    ('\u{a7aa}', b'h'),  // Ɦ
    ('\u{a7af}', b'q'),  // ꞯ
    ('\u{a7c4}', b'c'),  // Ꞔ
    ('\u{a7c6}', b'z'),  // Ᶎ
    ('\u{1df1b}', b'o'), // 𝼛
    ('\u{1df1d}', b'c'), // 𝼝
    ('\u{1df1e}', b's'), // 𝼞
    ('\u{1df69}', b'a'), // 𝽩, the skeleton of ᶏ
    ('\u{1df7b}', b'u'), // 𝽻, the skeleton of ᶙ
];

/// What `text` looks like: its skeleton, without diacritics (taken out
/// before and after), in lower case, letters that pass for ASCII ones as
/// those. (Not inlined: `names::keys` takes it twice.)
#[inline(never)]
pub fn look(text: &str) -> Box<str> {
    plainly(unicode::skeleton(&without_diacritics(text)))
}

/// `text` without its diacritics, decomposed: before its skeleton is
/// taken, since TR39 gives some a prototype of another script (U+0348, a
/// double line below, is an Arabic mark there; U+032E, a breve below, is
/// U+11B62), and a name in NFC holds them inside its letters (`ḫ`).
fn without_diacritics(text: &str) -> String {
    unicode::decomposed(text)
        .filter(|&c| !is_diacritic(c))
        .collect()
}

/// What `skeleton` (a skeleton, in NFD) looks like plainly, in lower case:
/// diacritics and apostrophes dropped, letters that pass for ASCII ones as
/// those.
fn plainly(skeleton: Vec<char>) -> Box<str> {
    let mut plain = String::with_capacity(skeleton.len());
    for c in skeleton {
        if c == '\'' || is_diacritic(c) {
            continue;
        }
        match LIKE_ASCII.binary_search_by_key(&c, |&(like, _)| like) {
            Ok(index) if LIKE_ASCII[index].1 == b'm' => plain.push_str("rn"),
            Ok(index) => plain.push(char::from(LIKE_ASCII[index].1)),
            Err(_) => plain.extend(c.to_lowercase()),
        }
    }
    plain.into()
}

/// Whether `c` is a diacritic: a combining mark that Latin, Greek or
/// Cyrillic may take (an accent, a dot, a hook), where look-alikes of
/// ASCII letters are.
pub fn is_diacritic(c: char) -> bool {
    let scripts = Scripts::of(c);
    unicode::is_combining_mark(c)
        && ['a', 'α', 'а']
            .iter()
            .any(|&letter| !scripts.intersect(Scripts::of(letter)).is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::{parse, share_a_key};
    use super::*;

    /// Every letter of Latin whose Unicode name makes it an ASCII letter
    /// with a hook, a tail, a curl or a descender, or a small capital (as
    /// Python's `unicodedata`, Unicode 14, names them), and that letter;
    /// but for two that TR39 already makes others: `ʋ` is `u`, `ᶌ` is `y`.
    const LOOK_LIKE_ASCII: &[(char, char)] = &[
        ('\u{0181}', 'b'),  // latin capital letter b with hook
        ('\u{0187}', 'c'),  // latin capital letter c with hook
        ('\u{0188}', 'c'),  // latin small letter c with hook
        ('\u{018a}', 'd'),  // latin capital letter d with hook
        ('\u{0191}', 'f'),  // latin capital letter f with hook
        ('\u{0192}', 'f'),  // latin small letter f with hook
        ('\u{0193}', 'g'),  // latin capital letter g with hook
        ('\u{0198}', 'k'),  // latin capital letter k with hook
        ('\u{0199}', 'k'),  // latin small letter k with hook
        ('\u{019d}', 'n'),  // latin capital letter n with left hook
        ('\u{01a4}', 'p'),  // latin capital letter p with hook
        ('\u{01a5}', 'p'),  // latin small letter p with hook
        ('\u{01ab}', 't'),  // latin small letter t with palatal hook
        ('\u{01ac}', 't'),  // latin capital letter t with hook
        ('\u{01ad}', 't'),  // latin small letter t with hook
        ('\u{01ae}', 't'),  // latin capital letter t with retroflex hook
        ('\u{01b2}', 'v'),  // latin capital letter v with hook
        ('\u{01b3}', 'y'),  // latin capital letter y with hook
        ('\u{01b4}', 'y'),  // latin small letter y with hook
        ('\u{0221}', 'd'),  // latin small letter d with curl
        ('\u{0224}', 'z'),  // latin capital letter z with hook
        ('\u{0225}', 'z'),  // latin small letter z with hook
        ('\u{0234}', 'l'),  // latin small letter l with curl
        ('\u{0235}', 'n'),  // latin small letter n with curl
        ('\u{0236}', 't'),  // latin small letter t with curl
        ('\u{024b}', 'q'),  // latin small letter q with hook tail
        ('\u{0253}', 'b'),  // latin small letter b with hook
        ('\u{0255}', 'c'),  // latin small letter c with curl
        ('\u{0256}', 'd'),  // latin small letter d with tail
        ('\u{0257}', 'd'),  // latin small letter d with hook
        ('\u{0260}', 'g'),  // latin small letter g with hook
        ('\u{0262}', 'g'),  // latin letter small capital g
        ('\u{0266}', 'h'),  // latin small letter h with hook
        ('\u{026a}', 'i'),  // latin letter small capital i
        ('\u{026d}', 'l'),  // latin small letter l with retroflex hook
        ('\u{0271}', 'm'),  // latin small letter m with hook
        ('\u{0272}', 'n'),  // latin small letter n with left hook
        ('\u{0273}', 'n'),  // latin small letter n with retroflex hook
        ('\u{0274}', 'n'),  // latin letter small capital n
        ('\u{027c}', 'r'),  // latin small letter r with long leg
        ('\u{027d}', 'r'),  // latin small letter r with tail
        ('\u{0280}', 'r'),  // latin letter small capital r
        ('\u{0282}', 's'),  // latin small letter s with hook
        ('\u{0288}', 't'),  // latin small letter t with retroflex hook
        ('\u{028f}', 'y'),  // latin letter small capital y
        ('\u{0290}', 'z'),  // latin small letter z with retroflex hook
        ('\u{0291}', 'z'),  // latin small letter z with curl
        ('\u{0299}', 'b'),  // latin letter small capital b
        ('\u{029c}', 'h'),  // latin letter small capital h
        ('\u{029f}', 'l'),  // latin letter small capital l
        ('\u{02a0}', 'q'),  // latin small letter q with hook
        ('\u{1d00}', 'a'),  // latin letter small capital a
        ('\u{1d04}', 'c'),  // latin letter small capital c
        ('\u{1d05}', 'd'),  // latin letter small capital d
        ('\u{1d07}', 'e'),  // latin letter small capital e
        ('\u{1d0a}', 'j'),  // latin letter small capital j
        ('\u{1d0b}', 'k'),  // latin letter small capital k
        ('\u{1d0d}', 'm'),  // latin letter small capital m
        ('\u{1d0f}', 'o'),  // latin letter small capital o
        ('\u{1d18}', 'p'),  // latin letter small capital p
        ('\u{1d1b}', 't'),  // latin letter small capital t
        ('\u{1d1c}', 'u'),  // latin letter small capital u
        ('\u{1d20}', 'v'),  // latin letter small capital v
        ('\u{1d21}', 'w'),  // latin letter small capital w
        ('\u{1d22}', 'z'),  // latin letter small capital z
        ('\u{1d80}', 'b'),  // latin small letter b with palatal hook
        ('\u{1d81}', 'd'),  // latin small letter d with palatal hook
        ('\u{1d82}', 'f'),  // latin small letter f with palatal hook
        ('\u{1d83}', 'g'),  // latin small letter g with palatal hook
        ('\u{1d84}', 'k'),  // latin small letter k with palatal hook
        ('\u{1d85}', 'l'),  // latin small letter l with palatal hook
        ('\u{1d86}', 'm'),  // latin small letter m with palatal hook
        ('\u{1d87}', 'n'),  // latin small letter n with palatal hook
        ('\u{1d88}', 'p'),  // latin small letter p with palatal hook
        ('\u{1d89}', 'r'),  // latin small letter r with palatal hook
        ('\u{1d8a}', 's'),  // latin small letter s with palatal hook
        ('\u{1d8d}', 'x'),  // latin small letter x with palatal hook
        ('\u{1d8e}', 'z'),  // latin small letter z with palatal hook
        ('\u{1d8f}', 'a'),  // latin small letter a with retroflex hook
        ('\u{1d91}', 'd'),  // latin small letter d with hook and tail
        ('\u{1d92}', 'e'),  // latin small letter e with retroflex hook
        ('\u{1d96}', 'i'),  // latin small letter i with retroflex hook
        ('\u{1d99}', 'u'),  // latin small letter u with retroflex hook
        ('\u{2c64}', 'r'),  // latin capital letter r with tail
        ('\u{2c67}', 'h'),  // latin capital letter h with descender
        ('\u{2c68}', 'h'),  // latin small letter h with descender
        ('\u{2c69}', 'k'),  // latin capital letter k with descender
        ('\u{2c6a}', 'k'),  // latin small letter k with descender
        ('\u{2c6b}', 'z'),  // latin capital letter z with descender
        ('\u{2c6c}', 'z'),  // latin small letter z with descender
        ('\u{2c6e}', 'm'),  // latin capital letter m with hook
        ('\u{2c71}', 'v'),  // latin small letter v with right hook
        ('\u{2c72}', 'w'),  // latin capital letter w with hook
        ('\u{2c73}', 'w'),  // latin small letter w with hook
        ('\u{2c74}', 'v'),  // latin small letter v with curl
        ('\u{a730}', 'f'),  // latin letter small capital f
        ('\u{a731}', 's'),  // latin letter small capital s
        ('\u{a790}', 'n'),  // latin capital letter n with descender
        ('\u{a791}', 'n'),  // latin small letter n with descender
        ('\u{a794}', 'c'),  // latin small letter c with palatal hook
        ('\u{a795}', 'h'),  // latin small letter h with palatal hook
        ('\u{a7aa}', 'h'),  // latin capital letter h with hook
        ('\u{a7af}', 'q'),  // latin letter small capital q
        ('\u{a7c4}', 'c'),  // latin capital letter c with palatal hook
        ('\u{a7c5}', 's'),  // latin capital letter s with hook
        ('\u{a7c6}', 'z'),  // latin capital letter z with palatal hook
        ('\u{ab52}', 'u'),  // latin small letter u with left hook
        ('\u{1df1b}', 'o'), // latin small letter o with retroflex hook
        ('\u{1df1d}', 'c'), // latin small letter c with retroflex hook
        ('\u{1df1e}', 's'), // latin small letter s with curl
    ];

    /// Whether `a` and `b` are both names, and the same name.
    fn same(a: &str, b: &str) -> bool {
        match (parse(a.as_bytes()), parse(b.as_bytes())) {
            (Ok(a), Ok(b)) => share_a_key(&a.keys, &b.keys),
            _ => false,
        }
    }

    #[test]
    fn the_look_alikes_an_attacker_found_are_alice() {
        for name in [
            "al\u{131}\u{307}ce",
            "ali\u{307}ce",
            "al\u{131}\u{358}ce",
            "a\u{26d}ice",
            "\u{1d00}\u{29f}\u{26a}\u{1d04}\u{1d07}",
        ] {
            assert!(same(name, "alice"), "{name:?} passes for alice");
        }
        assert!(same("José", "Jose"), "diacritics do not tell names apart");
        assert!(same("Ɓob", "bob"), "the skeleton's apostrophe");
        assert!(!same("नमस्ते", "नमसत"), "a script's own marks are letters");
    }

    #[test]
    fn every_letter_that_looks_like_an_ascii_one_is_that_one() {
        for &(like, ascii) in LOOK_LIKE_ASCII {
            assert!(
                same(&like.to_string(), &ascii.to_string()),
                "{like} (U+{:04X}) passes for {ascii}",
                like as u32
            );
        }
    }

    #[test]
    fn a_diacritic_inside_a_composed_letter_goes_too() {
        // NFC makes `h` and a breve below one letter, `ḫ`, and TR39 maps
        // that breve to a mark of another script.
        assert!(same("h\u{32e}", "h"));
        assert!(same("\u{1e2b}ello", "hello"));
    }

    #[test]
    fn a_diacritic_is_one_of_no_script_of_its_own() {
        assert!(is_diacritic('\u{307}'));
        assert!(is_diacritic('\u{358}'));
        assert!(is_diacritic('\u{363}'), "a small a above");
        assert!(!is_diacritic('\u{93e}'), "a Devanagari vowel sign");
        assert!(!is_diacritic('\u{5b4}'), "a Hebrew point");
        assert!(!is_diacritic('a'));
    }

    proptest::proptest! {
        /// In any name of ASCII letters, a letter swapped for one that
        /// looks like it, or given a diacritic, leaves the same name.
        #[test]
        fn a_look_alike_letter_or_a_diacritic_leaves_the_same_name(
            name in "[a-z]{1,12}",
            at in 0usize..12,
            pick in 0..LOOK_LIKE_ASCII.len(),
            mark in 0x300u32..0x370,
        ) {
            let at = at % name.len();
            let (like, ascii) = LOOK_LIKE_ASCII[pick];
            let mut plain = name.clone();
            plain.replace_range(at..=at, &ascii.to_string());
            let mut posing = plain.clone();
            posing.replace_range(at..=at, &like.to_string());
            proptest::prop_assert!(same(&posing, &plain), "{posing} and {plain}");
            // (A Greek or Cyrillic mark makes a Latin name two scripts:
            // refused anyway.)
            let mark = char::from_u32(mark).expect("a combining mark");
            let mut marked = name.clone();
            marked.insert(at + 1, mark);
            if parse(marked.as_bytes()).is_ok() {
                proptest::prop_assert!(same(&marked, &name), "{marked:?} and {name}");
            }
        }
    }
}
