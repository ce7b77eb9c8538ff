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
mod everyone;
#[cfg(feature = "redis")]
mod kept;
mod table;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use async_channel::Sender;

use crate::bans::{remaining, Bans, Entry, Group, Save, Table};
use crate::command::{Ask, Command};
use crate::line::{self, text_line, Line};
use crate::queue::QueueSender;
use crate::room::audience::Audience;
use crate::room::events::{Message, Said};
use crate::transport::Socket;
use crate::Config;

/// What the room keeps of one member's manners: only members with some
/// have an entry.
#[derive(Default)]
struct Person {
    /// An operator.
    operator: bool,
    /// Wrong passwords tried: the third closes the connection.
    wrong: u8,
    /// Muted until then.
    muted: Option<SystemTime>,
    /// Away, and what it said.
    away: Option<Vec<u8>>,
    /// Whom it ignores, by id.
    ignoring: Vec<u64>,
    /// Where it comes from, once its server marked it (see `ask::mark`).
    address: Option<Group>,
}

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
    /// The members with manners to keep, by id. One map for all of them
    /// (each kind of map is code of its own, in a binary kept small).
    people: HashMap<u64, Person>,
    /// How many members ignore someone: while none does, a message goes
    /// to everyone without a look at anyone's list.
    ignorers: usize,
    /// The bans by address, which newcomers' connections read too.
    bans: Bans,
    /// The mutes by address, so that a mute outlives its connection.
    mutes: Table,
    /// The room's own way in, for the marks of this server's members'
    /// addresses (see `ask::mark`).
    marks: Option<Sender<Message>>,
    /// Where changes go to be kept in Redis, in a room several servers
    /// share (see `room::redis::keep`).
    saves: Option<Sender<Save>>,
}

impl Manners {
    /// The manners of a room served with `config`, its bans shared with
    /// its newcomers' connections through `bans`.
    pub fn new(config: &Config, bans: Bans, marks: &Sender<Message>) -> Self {
        Manners {
            password: config.operator_password.is_some(),
            motd: config.motd.iter().map(|text| line::line(&[text])).collect(),
            bans,
            marks: Some(marks.clone()),
            ..Manners::default()
        }
    }

    /// Puts a mark of member `id`'s address (`text`, see [`Ask::Mark`])
    /// in the room's order, as from that member. Never waits: a room that
    /// has a thousand lines waiting loses the mark, and says so.
    fn mark(&mut self, id: u64, text: String) {
        let mark = Message {
            from: id,
            said: Said::Command(Box::new(Command::Ask(Ask::Mark, text.into_bytes()))),
            permit: None,
        };
        let sent = self.marks.as_ref().map(|marks| marks.try_send(mark));
        if !matches!(sent, Some(Ok(()))) {
            crate::log::always(format_args!("a ban or a mute of member {id} was lost"));
        }
    }

    /// Keeps the room's changes of manners in Redis through `saves`.
    #[cfg(feature = "redis")]
    pub fn keep_in(&mut self, saves: Sender<Save>) {
        self.saves = Some(saves);
    }

    /// Keeps `field` as `value` (or forgets it), if the room keeps its
    /// manners anywhere.
    fn save(&self, field: String, value: Option<Vec<u8>>) {
        if let Some(saves) = &self.saves {
            if saves.try_send((field, value)).is_err() {
                crate::log::always(format_args!("a change of the room's manners was not kept"));
            }
        }
    }

    /// Keeps a ban or a mute (`kind`) of `group`.
    fn save_entry(&self, kind: &str, group: Group, entry: &Entry) {
        let until = entry
            .until
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let why = entry.reason.as_deref().map(|why| format!(" {why}"));
        let value = format!("{until} {}{}", entry.by, why.unwrap_or_default());
        self.save(format!("{kind} {group}"), Some(value.into_bytes()));
    }

    /// Keeps member `id`'s own manners in Redis, or forgets them there
    /// when it has none left, if it is this server's own: each server
    /// keeps its own members' (see `room::redis::keep`).
    fn keep_person(&self, id: u64) {
        #[cfg(feature = "redis")]
        if self.saves.is_some() && id < crate::room::order::FIRST_REMOTE_ID {
            let kept = self.get(id).and_then(Person::kept);
            self.save(format!("person {id}"), kept);
        }
        #[cfg(not(feature = "redis"))]
        let _ = id;
    }

    /// Member `id`'s entry, made if it had none.
    fn person(&mut self, id: u64) -> &mut Person {
        self.people.entry(id).or_default()
    }

    /// Member `id`'s entry, if it has one.
    fn get(&self, id: u64) -> Option<&Person> {
        if self.people.is_empty() {
            return None;
        }
        self.people.get(&id)
    }

    /// Whether member `id` is an operator.
    pub fn is_operator(&self, id: u64) -> bool {
        self.get(id).is_some_and(|person| person.operator)
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
        let group = Group::of(peer.ip());
        if let Some((entry, left)) = self.mutes.get(group, now) {
            // Every server mutes it, as the mark goes round.
            let text = format!("mute {group} {} {}", left.as_secs().max(1), entry.by);
            self.mark(id, text);
        }
    }

    /// The `error: you are muted ...` line for member `id`, if it is
    /// muted: its lines go nowhere.
    pub fn silenced(&mut self, id: u64) -> Option<Line> {
        let until = self.get(id)?.muted?;
        match until.duration_since(SystemTime::now()) {
            Ok(left) if !left.is_zero() => {
                let why = format!("error: you are muted for another {}", remaining(left));
                Some(text_line(&[&why]))
            }
            _ => {
                self.person(id).muted = None;
                None
            }
        }
    }

    /// Who ignores member `id`, if anyone does: they get none of its
    /// messages.
    pub fn ignorers(&self, id: u64) -> Option<Vec<u64>> {
        if self.ignorers == 0 {
            return None;
        }
        let them: Vec<u64> = self
            .people
            .iter()
            .filter(|(_, person)| person.ignoring.contains(&id))
            .map(|(&who, _)| who)
            .collect();
        (!them.is_empty()).then_some(them)
    }

    /// Whether member `who` ignores member `whom`.
    pub fn ignores(&self, who: u64, whom: u64) -> bool {
        self.ignorers > 0 && self.get(who).is_some_and(|p| p.ignoring.contains(&whom))
    }

    /// Member `who` ignores `whom` from now on (`ignore`), or no longer.
    fn set_ignoring(&mut self, who: u64, whom: u64, ignore: bool) {
        let person = self.person(who);
        let before = !person.ignoring.is_empty();
        person.ignoring.retain(|&id| id != whom);
        if ignore {
            person.ignoring.push(whom);
        }
        let after = !person.ignoring.is_empty();
        self.ignorers = self.ignorers + usize::from(after) - usize::from(before);
    }

    /// What member `id` said on going away, if it is away.
    pub fn away(&self, id: u64) -> Option<&[u8]> {
        self.get(id)?.away.as_deref()
    }

    /// Member `id` as `/who` shows it: `@` before an operator's name,
    /// ` (away: TEXT)` after an absent one's.
    pub fn shown(&self, id: u64, name: &str) -> Vec<u8> {
        let mut shown = Vec::with_capacity(name.len() + 1);
        if self.is_operator(id) {
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
        if self.people.is_empty() {
            return;
        }
        if let Some(person) = self.people.remove(&id) {
            self.ignorers -= usize::from(!person.ignoring.is_empty());
            #[cfg(feature = "redis")]
            if person.kept().is_some() {
                self.keep_person(id);
            }
        }
        if self.ignorers == 0 {
            return;
        }
        let ignorers: Vec<u64> = self
            .people
            .iter()
            .filter(|(_, person)| person.ignoring.contains(&id))
            .map(|(&who, _)| who)
            .collect();
        for who in ignorers {
            self.set_ignoring(who, id, false);
        }
    }
}

/// Logs an operator's act: who, what, whom.
pub(crate) fn log_act(who: &str, what: &str, whom: &str) {
    let space = if whom.is_empty() { "" } else { " " };
    crate::log::always(format_args!("operator: {who} {what}{space}{whom}"));
}

/// Sends `line` to `to` alone; nothing was broadcast.
#[inline(never)]
pub(crate) fn tell(audience: &mut Audience, to: u64, line: Line) -> Option<usize> {
    audience.send_to(to, line);
    None
}

/// `error: WHY` as a line.
#[inline(never)]
pub(crate) fn error(why: &str) -> Line {
    text_line(&["error: ", why])
}
