//! Where the cursor may stop in the line you type, and how many columns the
//! line takes: the two questions of Unicode the editor and the screen ask.
//!
//! The cursor moves by extended grapheme clusters (UAX #29), so that one
//! key steps over an accented letter, a flag or a family emoji as the eye
//! sees them; a cluster is as wide as the terminal draws it (UAX #11), so
//! that the cursor lands where the terminal puts it. The answers come from
//! two small tables of runs (`clusters.bin`, `widths.bin`, about 8 KB in
//! all), written by `oracle` from the `unicode-segmentation` and
//! `unicode-width` crates, which stay dev-dependencies: the crates' own
//! tables cost the client 48 KB, and their answers are checked here for
//! every code point.

#[cfg(test)]
mod oracle;
mod runs;

use runs::Runs;

/// A character's part in where clusters begin (UAX #29's
/// Grapheme_Cluster_Break, with Extended_Pictographic and Indic_Conjunct_Break
/// folded in). The numbers are the tables'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Class {
    Other = 0,
    Cr,
    Lf,
    Control,
    /// Extend, and not part of an Indic conjunct.
    Extend,
    /// Extend, and may sit inside an Indic conjunct (InCB=Extend).
    ConjunctExtend,
    /// Extend, and joins two consonants into a conjunct (InCB=Linker).
    Linker,
    Zwj,
    RegionalIndicator,
    Prepend,
    SpacingMark,
    L,
    V,
    T,
    Lv,
    Lvt,
    Pictographic,
    /// A consonant a linker joins (InCB=Consonant).
    Consonant,
}

impl Class {
    const ALL: [Class; 18] = [
        Class::Other,
        Class::Cr,
        Class::Lf,
        Class::Control,
        Class::Extend,
        Class::ConjunctExtend,
        Class::Linker,
        Class::Zwj,
        Class::RegionalIndicator,
        Class::Prepend,
        Class::SpacingMark,
        Class::L,
        Class::V,
        Class::T,
        Class::Lv,
        Class::Lvt,
        Class::Pictographic,
        Class::Consonant,
    ];

    fn of(c: char) -> Class {
        static CLUSTERS: Runs = Runs::new(include_bytes!("clusters.bin"), 0);
        Class::ALL
            .get(usize::from(CLUSTERS.get(c)))
            .copied()
            .unwrap_or(Class::Other)
    }

    /// Grapheme_Cluster_Break=Extend, whatever its conjunct part.
    fn extends(self) -> bool {
        matches!(self, Class::Extend | Class::ConjunctExtend | Class::Linker)
    }
}

/// How many columns `c` takes on its own: 0 for what combines with the
/// character before it and for controls, 2 for East Asian wide and
/// full-width characters and emoji, 1 for the rest.
fn char_width(c: char) -> usize {
    static WIDTHS: Runs = Runs::new(include_bytes!("widths.bin"), 1);
    usize::from(WIDTHS.get(c))
}

/// How many columns `cluster` (one extended grapheme cluster) takes. The
/// sum of its characters' widths, as terminals add them, except where an
/// emoji sequence draws as one emoji: a pictograph joined by a zero-width
/// joiner or a skin tone adds nothing, and U+FE0F draws a narrow
/// pictograph wide.
pub fn width(cluster: &str) -> usize {
    let mut chars = cluster.chars();
    let Some(first) = chars.next() else {
        return 0;
    };
    let emoji = Class::of(first) == Class::Pictographic;
    let mut columns = char_width(first);
    let mut joined = false;
    for c in chars {
        match c {
            '\u{FE0F}' if emoji => columns = columns.max(2),
            '\u{1F3FB}'..='\u{1F3FF}' if emoji => {}
            _ if joined && emoji => {}
            _ => columns += char_width(c),
        }
        joined = c == '\u{200D}';
    }
    columns
}

/// Where clusters begin, walking forward: the state UAX #29's rules need
/// beyond the character before.
#[derive(Clone, Copy)]
struct Breaker {
    before: Class,
    /// After a pictograph and any extenders, and whether a ZWJ followed.
    emoji: Emoji,
    /// An odd number of regional indicators in a row just before.
    odd_regional: bool,
    /// A conjunct consonant and what may join it, just before.
    conjunct: Conjunct,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Emoji {
    None,
    Pictograph,
    Joined,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Conjunct {
    None,
    Consonant,
    Linked,
}

impl Breaker {
    fn new(first: Class) -> Breaker {
        let mut breaker = Breaker {
            before: Class::Control,
            emoji: Emoji::None,
            odd_regional: false,
            conjunct: Conjunct::None,
        };
        breaker.advance(first);
        breaker
    }

    /// Whether a cluster begins before a character of class `next`
    /// (rules GB3 to GB999, in their order).
    fn breaks_before(&self, next: Class) -> bool {
        use Class::*;
        match (self.before, next) {
            (Cr, Lf) => false,
            (Cr | Lf | Control, _) | (_, Cr | Lf | Control) => true,
            (L, L | V | Lv | Lvt) | (Lv | V, V | T) | (Lvt | T, T) => false,
            (_, Extend | ConjunctExtend | Linker | Zwj | SpacingMark) | (Prepend, _) => false,
            (_, Consonant) if self.conjunct == Conjunct::Linked => false,
            (Zwj, Pictographic) if self.emoji == Emoji::Joined => false,
            (RegionalIndicator, RegionalIndicator) => !self.odd_regional,
            _ => true,
        }
    }

    /// Takes in a character of class `next`.
    fn advance(&mut self, next: Class) {
        self.emoji = match (self.emoji, next) {
            (_, Class::Pictographic) => Emoji::Pictograph,
            (Emoji::Pictograph, class) if class.extends() => Emoji::Pictograph,
            (Emoji::Pictograph, Class::Zwj) => Emoji::Joined,
            _ => Emoji::None,
        };
        self.odd_regional = next == Class::RegionalIndicator && !self.odd_regional;
        self.conjunct = match (self.conjunct, next) {
            (_, Class::Consonant) => Conjunct::Consonant,
            (Conjunct::None, _) => Conjunct::None,
            (_, Class::Linker) => Conjunct::Linked,
            (held, Class::ConjunctExtend | Class::Zwj) => held,
            _ => Conjunct::None,
        };
        self.before = next;
    }
}

/// The clusters of `text`, each with the byte offset it starts at.
pub fn clusters(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut starts = text.char_indices();
    let mut breaker = starts.next().map(|(_, c)| Breaker::new(Class::of(c)));
    let mut start = 0;
    std::iter::from_fn(move || {
        let state = breaker.as_mut()?;
        for (at, c) in starts.by_ref() {
            let class = Class::of(c);
            let begins = state.breaks_before(class);
            state.advance(class);
            if begins {
                let cluster = (start, &text[start..at]);
                start = at;
                return Some(cluster);
            }
        }
        breaker = None;
        Some((start, &text[start..]))
    })
}

/// The start of the cluster that ends at byte `at` of `text` (0 at the start).
pub fn previous_boundary(text: &str, at: usize) -> usize {
    clusters(&text[..at]).last().map_or(0, |(start, _)| start)
}

/// The end of the cluster that starts at byte `at` of `text` (`at` at the end).
pub fn next_boundary(text: &str, at: usize) -> usize {
    clusters(&text[at..])
        .next()
        .map_or(at, |(_, cluster)| at + cluster.len())
}
