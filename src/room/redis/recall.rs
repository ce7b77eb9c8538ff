//! What a server that joins a room late recalls of it: the last messages
//! said before it joined, read back from the room's stream, so that
//! `--history` gives a newcomer the same recent lines on every server,
//! whenever each started.
//!
//! In book mode a message travels as the line everyone receives, `ADDR:
//! TEXT`. In names mode it travels as its text, and the room names its
//! sender as the order stood when its turn came, so the names are
//! replayed too: from the arrivals and renames (with whether Redis let
//! each claim its name) before a line, or else from who was in the room
//! when this server joined, if no rename of its sender came between. A
//! line whose sender's name neither says is left out.

use redis::RedisResult;

use super::store::{Member, KEPT};
use super::wire::{self, Event, Origin};
use super::{check, Cluster, Pending};
use crate::command::Command;
use crate::config::HISTORY_BYTES;
use crate::line::{line, Line};
use crate::room::events::Said;
use crate::room::order;

/// How many messages of the stream one read takes, newest first: each may
/// hold many lines, and a few pages hold a history's bytes.
const PAGE: usize = 16;

/// The most events read back: far more than a history's lines need, even
/// among many arrivals and renames.
const MOST_EVENTS: usize = 20_000;

/// What is known of a client's name at some point of the room's past.
#[derive(Clone)]
enum Known {
    /// It was in the room, so named.
    Named(Vec<u8>),
    /// It was not in the room: the room dropped its lines.
    Absent,
}

impl Cluster {
    /// Hands the room, for its history, the last `--history` messages said
    /// before this server joined, oldest first.
    pub(super) async fn recall(&mut self) -> RedisResult<()> {
        if self.history == 0 {
            return Ok(());
        }
        // Newest first, as they are read.
        let mut window: Vec<Event> = Vec::new();
        let mut from = self.last.clone();
        let mut recalled = Vec::new();
        for _ in 0..KEPT / PAGE {
            let entries = self.store.recent(&from, PAGE).await?;
            let full = entries.len() == PAGE;
            for (number, message) in entries {
                from = format!("({number}");
                let Ok(events) = wire::decode(&message) else {
                    continue;
                };
                let fit = |event: &Event| check::refusal(event, self.names).is_none();
                window.extend(events.into_iter().rev().filter(fit));
            }
            recalled = if self.names {
                replay_names(&window, &self.store.joined_members)
            } else {
                replay_lines(&window)
            };
            let bytes: usize = recalled.iter().map(|line| line.len()).sum();
            let enough = recalled.len() >= self.history || bytes >= HISTORY_BYTES;
            if !full || enough || window.len() >= MOST_EVENTS {
                break;
            }
        }
        let skip = recalled.len().saturating_sub(self.history);
        for line in recalled.into_iter().skip(skip) {
            let recall = order::Event::Recall(line);
            self.pending.push_back(Pending::Event(recall));
        }
        Ok(())
    }
}

/// Book mode: the lines of `window` (newest first), oldest first.
fn replay_lines(window: &[Event]) -> Vec<Line> {
    let lines = window.iter().rev().filter_map(|event| match event {
        Event::Said {
            said: Said::Line(line),
            ..
        } => Some(line.clone()),
        _ => None,
    });
    lines.collect()
}

/// Names mode: the messages of `window` (newest first) as the room
/// formatted them, oldest first; `members` were in the room after the
/// newest.
fn replay_names(window: &[Event], members: &[Member]) -> Vec<Line> {
    // Going back from the newest, each sender's name as it stood then, if
    // the members' names and no rename since tell it. (Lists, not maps:
    // a window holds few senders, and a map's code is not worth it.)
    let mut later: Vec<(Origin, Option<Known>)> = members
        .iter()
        .map(|member| (member.origin, Some(Known::Named(member.name.clone()))))
        .collect();
    let mut from_later = Vec::with_capacity(window.len());
    for event in window {
        let (from, after) = match event {
            Event::Said { from, .. } => {
                from_later.push(find(&later, from).unwrap_or(Some(Known::Absent)));
                continue;
            }
            Event::Rename {
                from, free: true, ..
            }
            | Event::Leave { from } => (from, None),
            Event::Arrive {
                from, free: true, ..
            } => (from, Some(Known::Absent)),
            _ => {
                from_later.push(None);
                continue;
            }
        };
        from_later.push(None);
        set(&mut later, from, after);
    }
    // Then forward from the oldest: each sender's name as its arrival or
    // last rename in the window said, or else as found going back.
    let mut earlier: Vec<(Origin, Option<Known>)> = Vec::new();
    let mut lines = Vec::new();
    for (event, from_later) in window.iter().zip(from_later).rev() {
        match event {
            Event::Arrive {
                from,
                name,
                free: true,
                ..
            }
            | Event::Rename {
                from,
                name,
                free: true,
            } => set(&mut earlier, from, Some(Known::Named(name.clone()))),
            Event::Leave { from } => set(&mut earlier, from, Some(Known::Absent)),
            Event::Said {
                from,
                said: Said::Command(command),
            } => {
                let known = find(&earlier, from).flatten().or(from_later);
                if let (Some(Known::Named(name)), Some(format)) = (known, message(command)) {
                    lines.push(format(&name));
                }
            }
            _ => {}
        }
    }
    lines
}

/// What `list` says of `from`, if it says.
fn find(list: &[(Origin, Option<Known>)], from: &Origin) -> Option<Option<Known>> {
    let found = list.iter().find(|(origin, _)| origin == from);
    found.map(|(_, known)| known.clone())
}

/// Notes `known` of `from` in `list`.
fn set(list: &mut Vec<(Origin, Option<Known>)>, from: &Origin, known: Option<Known>) {
    match list.iter_mut().find(|(origin, _)| origin == from) {
        Some(entry) => entry.1 = known,
        None => list.push((*from, known)),
    }
}

/// How the room formats `command` from a sender named NAME, if it is a
/// message everyone receives (and the history keeps).
fn message(command: &Command) -> Option<impl Fn(&[u8]) -> Line + '_> {
    let text = match command {
        Command::Say(text) | Command::Me(text) => text,
        _ => return None,
    };
    let me = matches!(command, Command::Me(_));
    Some(move |name: &[u8]| {
        if me {
            line(&[b"* ", name, b" ", text])
        } else {
            line(&[name, b": ", text])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(conn: u64) -> Origin {
        Origin { server: 1, conn }
    }

    fn say(conn: u64, text: &str) -> Event {
        let said = Said::Command(Box::new(Command::Say(text.into())));
        let from = origin(conn);
        Event::Said { from, said }
    }

    fn rename(conn: u64, name: &str, free: bool) -> Event {
        let from = origin(conn);
        let name = name.into();
        Event::Rename { from, name, free }
    }

    fn texts(lines: Vec<Line>) -> Vec<String> {
        let text = |line: Line| String::from_utf8_lossy(&line).trim_end().to_string();
        lines.into_iter().map(text).collect()
    }

    #[test]
    fn names_come_from_the_window_or_from_who_is_in() {
        let members = [Member {
            origin: origin(1),
            name: b"amy".to_vec(),
            seq: 1,
        }];
        // Newest first; amy (1) arrived before the window, renamed within
        // it; zed (2) arrived before it, and left.
        let window = [
            say(1, "last"),
            rename(1, "taken", false),
            rename(1, "amy", true),
            say(1, "between"),
            rename(1, "ann", true),
            say(1, "first"),
            Event::Leave { from: origin(2) },
            say(2, "gone"),
        ];
        assert_eq!(
            texts(replay_names(&window, &members)),
            ["ann: between", "amy: last"],
            "a line before a rename, and by one who left, have no known name"
        );
    }
}
