//! A property of code points kept as runs, the form the Unicode data take:
//! long stretches of code points share a value, so a table of where each
//! run starts, how long it is and its value is a few bytes a run.

use std::sync::OnceLock;

/// A table of runs: each a varint gap from the end of the run before, a
/// varint length less one, and a value byte. Code points in no run have
/// the default. Decoded the first time it is asked.
pub struct Runs {
    bytes: &'static [u8],
    default: u8,
    decoded: OnceLock<Vec<(u32, u32, u8)>>,
}

impl Runs {
    /// A table of `bytes`, with `default` outside its runs.
    pub const fn new(bytes: &'static [u8], default: u8) -> Runs {
        Runs {
            bytes,
            default,
            decoded: OnceLock::new(),
        }
    }

    /// The value for `c`.
    pub fn get(&self, c: char) -> u8 {
        let runs = self.decoded.get_or_init(|| decode(self.bytes));
        let c = u32::from(c);
        let after = runs.partition_point(|&(start, _, _)| start <= c);
        match after.checked_sub(1).map(|i| runs[i]) {
            Some((_, end, value)) if c <= end => value,
            _ => self.default,
        }
    }
}

/// The runs as (first, last, value), in order.
fn decode(mut bytes: &[u8]) -> Vec<(u32, u32, u8)> {
    let mut runs = Vec::new();
    let mut next = 0;
    while let (Some(gap), Some(len)) = (varint(&mut bytes), varint(&mut bytes)) {
        let Some((&value, rest)) = bytes.split_first() else {
            break;
        };
        bytes = rest;
        let first = next + gap;
        runs.push((first, first + len, value));
        next = first + len + 1;
    }
    runs
}

/// Reads an unsigned LEB128 varint.
fn varint(bytes: &mut &[u8]) -> Option<u32> {
    let mut value = 0;
    for shift in (0..32).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u32::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// Writes `runs` (first, last, value; in order, apart) as `Runs` reads them.
#[cfg(test)]
pub fn encode(runs: &[(u32, u32, u8)]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut value: u32) {
        while value >= 0x80 {
            out.push(value as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    let mut out = Vec::new();
    let mut next = 0;
    for &(first, last, value) in runs {
        varint(&mut out, first - next);
        varint(&mut out, last - first);
        out.push(value);
        next = last + 1;
    }
    out
}
