//! What is read from the room's stream is checked as strictly as a line
//! from a socket, before the room sees it: whoever can write to Redis can
//! write to the stream, and the room must never apply what no `chat`
//! would have sent. An event that fails is dropped, and the log says why.
//!
//! Checked here, on the event alone: no `\n` in any text (a line holding
//! one would add lines of its own, `error: ...` say), a name that the
//! name rules accept (in book mode, an address as a server writes it),
//! commands only in names mode and formatted lines only in book mode.
//! Checked where the room is known (see `membership`): that the sender is
//! in it, and that a book-mode line starts with its sender's address. And
//! by [`Cluster::known`]: that the event's server is one of the room's.

use std::collections::HashSet;
use std::net::SocketAddr;

use super::wire::Event;
use super::Cluster;
use crate::command::Command;
use crate::log;
use crate::names;
use crate::room::events::Said;

/// Why `event` is not one a `chat` of this room (in names mode or not)
/// would have sent, if it is not.
pub fn refusal(event: &Event, names: bool) -> Option<&'static str> {
    match event {
        Event::Arrive { name, .. } if names => {
            let fits = names::parse(name).is_ok_and(|parsed| parsed.shown.as_bytes() == name);
            (!fits).then_some("a name the name rules refuse")
        }
        Event::Arrive { name, .. } => {
            let fits = std::str::from_utf8(name)
                .ok()
                .and_then(|text| Some((text, text.parse::<SocketAddr>().ok()?)))
                .is_some_and(|(text, addr)| addr.to_string() == text);
            (!fits).then_some("an address that is not one")
        }
        Event::Leave { .. } => None,
        Event::Rename { .. } if !names => Some("a command in book mode"),
        Event::Rename { name, .. } => name
            .contains(&b'\n')
            .then_some("a newline in a line's text"),
        Event::Said {
            said: Said::Line(line),
            ..
        } => {
            if names {
                Some("a formatted line in names mode")
            } else if line.iter().position(|&byte| byte == b'\n') != line.len().checked_sub(1)
                || line.is_empty()
            {
                Some("a line that is not one line")
            } else {
                None
            }
        }
        Event::Said {
            said: Said::Command(command),
            ..
        } => {
            if !names {
                return Some("a command in book mode");
            }
            let texts: &[&[u8]] = match &**command {
                Command::Say(text)
                | Command::Me(text)
                | Command::Nick(text)
                | Command::Unknown(text)
                | Command::Ask(_, text) => &[text],
                Command::Msg { to, text } => &[to, text],
                Command::Usage(_) | Command::Who | Command::Help | Command::Quit => &[],
            };
            texts
                .iter()
                .any(|text| text.contains(&b'\n'))
                .then_some("a newline in a line's text")
        }
    }
}

/// Says in the log that an event of the room's stream was dropped, and why.
pub fn dropped(why: &str) {
    log::always(format_args!(
        "Redis: an event of the room's stream dropped: {why}"
    ));
}

/// The servers known to be the room's.
#[derive(Default)]
pub struct Servers {
    /// Each seen listed in Redis once: a server that parts or is buried
    /// stays known, for its last events still on their way.
    known: HashSet<u64>,
}

impl Servers {
    /// Notes `server` as one of the room's.
    pub fn know(&mut self, server: u64) {
        self.known.insert(server);
    }
}

impl Cluster {
    /// Whether `server` is one of the room's: known already, or listed in
    /// Redis now (a server lists itself before it sends anything).
    pub(super) async fn known(&mut self, server: u64) -> bool {
        if self.servers.known.contains(&server) {
            return true;
        }
        let listed = self.store.is_listed(server).await.unwrap_or(false);
        if listed {
            self.servers.know(server);
        }
        listed
    }
}
