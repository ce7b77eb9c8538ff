//! The program that writes `clusters.bin` and `widths.bin` from the
//! `unicode-segmentation` and `unicode-width` crates, and the checks that
//! the tables answer as the crates do. It runs as a test:
//! `CLIENT_WRITE_UNICODE_TABLES=1 cargo test -p client unicode::oracle`
//! writes the files; without the variable the test checks that the files
//! are what the crates give.
//!
//! The crate keeps its classes to itself, so a character's class is read
//! from what the crate does with it: where clusters begin in a string that
//! puts the character beside one character of every class, and in the
//! contexts of the rules that look further back (emoji sequences, Indic
//! conjuncts). Two characters that the crate treats alike in all of these
//! are alike in every string.

use std::path::Path;

use proptest::prelude::*;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{char_width, clusters, next_boundary, previous_boundary, runs, width, Class};

/// One character of each class, in `Class::ALL`'s order.
const REPRESENTATIVES: [char; 18] = [
    'a',
    '\r',
    '\n',
    '\u{1}',
    '\u{200C}',
    '\u{300}',
    '\u{94D}',
    '\u{200D}',
    '\u{1F1E6}',
    '\u{600}',
    '\u{903}',
    '\u{1100}',
    '\u{1161}',
    '\u{11A8}',
    '\u{AC00}',
    '\u{AC01}',
    '\u{1F600}',
    '\u{915}',
];

/// The contexts beyond pairs: `_` is the character being read.
const CONTEXTS: [&str; 6] = [
    "\u{1F600}\u{200D}_",
    "\u{1F600}_\u{200D}\u{1F600}",
    "\u{1F600}_\u{1F600}",
    "\u{915}\u{94D}_",
    "\u{915}_\u{915}",
    "\u{915}\u{94D}_\u{915}",
];

/// The text `signature` reads for characters `len` bytes long: every
/// representative on both sides of the character, and every context, each
/// apart after a line feed. `'_'` stands for the character, repeated `len`
/// times; with where each character starts, and where the stand-ins are.
struct Probe {
    text: Vec<u8>,
    starts: Vec<usize>,
    stand_ins: Vec<usize>,
}

impl Probe {
    fn new(len: usize) -> Probe {
        let mut pieces = String::new();
        // A line feed or a control on either side breaks, whatever the
        // character: the other classes tell those apart.
        for p in REPRESENTATIVES
            .into_iter()
            .filter(|p| !matches!(p, '\n' | '\u{1}'))
        {
            pieces.extend(['\n', p, '_', p]);
        }
        for context in CONTEXTS {
            pieces.push('\n');
            pieces.push_str(context);
        }
        let mut probe = Probe {
            text: Vec::new(),
            starts: Vec::new(),
            stand_ins: Vec::new(),
        };
        for c in pieces.chars() {
            probe.starts.push(probe.text.len());
            if c == '_' {
                probe.stand_ins.push(probe.text.len());
                probe.text.extend(std::iter::repeat_n(b'_', len));
            } else {
                probe
                    .text
                    .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
        }
        probe
    }

    /// Which of the probe's characters the crate begins a cluster at, when
    /// the stand-ins are `c`.
    fn signature(&mut self, c: char) -> u128 {
        let mut bytes = [0; 4];
        let bytes = c.encode_utf8(&mut bytes).as_bytes();
        for &at in &self.stand_ins {
            self.text[at..at + bytes.len()].copy_from_slice(bytes);
        }
        let text = std::str::from_utf8(&self.text).expect("the probe is UTF-8");
        let mut signature = 0;
        let mut slot = 0;
        for (at, _) in text.grapheme_indices(true) {
            while self.starts[slot] < at {
                slot += 1;
            }
            signature |= 1 << slot;
        }
        signature
    }
}

/// The signatures of characters 1 to 4 bytes long.
struct Probes([Probe; 4]);

impl Probes {
    fn new() -> Probes {
        Probes([1, 2, 3, 4].map(Probe::new))
    }

    fn signature(&mut self, c: char) -> u128 {
        self.0[c.len_utf8() - 1].signature(c)
    }
}

/// Where `c` is in `every_char`.
fn index(c: char) -> usize {
    let code = u32::from(c) as usize;
    if code < 0xD800 {
        code
    } else {
        code - 0x800
    }
}

/// Every code point that is a `char`.
fn every_char() -> impl Iterator<Item = char> {
    (0..=0x10FFFFu32).filter_map(char::from_u32)
}

/// The class the crate gives `c`, by its signature.
fn crate_class(c: char, probes: &mut Probes, known: &[(u128, Class)]) -> Class {
    let signature = probes.signature(c);
    match known.iter().find(|&&(s, _)| s == signature) {
        Some(&(_, class)) => class,
        None => panic!("U+{:04X} is in none of the classes", u32::from(c)),
    }
}

/// Runs of equal values other than `default`, from every code point's value.
fn runs_of(value: impl Fn(char) -> u8, default: u8) -> Vec<(u32, u32, u8)> {
    let mut out: Vec<(u32, u32, u8)> = Vec::new();
    for c in every_char() {
        let (code, value) = (u32::from(c), value(c));
        if value == default {
            continue;
        }
        match out.last_mut() {
            // The surrogates are no chars: a run may span them.
            Some((_, last, v))
                if *v == value && (*last + 1 == code || *last == 0xD7FF && code == 0xE000) =>
            {
                *last = code;
            }
            _ => out.push((code, code, value)),
        }
    }
    out
}

/// The crate's width of `c` on its own, controls 0.
fn crate_width(c: char) -> u8 {
    c.width().unwrap_or(0) as u8
}

fn check_or_write(name: &str, bytes: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/unicode")
        .join(name);
    if std::env::var_os("CLIENT_WRITE_UNICODE_TABLES").is_some() {
        std::fs::write(&path, bytes).expect("the table is written");
    } else {
        let written = std::fs::read(&path).expect("the table is there");
        assert!(
            written == bytes,
            "{name} is not what the crates give: CLIENT_WRITE_UNICODE_TABLES=1 cargo test -p client unicode::oracle"
        );
    }
}

#[test]
fn the_tables_are_the_crates_answers_for_every_code_point() {
    let mut probes = Probes::new();
    let known: Vec<(u128, Class)> = REPRESENTATIVES
        .iter()
        .zip(Class::ALL)
        .map(|(&c, class)| (probes.signature(c), class))
        .collect();
    for (i, (signature, class)) in known.iter().enumerate() {
        assert!(
            known[..i].iter().all(|(s, _)| s != signature),
            "{class:?} cannot be told apart"
        );
    }
    // Half the code points on each of two threads: a million probes take a while.
    let halves = [0..0x88000, 0x88000..0x110000].map(|codes: std::ops::Range<u32>| {
        let known = &known;
        move || {
            let mut probes = Probes::new();
            codes
                .filter_map(char::from_u32)
                .map(|c| crate_class(c, &mut probes, known))
                .collect::<Vec<_>>()
        }
    });
    let crate_classes: Vec<Class> = std::thread::scope(|scope| {
        let threads = halves.map(|half| scope.spawn(half));
        threads
            .into_iter()
            .flat_map(|thread| thread.join().expect("a probe thread ends"))
            .collect()
    });
    let classes = runs_of(|c| crate_classes[index(c)] as u8, Class::Other as u8);
    check_or_write("clusters.bin", &runs::encode(&classes));
    check_or_write("widths.bin", &runs::encode(&runs_of(crate_width, 1)));
    for c in every_char() {
        assert_eq!(
            Class::of(c),
            crate_classes[index(c)],
            "U+{:04X}",
            u32::from(c)
        );
        assert_eq!(
            char_width(c),
            usize::from(crate_width(c)),
            "U+{:04X}",
            u32::from(c)
        );
    }
}

#[test]
fn a_cluster_is_as_wide_as_the_crate_says_in_the_common_cases() {
    for text in [
        "a",
        "\u{4e2d}",
        "e\u{301}",
        "\u{1F44D}\u{1F3FD}",
        "\u{2764}\u{FE0F}",
        "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
        "\u{1F1EB}\u{1F1F7}",
        "\u{1112}\u{1161}\u{11AB}",
        "\u{D55C}",
        "\u{915}\u{94D}\u{937}",
        "\u{915}\u{93E}",
        "\u{1F600}",
    ] {
        assert_eq!(clusters(text).count(), 1, "{text:?} is one cluster");
        assert_eq!(width(text), text.width(), "{text:?}");
    }
}

/// Characters of every class, and characters of no interest.
fn a_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::sample::select(REPRESENTATIVES.to_vec()),
        proptest::sample::select(vec![
            '\u{1F3FB}',
            '\u{FE0F}',
            '\u{93E}',
            '\u{1F1E7}',
            '\u{2764}',
            '\u{E0001}'
        ]),
        any::<char>(),
    ]
}

proptest! {
    #[test]
    fn clusters_begin_where_the_crate_begins_them(chars in proptest::collection::vec(a_char(), 0..12)) {
        let text: String = chars.into_iter().collect();
        let ours: Vec<_> = clusters(&text).collect();
        let theirs: Vec<_> = text.grapheme_indices(true).collect();
        prop_assert_eq!(&ours, &theirs);
        for (at, _) in text.char_indices() {
            prop_assert_eq!(
                previous_boundary(&text, at),
                text[..at].grapheme_indices(true).next_back().map_or(0, |(i, _)| i)
            );
            prop_assert_eq!(
                next_boundary(&text, at),
                text[at..].graphemes(true).next().map_or(at, |g| at + g.len())
            );
        }
    }
}
