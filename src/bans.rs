//! Names mode's tables by address: who is banned, who is muted, until
//! when. A ban or a mute is of the place someone comes from, not of a
//! name, which anyone can change, nor of a connection, which anyone can
//! open again.
//!
//! An IPv4 address is itself; an IPv6 address is its /64, the smallest
//! block a home or a cloud host is given, so a client cannot step out of
//! a ban by taking the next address of its own network. Entries end by
//! themselves: a lookup past an entry's end forgets it.
//!
//! The room writes the tables, in its place in the one order; the bans
//! are also read by each newcomer's connection, before it is greeted, so
//! they are shared ([`Bans`]), behind a lock taken once per newcomer.

// Without the feature `manners`, the room makes no bans, and only a
// newcomer's look at them is compiled in (and answers none).
#![cfg_attr(not(feature = "manners"), allow(dead_code))]

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
#[cfg(feature = "manners")]
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a client comes from, as a ban sees it: an IPv4 address, or the
/// first 64 bits of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// An IPv4 address (an IPv4-mapped IPv6 address counts as its IPv4).
    V4([u8; 4]),
    /// The /64 an IPv6 address is in.
    V6(u64),
}

impl Group {
    /// The group of `ip`.
    pub fn of(ip: IpAddr) -> Group {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Group::V4(v4.octets()),
            IpAddr::V6(v6) => Group::V6((u128::from(v6) >> 64) as u64),
        }
    }

    /// The group of a client named by its address, `127.0.0.1:54321` (as
    /// a connection names itself).
    pub fn of_name(name: &str) -> Option<Group> {
        name.parse::<SocketAddr>()
            .ok()
            .map(|addr| Group::of(addr.ip()))
    }

    /// What an operator typed: an address (`192.0.2.7`, `2001:db8::1`) or
    /// a /64 (`2001:db8::/64`).
    pub fn parse(text: &str) -> Option<Group> {
        let address = text.strip_suffix("/64").unwrap_or(text);
        let ip: IpAddr = address.parse().ok()?;
        let is_v6 = matches!(ip.to_canonical(), IpAddr::V6(_));
        (is_v6 || address.len() == text.len()).then(|| Group::of(ip))
    }
}

impl Display for Group {
    /// `192.0.2.7`, or `2001:db8:1:2::/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Group::V4(octets) => write!(f, "{}", IpAddr::from(octets)),
            Group::V6(prefix) => write!(f, "{}/64", Ipv6Addr::from(u128::from(prefix) << 64)),
        }
    }
}

/// A change to the room's manners that outlives its servers (`--redis`):
/// a field of the room's manners in Redis (`topic`, `ban ADDRESS`, `mute
/// ADDRESS`) and its new value, or `None` to forget it.
pub type Save = (String, Option<Vec<u8>>);

/// One ban or mute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it ends.
    pub until: SystemTime,
    /// The operator who made it, as named then.
    pub by: Arc<str>,
    /// Why, if they said.
    pub reason: Option<Arc<str>>,
}

/// Entries by group, each forgotten once it has ended.
#[derive(Debug, Default)]
pub struct Table {
    /// The live entries (and ended ones not looked up since).
    entries: HashMap<Group, Entry>,
}

impl Table {
    /// Puts `entry` on `group`, in place of any before.
    pub fn insert(&mut self, group: Group, entry: Entry) {
        self.entries.insert(group, entry);
    }

    /// Ends `group`'s entry; whether there was a live one.
    pub fn remove(&mut self, group: Group, now: SystemTime) -> bool {
        self.entries
            .remove(&group)
            .is_some_and(|entry| entry.until > now)
    }

    /// `group`'s entry and how long it still lasts, if it is live at `now`.
    pub fn get(&mut self, group: Group, now: SystemTime) -> Option<(&Entry, Duration)> {
        let left = self.entries.get(&group)?.until.duration_since(now);
        match left {
            Ok(left) if !left.is_zero() => Some((&self.entries[&group], left)),
            _ => {
                self.entries.remove(&group);
                None
            }
        }
    }

    /// Whether nothing is in the table: the room's hot path asks only
    /// this while nobody is muted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The live entries at `now`, in no order (a sort is code of its own,
    /// in a binary kept small).
    pub fn live(&mut self, now: SystemTime) -> Vec<(Group, Entry)> {
        self.entries.retain(|_, entry| entry.until > now);
        self.entries.iter().map(|(g, e)| (*g, e.clone())).collect()
    }
}

/// The bans, shared by the room (which makes them) and every newcomer's
/// connection (which is refused by them).
#[derive(Clone, Default)]
pub struct Bans(#[cfg(feature = "manners")] Arc<Mutex<Table>>);

impl Bans {
    /// The table, for the room.
    #[cfg(feature = "manners")]
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The `error: banned ...` line a newcomer named `name` (its address)
    /// is refused with, if its address is banned now.
    #[cfg(not(feature = "manners"))]
    pub fn refusal(&self, _name: &str) -> Option<String> {
        None
    }

    /// The `error: banned ...` line a newcomer named `name` (its address)
    /// is refused with, if its address is banned now.
    #[cfg(feature = "manners")]
    pub fn refusal(&self, name: &str) -> Option<String> {
        let group = Group::of_name(name)?;
        let mut table = self.lock();
        let (entry, left) = table.get(group, SystemTime::now())?;
        Some(format!(
            "error: banned for another {}{}",
            remaining(left),
            because(entry.reason.as_deref())
        ))
    }
}

/// `: REASON`, or nothing without one.
pub fn because(reason: Option<&str>) -> String {
    reason.map(|why| format!(": {why}")).unwrap_or_default()
}

/// How long is left, as people read it, in whole units and rounded down:
/// `59m`, `1h30m`, `2d4h`, `45s`.
pub fn remaining(left: Duration) -> String {
    let secs = left.as_secs().max(1);
    if secs < 60 {
        return format!("{secs}s");
    }
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    let mut text = String::new();
    for (amount, unit) in [(days, 'd'), (hours, 'h'), (minutes, 'm')] {
        if amount > 0 {
            text += &format!("{amount}{unit}");
        }
    }
    text
}

/// `2026-12-06T21:03:00Z`: a moment in UTC, as RFC 3339 writes it.
pub fn utc(moment: SystemTime) -> String {
    let secs = moment
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (days, time) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm), from 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time / 60 % 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(until: SystemTime) -> Entry {
        Entry {
            until,
            by: "op".into(),
            reason: None,
        }
    }

    #[test]
    fn groups_and_how_they_are_written() {
        let v4 = Group::parse("192.0.2.7").unwrap();
        assert_eq!(v4.to_string(), "192.0.2.7");
        assert_eq!(Group::parse("::ffff:192.0.2.7"), Some(v4));
        assert_eq!(Group::of_name("192.0.2.7:5555"), Some(v4));
        let v6 = Group::parse("2001:db8:1:2:3:4:5:6").unwrap();
        assert_eq!(v6.to_string(), "2001:db8:1:2::/64");
        assert_eq!(Group::parse("2001:db8:1:2::/64"), Some(v6));
        assert_eq!(Group::of_name("[2001:db8:1:2::9]:80"), Some(v6));
        assert_ne!(Group::parse("2001:db8:1:3::1"), Some(v6));
        assert_eq!(Group::parse("192.0.2.7/64"), None);
        assert_eq!(Group::parse("bob"), None);
    }

    #[test]
    fn what_is_left_and_when() {
        assert_eq!(remaining(Duration::from_secs(3599)), "59m");
        assert_eq!(remaining(Duration::from_secs(599)), "9m");
        assert_eq!(remaining(Duration::from_secs(5400)), "1h30m");
        assert_eq!(remaining(Duration::from_secs(30 * 86_400 - 1)), "29d23h59m");
        assert_eq!(remaining(Duration::from_millis(200)), "1s");
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let moment = UNIX_EPOCH + Duration::from_secs(1_796_590_980);
        assert_eq!(utc(moment), "2026-12-06T21:03:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00Z");
    }

    proptest! {
        /// Every address of a /64 is banned with it, and none outside it;
        /// an IPv4 address alone; and an entry holds exactly until its end.
        #[test]
        fn a_ban_covers_its_group_until_it_ends(
            banned in any::<u128>(),
            other in any::<u128>(),
            v4 in any::<[u8; 4]>(),
            v4_other in any::<[u8; 4]>(),
            lasts in 1u64..2_592_000,
            at in 0u64..2_592_000,
        ) {
            let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
            let until = start + Duration::from_secs(lasts);
            let now = start + Duration::from_secs(at);
            let mut table = Table::default();
            let banned_ip = IpAddr::V6(Ipv6Addr::from(banned));
            // Not an IPv4-mapped address: those are IPv4's.
            prop_assume!(banned_ip.to_canonical().is_ipv6());
            table.insert(Group::of(banned_ip), entry(until));
            table.insert(Group::of(IpAddr::from(v4)), entry(until));
            let neighbour = IpAddr::V6(Ipv6Addr::from(banned & !0 << 64 | other & u64::MAX as u128));
            let same_64 = Group::of(neighbour);
            let stranger = Group::of(IpAddr::V6(Ipv6Addr::from(other)));
            let live = at < lasts;
            prop_assert_eq!(table.get(same_64, now).is_some(), live);
            prop_assert_eq!(table.get(Group::of(IpAddr::from(v4)), now).is_some(), live);
            if other >> 64 != banned >> 64 {
                prop_assert!(table.get(stranger, now).is_none());
            }
            if v4_other != v4 {
                prop_assert!(table.get(Group::of(IpAddr::from(v4_other)), now).is_none());
            }
            if let Some((_, left)) = table.get(same_64, now) {
                prop_assert_eq!(left, Duration::from_secs(lasts - at));
            }
            prop_assert_eq!(table.live(now).len(), if live { 2 } else { 0 });
        }
    }
}
