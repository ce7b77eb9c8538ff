//! The audience: the clients that receive broadcasts, and the fan-out.
//!
//! The room never waits for a client: a broadcast appends the line to the
//! room's log once and adds it to each client's bounded queue (a run of the
//! log, not a copy: see `queue`), and cuts off any client whose queue is
//! full. A client cut off leaves the audience at once, but its `has left`
//! waits for its connection's leave, like anyone's, so that the lines it
//! sent before are delivered first and the leave is announced exactly once.
//!
//! The log forgets a line once no queue has it to send: the audience's, and
//! those of clients that left and are still being flushed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Shutdown};
use std::sync::Arc;

use super::events::{Entering, LINES_IN_FLIGHT};
use super::roster::Roster;
use crate::line::{text_line, Line, Log};
use crate::log;
use crate::names::Keys;
use crate::queue::{PushError, QueueSender, Wakes};
use crate::transport::Socket;

/// One client in the audience.
struct Member {
    /// Identity, to find the member when it leaves.
    id: u64,
    /// What the others call it: its address, or the name it chose.
    name: Arc<str>,
    /// Its outgoing queue.
    queue: QueueSender,
    /// Its socket, to cut it off if it stops reading.
    socket: Socket,
}

/// The set of clients receiving broadcasts.
#[derive(Default)]
pub struct Audience {
    /// The lines broadcast, kept once for the queues that have them to send.
    log: Log,
    /// The queues of clients that left and still have log lines to send:
    /// the log keeps those lines until they are sent (or the connection
    /// closed).
    draining: Vec<QueueSender>,
    /// Members in a vector: a broadcast is one pass over contiguous memory.
    members: Vec<Member>,
    /// Where each member's id sits in `members`.
    index: HashMap<u64, usize>,
    /// The writers with broadcast lines to take, woken once the room has
    /// applied what was ready (see [`Audience::wake_writers`]). In a cell:
    /// the room wakes them while its order looks at the audience.
    wakes: RefCell<Wakes>,
    /// Members whose queue overflowed during the current broadcast.
    lagging: Vec<u64>,
    /// Clients cut off, by id, whose connection has not said it left yet:
    /// their `has left` goes out when it does.
    departed: HashMap<u64, Arc<str>>,
    /// In names mode, who holds which name and who came first.
    roster: Option<Roster>,
    /// Clients of the room's other servers (`--redis`): named and listed
    /// here, sent to by their own server.
    remote: HashMap<u64, Arc<str>>,
    /// In book mode with two doors, the members' addresses (their names),
    /// so that no two share one.
    addresses: Option<HashSet<Arc<str>>>,
}

impl Audience {
    /// An empty audience broadcasting through `log`; `names` keeps a
    /// roster of names. `distinct_addresses` keeps the members' names (book
    /// mode's addresses) apart: with one door the kernel never gives two
    /// connections one address, with two (the page's) it may.
    pub fn new(names: bool, distinct_addresses: bool, log: Log) -> Self {
        Audience {
            log,
            roster: names.then(Roster::default),
            addresses: distinct_addresses.then(HashSet::new),
            ..Audience::default()
        }
    }

    /// Whether a member has the address `name` (always false where no two
    /// connections can have one, see [`Audience::new`]).
    pub fn has_address(&self, name: &str) -> bool {
        self.addresses
            .as_ref()
            .is_some_and(|addresses| addresses.contains(name))
    }

    /// The roster, in names mode.
    pub fn roster(&self) -> Option<&Roster> {
        self.roster.as_ref()
    }

    /// What member `id` is called, if it is in.
    pub fn name_of(&self, id: u64) -> Option<&Arc<str>> {
        match self.index.get(&id) {
            Some(&position) => Some(&self.members[position].name),
            None => self.remote.get(&id),
        }
    }

    /// Queues `line` for member `id` alone, and cuts it off if it is full.
    pub fn send_to(&mut self, id: u64, line: Line) {
        let Some(&position) = self.index.get(&id) else {
            return;
        };
        if let Err(PushError::Full) = self.members[position].queue.push(line) {
            self.cut_off(id);
        }
    }

    /// Gives member `id` a new name, whose keys are `keys`.
    pub fn rename(&mut self, id: u64, name: Arc<str>, keys: Keys) {
        if let Some(&position) = self.index.get(&id) {
            self.members[position].name = name;
        } else if let Some(held) = self.remote.get_mut(&id) {
            *held = name;
        } else {
            return;
        }
        if let Some(roster) = &mut self.roster {
            roster.rename(id, keys);
        }
    }

    /// Queues `line` for every member, then cuts off those that are full,
    /// and lets the log forget what no queue has left to send.
    pub fn broadcast(&mut self, line: Line) {
        let len = line.len();
        let number = self.log.append(line);
        let mut oldest = number + 1;
        let wakes = self.wakes.get_mut();
        for member in &self.members {
            match member.queue.push_shared(number, len, wakes) {
                Ok(first) => oldest = oldest.min(first),
                Err(PushError::Full) => self.lagging.push(member.id),
                Err(PushError::Closed) => {}
            }
        }
        while let Some(id) = self.lagging.pop() {
            self.cut_off(id);
        }
        self.draining.retain(|queue| !queue.is_done());
        for queue in &self.draining {
            if let Some(first) = queue.oldest_shared() {
                oldest = oldest.min(first);
            }
        }
        self.log.forget_before(oldest);
    }

    /// Queues `line` for every member but those in `skip` (who ignore its
    /// sender), as [`Audience::broadcast`] does. Its own loop, so that the
    /// broadcast of a room where nobody ignores anyone stays as it was.
    pub fn broadcast_except(&mut self, line: Line, skip: &[u64]) {
        let len = line.len();
        let number = self.log.append(line);
        let mut oldest = number + 1;
        let wakes = self.wakes.get_mut();
        for member in self.members.iter().filter(|m| !skip.contains(&m.id)) {
            match member.queue.push_shared(number, len, wakes) {
                Ok(first) => oldest = oldest.min(first),
                Err(PushError::Full) => self.lagging.push(member.id),
                Err(PushError::Closed) => {}
            }
        }
        while let Some(id) = self.lagging.pop() {
            self.cut_off(id);
        }
        self.draining.retain(|queue| !queue.is_done());
        for queue in &self.draining {
            if let Some(first) = queue.oldest_shared() {
                oldest = oldest.min(first);
            }
        }
        self.log.forget_before(oldest);
    }

    /// Where member `id` (of this server) connects from, as its socket
    /// says: asked only for a ban or a mute, never on the hot path.
    #[cfg_attr(not(feature = "manners"), allow(dead_code))]
    pub fn address_of(&self, id: u64) -> Option<IpAddr> {
        let member = &self.members[*self.index.get(&id)?];
        member
            .socket
            .get_ref()
            .peer_addr()
            .ok()
            .map(|peer| peer.ip())
    }

    /// Sends member `id` away (a kick, a ban): `farewell` is its last
    /// line, then its queue is flushed and its connection closed; the
    /// others hear `announce` in place of its `has left`, which its
    /// connection's leave no longer says. The log says it left, `why`
    /// (`kicked by alice`): its connection knows only that it was sent
    /// away, and frees its place once flushed. A client of another server
    /// is only taken off the list here: its own server sends it away.
    #[cfg_attr(not(feature = "manners"), allow(dead_code))]
    pub fn expel(&mut self, id: u64, farewell: Line, announce: Line, why: &str) {
        if let Some(member) = self.index.get(&id).map(|&at| &self.members[at]) {
            member.queue.send_away();
            // As its connection names itself (see `conn::serve`).
            if let Ok(peer) = member.socket.get_ref().peer_addr() {
                let peer = std::net::SocketAddr::new(peer.ip().to_canonical(), peer.port());
                log::verbose(format_args!("{peer} left: {why}"));
            }
        }
        if self.take(id, Some(farewell)).is_some() {
            self.broadcast(announce);
        }
    }

    /// Whether some writer has broadcast lines it was not woken for yet.
    pub fn writers_to_wake(&self) -> bool {
        !self.wakes.borrow().is_empty()
    }

    /// Wakes the writers of every broadcast since the last time: the room
    /// calls it when it has nothing more to apply at once, or pauses.
    pub fn wake_writers(&self) {
        // (A wake only schedules the writer: none runs in here.)
        self.wakes.borrow_mut().wake_all();
    }

    /// Cuts off a member that does not read fast enough.
    fn cut_off(&mut self, id: u64) {
        if let Some(member) = self.remove(id) {
            log::always(format_args!(
                "{} disconnected: not reading (send queue full)",
                member.name
            ));
            member.queue.cut_off();
            // Wakes its writer (blocked on a full socket) and its reader.
            let _ = member.socket.get_ref().shutdown(Shutdown::Both);
            self.departed.insert(member.id, member.name);
        }
    }

    /// Adds a newcomer and tells its connection it may start reading (in
    /// names mode, dropping its way back tells it its name was taken).
    pub fn join(&mut self, entering: Entering) {
        if let (Some(roster), Some(naming)) = (&mut self.roster, entering.naming) {
            roster.add(entering.id, naming.keys);
        }
        if let Some(addresses) = &mut self.addresses {
            addresses.insert(entering.name.clone());
        }
        // Its permits to have lines in flight, none until now.
        entering.queue.grant(LINES_IN_FLIGHT);
        self.index.insert(entering.id, self.members.len());
        self.members.push(Member {
            id: entering.id,
            name: entering.name,
            queue: entering.queue,
            socket: entering.socket,
        });
    }

    /// Lists a client of another server of the room, under `name` (with
    /// its name's `keys` in names mode), as one of the audience: its lines
    /// and its name count here, and its server sends it its lines.
    #[cfg(feature = "redis")]
    pub fn join_remote(&mut self, id: u64, name: Arc<str>, keys: Option<Keys>) {
        if let (Some(roster), Some(keys)) = (&mut self.roster, keys) {
            roster.add(id, keys);
        }
        self.remote.insert(id, name);
    }

    /// Removes a member whose input ended; its queue is closed after the
    /// farewell, so its writer flushes and ends. Then the others hear of it.
    pub fn leave(&mut self, id: u64, farewell: Option<Line>) {
        if let Some(name) = self.take(id, farewell) {
            self.broadcast(text_line(&[&name, " has left"]));
        }
    }

    /// Takes member `id` out, wherever it is (here, on another server, cut
    /// off), its queue closed after `farewell`; its name, if it was in.
    fn take(&mut self, id: u64, farewell: Option<Line>) -> Option<Arc<str>> {
        let name = if let Some(name) = self.remote.remove(&id) {
            if let Some(roster) = &mut self.roster {
                roster.remove(id);
            }
            name
        } else if let Some(member) = self.remove(id) {
            if let Some(farewell) = farewell {
                let _ = member.queue.push(farewell);
            }
            member.queue.close();
            self.draining.push(member.queue);
            member.name
        } else {
            self.departed.remove(&id)?
        };
        Some(name)
    }

    /// Takes a member out of the audience, if it is still in.
    fn remove(&mut self, id: u64) -> Option<Member> {
        let position = self.index.remove(&id)?;
        if let Some(roster) = &mut self.roster {
            roster.remove(id);
        }
        let member = self.members.swap_remove(position);
        if let Some(moved) = self.members.get(position) {
            self.index.insert(moved.id, position);
        }
        if let Some(addresses) = &mut self.addresses {
            addresses.remove(&member.name);
        }
        Some(member)
    }
}
