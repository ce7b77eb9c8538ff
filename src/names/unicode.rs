//! The Unicode a name needs, and no more: canonical normalisation (NFD and
//! NFC), TR39's confusable skeletons, combining marks, and the scripts
//! that tell a one-script name from a mixed one.
//!
//! The `unicode-normalization` and `unicode-security` crates do all this,
//! but their tables, a pointer an entry, were half of the binary: here the
//! same data are kept compact (see `tables`), and the algorithms are
//! Unicode's own (UAX #15, UTS #39). `oracle` checks every code point, and
//! random names, against those crates.

use super::tables::{tables, to_char, Scripts, Tables};

/// Whether the characters of `text` are all of one script, as TR39 has
/// it: Common and Inherited characters go with any, and Han with the
/// Japanese and Korean scripts.
pub fn is_single_script(text: &str) -> bool {
    let every = Scripts::augmented([u64::MAX; 3], true);
    let set = text
        .chars()
        .fold(every, |set, c| set.intersect(Scripts::of(c)));
    !set.is_empty()
}

/// Whether `c` is a combining mark (General_Category M: an accent, a
/// vowel sign).
pub fn is_combining_mark(c: char) -> bool {
    tables().marks.at(c) == 1
}

/// The first Hangul syllable, and how its jamo make the rest.
const HANGUL_SYLLABLES: u32 = 0xAC00;
/// The first leading consonant.
const LEADING: u32 = 0x1100;
/// The first vowel.
const VOWELS: u32 = 0x1161;
/// The trailing consonants' base (itself no trailing consonant).
const TRAILING: u32 = 0x11A7;
/// How many vowels and trailing consonants there are.
const VOWEL_COUNT: u32 = 21;
/// How many trailing consonants there are, counting none.
const TRAILING_COUNT: u32 = 28;
/// Syllables per leading consonant.
const PER_LEADING: u32 = VOWEL_COUNT * TRAILING_COUNT;
/// How many syllables there are.
const SYLLABLE_COUNT: u32 = 19 * PER_LEADING;

/// Appends the full canonical decomposition of `c` to `out`.
fn decompose(c: char, tables: &Tables, out: &mut Vec<char>) {
    let code = c as u32;
    if let Some(index) = code
        .checked_sub(HANGUL_SYLLABLES)
        .filter(|&index| index < SYLLABLE_COUNT)
    {
        out.push(to_char(LEADING + index / PER_LEADING));
        out.push(to_char(VOWELS + index % PER_LEADING / TRAILING_COUNT));
        if index % TRAILING_COUNT != 0 {
            out.push(to_char(TRAILING + index % TRAILING_COUNT));
        }
        return;
    }
    match tables.decompositions.get(c) {
        Some(chars) => out.extend_from_slice(chars),
        None => out.push(c),
    }
}

/// The canonical combining class of `c`.
fn class(c: char, tables: &Tables) -> u8 {
    tables
        .classes
        .binary_search_by_key(&(c as u32), |&(key, _)| key)
        .map_or(0, |index| tables.classes[index].1)
}

/// `chars` in NFD: decomposed, each run of marks in canonical order.
fn nfd(chars: impl Iterator<Item = char>, tables: &Tables) -> Vec<char> {
    let mut out = Vec::new();
    for c in chars {
        decompose(c, tables, &mut out);
    }
    let mut start = 0;
    while start < out.len() {
        if class(out[start], tables) == 0 {
            start += 1;
            continue;
        }
        let end = out[start..]
            .iter()
            .position(|&c| class(c, tables) == 0)
            .map_or(out.len(), |length| start + length);
        // A run of marks is a few characters: an insertion sort, stable,
        // with no sorting machinery in the binary.
        for at in start + 1..end {
            let mut to = at;
            while to > start && class(out[to - 1], tables) > class(out[to], tables) {
                out.swap(to - 1, to);
                to -= 1;
            }
        }
        start = end;
    }
    out
}

/// The primary composite of `first` and `second`, if they have one.
fn compose(first: char, second: char, tables: &Tables) -> Option<char> {
    let (a, b) = (first as u32, second as u32);
    if (LEADING..LEADING + 19).contains(&a) && (VOWELS..VOWELS + VOWEL_COUNT).contains(&b) {
        let syllable = (a - LEADING) * PER_LEADING + (b - VOWELS) * TRAILING_COUNT;
        return char::from_u32(HANGUL_SYLLABLES + syllable);
    }
    let syllable = a.wrapping_sub(HANGUL_SYLLABLES);
    if syllable < SYLLABLE_COUNT
        && syllable % TRAILING_COUNT == 0
        && (TRAILING + 1..TRAILING + TRAILING_COUNT).contains(&b)
    {
        return char::from_u32(a + b - TRAILING);
    }
    let key = u64::from(a) << 21 | u64::from(b);
    let index = tables
        .compositions
        .binary_search_by_key(&key, |&(pair, _)| pair)
        .ok()?;
    Some(tables.compositions[index].1)
}

/// `text` in NFC: decomposed, then every character that can join the
/// starter before it, unblocked, composed with it.
pub fn nfc(text: &str) -> String {
    let tables = tables();
    let mut out: Vec<char> = Vec::new();
    // The starter characters may still join, and the class of the last
    // character since it that did not.
    let mut starter: Option<usize> = None;
    let mut last_class: Option<u8> = None;
    for c in nfd(text.chars(), tables) {
        let class = class(c, tables);
        let Some(at) = starter else {
            out.push(c);
            if class == 0 {
                starter = Some(out.len() - 1);
            }
            continue;
        };
        let blocked = last_class.is_some_and(|last| last >= class);
        if !blocked {
            if let Some(composite) = compose(out[at], c, tables) {
                out[at] = composite;
                continue;
            }
        }
        out.push(c);
        if class == 0 {
            starter = Some(out.len() - 1);
            last_class = None;
        } else {
            last_class = Some(class);
        }
    }
    out.into_iter().collect()
}

/// The canonical decomposition (NFD) of `text`.
pub fn decomposed(text: &str) -> impl Iterator<Item = char> {
    nfd(text.chars(), tables()).into_iter()
}

/// TR39's skeleton of `text`: what it looks like, so that two texts that
/// look alike have the same one. NFD, default-ignorable characters
/// dropped, each character replaced by its prototype, NFD again.
pub fn skeleton(text: &str) -> Vec<char> {
    let tables = tables();
    let mut looks = Vec::new();
    for c in nfd(text.chars(), tables) {
        if tables.ignorable.at(c) == 1 {
            continue;
        }
        match tables.prototypes.get(c) {
            Some(prototype) => looks.extend_from_slice(prototype),
            None => looks.push(c),
        }
    }
    nfd(looks.into_iter(), tables)
}
