//! The room shared by several servers through Redis (`--redis URL`, the
//! cargo feature `redis`): the order comes from Redis, not from here.
//!
//! Each server still orders its own connections' events (see `order`), but
//! instead of applying them it adds them to the room's events in Redis (a
//! stream), and applies what it reads there: every server's events in the
//! one order Redis gives them, the same for every reader. (A stream rather
//! than a pub/sub channel: a channel delivers only to whoever is
//! subscribed at that instant, so a server cut off for a moment, or back
//! after a Redis restart later than another, would miss lines; a stream
//! keeps the last events, and a server reads on from the last it applied.) So a
//! newcomer joins its server's audience when its own arrival comes back,
//! and a sender's echo is its line coming back: the echo is the receipt.
//!
//! The clients of other servers are in each server's room too, named and
//! listed, so that `/who`, `Also here`, names and `/msg` cover the whole
//! room; only their own server sends them lines. Redis decides what servers
//! could race for (see `store`), and a server that stops answering is
//! buried by another: its clients' leaves are announced, once each.

pub mod store;
pub mod wire;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_lite::{future, StreamExt};
use smol::Timer;

use super::events::{Entering, Inputs, Leaving, Message, Said};
use super::order::{Event as Local, Order};
use super::Room;
use crate::command::Command;
use crate::log;
use crate::names;
use crate::queue::{text_line, Line};
use store::{Follow, Store};
use wire::{Event, Origin};

/// How often a server says it is alive, and looks for servers that are not.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// The most local events published in one round trip.
const BATCH: usize = 256;

/// The most bytes of lines published in one round trip (and one more
/// line): a batch of the longest lines must not take gigabytes.
const BATCH_BYTES: usize = 1024 * 1024;

/// The longest wait between two tries to reach Redis again.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

/// What every client of this server is told when Redis is lost.
const LOST: &str = "error: the room is unreachable (Redis); your lines wait until it is back";

/// What a client is told of its lines that were on their way when Redis
/// was lost.
const UNSURE: &str = "error: the room is unreachable: your last lines may not have gone out";

/// What a client of this server is told when the room saw it go: another
/// server took this one for dead while it could not answer.
const BURIED: &str =
    "error: cut off from the room for too long (the others saw you leave); connect again";

/// How long a stopping server waits for Redis to hear its clients leave:
/// within the shutdown's grace, with time left to flush.
const PARTING: Duration = Duration::from_secs(1);

/// What every client of this server is told when Redis is back.
const BACK: &str = "the room is back";

/// The first id given to another server's client in this server's room:
/// this server's own connections are numbered from 1, far below.
const FIRST_REMOTE_ID: u64 = 1 << 63;

/// Runs this server's part of the room until the server stops, with
/// `store` joined; then announces its clients' leaves and lets go of their
/// queues, as `room::run` does.
pub async fn run(inputs: Inputs, names: bool, history: usize, mut store: Store) {
    let mut cluster = Cluster {
        room: Room::new(names, inputs.log.clone(), history),
        names,
        entering: HashMap::new(),
        farewells: HashMap::new(),
        remote: HashMap::new(),
        next_remote: FIRST_REMOTE_ID,
        server: store.server,
        unconfirmed: Default::default(),
        confirm_by: None,
        last: store.joined_at.clone(),
    };
    let stop = inputs.stop.clone();
    let mut order = Order::new(inputs);
    let mut events = cluster.start(&mut store).await;
    let mut heartbeat = Timer::interval(HEARTBEAT);
    loop {
        let Some(following) = events.as_ref() else {
            cluster.room.tell_everyone(LOST);
            // Until Redis answers, or the server stops (then its clients'
            // leaves cannot be announced: the others bury it).
            let back = future::or(async { Some(cluster.reconnect(&mut store).await) }, async {
                let _ = stop.recv().await;
                None
            });
            let Some(following) = back.await else {
                return;
            };
            events = Some(following);
            cluster.room.tell_everyone(BACK);
            continue;
        };
        let next = future::or(
            async { Next::Local(order.next().await) },
            future::or(async { Next::Room(following.next().await) }, async {
                heartbeat.next().await;
                Next::Heartbeat
            }),
        )
        .await;
        match next {
            Next::Local(Local::Stop) => {
                cluster.part(&mut store).await;
                return;
            }
            Next::Local(first) => {
                let mut bytes = weight(&first);
                let mut batch = vec![first];
                let mut stopping = false;
                while batch.len() < BATCH && bytes < BATCH_BYTES {
                    match future::poll_once(order.next()).await {
                        Some(Local::Stop) => {
                            stopping = true;
                            break;
                        }
                        Some(event) => {
                            bytes += weight(&event);
                            batch.push(event);
                        }
                        None => break,
                    }
                }
                let published = cluster.publish(batch, &mut store).await;
                // What the room delivered meanwhile, before more of this
                // server's own events: `or` prefers those, and with more
                // clients talking than a batch holds there always are some,
                // so the room would wait until they stop, and this server's
                // clients would hear nothing meanwhile, echoes included.
                for _ in 0..BATCH {
                    let Some(Some((number, message))) = future::poll_once(following.next()).await
                    else {
                        break;
                    };
                    cluster.apply(&message);
                    cluster.last = number;
                    cluster.room.pacer.pause_if_due().await;
                }
                if let Err(error) = published {
                    log::always(format_args!("Redis: lost: {error}"));
                    events = None;
                }
                if stopping {
                    cluster.part(&mut store).await;
                    return;
                }
            }
            Next::Room(Some((number, message))) => {
                cluster.apply(&message);
                cluster.last = number;
            }
            Next::Room(None) => {
                log::always(format_args!("Redis: lost the room's events"));
                events = None;
            }
            Next::Heartbeat => {
                if let Err(error) = cluster.heartbeat(&mut store).await {
                    log::always(format_args!("Redis: lost: {error}"));
                    events = None;
                }
            }
        }
        cluster.room.pacer.pause_if_due().await;
    }
}

/// What the loop woke up for.
enum Next {
    /// This server's next event.
    Local(Local),
    /// The room's next event's number and message; `None` when Redis is
    /// lost.
    Room(Option<(String, Vec<u8>)>),
    /// Time to say this server is alive.
    Heartbeat,
}

/// This server's side of the room.
struct Cluster {
    /// The room as this server applies it: its own clients with their
    /// queues, the others by name.
    room: Room,
    /// Names mode.
    names: bool,
    /// This server's clients whose arrival is on its way through Redis.
    entering: HashMap<u64, Entering>,
    /// This server's clients whose leave is on its way, with their last
    /// line.
    farewells: HashMap<u64, Option<Line>>,
    /// Other servers' clients, by their id in this room.
    remote: HashMap<Origin, u64>,
    /// The id for the next of them.
    next_remote: u64,
    /// This server's number in the room.
    server: u64,
    /// After Redis came back, the clients of other servers not yet
    /// announced again...
    unconfirmed: std::collections::HashSet<Origin>,
    /// ...and when those still unconfirmed are taken for gone.
    confirm_by: Option<Instant>,
    /// The number of the room's last event applied: after Redis was lost,
    /// the server reads on from there, and misses nothing Redis kept.
    last: String,
}

impl Cluster {
    /// Publishes this server's events, in order, in one round trip.
    /// Lines go out several to a message; arrivals, renames and leaves
    /// each in their own atomic step (see `store`).
    async fn publish(&mut self, batch: Vec<Local>, store: &mut Store) -> redis::RedisResult<()> {
        let mut commands = redis::pipe();
        let mut lines = Vec::new();
        let mut permits = Vec::new();
        let mut senders = Vec::new();
        let me = |conn| Origin {
            server: self.server,
            conn,
        };
        for event in batch {
            match event {
                Local::Message(Message { from, said, permit }) => {
                    permits.push(permit);
                    senders.push(from);
                    // A valid name is claimed as the rename goes out; the
                    // room refuses any other, in its place in the order.
                    if let Said::Command(command) = &said {
                        if let Command::Nick(new) = &**command {
                            if let Ok(name) = names::parse(new) {
                                flush(&mut lines, &mut commands, store);
                                let command = store.rename(from, name.shown.as_bytes(), &name.keys);
                                commands.add_command(command).ignore();
                                continue;
                            }
                        }
                    }
                    wire::encode(
                        &Event::Said {
                            from: me(from),
                            said,
                        },
                        &mut lines,
                    );
                }
                Local::Enter(entering) => {
                    flush(&mut lines, &mut commands, store);
                    let keys = entering
                        .naming
                        .as_ref()
                        .map_or(&[][..], |naming| &naming.keys);
                    let command = store.arrival(entering.id, entering.name.as_bytes(), keys);
                    commands.add_command(command).ignore();
                    self.entering.insert(entering.id, entering);
                }
                Local::Leave(Leaving { id, farewell }) => {
                    flush(&mut lines, &mut commands, store);
                    commands
                        .add_command(store.departure(me(id), false))
                        .ignore();
                    self.farewells.insert(id, farewell);
                }
                Local::Stop => {}
            }
        }
        flush(&mut lines, &mut commands, store);
        let sent = store.send(&commands).await;
        if sent.is_err() {
            // Whether they went out cannot be known: their senders hear so.
            senders.sort_unstable();
            senders.dedup();
            for sender in senders {
                self.room.tell(sender, text_line(&[UNSURE]));
            }
        }
        drop(permits);
        sent
    }

    /// Applies one message from the room's channel.
    fn apply(&mut self, message: &[u8]) {
        let Ok(events) = wire::decode(message) else {
            log::always(format_args!("Redis: a message not from chat ignored"));
            return;
        };
        for event in events {
            match event {
                Event::Arrive { from, .. } if from.server == self.server => {
                    if let Some(entering) = self.entering.remove(&from.conn) {
                        // Book mode's greeting waited for this moment: a
                        // client that has read it is in the room's order,
                        // and sees every arrival after its own.
                        if !self.names {
                            let _ = entering
                                .queue
                                .push(text_line(&["You are ", &entering.name]));
                        }
                        self.room.enter(entering);
                    }
                }
                Event::Arrive { from, name, .. } => self.arrive(from, &name),
                Event::Leave { from } if from.server == self.server => {
                    let farewell = match self.farewells.remove(&from.conn) {
                        Some(farewell) => farewell,
                        // A leave this server never asked for: another
                        // server buried it while it could not answer, and
                        // the room saw this client go. So it goes.
                        None if self.room.is_own(from.conn) => Some(text_line(&[BURIED])),
                        None => continue,
                    };
                    self.room.leave(Leaving {
                        id: from.conn,
                        farewell,
                    });
                }
                Event::Leave { from } => {
                    self.unconfirmed.remove(&from);
                    if let Some(id) = self.remote.remove(&from) {
                        self.room.leave(Leaving { id, farewell: None });
                    }
                }
                Event::Said { from, said } => {
                    let id = if from.server == self.server {
                        from.conn
                    } else if let Some(&id) = self.remote.get(&from) {
                        id
                    } else {
                        continue;
                    };
                    // Both modes' servers never share a room (see `store`).
                    if self.names || matches!(said, Said::Line(_)) {
                        self.room.said(id, said);
                    }
                }
            }
        }
    }

    /// Another server's client arrives, unless it is here already (a
    /// server that came back announces its clients again).
    fn arrive(&mut self, from: Origin, name: &[u8]) {
        if self.remote.contains_key(&from) {
            self.unconfirmed.remove(&from);
            return;
        }
        let id = self.next_remote;
        self.next_remote += 1;
        if self
            .room
            .enter_remote(id, String::from_utf8_lossy(name).into())
        {
            self.remote.insert(from, id);
        }
    }

    /// Lists who is already in the room, for a server that joins late (or
    /// comes back): newcomers since are announced.
    ///
    /// Those this server knew and Redis no longer lists are not taken for
    /// gone at once: after a restart, Redis lists only the servers that
    /// came back before this one. Each gets a heartbeat's lifetime to be
    /// announced again by its server (see [`Cluster::settle`]).
    fn learn(&mut self, members: Vec<store::Member>) {
        let listed: std::collections::HashSet<Origin> =
            members.iter().map(|member| member.origin).collect();
        self.unconfirmed = self
            .remote
            .keys()
            .filter(|origin| !listed.contains(origin))
            .copied()
            .collect();
        self.confirm_by = Some(Instant::now() + store::ALIVE);
        for member in members {
            if member.origin.server != self.server {
                self.arrive(member.origin, &member.name);
            }
        }
    }

    /// Sees the clients that were not confirmed in time leave.
    fn settle(&mut self) {
        if self.confirm_by.is_some_and(|by| Instant::now() >= by) {
            self.confirm_by = None;
            for origin in std::mem::take(&mut self.unconfirmed) {
                if let Some(id) = self.remote.remove(&origin) {
                    self.room.leave(Leaving { id, farewell: None });
                }
            }
        }
    }

    /// Starts following the room from where this server joined it, and
    /// lists who was there; `None` if Redis is already lost.
    async fn start(&mut self, store: &mut Store) -> Option<Follow> {
        let started = async {
            let events = store.follow(self.last.clone()).await?;
            let members = store.members().await?;
            redis::RedisResult::Ok((events, members))
        };
        match started.await {
            Ok((events, members)) => {
                self.learn(members);
                Some(events)
            }
            Err(error) => {
                log::always(format_args!("Redis: lost: {error}"));
                None
            }
        }
    }

    /// Says this server is alive, and buries the servers that are not.
    async fn heartbeat(&mut self, store: &mut Store) -> redis::RedisResult<()> {
        self.settle();
        store.heartbeat().await?;
        for dead in store.dead_servers().await? {
            log::always(format_args!(
                "Redis: server {dead} of the room stopped answering; its clients leave"
            ));
            store.bury(dead).await?;
        }
        Ok(())
    }

    /// Tries to reach Redis again until it answers, waiting longer each
    /// time; then registers this server and its clients again (a
    /// restarted Redis has forgotten them) and catches up with the room.
    async fn reconnect(&mut self, store: &mut Store) -> Follow {
        let mut wait = Duration::from_millis(100);
        loop {
            Timer::after(wait).await;
            wait = (wait * 2).min(MOST_BACKOFF);
            let Ok(()) = store.rejoin().await else {
                continue;
            };
            let Ok(events) = store.follow(self.last.clone()).await else {
                continue;
            };
            // Who this server has, and who is on their way in or out; but
            // if it was buried meanwhile, the room saw its clients go, and
            // they go (as the leaves it reads next say).
            let Ok(buried) = store.was_buried().await else {
                continue;
            };
            let mut commands = redis::pipe();
            let arriving = self
                .entering
                .values()
                .map(|entering| (entering.id, entering.name.clone()));
            let present = if buried {
                for (id, _) in self.room.own_members() {
                    let farewell = Some(text_line(&[BURIED]));
                    self.room.leave(Leaving { id, farewell });
                }
                Vec::new()
            } else {
                self.room.own_members()
            };
            for (id, name) in present.into_iter().chain(arriving) {
                let keys = if self.names {
                    names::keys(&name)
                } else {
                    Box::default()
                };
                commands
                    .add_command(store.arrival(id, name.as_bytes(), &keys))
                    .ignore();
            }
            for &id in self.farewells.keys() {
                commands
                    .add_command(store.departure(self.own(id), false))
                    .ignore();
            }
            if store.send(&commands).await.is_err() {
                continue;
            }
            let Ok(members) = store.members().await else {
                continue;
            };
            log::always(format_args!("Redis: back"));
            self.learn(members);
            return events;
        }
    }

    /// This server's client `conn`, as the room knows it.
    fn own(&self, conn: u64) -> Origin {
        Origin {
            server: self.server,
            conn,
        }
    }

    /// Stops cleanly: this server's clients leave the room, then the
    /// server does.
    async fn part(&mut self, store: &mut Store) {
        let mut commands = redis::pipe();
        for (id, _) in self.room.own_members() {
            commands
                .add_command(store.departure(self.own(id), false))
                .ignore();
        }
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

/// About how many bytes `event` puts in a batch.
fn weight(event: &Local) -> usize {
    match event {
        Local::Message(Message {
            said: Said::Line(line),
            ..
        }) => line.len(),
        Local::Message(Message {
            said: Said::Command(command),
            ..
        }) => match &**command {
            Command::Say(text) | Command::Me(text) => text.len(),
            Command::Msg { to, text } => to.len() + text.len(),
            _ => 64,
        },
        _ => 64,
    }
}

/// Moves the lines gathered so far into one `PUBLISH`.
fn flush(lines: &mut Vec<u8>, commands: &mut redis::Pipeline, store: &Store) {
    if !lines.is_empty() {
        commands
            .add_command(store.publish_command(std::mem::take(lines)))
            .ignore();
    }
}
