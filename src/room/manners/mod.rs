//! Names mode's manners: what keeps a room civil once it holds people who
//! do not all know each other. Operators, kicks, bans, mutes, the topic
//! and the message of the day, and for everyone `/ignore` and `/away`
//! (PROTOCOL.md, "Operators and manners").
//!
//! This is the room's state for them, kept by member id, and the few
//! questions the rest of the room asks of it as it applies each line: is
//! the sender muted, who ignores it, is its addressee away. Each of those
//! costs one look at an empty map while nobody is muted, ignoring or away,
//! so that a room with no manners to keep pays nothing for them. What
//! each command does is in `ask`.
//!
//! Every server of a room applies every command in the one order, so this
//! state is the same on each (the operators, the mutes, the topic, the
//! ignore lists); only a member's address is known to its own server
//! alone, which is where its ban and the mute of its address are kept.

pub mod ask;

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use crate::bans::{remaining, Bans, Group, Table};
use crate::line::{self, text_line, Line};
use crate::queue::QueueSender;
use crate::transport::Socket;
use crate::Config;

/// The room's manners: who is an operator, muted, ignoring whom, away;
/// the bans and mutes by address; the topic and the message of the day.
#[derive(Default)]
pub struct Manners {
    /// Whether `/op` can succeed here (`--operator-password-file`).
    password: bool,
    /// The message of the day, a line each, for every newcomer.
    motd: Vec<Line>,
    /// The topic, if one is set.
    topic: Option<Vec<u8>>,
    /// The operators, by id.
    operators: HashSet<u64>,
    /// Wrong passwords tried, by id: the third closes the connection.
    wrong: HashMap<u64, u8>,
    /// The bans by address, which newcomers' connections read too.
    bans: Bans,
    /// The mutes by address, so that a mute outlives its connection.
    mutes: Table,
    /// Who is muted now, by id, and until when.
    muted: HashMap<u64, SystemTime>,
    /// Whom each member ignores, by id.
    ignoring: HashMap<u64, Vec<u64>>,
    /// Who ignores each member, by id: the fan-out skips them.
    ignored_by: HashMap<u64, Vec<u64>>,
    /// Who is away, and what they said.
    away: HashMap<u64, Vec<u8>>,
}

impl Manners {
    /// The manners of a room served with `config`, its bans shared with
    /// its newcomers' connections through `bans`.
    pub fn new(config: &Config, bans: Bans) -> Self {
        Manners {
            password: config.operator_password.is_some(),
            motd: config.motd.iter().map(|text| line::line(&[text])).collect(),
            bans,
            ..Manners::default()
        }
    }

    /// A newcomer's lines after who else is here: the message of the day,
    /// then the topic.
    pub fn welcome(&self, queue: &QueueSender) {
        for motd in &self.motd {
            let _ = queue.push(motd.clone());
        }
        if let Some(topic) = &self.topic {
            let _ = queue.push(line::line(&[b"Topic: ", topic]));
        }
    }

    /// Member `id` joins, through `socket`: muted, if its address is.
    pub fn joined(&mut self, id: u64, socket: &Socket) {
        if self.mutes.is_empty() {
            return;
        }
        let Ok(peer) = socket.get_ref().peer_addr() else {
            return;
        };
        let now = SystemTime::now();
        if let Some((entry, _)) = self.mutes.get(Group::of(peer.ip()), now) {
            self.muted.insert(id, entry.until);
        }
    }

    /// The `error: you are muted ...` line for member `id`, if it is
    /// muted: its lines go nowhere.
    pub fn silenced(&mut self, id: u64) -> Option<Line> {
        if self.muted.is_empty() {
            return None;
        }
        let left = self.muted.get(&id)?.duration_since(SystemTime::now());
        match left {
            Ok(left) if !left.is_zero() => {
                let why = format!("error: you are muted for another {}", remaining(left));
                Some(text_line(&[&why]))
            }
            _ => {
                self.muted.remove(&id);
                None
            }
        }
    }

    /// Who ignores member `id`, if anyone does: they get none of its
    /// messages.
    pub fn ignorers(&self, id: u64) -> Option<&[u64]> {
        if self.ignored_by.is_empty() {
            return None;
        }
        self.ignored_by.get(&id).map(Vec::as_slice)
    }

    /// Whether member `who` ignores member `whom`.
    pub fn ignores(&self, who: u64, whom: u64) -> bool {
        self.ignorers(whom).is_some_and(|them| them.contains(&who))
    }

    /// What member `id` said on going away, if it is away.
    pub fn away(&self, id: u64) -> Option<&[u8]> {
        if self.away.is_empty() {
            return None;
        }
        self.away.get(&id).map(Vec::as_slice)
    }

    /// Member `id` as `/who` shows it: `@` before an operator's name,
    /// ` (away: TEXT)` after an absent one's.
    pub fn shown(&self, id: u64, name: &str) -> Vec<u8> {
        let mut shown = Vec::with_capacity(name.len() + 1);
        if self.operators.contains(&id) {
            shown.push(b'@');
        }
        shown.extend_from_slice(name.as_bytes());
        match self.away(id) {
            Some([]) => shown.extend_from_slice(b" (away)"),
            Some(text) => {
                shown.extend_from_slice(b" (away: ");
                shown.extend_from_slice(text);
                shown.push(b')');
            }
            None => {}
        }
        shown
    }

    /// Member `id` is gone: it is no longer an operator, away or anyone's
    /// to ignore. (Its mute stays with its address.)
    pub fn left(&mut self, id: u64) {
        if !self.muted.is_empty() {
            self.muted.remove(&id);
        }
        if !self.operators.is_empty() {
            self.operators.remove(&id);
        }
        if !self.wrong.is_empty() {
            self.wrong.remove(&id);
        }
        if !self.away.is_empty() {
            self.away.remove(&id);
        }
        if self.ignoring.is_empty() && self.ignored_by.is_empty() {
            return;
        }
        for whom in self.ignoring.remove(&id).unwrap_or_default() {
            unlist(&mut self.ignored_by, whom, id);
        }
        for who in self.ignored_by.remove(&id).unwrap_or_default() {
            unlist(&mut self.ignoring, who, id);
        }
    }
}

/// Takes `id` off `key`'s list in `lists`, and the list once empty.
fn unlist(lists: &mut HashMap<u64, Vec<u64>>, key: u64, id: u64) {
    if let Some(list) = lists.get_mut(&key) {
        list.retain(|&other| other != id);
        if list.is_empty() {
            lists.remove(&key);
        }
    }
}
