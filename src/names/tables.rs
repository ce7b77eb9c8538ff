//! Names mode's Unicode data, read: the byte strings of `data` (written by
//! `oracle` from the `unicode-normalization` and `unicode-security`
//! crates) are numbers as LEB128 varints, each key as its distance from the
//! one before; they are read into sorted vectors the first time a name is
//! judged, so a book-mode server never pays for them, in memory or in time.

use std::sync::OnceLock;

use super::data;

/// A map from a character to a short sequence of characters: a
/// decomposition, or a confusable's prototype.
#[derive(Default)]
pub struct Sequences {
    /// The characters mapped, in order.
    keys: Vec<u32>,
    /// Where each one's sequence ends in `chars` (it starts where the one
    /// before ends).
    ends: Vec<u32>,
    /// Every sequence, one after the other.
    chars: Vec<char>,
}

/// A property that holds over runs of code points: each run's first code
/// point, and the property's value from there to the next run.
pub struct Runs {
    /// The first code point of each run, in order.
    starts: Vec<u32>,
    /// The value of each run.
    values: Vec<u16>,
}

/// A set of scripts, as TR39's augmented script sets are: a bit per script,
/// all of them for characters of every script (Common, Inherited).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Scripts {
    /// A bit per script, by the script's number in `tables`.
    bits: [u64; 3],
    /// Han with Bopomofo, Japanese, Korean: the writing systems TR39 adds
    /// to a script set, since each mixes scripts of its own.
    hanb: bool,
    /// Japanese (Han, Hiragana, Katakana).
    jpan: bool,
    /// Korean (Han, Hangul).
    kore: bool,
}

/// Everything decoded, once.
pub struct Tables {
    /// Full canonical decompositions (Hangul syllables aside).
    pub decompositions: Sequences,
    /// Canonical combining classes that are not 0.
    pub classes: Vec<(u32, u8)>,
    /// The primary composites: `(first << 21 | second, composite)`, sorted.
    pub compositions: Vec<(u64, char)>,
    /// Confusables' prototypes, already in NFD.
    pub prototypes: Sequences,
    /// Whether a character is a combining mark (1) or not (0).
    pub marks: Runs,
    /// Whether a character is default-ignorable (1), which a skeleton
    /// drops.
    pub ignorable: Runs,
    /// Each character's script set, as an index into `script_sets`.
    pub scripts: Runs,
    /// The distinct script sets.
    pub script_sets: Vec<Scripts>,
}

/// The tables, decoded the first time they are needed.
pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let composites = composites(&data::DATA[data::COMPOSITIONS]);
        let others = Sequences::decode(&data::DATA[data::DECOMPOSITIONS]);
        Tables {
            decompositions: decompositions(&composites, others),
            classes: pairs(&data::DATA[data::CLASSES])
                .map(|(key, class)| (key, class as u8))
                .collect(),
            compositions: compositions(&composites),
            prototypes: Sequences::decode(&data::DATA[data::PROTOTYPES]),
            marks: Runs::decode(&data::DATA[data::MARKS]),
            ignorable: Runs::decode(&data::DATA[data::IGNORABLE]),
            scripts: Runs::decode(&data::DATA[data::SCRIPTS]),
            script_sets: script_sets(&data::DATA[data::SCRIPT_SETS]),
        }
    })
}

/// Reads unsigned LEB128 varints.
struct Varints<'a>(&'a [u8]);

impl Iterator for Varints<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let mut value = 0u32;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
        }
    }
}

/// `(key, value)` pairs, each key as its distance from the one before.
fn pairs(stream: &[u8]) -> impl Iterator<Item = (u32, u32)> + '_ {
    let mut numbers = Varints(stream);
    let mut key = 0;
    std::iter::from_fn(move || {
        key += numbers.next()?;
        Some((key, numbers.next()?))
    })
}

/// A code point that the tables hold: always a `char` (`oracle` wrote
/// only those); U+FFFD if the data were ever damaged.
pub fn to_char(code: u32) -> char {
    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
}

impl Sequences {
    /// Reads entries of a key (as a distance, shifted left by two, with the
    /// length in the two bits if it is under 3, and after it if not), and
    /// that many characters, each as a zigzag distance from the character
    /// before.
    fn decode(stream: &[u8]) -> Self {
        let mut numbers = Varints(stream);
        let mut map = Sequences::default();
        let (mut key, mut previous) = (0u32, 0i64);
        while let Some(head) = numbers.next() {
            key += head >> 2;
            let len = match head & 3 {
                3 => numbers.next().unwrap_or(0),
                len => len,
            };
            for _ in 0..len {
                let zigzag = i64::from(numbers.next().unwrap_or(0));
                previous += (zigzag >> 1) ^ -(zigzag & 1);
                map.chars.push(to_char(previous as u32));
            }
            map.push(key);
        }
        map
    }

    /// Ends the sequence of `key`: the characters pushed since the last.
    fn push(&mut self, key: u32) {
        self.keys.push(key);
        self.ends.push(self.chars.len() as u32);
    }

    /// What `c` maps to, if anything.
    pub fn get(&self, c: char) -> Option<&[char]> {
        let index = self.keys.binary_search(&(c as u32)).ok()?;
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        Some(&self.chars[start as usize..self.ends[index] as usize])
    }
}

impl Runs {
    /// Reads runs as `(distance from the run before, value)` pairs.
    fn decode(stream: &[u8]) -> Self {
        let (starts, values) = pairs(stream)
            .map(|(start, value)| (start, value as u16))
            .unzip();
        Runs { starts, values }
    }

    /// The value at `c`: 0 before the first run.
    pub fn at(&self, c: char) -> u16 {
        match self.starts.binary_search(&(c as u32)) {
            Ok(index) => self.values[index],
            Err(0) => 0,
            Err(after) => self.values[after - 1],
        }
    }
}

/// The primary composites, in order: each `(composite, first, second)`,
/// read as the composite's distance from the one before, the first's
/// zigzag distance from the composite, and the second.
fn composites(stream: &[u8]) -> Vec<(char, char, char)> {
    let mut numbers = Varints(stream);
    let mut composite = 0u32;
    let mut composites = Vec::new();
    while let (Some(distance), Some(zigzag), Some(second)) =
        (numbers.next(), numbers.next(), numbers.next())
    {
        composite += distance;
        let first = i64::from(composite) + ((i64::from(zigzag) >> 1) ^ -(i64::from(zigzag) & 1));
        composites.push((to_char(composite), to_char(first as u32), to_char(second)));
    }
    composites
}

/// The primary composites by their two characters, `(first << 21 |
/// second, composite)`, sorted: an insertion sort, as they come nearly in
/// that order already, with no sorting machinery in the binary.
fn compositions(composites: &[(char, char, char)]) -> Vec<(u64, char)> {
    let mut pairs: Vec<(u64, char)> = composites
        .iter()
        .map(|&(composite, first, second)| {
            (
                u64::from(first as u32) << 21 | u64::from(second as u32),
                composite,
            )
        })
        .collect();
    for at in 1..pairs.len() {
        let mut to = at;
        while to > 0 && pairs[to - 1].0 > pairs[to].0 {
            pairs.swap(to - 1, to);
            to -= 1;
        }
    }
    pairs
}

/// Every full canonical decomposition: the primary composites', each the
/// decomposition of its first character and then its second, among
/// `others`, those of the characters that are not primary composites.
fn decompositions(composites: &[(char, char, char)], others: Sequences) -> Sequences {
    /// Appends the full decomposition of `c`.
    fn expand(c: char, composites: &[(char, char, char)], others: &Sequences, out: &mut Vec<char>) {
        if let Ok(at) = composites.binary_search_by_key(&c, |&(composite, _, _)| composite) {
            let (_, first, second) = composites[at];
            expand(first, composites, others, out);
            out.push(second);
        } else if let Some(chars) = others.get(c) {
            out.extend_from_slice(chars);
        } else {
            out.push(c);
        }
    }
    let mut all = Sequences::default();
    let (mut next_composite, mut next_other) = (0, 0);
    loop {
        let composite = composites.get(next_composite).map(|&(c, _, _)| c as u32);
        let other = others.keys.get(next_other).copied();
        let composite_first = match (composite, other) {
            (Some(c), Some(other)) => c < other,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return all,
        };
        if let (true, Some(c)) = (composite_first, composite) {
            expand(to_char(c), composites, &others, &mut all.chars);
            all.push(c);
            next_composite += 1;
        } else if let Some(other) = other {
            if let Some(chars) = others.get(to_char(other)) {
                all.chars.extend_from_slice(chars);
            }
            all.push(other);
            next_other += 1;
        }
    }
}

/// The distinct script sets: each a count of scripts and their numbers;
/// a count of 0 is every script (Common, Inherited).
fn script_sets(stream: &[u8]) -> Vec<Scripts> {
    let mut numbers = Varints(stream);
    let mut sets = Vec::new();
    while let Some(count) = numbers.next() {
        let mut bits = [0u64; 3];
        if count == 0 {
            bits = [u64::MAX; 3];
        }
        for _ in 0..count {
            let script = numbers.next().unwrap_or(0) as usize;
            bits[script / 64 % 3] |= 1 << (script % 64);
        }
        sets.push(Scripts::augmented(bits, count == 0));
    }
    sets
}

impl Scripts {
    /// The augmented set of a character whose scripts are `bits`
    /// (`every` for Common and Inherited), as TR39 defines it.
    pub fn augmented(bits: [u64; 3], every: bool) -> Self {
        let has = |script: u8| bits[usize::from(script / 64)] & 1 << (script % 64) != 0;
        let han = every || has(data::HAN);
        Scripts {
            bits,
            hanb: han || has(data::BOPOMOFO),
            jpan: han || has(data::HIRAGANA) || has(data::KATAKANA),
            kore: han || has(data::HANGUL),
        }
    }

    /// The set of a character.
    pub fn of(c: char) -> Self {
        let tables = tables();
        let index = usize::from(tables.scripts.at(c));
        tables.script_sets[index]
    }

    /// What two sets have in common.
    pub fn intersect(self, other: Self) -> Self {
        Scripts {
            bits: [
                self.bits[0] & other.bits[0],
                self.bits[1] & other.bits[1],
                self.bits[2] & other.bits[2],
            ],
            hanb: self.hanb && other.hanb,
            jpan: self.jpan && other.jpan,
            kore: self.kore && other.kore,
        }
    }

    /// Whether no script is left.
    pub fn is_empty(self) -> bool {
        self.bits == [0; 3] && !self.hanb && !self.jpan && !self.kore
    }

    /// The scripts' numbers, for `oracle`.
    #[cfg(test)]
    pub fn numbers(self) -> (Vec<u8>, [bool; 3]) {
        let numbers = (0..=191u8)
            .filter(|&script| self.bits[usize::from(script / 64)] & 1 << (script % 64) != 0)
            .collect();
        (numbers, [self.hanb, self.jpan, self.kore])
    }
}
