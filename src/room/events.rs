//! The corridor between the two wings: what connections tell the room, the
//! three channels that carry it, and the one function that makes both of
//! their ends.
//!
//! It lives apart from both wings so that the arrows point one way: a
//! connection builds these events and sends them through its [`Hub`], the
//! room receives them from its [`Inputs`], and neither reaches into the
//! other.

use std::sync::Arc;

use async_channel::{Receiver, Sender};

use crate::bans::Bans;
use crate::command::Command;
use crate::line::{text_line, Line, Log};
use crate::names::Keys;
use crate::queue::{Permit, QueueSender};
use crate::transport::Socket;

/// Lines one connection may have waiting for the room. Enough to keep the
/// room busy with a single fast sender, few enough that a flood never keeps
/// anyone else's line waiting long.
pub const LINES_IN_FLIGHT: usize = 32;

/// Lines that may wait for the broadcaster before readers must wait too.
const MESSAGES_BACKLOG: usize = 1024;

/// Joins and leaves that may wait for the broadcaster.
const MEMBERSHIP_BACKLOG: usize = 256;

/// A connection asking to join the audience.
pub struct Entering {
    /// Tells this client apart from every other, past or present.
    pub id: u64,
    /// What the others call the client: its address (`127.0.0.1:54321`),
    /// or in names mode the name it chose.
    pub name: Arc<str>,
    /// Where the room puts the lines this client must receive.
    pub queue: QueueSender,
    /// Lets the room cut off a client that stopped reading, even while its
    /// writer is blocked on a full socket.
    pub socket: Socket,
    /// In names mode, the name asked for; the room greets the client
    /// itself, or refuses the name.
    pub naming: Option<Naming>,
}

/// A name asked for on entering, in names mode.
pub struct Naming {
    /// What the name is compared by (see `names::keys`).
    pub keys: Keys,
    /// Where the room hands the [`Entering`] back, queue and all, when the
    /// name is taken, after queueing the `error: ...` line that says so.
    /// Dropped unused when the client is let in.
    pub refused: Sender<Entering>,
}

/// A connection whose input has ended, for whatever reason.
pub struct Leaving {
    /// The client leaving; unknown ids (clients already cut off) are ignored.
    pub id: u64,
    /// A last line for this client alone (an `error: ...`), sent after
    /// everything already queued for it.
    pub farewell: Option<Line>,
}

/// A line to broadcast, with its sender's permit to have it in flight.
///
/// Each connection may have only a few lines waiting for the room (see
/// `conn`); the permit goes back when the line has been broadcast. So a
/// flooding client can never fill the channel and keep others' lines out:
/// everyone's next line is at most a few lines per active sender away.
pub struct Message {
    /// Who sent it.
    pub from: u64,
    /// What it asks for.
    pub said: Said,
    /// Returned to the sending connection when this message is dropped;
    /// `None` for a line that reached the room another way (from Redis,
    /// whose order gave the permit back when the line went out).
    pub permit: Option<Permit>,
}

/// What a client's line asks of the room.
///
/// In book mode a line is formatted by its reader, once, and the room only
/// shares it out. In names mode the room formats it: a name can change
/// between the line's reading and its turn (`/nick` just before), and only
/// the room knows the name at that point of the one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// Book mode: the line, formatted as `ADDR: TEXT\n`.
    Line(Line),
    /// Names mode: a message or a command, as parsed. Boxed, so that a
    /// message in flight, and every reader's state that holds one, stays as
    /// small as book mode needs.
    Command(Box<Command>),
}

/// When a book-mode newcomer is greeted (`You are ADDR`): the room's kind
/// decides, and the connection never asks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    /// As it gets in line to join, before the room has it: in a room of
    /// this server alone, the book's order (its `handleConn` sends the
    /// greeting, then `entering <- ch`), and the room's one order is kept
    /// all the same. Greeting it at join instead made each newcomer wait
    /// for the room before it could read its greeting, and a storm of
    /// 10,000 arrivals then cost the server twice the CPU (14 s for 7), as
    /// arrivals came one at a time instead of in bursts.
    AtOnce,
    /// When the room lets it in: in a room shared with other servers, where
    /// joining is the arrival coming back from the room's order, so that a
    /// client that has read its greeting sees every arrival after its own.
    OnJoin,
}

/// A client's greeting, `You are NAME`: its first line, in every mode.
pub fn greeting(name: &str) -> Line {
    text_line(&["You are ", name])
}

/// The channels a connection uses to talk to the broadcaster: one set for
/// every connection, each holding them by one pointer (eight bytes of its
/// state, not the ends' 56).
#[derive(Clone)]
pub struct Hub(Arc<HubEnds>);

/// What a [`Hub`] shares.
pub struct HubEnds {
    /// Closed when the server stops: a client still choosing its name,
    /// not yet in the audience, learns it from this.
    pub stopping: Receiver<()>,
    /// The room's broadcast lines, which a connection's queue sends from.
    pub log: Log,
    /// To join the audience.
    pub entering: Sender<Entering>,
    /// To leave it.
    pub leaving: Sender<Leaving>,
    /// To broadcast a line.
    pub messages: Sender<Message>,
    /// When a book-mode newcomer is greeted.
    greeting: Greeting,
    /// Names mode's bans, which the room makes and a newcomer is refused
    /// by before it is asked its name.
    pub bans: Bans,
}

impl std::ops::Deref for Hub {
    type Target = HubEnds;

    fn deref(&self) -> &HubEnds {
        &self.0
    }
}

impl Hub {
    /// Asks the room to let `entering` in, greeted now if the room's kind
    /// says so (book mode: names mode's greeting is the room's answer to a
    /// name); whether the room is still there to ask.
    pub async fn join(&self, entering: Entering) -> bool {
        if self.greeting == Greeting::AtOnce && entering.naming.is_none() {
            let _ = entering.queue.push(greeting(&entering.name));
        }
        self.entering.send(entering).await.is_ok()
    }
}

/// The room's three inputs, plus the signal to stop.
pub struct Inputs {
    /// Connections asking to join.
    pub entering: Receiver<Entering>,
    /// Connections whose input ended.
    pub leaving: Receiver<Leaving>,
    /// Lines from clients.
    pub messages: Receiver<Message>,
    /// Closed when the server shuts down.
    pub stop: Receiver<()>,
    /// The broadcast lines, kept once for every queue that has them to send.
    pub log: Log,
    /// The bans, which the room writes and the hub's connections read.
    pub bans: Bans,
}

/// Both ends of the room's channels, made together so that they match.
pub struct Channels {
    /// The connections' end, cloned into each.
    pub hub: Hub,
    /// The room's end.
    pub inputs: Inputs,
    /// Dropped when the server stops: the room, and every newcomer still
    /// choosing its name, learn it.
    pub stop: Sender<()>,
}

/// The room's channels, bounded: a flood waits in its senders' connections,
/// never in the server's memory. Book-mode newcomers are greeted as
/// `greeting` says.
pub fn channels(greeting: Greeting) -> Channels {
    let (entering, entering_rx) = async_channel::bounded(MEMBERSHIP_BACKLOG);
    let (leaving, leaving_rx) = async_channel::bounded(MEMBERSHIP_BACKLOG);
    let (messages, messages_rx) = async_channel::bounded(MESSAGES_BACKLOG);
    let (stop, stop_rx) = async_channel::bounded(1);
    let log = Log::default();
    let bans = Bans::default();
    Channels {
        hub: Hub(Arc::new(HubEnds {
            stopping: stop_rx.clone(),
            log: log.clone(),
            entering,
            leaving,
            messages,
            greeting,
            bans: bans.clone(),
        })),
        inputs: Inputs {
            entering: entering_rx,
            leaving: leaving_rx,
            messages: messages_rx,
            stop: stop_rx,
            log,
            bans,
        },
        stop,
    }
}
