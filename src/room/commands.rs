//! What names mode does in the room: greeting a named newcomer, and each
//! command, each in its place in the one order (and a client of another
//! server of the room arriving, in either mode).
//!
//! The lines are the protocol's (PROTOCOL.md, "Names mode"); replies go to
//! the asker alone, renames and actions to everyone, a private line to its
//! two ends. The room calls this only in names mode; book mode never comes
//! here.

use super::audience::Audience;
use std::sync::Arc;

use super::events::{greeting, Entering};
use super::history::History;
use super::manners::{self, Manners};
use crate::command::{Command, HELP};
use crate::line::{self, text_line, Line};
use crate::names::{self, Refusal};

/// How many names `Also here` shows before ` and N more`.
const ALSO_HERE_NAMES: usize = 20;

/// How many names one `Here:` line of `/who` holds.
const WHO_NAMES_PER_LINE: usize = 50;

/// Lets a named newcomer in: `You are NAME`, who else is here, the recent
/// messages, then
/// `NAME has arrived` for the others; or, if someone here has that name,
/// hands the newcomer back to its connection with an `error:` line.
pub fn enter(
    entering: Entering,
    audience: &mut Audience,
    history: &History,
    manners: &mut Manners,
) {
    let Some(naming) = &entering.naming else {
        return;
    };
    let holder = audience
        .roster()
        .and_then(|roster| roster.holder(&naming.keys))
        .and_then(|id| audience.name_of(id));
    if let Some(holder) = holder {
        let refusal = Refusal::Taken {
            wanted: entering.name.clone(),
            holder: holder.clone(),
        };
        let _ = entering.queue.push(error_line(&refusal.to_string()));
        let refused = naming.refused.clone();
        // The connection is waiting for this or for its permits: it is
        // there, unless it just ended, and then nothing is lost.
        let _ = refused.try_send(entering);
        return;
    }
    let _ = entering.queue.push(greeting(&entering.name));
    let _ = entering.queue.push(also_here(audience));
    manners.welcome(&entering.queue);
    history.replay(&entering.queue);
    manners.joined(entering.id, &entering.socket);
    audience.broadcast(text_line(&[&entering.name, " has arrived"]));
    audience.join(entering);
}

/// A client of another server of the room arrives, named `name`: listed,
/// and announced, unless in names mode the name is taken (its own server
/// refuses it, in the same order).
#[cfg(feature = "redis")]
pub fn arrive(id: u64, name: Arc<str>, audience: &mut Audience) {
    let keys = audience.roster().map(|_| names::keys(&name));
    if let Some(keys) = &keys {
        if audience
            .roster()
            .and_then(|roster| roster.holder(keys))
            .is_some()
        {
            return;
        }
    }
    audience.broadcast(text_line(&[&name, " has arrived"]));
    audience.join_remote(id, name, keys);
}

/// `Also here: a, b` (the first [`ALSO_HERE_NAMES`], then ` and N more`),
/// or `Nobody else is here`.
fn also_here(audience: &Audience) -> Line {
    let names: Vec<&str> = names_here(audience).collect();
    if names.is_empty() {
        return text_line(&["Nobody else is here"]);
    }
    let shown = names.len().min(ALSO_HERE_NAMES);
    let mut text = format!("Also here: {}", names[..shown].join(", "));
    if names.len() > shown {
        text += &format!(" and {} more", names.len() - shown);
    }
    text_line(&[&text])
}

/// Everyone's name, first arrived first.
fn names_here(audience: &Audience) -> impl Iterator<Item = &str> {
    audience
        .roster()
        .into_iter()
        .flat_map(|roster| roster.in_arrival_order())
        .filter_map(|id| audience.name_of(id))
        .map(|name| &**name)
}

/// Carries out what member `from` asked; a message joins the `history`.
/// Returns the length of the line broadcast to everyone, if any, for the
/// room's pacing.
pub fn apply(
    from: u64,
    command: Command,
    audience: &mut Audience,
    history: &mut History,
    manners: &mut Manners,
) -> Option<usize> {
    let name = audience.name_of(from)?.clone();
    if let Command::Say(_) | Command::Me(_) | Command::Msg { .. } | Command::Nick(_) = command {
        if let Some(silenced) = manners.silenced(from) {
            audience.send_to(from, silenced);
            return None;
        }
    }
    match command {
        Command::Say(text) => {
            let line = line::line(&[name.as_bytes(), b": ", &text]);
            history.record(&line);
            said(from, audience, manners, line)
        }
        Command::Me(text) => {
            let line = line::line(&[b"* ", name.as_bytes(), b" ", &text]);
            history.record(&line);
            said(from, audience, manners, line)
        }
        Command::Who => {
            who(from, audience, manners);
            None
        }
        Command::Nick(new) => nick(from, &name, &new, audience),
        Command::Msg { to, text } => {
            private(from, &name, &to, &text, audience, manners);
            None
        }
        Command::Ask(ask, arg) => manners::ask::apply(from, &name, ask, &arg, audience, manners),
        Command::Help => {
            for help in HELP {
                audience.send_to(from, text_line(&[help]));
            }
            None
        }
        Command::Usage(usage) => {
            audience.send_to(from, error_line(&format!("usage: {usage}")));
            None
        }
        Command::Unknown(word) => {
            let word = String::from_utf8_lossy(&word);
            let why = format!("unknown command /{word} (try /help)");
            audience.send_to(from, error_line(&why));
            None
        }
        // The reader ends its session instead: `/quit` never comes here.
        Command::Quit => None,
    }
}

/// `/who`: everyone's name, first arrived first, in lines of
/// [`WHO_NAMES_PER_LINE`], for `from` alone.
#[cfg(not(feature = "manners"))]
fn who(from: u64, audience: &mut Audience, _manners: &Manners) {
    let names: Vec<&str> = names_here(audience).collect();
    let lines: Vec<Line> = names
        .chunks(WHO_NAMES_PER_LINE)
        .map(|chunk| text_line(&["Here: ", &chunk.join(", ")]))
        .collect();
    for line in lines {
        audience.send_to(from, line);
    }
}

/// `/who`, with operators and aways shown (see `manners`).
#[cfg(feature = "manners")]
fn who(from: u64, audience: &mut Audience, manners: &Manners) {
    let names: Vec<Vec<u8>> = audience
        .roster()
        .into_iter()
        .flat_map(|roster| roster.in_arrival_order())
        .filter_map(|id| Some(manners.shown(id, audience.name_of(id)?)))
        .collect();
    let lines: Vec<Line> = names
        .chunks(WHO_NAMES_PER_LINE)
        .map(|chunk| line::line(&[b"Here: ", &chunk.join(&b", "[..])]))
        .collect();
    for line in lines {
        audience.send_to(from, line);
    }
}

/// `/nick NEW` from `from`, now called `name`: NEW is judged as a name,
/// then taken if no one else here holds it, and everyone hears of it.
/// Returns the length of that line, for the room's pacing.
fn nick(from: u64, name: &Arc<str>, new: &[u8], audience: &mut Audience) -> Option<usize> {
    let new = match names::parse(new) {
        Ok(new) => new,
        Err(refusal) => {
            audience.send_to(from, error_line(&refusal.to_string()));
            return None;
        }
    };
    let holder = audience
        .roster()
        .and_then(|roster| roster.holder(&new.keys))
        .filter(|&holder| holder != from)
        .and_then(|holder| audience.name_of(holder));
    if let Some(holder) = holder {
        let refusal = Refusal::Taken {
            wanted: new.shown,
            holder: holder.clone(),
        };
        audience.send_to(from, error_line(&refusal.to_string()));
        return None;
    }
    if new.shown == *name {
        audience.send_to(from, error_line(&format!("you are {name} already")));
        return None;
    }
    let line = text_line(&[name, " is now ", &new.shown]);
    audience.rename(from, new.shown, new.keys);
    broadcast(audience, line)
}

/// `/msg TO TEXT` from `from`, called `name`: the line goes to TO and back
/// to the sender, or the sender hears that nobody here is called TO.
fn private(
    from: u64,
    name: &str,
    to: &[u8],
    text: &[u8],
    audience: &mut Audience,
    manners: &Manners,
) {
    let target = std::str::from_utf8(to)
        .ok()
        .and_then(|to| audience.roster()?.holder(&names::keys(to)));
    let Some((target, target_name)) =
        target.and_then(|id| Some((id, audience.name_of(id)?.clone())))
    else {
        let to = String::from_utf8_lossy(to);
        audience.send_to(from, error_line(&format!("nobody here is called {to}")));
        return;
    };
    let line = line::line(&[
        name.as_bytes(),
        b" -> ",
        target_name.as_bytes(),
        b": ",
        text,
    ]);
    audience.send_to(from, line.clone());
    if target != from && !manners.ignores(target, from) {
        audience.send_to(target, line);
    }
    if let Some(away) = manners.away(target).filter(|_| target != from) {
        let note: &[&[u8]] = match away {
            [] => &[target_name.as_bytes(), b" is away"],
            away => &[target_name.as_bytes(), b" is away: ", away],
        };
        audience.send_to(from, line::line(note));
    }
}

/// A message or an action from `from`: to everyone but those who ignore
/// it. Returns its length, for the room's pacing.
fn said(from: u64, audience: &mut Audience, manners: &Manners, line: Line) -> Option<usize> {
    match manners.ignorers(from) {
        Some(skip) => {
            let length = line.len();
            audience.broadcast_except(line, &skip);
            Some(length)
        }
        None => broadcast(audience, line),
    }
}

/// Sends `line` to everyone; its length, for the room's pacing.
fn broadcast(audience: &mut Audience, line: Line) -> Option<usize> {
    let length = line.len();
    audience.broadcast(line);
    Some(length)
}

/// `error: WHY` as a line.
fn error_line(why: &str) -> Line {
    text_line(&["error: ", why])
}
