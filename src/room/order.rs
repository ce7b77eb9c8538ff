//! Where the room's order comes from: one interface, [`Order`], and its
//! local kind, the book's select over three channels.
//!
//! The room applies events one at a time, in the order an [`Order`] gives
//! them, and never asks where that order came from: this server's own
//! connections ([`Local`]), or the room's stream in Redis, which several
//! servers share (`redis`, the feature of that name).
//!
//! The book's channels are unbuffered, which keeps each connection's events
//! in program order for free; ours are buffered, so [`Local`] restores it:
//!
//! - a membership change is a barrier: before it, every message already
//!   queued at that moment comes out, so a newcomer never gets the lines
//!   sent before it arrived, and a leaver's last lines precede its
//!   `has left`;
//! - membership changes are taken before messages, so a flood of messages
//!   never starves them, and the barrier keeps messages from starving in
//!   turn.

use std::future::Future;

use async_channel::Receiver;
use futures_lite::future;

use super::audience::Audience;
use super::events::{Entering, Inputs, Leaving, Message};

/// The first id given to another server's client in this server's room:
/// this server's own connections are numbered from 1, far below.
#[cfg(feature = "redis")]
pub const FIRST_REMOTE_ID: u64 = 1 << 63;

/// One event, in its place in the one order.
pub enum Event {
    /// A connection of this server joins.
    Enter(Entering),
    /// A connection leaves.
    Leave(Leaving),
    /// A line to broadcast, or in names mode a command.
    Message(Message),
    /// A client of another server of the room joins, as `name`: listed and
    /// named here, sent its lines by its own server.
    #[cfg(feature = "redis")]
    Arrive {
        /// What the room calls it here, never one of this server's ids.
        id: u64,
        /// Its name (its address, in book mode).
        name: std::sync::Arc<str>,
        /// Its manners as Redis kept them (an operator, muted, away), for
        /// a member this server learns of on joining the room late: what
        /// the others applied before it came (see `Manners::restore_person`).
        kept: Option<Vec<u8>>,
    },
    /// A message said before this server joined the room, for its
    /// history alone: newcomers get it among the recent messages.
    #[cfg(feature = "redis")]
    Recall(crate::line::Line),
    /// A line for some clients of this server alone, in its place in the
    /// order: news of the room itself (lost, and back).
    #[cfg(feature = "redis")]
    Tell {
        /// Who is told; anyone no longer here is skipped.
        to: Vec<u64>,
        /// What they are told.
        line: crate::line::Line,
    },
}

/// Where the room's events come from, in their one order.
pub trait Order {
    /// The next event, or `None` when the server stops: every message
    /// queued before has come out by then. `here` is the room as the
    /// events so far left it, for an order that must know who is in
    /// before it can say what comes next; an order looks, never changes.
    fn next(&mut self, here: &Audience) -> impl Future<Output = Option<Event>>;
}

/// This server's own connections, in the order the book's unbuffered
/// channels would have kept.
pub struct Local {
    /// Where the events come from.
    inputs: Inputs,
    /// A membership change (or the stop) waiting behind its barrier.
    held: Option<Taken>,
    /// Messages still to come out before `held`.
    draining: usize,
}

/// What one wait on the channels took.
enum Taken {
    /// An event.
    Event(Event),
    /// The server stops (a closed channel says the same).
    Stop,
}

impl Local {
    /// Orders what arrives on `inputs`.
    pub fn new(inputs: Inputs) -> Self {
        Local {
            inputs,
            held: None,
            draining: 0,
        }
    }

    /// The connections asking to join, for an order that must answer
    /// newcomers while it cannot order them (the room's Redis is lost).
    #[cfg(feature = "redis")]
    pub fn newcomers(&self) -> &Receiver<Entering> {
        &self.inputs.entering
    }

    /// The next event of this server's connections; `None` once the
    /// server stops, and after that only `None`.
    pub async fn next_local(&mut self) -> Option<Event> {
        loop {
            if self.draining > 0 {
                self.draining -= 1;
                if let Ok(message) = self.inputs.messages.try_recv() {
                    return Some(Event::Message(message));
                }
                self.draining = 0;
            }
            match self.held.take() {
                Some(Taken::Event(event)) => return Some(event),
                Some(Taken::Stop) => {
                    self.held = Some(Taken::Stop);
                    return None;
                }
                None => {}
            }
            let taken = next_event(&self.inputs).await;
            if let Taken::Event(Event::Message(message)) = taken {
                return Some(Event::Message(message));
            }
            if let Taken::Stop = taken {
                // Connections still waiting to join get their greeting
                // flushed and learn the server is stopping.
                while self.inputs.entering.try_recv().is_ok() {}
            }
            // The barrier: what is queued now goes first, and no more.
            self.draining = self.inputs.messages.len();
            self.held = Some(taken);
        }
    }
}

impl Order for Local {
    async fn next(&mut self, _: &Audience) -> Option<Event> {
        self.next_local().await
    }
}

/// Waits for the next event: stopping first, then joins, then leaves, then
/// messages. A connection queues its leave only after its join, so
/// preferring joins never takes a leave before its join.
async fn next_event(inputs: &Inputs) -> Taken {
    let stop = async {
        let _ = inputs.stop.recv().await;
        Taken::Stop
    };
    let entering = next_or_stop(&inputs.entering, Event::Enter);
    let leaving = next_or_stop(&inputs.leaving, Event::Leave);
    let message = next_or_stop(&inputs.messages, Event::Message);
    future::or(stop, future::or(entering, future::or(leaving, message))).await
}

/// The next item of `input` as an event; a closed input means stopping.
async fn next_or_stop<T>(input: &Receiver<T>, event: fn(T) -> Event) -> Taken {
    input
        .recv()
        .await
        .map_or(Taken::Stop, |item| Taken::Event(event(item)))
}
