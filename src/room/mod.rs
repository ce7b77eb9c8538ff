//! The room: the one place that knows who is in the chat.
//!
//! As in the book, connections talk to it over three channels: `entering`,
//! `leaving` and `messages` (see [`events`], the corridor between the
//! connections and the room). An [`Order`] puts what they say in one
//! order: the book's select over the three ([`order::Local`]), or, when
//! several servers share the room, the room's stream in Redis (`redis`).
//! The [`Room`] applies each event in that order to the audience, with one
//! entry, [`Room::apply`], and never asks where the order came from. A
//! newcomer's connection may send lines only once it has joined (the room
//! grants its first permits then), so its first line always reaches itself;
//! and the room greets it, in every mode, in its place in the order.
//!
//! It yields to the other tasks every [`YIELD_EVERY_BYTES`] broadcast, so
//! that writers drain the queues while a burst goes through: a client
//! reading at a steady pace is never cut off by a burst it can absorb.
//! And it wakes the writers only when it has applied what is ready, or
//! pauses (see [`settled`]): a burst reaches each writer whole.

mod audience;
mod commands;
pub mod events;
mod history;
pub mod keys;
#[cfg(feature = "manners")]
mod manners;
#[cfg(not(feature = "manners"))]
#[path = "manners/off.rs"]
mod manners;
mod order;
#[cfg(feature = "redis")]
mod redis;
mod roster;

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::task::Poll;

use futures_lite::{future, FutureExt};

use crate::line::text_line;
use crate::Config;
use audience::Audience;
use events::{greeting, Channels, Entering, Greeting, Hub, Inputs, Leaving, Message, Said};
use history::History;
use manners::Manners;
use order::{Event, Order};

/// What a book-mode newcomer hears when its address (its name) is already
/// in the room: a TCP client and a page's WebSocket connect to two ports,
/// and the kernel may give both the same address and port.
const ADDRESS_HERE: &str = " is already here (another connection has this address); connect again";

/// Bytes of lines broadcast between two yields to the writers. Well under
/// the smallest sensible send queue, so no queue fills within one turn.
const YIELD_EVERY_BYTES: usize = 32 * 1024;

/// Lines broadcast between two yields, however short they are, so that
/// accepting and reading go on during a flood.
const YIELD_EVERY_LINES: usize = 256;

/// Changes to the room's manners that may wait to be kept in Redis.
#[cfg(feature = "redis")]
const SAVES_BACKLOG: usize = 256;

/// The room this server serves, opened: its own, or (`--redis`) its part
/// of a room several servers share, once joined (as a server listening on
/// `listening`, as the others' logs name it); an error says in one line
/// why it could not join. `two_doors`: clients come in through the page's
/// door too, and then two of them can have one address (see
/// `Audience::new`).
pub async fn open(
    config: &Config,
    listening: Option<SocketAddr>,
    two_doors: bool,
) -> io::Result<Opened> {
    #[cfg(not(feature = "redis"))]
    let _ = listening;
    let greeting = match config.redis {
        Some(_) if cfg!(feature = "redis") => Greeting::OnJoin,
        _ => Greeting::AtOnce,
    };
    let Channels { hub, inputs, stop } = events::channels(greeting);
    #[allow(unused_mut)]
    let mut room = Room::new(config, two_doors, &inputs, greeting, &hub.messages);
    let run = match &config.redis {
        #[cfg(feature = "redis")]
        Some(shared) => {
            let (saves, saved) = async_channel::bounded(SAVES_BACKLOG);
            room.manners.keep_in(saves);
            let mut order = redis::join::join(shared, config, inputs, listening, saved).await?;
            // Before the server listens: its first newcomer finds them.
            room.manners.restore(order.take_kept());
            run(order, room).boxed_local()
        }
        _ => run(order::Local::new(inputs), room).boxed_local(),
    };
    Ok(Opened { hub, stop, run })
}

/// A room opened, with its two ends.
pub struct Opened {
    /// The connections' way in, cloned into each.
    pub hub: Hub,
    /// Dropped when the server stops: the room, and every newcomer still
    /// choosing its name, learn it.
    pub stop: async_channel::Sender<()>,
    /// The room itself, to run until the server stops; then it lets go of
    /// every client queue, so that each writer flushes and closes its
    /// connection.
    pub run: Pin<Box<dyn Future<Output = ()>>>,
}

/// Applies what `order` gives, one event at a time, until it says the
/// server stops.
async fn run(mut order: impl Order, mut room: Room) {
    while let Some(event) = settled(order.next(&room.audience), &room.audience).await {
        room.apply(event);
        if room.pacer.is_due() {
            room.audience.wake_writers();
            future::yield_now().await;
        }
    }
    room.audience.wake_writers();
}

/// The order's `next` event, once the burst before it has settled: when
/// nothing is ready, the room yields once, so that the connections it gave
/// permits back to send what they have read already, and only if that
/// brings nothing wakes the writers, then waits. A sender's lines in
/// flight then reach each writer in one batch, not one a line; an event
/// ready at once costs nothing more.
async fn settled<F: Future<Output = Option<Event>>>(next: F, audience: &Audience) -> Option<Event> {
    let mut next = pin!(next);
    let mut yielded = false;
    poll_fn(|context| {
        if let Poll::Ready(event) = next.as_mut().poll(context) {
            return Poll::Ready(event);
        }
        if !yielded && audience.writers_to_wake() {
            yielded = true;
            context.waker().wake_by_ref();
        } else {
            audience.wake_writers();
        }
        Poll::Pending
    })
    .await
}

/// The applying side: what the room does with each event, in the order it
/// is given, whoever decided that order.
struct Room {
    /// Who is here, and their queues.
    audience: Audience,
    /// The recent messages, for newcomers.
    history: History,
    /// When to let the writers run.
    pacer: Pacer,
    /// Whether a book-mode newcomer is greeted as it joins, or was as it
    /// got in line.
    greeting: Greeting,
    /// Names mode's operators, bans, mutes, topic, ignore lists, aways.
    manners: Manners,
}

impl Room {
    /// An empty room for `config`: in names mode the room keeps a roster
    /// of names and carries out commands; newcomers get the last
    /// `config.history` messages. Broadcast lines are kept once, in the
    /// `inputs`' log, which the connections' queues send from; the bans
    /// are shared with the connections through them too.
    fn new(
        config: &Config,
        two_doors: bool,
        inputs: &Inputs,
        greeting: Greeting,
        marks: &async_channel::Sender<Message>,
    ) -> Self {
        let log = inputs.log.clone();
        Room {
            audience: Audience::new(config.names, two_doors && !config.names, log),
            history: History::new(config.history),
            pacer: Pacer::default(),
            greeting,
            manners: Manners::new(config, inputs.bans.clone(), marks),
        }
    }

    /// Applies one event: the room's one entry. Never inlined: each kind
    /// of order has its own loop, and they share one room.
    #[inline(never)]
    fn apply(&mut self, event: Event) {
        match event {
            Event::Message(Message { from, said, permit }) => {
                self.said(from, said);
                // The sender may have one more line in flight.
                drop(permit);
            }
            Event::Enter(entering) => self.enter(entering),
            Event::Leave(leaving) => self.leave(leaving),
            #[cfg(feature = "redis")]
            Event::Arrive { id, name, kept } => {
                commands::arrive(id, name, &mut self.audience);
                if let Some(kept) = kept.filter(|_| self.audience.name_of(id).is_some()) {
                    self.manners.restore_person(id, &kept);
                }
            }
            #[cfg(feature = "redis")]
            Event::Recall(line) => self.history.record(&line),
            #[cfg(feature = "redis")]
            Event::Tell { to, line } => {
                for id in to {
                    self.audience.send_to(id, line.clone());
                }
            }
        }
    }

    /// A client joins: greeted (`You are ADDR`) if it was not as it got in
    /// line, given the recent messages, then announced; in names mode, only
    /// if its name is free.
    fn enter(&mut self, entering: Entering) {
        if entering.naming.is_some() {
            let manners = &mut self.manners;
            commands::enter(entering, &mut self.audience, &self.history, manners);
            return;
        }
        if self.greeting == Greeting::OnJoin {
            let _ = entering.queue.push(greeting(&entering.name));
        }
        if self.audience.has_address(&entering.name) {
            let _ = entering
                .queue
                .push(text_line(&["error: ", &entering.name, ADDRESS_HERE]));
            // Its writer sends that, then the connection ends; nothing is
            // announced, and its leave names nobody here.
            entering.queue.close();
            return;
        }
        self.history.replay(&entering.queue);
        self.audience
            .broadcast(text_line(&[&entering.name, " has arrived"]));
        self.audience.join(entering);
    }

    /// A client leaves.
    fn leave(&mut self, leaving: Leaving) {
        self.audience.leave(leaving.id, leaving.farewell);
        self.manners.left(leaving.id);
    }

    /// A client's line: a message, or in names mode a command.
    fn said(&mut self, from: u64, said: Said) {
        match said {
            Said::Line(line) => {
                self.pacer.count(line.len());
                self.history.record(&line);
                self.audience.broadcast(line);
            }
            Said::Command(command) => {
                let (audience, history) = (&mut self.audience, &mut self.history);
                let applied = commands::apply(from, *command, audience, history, &mut self.manners);
                if let Some(length) = applied {
                    self.pacer.count(length);
                }
            }
        }
    }
}

/// Decides when the room lets the writers run.
#[derive(Default)]
struct Pacer {
    /// Bytes broadcast since the last yield.
    bytes: usize,
    /// Lines broadcast since the last yield.
    lines: usize,
}

impl Pacer {
    /// Notes one line of `length` bytes broadcast.
    fn count(&mut self, length: usize) {
        self.bytes += length;
        self.lines += 1;
    }

    /// Whether enough went out since the last time to let the other tasks
    /// run (then the count starts again).
    fn is_due(&mut self) -> bool {
        let due = self.bytes >= YIELD_EVERY_BYTES || self.lines >= YIELD_EVERY_LINES;
        if due {
            self.bytes = 0;
            self.lines = 0;
        }
        due
    }
}
