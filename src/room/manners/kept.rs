//! What of a room's manners outlives the servers that applied them, as
//! Redis keeps it (`room::redis::keep`): the topic, the bans and mutes by
//! address, and each member's own standing (an operator, muted, away),
//! read back by a server that joins the room later.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Manners, Person};
use crate::bans::{Entry, Group};

impl Person {
    /// What of it outlives a server that knew it, for a server that
    /// joins the room later (see `room::redis::keep`): `OP UNTIL AWAY`,
    /// `1` for an operator, when its mute ends (seconds since the epoch,
    /// `0` for none), `-` for here or `+` and what it said on going away;
    /// `None` when there is nothing to keep.
    pub(super) fn kept(&self) -> Option<Vec<u8>> {
        if !self.operator && self.muted.is_none() && self.away.is_none() {
            return None;
        }
        let until = self
            .muted
            .and_then(|until| until.duration_since(UNIX_EPOCH).ok());
        let mut kept = format!(
            "{} {} ",
            u8::from(self.operator),
            until.map_or(0, |until| until.as_secs().max(1))
        )
        .into_bytes();
        match &self.away {
            Some(text) => {
                kept.push(b'+');
                kept.extend_from_slice(text);
            }
            None => kept.push(b'-'),
        }
        Some(kept)
    }
}

impl Manners {
    /// The room's manners as Redis kept them: the topic, the bans and the
    /// mutes still on (what is over is forgotten there too).
    pub fn restore(&mut self, kept: Vec<(String, Vec<u8>)>) {
        let now = SystemTime::now();
        for (field, value) in kept {
            if field == "topic" {
                self.topic = Some(value);
                continue;
            }
            let Some((kind, group)) = field.split_once(' ') else {
                continue;
            };
            let value = String::from_utf8_lossy(&value);
            let mut words = value.splitn(3, ' ');
            let until = words.next().and_then(|until| until.parse::<u64>().ok());
            let (Some(group), Some(until), Some(by)) = (Group::parse(group), until, words.next())
            else {
                continue;
            };
            let entry = Entry {
                until: UNIX_EPOCH + Duration::from_secs(until),
                by: by.into(),
                reason: words.next().map(Into::into),
            };
            if entry.until <= now {
                self.save(field, None);
            } else if kind == "ban" {
                self.bans.lock().insert(group, entry);
            } else if kind == "mute" {
                self.mutes.insert(group, entry);
            }
        }
    }

    /// Member `id`, of another server, as Redis kept it (see
    /// [`Person::kept`]): this server joined the room after the others
    /// made it an operator, muted it or heard it go away.
    pub fn restore_person(&mut self, id: u64, kept: &[u8]) {
        let mut words = kept.splitn(3, |&byte| byte == b' ');
        let (Some(op), Some(until), Some(away)) = (words.next(), words.next(), words.next()) else {
            return;
        };
        let until = std::str::from_utf8(until)
            .ok()
            .and_then(|until| until.parse::<u64>().ok());
        let person = self.person(id);
        person.operator = op == b"1";
        person.muted = until
            .filter(|&until| until > 0)
            .map(|until| UNIX_EPOCH + Duration::from_secs(until));
        person.away = away.strip_prefix(b"+").map(<[u8]>::to_vec);
    }
}
