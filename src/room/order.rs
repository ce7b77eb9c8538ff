//! The order of the room's events: the book's select over three channels,
//! with the order its unbuffered channels kept restored explicitly.
//!
//! The book's channels are unbuffered, which keeps each connection's events
//! in program order for free; ours are buffered, so [`Order`] restores it:
//!
//! - a membership change is a barrier: before it, every message already
//!   queued at that moment comes out, so a newcomer never gets the lines
//!   sent before it arrived, and a leaver's last lines precede its
//!   `has left`;
//! - membership changes are taken before messages, so a flood of messages
//!   never starves them, and the barrier keeps messages from starving in
//!   turn.
//!
//! This side only decides the order; the room applies what comes out, and
//! knows nothing of where the order came from.

use async_channel::Receiver;
use futures_lite::future;

use super::events::{Entering, Inputs, Leaving, Message};

/// One event, in its place in the one order.
pub enum Event {
    /// A connection joins.
    Enter(Entering),
    /// A connection leaves.
    Leave(Leaving),
    /// A line to broadcast.
    Message(Message),
    /// The server stops: every message queued before has come out, and
    /// connections still waiting to join were let go.
    Stop,
}

/// Turns the three channels into one stream of events.
pub struct Order {
    /// Where the events come from.
    inputs: Inputs,
    /// A membership change (or the stop) waiting behind its barrier.
    held: Option<Event>,
    /// Messages still to come out before `held`.
    draining: usize,
}

impl Order {
    /// Orders what arrives on `inputs`.
    pub fn new(inputs: Inputs) -> Self {
        Order {
            inputs,
            held: None,
            draining: 0,
        }
    }

    /// The next event; after [`Event::Stop`] there are no more.
    pub async fn next(&mut self) -> Event {
        loop {
            if self.draining > 0 {
                self.draining -= 1;
                if let Ok(message) = self.inputs.messages.try_recv() {
                    return Event::Message(message);
                }
                self.draining = 0;
            }
            if let Some(event) = self.held.take() {
                return event;
            }
            let event = next_event(&self.inputs).await;
            if let Event::Message(_) = event {
                return event;
            }
            if let Event::Stop = event {
                // Connections still waiting to join get their greeting
                // flushed and learn the server is stopping.
                while self.inputs.entering.try_recv().is_ok() {}
            }
            // The barrier: what is queued now goes first, and no more.
            self.draining = self.inputs.messages.len();
            self.held = Some(event);
        }
    }
}

/// Waits for the next event: stopping first, then joins, then leaves, then
/// messages. A connection queues its leave only after its join, so
/// preferring joins never takes a leave before its join.
async fn next_event(inputs: &Inputs) -> Event {
    let stop = async {
        let _ = inputs.stop.recv().await;
        Event::Stop
    };
    let entering = next_or_stop(&inputs.entering, Event::Enter);
    let leaving = next_or_stop(&inputs.leaving, Event::Leave);
    let message = next_or_stop(&inputs.messages, Event::Message);
    future::or(stop, future::or(entering, future::or(leaving, message))).await
}

/// The next item of `input` as an event; a closed input means stopping.
async fn next_or_stop<T>(input: &Receiver<T>, event: fn(T) -> Event) -> Event {
    input.recv().await.map_or(Event::Stop, event)
}
