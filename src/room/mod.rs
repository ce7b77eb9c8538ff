//! The room: the one place that knows who is in the chat.
//!
//! As in the book, connections talk to it over three channels: `entering`,
//! `leaving` and `messages`. [`order`] turns them into one stream of events
//! in the order the book's unbuffered channels would have kept; the room
//! applies each event in that order to the [`audience`]. A newcomer's
//! connection may send lines only once it has joined (the room grants its
//! first permits then), so its first line always reaches itself.
//!
//! It yields to the other tasks every [`YIELD_EVERY_BYTES`] broadcast, so
//! that writers drain the queues while a burst goes through: a client
//! reading at a steady pace is never cut off by a burst it can absorb.

mod audience;
mod commands;
pub mod events;
mod history;
mod order;
#[cfg(feature = "redis")]
pub mod redis;
mod roster;

use events::{Entering, Inputs, Leaving, Message, Said};

use futures_lite::future;

use crate::queue::{text_line, Log};
use audience::Audience;
use history::History;
use order::{Event, Order};

/// Bytes of lines broadcast between two yields to the writers. Well under
/// the smallest sensible send queue, so no queue fills within one turn.
const YIELD_EVERY_BYTES: usize = 32 * 1024;

/// Lines broadcast between two yields, however short they are, so that
/// accepting and reading go on during a flood.
const YIELD_EVERY_LINES: usize = 256;

/// Runs the room until the server stops; then lets go of every client
/// queue, so that each writer flushes and closes its connection. `names`
/// is names mode: the room keeps a roster of names and carries out
/// commands. Newcomers get the last `history` messages. Broadcast lines
/// are kept once, in `log`, which the connections' queues send from.
pub async fn run(inputs: Inputs, names: bool, history: usize) {
    let mut room = Room::new(names, inputs.log.clone(), history);
    let mut order = Order::new(inputs);
    loop {
        match order.next().await {
            Event::Message(Message { from, said, permit }) => {
                room.said(from, said);
                drop(permit);
            }
            Event::Enter(entering) => room.enter(entering),
            Event::Leave(leaving) => room.leave(leaving),
            Event::Stop => return,
        }
        room.pacer.pause_if_due().await;
    }
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
}

impl Room {
    /// An empty room.
    fn new(names: bool, log: Log, history: usize) -> Self {
        Room {
            audience: Audience::new(names, log),
            history: History::new(history),
            pacer: Pacer::default(),
        }
    }

    /// A client joins (in names mode, if its name is free).
    fn enter(&mut self, entering: Entering) {
        if entering.naming.is_some() {
            commands::enter(entering, &mut self.audience, &self.history);
            return;
        }
        self.history.replay(&entering.queue);
        self.audience
            .broadcast(text_line(&[&entering.name, " has arrived"]));
        self.audience.join(entering);
    }

    /// A client of another server arrives (the Redis room); whether it
    /// was let in (in names mode, its name free).
    #[cfg(feature = "redis")]
    fn enter_remote(&mut self, id: u64, name: std::sync::Arc<str>) -> bool {
        commands::enter_remote(id, name, &mut self.audience)
    }

    /// Tells every client of this server `text`, in its place in the
    /// order (the Redis room: the room lost, and back).
    #[cfg(feature = "redis")]
    fn tell_everyone(&mut self, text: &str) {
        for (id, _) in self.audience.own() {
            self.audience.send_to(id, text_line(&[text]));
        }
    }

    /// Tells this server's client `id` a line of its own.
    #[cfg(feature = "redis")]
    fn tell(&mut self, id: u64, line: crate::queue::Line) {
        self.audience.send_to(id, line);
    }

    /// This server's own clients, with their names.
    #[cfg(feature = "redis")]
    fn own_members(&self) -> Vec<(u64, std::sync::Arc<str>)> {
        self.audience.own()
    }

    /// Whether `id` is one of this server's clients in the room.
    #[cfg(feature = "redis")]
    fn is_own(&self, id: u64) -> bool {
        self.audience.is_member(id)
    }

    /// A client leaves.
    fn leave(&mut self, leaving: Leaving) {
        self.audience.leave(leaving.id, leaving.farewell);
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
                let applied =
                    commands::apply(from, *command, &mut self.audience, &mut self.history);
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

    /// Yields to the other tasks if enough went out since the last time.
    async fn pause_if_due(&mut self) {
        if self.bytes >= YIELD_EVERY_BYTES || self.lines >= YIELD_EVERY_LINES {
            self.bytes = 0;
            self.lines = 0;
            future::yield_now().await;
        }
    }
}
