//! Names mode's Unicode data (see `tables`), written by `generate` from
//! the `unicode-normalization` and `unicode-security` crates, Unicode
//! 18.0.0: do not edit.

use std::ops::Range;

/// Every table, one after the other.
pub const DATA: &[u8] = include_bytes!("unicode.bin");

/// The number of the script Han.
pub const HAN: u8 = 50;

/// The number of the script Hiragana.
pub const HIRAGANA: u8 = 54;

/// The number of the script Katakana.
pub const KATAKANA: u8 = 63;

/// The number of the script Hangul.
pub const HANGUL: u8 = 49;

/// The number of the script Bopomofo.
pub const BOPOMOFO: u8 = 14;

/// Full canonical decompositions of all but the primary composites and the Hangul syllables, as sequences.
pub const DECOMPOSITIONS: Range<usize> = 0..3540;

/// Canonical combining classes other than 0, as pairs.
pub const CLASSES: Range<usize> = 3540..6418;

/// Primary composites, as triples: composite (a distance), first (a zigzag distance from it), second.
pub const COMPOSITIONS: Range<usize> = 6418..10949;

/// Confusables' prototypes, in NFD, as sequences.
pub const PROTOTYPES: Range<usize> = 10949..34143;

/// Combining marks (1), as runs.
pub const MARKS: Range<usize> = 34143..35531;

/// Default-ignorable code points (1), as runs.
pub const IGNORABLE: Range<usize> = 35531..35618;

/// Each character's script set, as runs of indices into `SCRIPT_SETS`.
pub const SCRIPTS: Range<usize> = 35618..36743;

/// The script sets: a count, then the scripts' numbers (0: every script).
pub const SCRIPT_SETS: Range<usize> = 36743..37616;
