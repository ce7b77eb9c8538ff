//! Who is in a room that several servers share, as this server's order
//! keeps it: the room's events turned into the room's, in their turn; who
//! was there when this server joined or came back; and the heartbeats,
//! burials and partings that keep the servers' lists in Redis true.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_lite::future;
use smol::Timer;

use super::store::{self, Follow, Store};
use super::wire::{self, Origin};
use super::{check, Cluster, Pending};
use crate::command::Command;
use crate::line::text_line;
use crate::log;
use crate::names;
use crate::room::audience::Audience;
use crate::room::events::{Leaving, Message, Said};
use crate::room::order::Event;

/// What a client of this server is told when the room saw it go: another
/// server took this one for dead while it could not answer.
const BURIED: &str =
    "error: cut off from the room for too long (the others saw you leave); connect again";

/// What a book-mode client is told, after its address, when another
/// client of the room (on another server) has that address.
const ADDRESS_TAKEN: &str = "is already in the room (through another server); connect again";

/// How long a stopping server waits for Redis to hear its clients leave:
/// within the shutdown's grace, with time left to flush.
const PARTING: Duration = Duration::from_secs(1);

/// The longest wait between two tries to reach Redis again.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

impl Cluster {
    /// What `pending` is for the room now, if anything: `here` is the room
    /// as the events before left it.
    pub(super) fn take(&mut self, pending: Pending, here: &Audience) -> Option<Event> {
        match pending {
            Pending::Event(event) => {
                if let Event::Leave(leaving) = &event {
                    self.own.remove(&leaving.id);
                }
                Some(event)
            }
            Pending::Room(event) => self.turn(event, here),
            Pending::TellOwn(text) => self.tell_own(text, here),
            Pending::Missed(count) => {
                let missed = format!(
                    "error: you missed {count} lines while this server was cut off from the room"
                );
                self.tell_own(&missed, here)
            }
        }
    }

    /// One event of the room's stream as the room applies it, if it
    /// concerns the room here.
    fn turn(&mut self, event: wire::Event, here: &Audience) -> Option<Event> {
        let server = self.store.server;
        // The room judges a rename itself (and as Redis did).
        let event = match event {
            wire::Event::Rename { from, name, .. } => wire::Event::Said {
                from,
                said: Said::Command(Box::new(Command::Nick(name))),
            },
            event => event,
        };
        match event {
            wire::Event::Arrive { from, free, .. } if from.server == server => {
                let entering = self.entering.remove(&from.conn)?;
                // Book mode: another member has this address (a client of
                // another server); names mode's room refuses a name itself.
                if !free && !self.names {
                    let taken = [&*entering.name, " ", ADDRESS_TAKEN];
                    let _ = entering
                        .queue
                        .push(text_line(&["error: ", &taken.concat()]));
                    self.strangers.insert(from.conn);
                    return None;
                }
                self.own.insert(from.conn, self.arrivals);
                self.arrivals += 1;
                Some(Event::Enter(entering))
            }
            wire::Event::Arrive { free: false, .. } if !self.names => None,
            wire::Event::Arrive { from, name, .. } => self.arrive(from, &name, here),
            wire::Event::Leave { from } if from.server == server => {
                let farewell = match self.farewells.remove(&from.conn) {
                    Some(farewell) => farewell,
                    // A leave this server never asked for: another server
                    // buried it while it could not answer, and the room
                    // saw this client go. So it goes.
                    None if here.name_of(from.conn).is_some() => Some(text_line(&[BURIED])),
                    None => return None,
                };
                self.own.remove(&from.conn);
                let id = from.conn;
                Some(Event::Leave(Leaving { id, farewell }))
            }
            wire::Event::Leave { from } => {
                self.unconfirmed.remove(&from);
                let id = self.remote.remove(&from)?;
                Some(Event::Leave(Leaving { id, farewell: None }))
            }
            // Made a line above.
            wire::Event::Rename { .. } => None,
            wire::Event::Said { from, said } => {
                let id = if from.server == server {
                    from.conn
                } else {
                    *self.remote.get(&from)?
                };
                // A book-mode line is its sender's: `ADDR: TEXT`. (One of
                // this server's clients cut off meanwhile is no longer
                // named here; its lines still go out, as they were read.)
                if let (Said::Line(line), Some(name)) = (&said, here.name_of(id)) {
                    if !line.starts_with(name.as_bytes()) || !line[name.len()..].starts_with(b": ")
                    {
                        check::dropped("a line that is not its sender's");
                        return None;
                    }
                } else if from.server != server && here.name_of(id).is_none() {
                    return None;
                }
                let permit = None;
                Some(Event::Message(Message {
                    from: id,
                    said,
                    permit,
                }))
            }
        }
    }

    /// Another server's client arrives, unless it is here already (a
    /// server that came back announces its clients again).
    fn arrive(&mut self, from: Origin, name: &[u8], here: &Audience) -> Option<Event> {
        self.unconfirmed.remove(&from);
        if let Some(&id) = self.remote.get(&from) {
            if here.name_of(id).is_some() {
                return None;
            }
        }
        let id = self.next_remote;
        self.next_remote += 1;
        self.remote.insert(from, id);
        let name = String::from_utf8_lossy(name).into();
        let kept = self.people_kept.remove(&from);
        Some(Event::Arrive { id, name, kept })
    }

    /// This server's clients in the room, first arrived first, with their
    /// names.
    pub(super) fn own_in(&self, here: &Audience) -> Vec<(u64, std::sync::Arc<str>)> {
        let mut own: Vec<_> = self
            .own
            .iter()
            .filter_map(|(&id, &place)| Some((place, id, here.name_of(id)?.clone())))
            .collect();
        own.sort_unstable_by_key(|&(place, id, _)| (place, id));
        own.into_iter().map(|(_, id, name)| (id, name)).collect()
    }

    /// Lists who is already in the room, for a server that joins late (or
    /// comes back): newcomers since are announced.
    ///
    /// Those this server knew and Redis no longer lists are not taken for
    /// gone at once: after a restart, Redis lists only the servers that
    /// came back before this one. Each gets a heartbeat's lifetime to be
    /// announced again by its server (see [`Cluster::settle`]).
    pub(super) fn learn(&mut self, members: Vec<store::Member>) {
        let listed: HashSet<Origin> = members.iter().map(|member| member.origin).collect();
        self.unconfirmed = self
            .remote
            .keys()
            .filter(|origin| !listed.contains(origin))
            .copied()
            .collect();
        self.confirm_by = Some(Instant::now() + self.store.alive);
        for member in members {
            self.servers.know(member.origin.server);
            if member.origin.server != self.store.server {
                let arrival = wire::Event::Arrive {
                    from: member.origin,
                    name: member.name,
                    seq: member.seq,
                    free: true,
                };
                self.pending.push_back(Pending::Room(arrival));
            }
        }
    }

    /// Sees the clients that were not confirmed in time leave.
    fn settle(&mut self) {
        if self.confirm_by.is_some_and(|by| Instant::now() >= by) {
            self.confirm_by = None;
            for origin in std::mem::take(&mut self.unconfirmed) {
                if let Some(id) = self.remote.remove(&origin) {
                    let leave = Event::Leave(Leaving { id, farewell: None });
                    self.pending.push_back(Pending::Event(leave));
                }
            }
        }
    }

    /// Starts following the room from where this server joined it, with
    /// what was said before recalled for the history, and lists who was
    /// there; a Redis already lost is lost.
    pub(super) async fn start(&mut self) {
        let started = async {
            self.recall().await?;
            let events = self.store.follow(self.last.clone()).await?;
            let members = self.store.members().await?;
            redis::RedisResult::Ok((events, members))
        };
        match started.await {
            Ok((events, members)) => {
                self.events = Some(events);
                self.learn(members);
            }
            Err(error) => self.lose(&format!("lost: {error}")),
        }
    }

    /// Says this server is alive, and buries the servers that are not.
    /// It forgets, too, the clients the room refused or let go meanwhile.
    pub(super) async fn heartbeat(&mut self, here: &Audience) -> redis::RedisResult<()> {
        self.own.retain(|&id, _| here.name_of(id).is_some());
        self.remote.retain(|_, &mut id| here.name_of(id).is_some());
        self.settle();
        self.store.heartbeat().await?;
        for dead in self.store.dead_servers().await? {
            let address = self.store.address_of(dead).await?;
            let address = address.as_deref().unwrap_or("at an address it did not say");
            log::always(format_args!(
                "Redis: server {dead} ({address}) of the room stopped answering; its clients leave"
            ));
            self.store.bury(dead).await?;
        }
        Ok(())
    }

    /// Tries to reach Redis again until it answers, waiting longer each
    /// time; then registers this server and its clients again (a
    /// restarted Redis has forgotten them) and catches up with the room.
    pub(super) async fn reconnect(&mut self, here: &Audience) -> Follow {
        let mut wait = Duration::from_millis(100);
        loop {
            Timer::after(wait).await;
            wait = (wait * 2).min(MOST_BACKOFF);
            if let Ok(events) = self.register_again(here).await {
                log::always(format_args!("Redis: back"));
                return events;
            }
        }
    }

    /// One try at [`Cluster::reconnect`].
    async fn register_again(&mut self, here: &Audience) -> redis::RedisResult<Follow> {
        self.store.rejoin().await?;
        let events = self.store.follow(self.last.clone()).await?;
        // Who this server has, and who is on their way in or out; but if
        // it was buried meanwhile, the room saw its clients go, and they go
        // (as the leaves it reads next say).
        if self.store.was_buried().await? {
            for (id, _) in self.own_in(here) {
                self.own.remove(&id);
                let farewell = Some(text_line(&[BURIED]));
                let leave = Event::Leave(Leaving { id, farewell });
                self.pending.push_back(Pending::Event(leave));
            }
        }
        let mut commands = redis::pipe();
        let arriving = self
            .entering
            .values()
            .map(|entering| (entering.id, entering.name.clone()));
        let registered: Vec<_> = self.own_in(here).into_iter().chain(arriving).collect();
        for (id, name) in registered {
            let keys = if self.names {
                names::keys(&name)
            } else {
                Box::new([Box::from(&*name)])
            };
            commands
                .add_command(self.store.arrival(id, name.as_bytes(), &keys))
                .ignore();
        }
        for &id in self.farewells.keys() {
            commands
                .add_command(self.store.departure(self.own(id), false))
                .ignore();
        }
        self.store.send(&commands).await?;
        let members = self.store.members().await?;
        self.learn(members);
        Ok(events)
    }

    /// Stops cleanly: this server's clients leave the room, then the
    /// server does.
    pub(super) async fn part(&mut self, here: &Audience) {
        let mut commands = redis::pipe();
        for (id, _) in self.own_in(here) {
            commands
                .add_command(self.store.departure(self.own(id), false))
                .ignore();
        }
        let store: &mut Store = &mut self.store;
        let parted = async {
            let _ = store.send(&commands).await;
            let _ = store.part().await;
        };
        future::or(parted, async {
            Timer::after(PARTING).await;
        })
        .await;
    }
}
