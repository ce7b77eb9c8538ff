//! The room shared by several servers through Redis (`--redis URL`, the
//! cargo feature `redis`): another [`Order`], whose order comes from Redis,
//! not from here.
//!
//! Each server still orders its own connections' events (see
//! `order::Local`), but instead of handing them to its room it adds them to
//! the room's events in Redis (a stream), and hands its room what it reads
//! there: every server's events in the one order Redis gives them, the same
//! for every reader. (A stream rather than a pub/sub channel: a channel
//! delivers only to whoever is subscribed at that instant, so a server cut
//! off for a moment, or back after a Redis restart later than another,
//! would miss lines; a stream keeps the last events, and a server reads on
//! from the last it applied.) So a newcomer joins its server's audience
//! when its own arrival comes back, and a sender's echo is its line coming
//! back: the echo is the receipt.
//!
//! The clients of other servers are in each server's room too, named and
//! listed, so that `/who`, `Also here`, names and `/msg` cover the whole
//! room; only their own server sends them lines. Redis decides what servers
//! could race for (see `store`), and a server that stops answering is
//! buried by another: its clients' leaves are announced, once each.
//!
//! The room applies what this order gives and knows nothing of Redis; the
//! order keeps what only it needs (which ids are this server's, which are
//! others' clients, what is on its way through Redis), and looks at the
//! room only to learn who is in.

mod check;
pub mod join;
mod keep;
mod membership;
mod publish;
mod recall;
mod store;
mod url;
mod wire;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use async_channel::Receiver;
use futures_lite::{future, StreamExt};
use smol::Timer;

use crate::line::{text_line, Line};
use crate::log;
use crate::room::audience::Audience;
use crate::room::events::{Entering, Inputs};
use crate::room::order::{Event, Local, Order};
use crate::transport::Socket;
use crate::Config;
use store::{Follow, Store, KEPT};
use wire::Origin;

/// What every client of this server is told when Redis is lost.
const LOST: &str = "error: the room is unreachable (Redis); your lines wait until it is back";

/// What a newcomer is told when Redis is lost while it waits to join.
const NEWCOMER_WAITS: &str =
    "error: the room is unreachable (Redis); you will be greeted when it is back";

/// What every client of this server is told when Redis is back.
const BACK: &str = "the room is back";

/// This server's side of a room that several share.
pub struct Cluster {
    /// This server's own connections' events, in their order.
    local: Local,
    /// The link to Redis.
    store: Store,
    /// The room's events as Redis orders them; `None` while Redis is lost.
    events: Option<Follow>,
    /// When to say this server is alive.
    heartbeat: Timer,
    /// Closed when the server stops, even while Redis is lost.
    stop: Receiver<()>,
    /// Names mode.
    names: bool,
    /// How many recent messages newcomers get (`--history`): a server
    /// that joins late recalls them from the room's stream.
    history: usize,
    /// Events taken but not yet handed to the room, oldest first.
    pending: VecDeque<Pending>,
    /// This server's clients whose arrival is on its way through Redis.
    entering: HashMap<u64, Entering>,
    /// This server's connections that never were in the room (refused,
    /// or gone before Redis was back): their leave goes to this server's
    /// room alone, and no other server hears of them.
    strangers: HashSet<u64>,
    /// This server's clients whose leave is on its way, with their last
    /// line.
    farewells: HashMap<u64, Option<Line>>,
    /// This server's clients the room was handed, each with its place
    /// among arrivals: a server that reaches Redis again registers them
    /// again, in that order (the room says which are still in).
    own: HashMap<u64, u64>,
    /// The place of the next of them.
    arrivals: u64,
    /// Other servers' clients, by their id in this room.
    remote: HashMap<Origin, u64>,
    /// The id for the next of them.
    next_remote: u64,
    /// After Redis came back, the clients of other servers not yet
    /// announced again...
    unconfirmed: HashSet<Origin>,
    /// ...and when those still unconfirmed are taken for gone.
    confirm_by: Option<Instant>,
    /// The servers known to be the room's: events from others are
    /// dropped.
    servers: check::Servers,
    /// The number of the room's last event taken: after Redis was lost,
    /// the server reads on from there, and misses nothing Redis kept.
    last: String,
    /// The count of the room's events up to the last this server read,
    /// to see when the next it reads is not the next there was.
    counted: u64,
    /// Redis was lost since: the count may have started again, as a Redis
    /// restarted empty does.
    recounted: bool,
    /// The server is stopping: once what is pending is handed over, this
    /// server's clients leave the room, and the order ends.
    stopping: bool,
    /// The order has ended.
    stopped: bool,
    /// The order has started following the room.
    started: bool,
    /// The room's changes of manners to keep in Redis (see `keep`), until
    /// the room lets go of its end.
    saved: Option<Receiver<crate::bans::Save>>,
    /// The room's manners as kept in Redis when this server joined, until
    /// the room takes them.
    kept: Vec<(String, Vec<u8>)>,
    /// The manners Redis kept of each member of other servers (an
    /// operator, muted, away) when this server joined, until its arrival
    /// here is handed to the room with them.
    people_kept: HashMap<Origin, Vec<u8>>,
}

/// What the order has taken and not yet handed to the room. The room's own
/// events are turned into the room's only when their turn comes, when the
/// room as the events before left it says who they concern.
enum Pending {
    /// An event as the room applies it.
    Event(Event),
    /// An event of the room's stream.
    Room(wire::Event),
    /// A line for every client of this server in the room at that point.
    TellOwn(&'static str),
    /// Every client of this server is told how many of the room's events
    /// this server missed.
    Missed(u64),
}

/// What the order woke up for.
enum Next {
    /// This server's next event; `None` when it stops.
    Local(Option<Event>),
    /// The room's next message; `None` when Redis is lost.
    Room(Option<store::Entry>),
    /// Time to say this server is alive.
    Heartbeat,
    /// A change of the room's manners to keep; `None` once the room let go.
    Save(Option<crate::bans::Save>),
}

impl Order for Cluster {
    async fn next(&mut self, here: &Audience) -> Option<Event> {
        if !self.started {
            self.started = true;
            self.start().await;
        }
        loop {
            while let Some(pending) = self.pending.pop_front() {
                if let Some(event) = self.take(pending, here) {
                    return Some(event);
                }
            }
            if self.stopped {
                return None;
            }
            if self.stopping {
                self.part(here).await;
                self.stopped = true;
                return None;
            }
            self.step(here).await;
        }
    }
}

impl Cluster {
    /// Waits for what comes next, and takes it: this server's events go to
    /// Redis, the room's are made pending for the room.
    async fn step(&mut self, here: &Audience) {
        let Some(following) = &self.events else {
            return self.recover(here).await;
        };
        let local = &mut self.local;
        let heartbeat = &mut self.heartbeat;
        let saved = self.saved.as_ref();
        let next = future::or(
            async { Next::Local(local.next_local().await) },
            future::or(async { Next::Room(following.next().await) }, async {
                heartbeat.next().await;
                Next::Heartbeat
            }),
        );
        let next = future::or(next, keep::next(saved)).await;
        match next {
            Next::Local(None) => self.stopping = true,
            Next::Local(Some(first)) => self.publish_from(first).await,
            Next::Room(Some(entry)) => self.receive(entry).await,
            Next::Room(None) => self.lose("lost the room's events"),
            Next::Heartbeat => {
                if let Err(error) = self.heartbeat(here).await {
                    self.lose(&format!("lost: {error}"));
                }
            }
            Next::Save(save) => self.keep(save).await,
        }
    }

    /// Makes the events of one message of the room's stream pending, those
    /// that pass the checks a line from a socket would (see `check`).
    async fn receive(&mut self, (number, count, message): store::Entry) {
        self.last = number;
        let Ok(events) = wire::decode(&message) else {
            return log::always(format_args!("Redis: a message not from chat ignored"));
        };
        if let Some(count) = count {
            // Who came or left in what was missed: the room learns it from
            // Redis's lists, as after Redis was lost.
            if self.count(count, events.len()) {
                if let Ok(members) = self.store.members().await {
                    self.learn(members);
                }
            }
        }
        for event in events {
            let from = match &event {
                wire::Event::Arrive { from, .. }
                | wire::Event::Leave { from }
                | wire::Event::Rename { from, .. }
                | wire::Event::Said { from, .. } => *from,
            };
            if let Some(why) = check::refusal(&event, self.names) {
                check::dropped(why);
            } else if !self.known(from.server).await {
                check::dropped(&format!("from server {}, not the room's", from.server));
            } else {
                self.pending.push_back(Pending::Room(event));
            }
        }
    }

    /// Redis is lost (`why`, for the log): this server's clients are told,
    /// in their place in the order (unless it is stopping), and the order
    /// tries to reach it again.
    fn lose(&mut self, why: &str) {
        log::always(format_args!("Redis: {why}"));
        self.events = None;
        // A stopping server tries to part, and closes: it waits for nothing.
        if !self.stopping {
            self.pending.push_back(Pending::TellOwn(LOST));
            for entering in self.entering.values() {
                let _ = entering.queue.push(text_line(&[NEWCOMER_WAITS]));
            }
        }
    }

    /// Until Redis answers again, or the server stops (then its clients'
    /// leaves cannot be announced: the others bury it). Newcomers meanwhile
    /// are told at once that they wait, and join once it is back, unless
    /// they gave up: then nobody hears of them.
    async fn recover(&mut self, here: &Audience) {
        let stop = self.stop.clone();
        let newcomers = self.local.newcomers().clone();
        let waiting = RefCell::new(Vec::new());
        let back = future::or(async { Some(self.reconnect(here).await) }, async {
            let _ = stop.recv().await;
            None
        });
        let answer = async {
            while let Ok(entering) = newcomers.recv().await {
                let _ = entering.queue.push(text_line(&[NEWCOMER_WAITS]));
                waiting.borrow_mut().push(entering);
            }
            future::pending().await
        };
        let back = future::or(back, answer).await;
        let waiting = waiting.into_inner();
        let Some(following) = back else {
            self.stopped = true;
            return;
        };
        self.events = Some(following);
        self.recounted = true;
        self.pending.push_back(Pending::TellOwn(BACK));
        let mut arrivals = Vec::new();
        for entering in waiting {
            if gone(&entering.socket) {
                self.strangers.insert(entering.id);
            } else {
                arrivals.push(Event::Enter(entering));
            }
        }
        if !arrivals.is_empty() {
            if let Err(error) = self.publish(arrivals).await {
                self.lose(&format!("lost: {error}"));
            }
        }
    }

    /// Notes the count of the room's events, `count`, up to the end of a
    /// message of `events` events: if the message does not start right
    /// after the last one read, what came between is lost to this server
    /// (the stream kept only its last events while this server was away),
    /// and its clients are told, before what comes next. Whether it was.
    fn count(&mut self, count: u64, events: usize) -> bool {
        let first = count.saturating_sub(events as u64) + 1;
        let missed = if first > self.counted + 1 {
            first - self.counted - 1
        } else if first <= self.counted && self.recounted {
            // A Redis restarted empty counts from nothing again.
            first - 1
        } else {
            0
        };
        self.counted = count;
        self.recounted = false;
        if missed > 0 {
            log::always(format_args!(
                "Redis: this server missed {missed} of the room's events while it was cut off \
                 (the room's stream keeps about {KEPT})"
            ));
            self.pending.push_back(Pending::Missed(missed));
        }
        missed > 0
    }

    /// A line for every client of this server the room has: `text`.
    fn tell_own(&self, text: &str, here: &Audience) -> Option<Event> {
        let to: Vec<u64> = self.own_in(here).into_iter().map(|(id, _)| id).collect();
        (!to.is_empty()).then(|| Event::Tell {
            to,
            line: text_line(&[text]),
        })
    }
}

/// Whether the peer of `socket` has closed it or reset it (what it sent
/// and no one read yet is not an end): a newcomer that gave up waiting.
fn gone(socket: &Socket) -> bool {
    match socket.get_ref().peek(&mut [0]) {
        Ok(read) => read == 0,
        Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// This server's part of a room, with `store` joined: the order its
/// `inputs` go through, once published and read back; it says it is alive
/// every `heartbeat`.
fn cluster(inputs: Inputs, config: &Config, store: Store, heartbeat: Duration) -> Cluster {
    let mut servers = check::Servers::default();
    servers.know(store.server);
    Cluster {
        servers,
        stop: inputs.stop.clone(),
        local: Local::new(inputs),
        last: store.joined_at.clone(),
        counted: store.joined_count,
        recounted: false,
        store,
        events: None,
        heartbeat: Timer::interval(heartbeat),
        names: config.names,
        history: config.history,
        pending: VecDeque::new(),
        entering: HashMap::new(),
        farewells: HashMap::new(),
        strangers: HashSet::new(),
        own: HashMap::new(),
        arrivals: 0,
        remote: HashMap::new(),
        next_remote: crate::room::order::FIRST_REMOTE_ID,
        unconfirmed: HashSet::new(),
        confirm_by: None,
        stopping: false,
        stopped: false,
        started: false,
        saved: None,
        kept: Vec::new(),
        people_kept: HashMap::new(),
    }
}
