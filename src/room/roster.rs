//! Who holds which name, in names mode, and in what order they arrived.
//!
//! The audience knows each member's name as it is shown; the roster knows
//! what the names are compared by (their keys, see `names::keys`) and the
//! order of arrival that `/who` and `Also here` list. It changes only with
//! the audience: a member joining, renaming, or leaving for any reason (a
//! cut-off included), so a name is free the moment its holder is gone.

use std::collections::HashMap;

use crate::names::Keys;

/// The names mode's index of the audience.
#[derive(Default)]
pub struct Roster {
    /// Each name's keys, and who holds them. Keys of two members never
    /// meet: a name that shares one with a member's is refused.
    holders: HashMap<Box<str>, u64>,
    /// Members by order of arrival: `(arrival number, id)`, the numbers
    /// increasing; a member gone is [`GONE`] until the next compaction.
    /// (A vector, not a `BTreeMap`: the same order for a fraction of the
    /// code, and a leave is a binary search.)
    arrivals: Vec<(u64, u64)>,
    /// How many of `arrivals` are gone.
    gone: usize,
    /// Each member's arrival number and key, to undo the two above.
    entries: HashMap<u64, Entry>,
    /// The next arrival number.
    next_arrival: u64,
}

/// The id of an arrival whose member is gone.
const GONE: u64 = u64::MAX;

/// What the roster keeps of one member.
struct Entry {
    /// Its place in the order of arrival.
    arrival: u64,
    /// Its name's keys.
    keys: Keys,
}

impl Roster {
    /// Who holds the name with `keys`, if anyone.
    pub fn holder(&self, keys: &[Box<str>]) -> Option<u64> {
        keys.iter().find_map(|key| self.holders.get(key).copied())
    }

    /// Notes a newcomer, last in the order of arrival.
    pub fn add(&mut self, id: u64, keys: Keys) {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.arrivals.push((arrival, id));
        self.hold(id, &keys);
        self.entries.insert(id, Entry { arrival, keys });
    }

    /// Gives `id` the name with `keys` instead of its own.
    pub fn rename(&mut self, id: u64, keys: Keys) {
        if let Some(mut entry) = self.entries.remove(&id) {
            self.release(&entry.keys);
            self.hold(id, &keys);
            entry.keys = keys;
            self.entries.insert(id, entry);
        }
    }

    /// Forgets a member; its name is free again.
    pub fn remove(&mut self, id: u64) {
        if let Some(entry) = self.entries.remove(&id) {
            let found = self
                .arrivals
                .binary_search_by_key(&entry.arrival, |&(arrival, _)| arrival);
            if let Ok(at) = found {
                self.arrivals[at].1 = GONE;
                self.gone += 1;
            }
            // Most gone: compact, so the vector stays as long as the roster.
            if self.gone > self.arrivals.len() / 2 {
                self.arrivals.retain(|&(_, id)| id != GONE);
                self.gone = 0;
            }
            self.release(&entry.keys);
        }
    }

    /// Notes `id` as the holder of `keys`.
    fn hold(&mut self, id: u64, keys: &[Box<str>]) {
        for key in keys {
            self.holders.insert(key.clone(), id);
        }
    }

    /// Frees `keys`.
    fn release(&mut self, keys: &[Box<str>]) {
        for key in keys {
            self.holders.remove(key);
        }
    }

    /// Everyone, first arrived first.
    pub fn in_arrival_order(&self) -> impl Iterator<Item = u64> + '_ {
        self.arrivals
            .iter()
            .map(|&(_, id)| id)
            .filter(|&id| id != GONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_freed_and_order_kept() {
        let keys = |name: &str| crate::names::keys(name);
        let mut roster = Roster::default();
        roster.add(7, keys("alice"));
        roster.add(3, keys("Bob"));
        roster.add(9, keys("carol"));
        assert_eq!(roster.holder(&keys("bob")), Some(3));
        roster.rename(3, keys("robert"));
        assert_eq!(roster.holder(&keys("Bob")), None);
        assert_eq!(roster.holder(&keys("robert")), Some(3));
        roster.remove(7);
        assert_eq!(roster.holder(&keys("alice")), None);
        assert_eq!(roster.in_arrival_order().collect::<Vec<_>>(), [3, 9]);
        roster.add(7, keys("alice"));
        assert_eq!(roster.in_arrival_order().collect::<Vec<_>>(), [3, 9, 7]);
    }

    proptest::proptest! {
        /// Two names the comparison calls the same are refused together:
        /// whichever is here first, the other is taken; any other is free.
        #[test]
        fn the_same_names_are_refused_together(
            a in crate::names::tests::CHARS,
            b in crate::names::tests::CHARS,
        ) {
            use crate::names::{parse, share_a_key};
            let (Ok(a), Ok(b)) = (parse(a.as_bytes()), parse(b.as_bytes())) else {
                return Ok(());
            };
            let same = share_a_key(&a.keys, &b.keys);
            for (first, second) in [(&a, &b), (&b, &a)] {
                let mut roster = Roster::default();
                roster.add(1, first.keys.clone());
                proptest::prop_assert_eq!(roster.holder(&second.keys).is_some(), same);
                roster.remove(1);
                proptest::prop_assert_eq!(roster.holder(&second.keys), None);
            }
        }
    }
}
