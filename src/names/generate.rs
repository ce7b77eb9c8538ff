//! The program that writes names mode's Unicode data (`data.rs` and
//! `unicode.bin`) from the `unicode-normalization` and `unicode-security`
//! crates, which stay dev-dependencies for this and for `oracle`'s checks.
//! It runs as a test: `CHAT_WRITE_UNICODE_TABLES=1 cargo test --lib
//! names::oracle` writes the files; without the variable the test checks
//! that the files are what the crates give.

use std::collections::HashMap;
use std::fmt::Write;

use unicode_normalization::char::{canonical_combining_class, compose, is_combining_mark};
use unicode_normalization::UnicodeNormalization;
use unicode_script::Script;
use unicode_security::mixed_script::AugmentedScriptSet;
use unicode_security::skeleton;

/// Every code point that is a `char`.
pub fn every_char() -> impl Iterator<Item = char> {
    (0..=0x10FFFFu32).filter_map(char::from_u32)
}

/// Whether a name's script matters for `c`: it may be in a name (see
/// `names::parse`); for any other character the data may say anything.
pub fn in_a_name(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || matches!(c, '-' | '_' | '.')
}

/// The script number of `script`, as the data count them.
pub fn script_number(script: Script) -> u8 {
    script as u8
}

/// The crate's NFD of `c`.
fn nfd_of(c: char) -> Vec<char> {
    c.to_string().nfd().collect()
}

/// Whether a skeleton drops `c` (the crate keeps the default-ignorable
/// code points to itself).
fn is_ignorable(c: char) -> bool {
    nfd_of(c) == [c] && skeleton(&c.to_string()).next().is_none()
}

/// Appends `value` as an unsigned LEB128 varint.
fn varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A map of characters to sequences (see `tables::Sequences::decode`).
fn sequences(entries: &[(char, Vec<char>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut key, mut previous) = (0u32, 0i64);
    for (c, chars) in entries {
        let len = chars.len() as u32;
        varint(&mut out, (*c as u32 - key) << 2 | len.min(3));
        if len >= 3 {
            varint(&mut out, len);
        }
        key = *c as u32;
        for &d in chars {
            let distance = d as i64 - previous;
            varint(&mut out, ((distance << 1) ^ (distance >> 63)) as u32);
            previous = d as i64;
        }
    }
    out
}

/// Runs of a property over every code point (see `tables::Runs::decode`);
/// where `value` says `None`, the run before goes on.
fn runs(mut value: impl FnMut(char) -> Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut start, mut current) = (0u32, None);
    for c in every_char() {
        let Some(here) = value(c) else { continue };
        if current != Some(here) {
            varint(&mut out, c as u32 - start);
            varint(&mut out, u32::from(here));
            start = c as u32;
            current = Some(here);
        }
    }
    out
}

/// Every full canonical decomposition but the Hangul syllables', which
/// are computed.
fn decompositions() -> Vec<(char, Vec<char>)> {
    every_char()
        .filter(|c| !('\u{AC00}'..='\u{D7A3}').contains(c))
        .map(|c| (c, nfd_of(c)))
        .filter(|(c, d)| d != &[*c])
        .collect()
}

/// The canonical combining classes other than 0, as pairs.
fn classes() -> Vec<u8> {
    let mut out = Vec::new();
    let mut key = 0;
    for c in every_char() {
        let class = canonical_combining_class(c);
        if class != 0 {
            varint(&mut out, c as u32 - key);
            varint(&mut out, u32::from(class));
            key = c as u32;
        }
    }
    out
}

/// The primary composites, `(composite, first, second)` in order: each
/// composite with a decomposition of two or more that NFC keeps is the
/// composition of the NFC of all but its last character, and that last
/// one; and its decomposition is the first's and then the second.
fn composites(decompositions: &[(char, Vec<char>)]) -> Vec<(char, char, char)> {
    let mut composites = Vec::new();
    for (c, d) in decompositions {
        if d.len() < 2 || c.to_string().nfc().collect::<Vec<_>>() != [*c] {
            continue;
        }
        let first: Vec<char> = d[..d.len() - 1].iter().collect::<String>().nfc().collect();
        let second = d[d.len() - 1];
        assert!(
            first.len() == 1 && compose(first[0], second) == Some(*c),
            "{c:?}: no pair found for the primary composite"
        );
        let mut again = nfd_of(first[0]);
        again.push(second);
        assert_eq!(
            &again, d,
            "{c:?}: not its first's decomposition, then its second"
        );
        composites.push((*c, first[0], second));
    }
    composites
}

/// The primary composites as triples (see `tables::composites`).
fn compositions(composites: &[(char, char, char)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut previous = 0;
    for &(composite, first, second) in composites {
        varint(&mut out, composite as u32 - previous);
        let distance = first as i64 - composite as i64;
        varint(&mut out, ((distance << 1) ^ (distance >> 63)) as u32);
        varint(&mut out, second as u32);
        previous = composite as u32;
    }
    out
}

/// The confusables' prototypes, each already in NFD, for the characters a
/// skeleton looks up (those NFD keeps, and does not drop).
fn prototypes() -> Vec<u8> {
    let entries: Vec<(char, Vec<char>)> = every_char()
        .filter(|&c| nfd_of(c) == [c] && !is_ignorable(c))
        .map(|c| (c, skeleton(&c.to_string()).collect::<Vec<_>>()))
        .filter(|(c, p)| p != &[*c])
        .collect();
    sequences(&entries)
}

/// Each character's script set as runs, and the distinct sets.
fn scripts() -> (Vec<u8>, Vec<u8>) {
    let mut sets: Vec<Vec<u8>> = Vec::new();
    let mut indices: HashMap<Vec<u8>, u16> = HashMap::new();
    let runs = runs(|c| {
        if !in_a_name(c) {
            return None;
        }
        let base = AugmentedScriptSet::for_char(c).base;
        // Common and Inherited: every script, written as no script at all
        // (no letter is of no script).
        let scripts: Vec<u8> = if base.is_common() || base.is_inherited() {
            Vec::new()
        } else {
            base.iter().map(script_number).collect()
        };
        assert!(
            !scripts.is_empty() || base.is_common() || base.is_inherited(),
            "{c:?} has no script"
        );
        Some(*indices.entry(scripts.clone()).or_insert_with(|| {
            sets.push(scripts);
            (sets.len() - 1) as u16
        }))
    });
    let mut out = Vec::new();
    for set in &sets {
        varint(&mut out, set.len() as u32);
        for &script in set {
            varint(&mut out, u32::from(script));
        }
    }
    (runs, out)
}

/// Each table: its name, what it holds, and its bytes.
type Part = (&'static str, &'static str, Vec<u8>);

/// Every table, in the order `unicode.bin` holds them.
fn parts() -> [Part; 8] {
    let decompositions = decompositions();
    let composites = composites(&decompositions);
    let others: Vec<(char, Vec<char>)> = decompositions
        .into_iter()
        .filter(|(c, _)| !composites.iter().any(|&(composite, _, _)| composite == *c))
        .collect();
    let (script_runs, script_sets) = scripts();
    [
        (
            "DECOMPOSITIONS",
            "Full canonical decompositions of all but the primary composites and the Hangul syllables, as sequences.",
            sequences(&others),
        ),
        (
            "CLASSES",
            "Canonical combining classes other than 0, as pairs.",
            classes(),
        ),
        (
            "COMPOSITIONS",
            "Primary composites, as triples: composite (a distance), first (a zigzag distance from it), second.",
            compositions(&composites),
        ),
        (
            "PROTOTYPES",
            "Confusables' prototypes, in NFD, as sequences.",
            prototypes(),
        ),
        (
            "MARKS",
            "Combining marks (1), as runs.",
            runs(|c| Some(u16::from(is_combining_mark(c)))),
        ),
        (
            "IGNORABLE",
            "Default-ignorable code points (1), as runs.",
            runs(|c| Some(u16::from(is_ignorable(c)))),
        ),
        (
            "SCRIPTS",
            "Each character's script set, as runs of indices into `SCRIPT_SETS`.",
            script_runs,
        ),
        (
            "SCRIPT_SETS",
            "The script sets: a count, then the scripts' numbers (0: every script).",
            script_sets,
        ),
    ]
}

/// `data.rs` and `unicode.bin`, as the crates give them.
pub fn generate() -> (String, Vec<u8>) {
    let parts = parts();
    let (major, minor, update) = unicode_normalization::UNICODE_VERSION;
    let mut source = format!(
        "//! Names mode's Unicode data (see `tables`), written by `generate` from\n\
         //! the `unicode-normalization` and `unicode-security` crates, Unicode\n\
         //! {major}.{minor}.{update}: do not edit.\n\n\
         use std::ops::Range;\n\n\
         /// Every table, one after the other.\n\
         pub const DATA: &[u8] = include_bytes!(\"unicode.bin\");\n"
    );
    for (name, script) in [
        ("HAN", Script::Han),
        ("HIRAGANA", Script::Hiragana),
        ("KATAKANA", Script::Katakana),
        ("HANGUL", Script::Hangul),
        ("BOPOMOFO", Script::Bopomofo),
    ] {
        let number = script_number(script);
        let full = script.full_name();
        let _ = write!(
            source,
            "\n/// The number of the script {full}.\npub const {name}: u8 = {number};\n"
        );
    }
    let mut blob = Vec::new();
    for (name, doc, bytes) in parts {
        let (start, end) = (blob.len(), blob.len() + bytes.len());
        let _ = write!(
            source,
            "\n/// {doc}\npub const {name}: Range<usize> = {start}..{end};\n"
        );
        blob.extend_from_slice(&bytes);
    }
    (source, blob)
}
