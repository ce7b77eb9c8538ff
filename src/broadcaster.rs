//! The broadcaster: the one place that knows who is in the chat.
//!
//! As in the book, it selects over three channels: `entering`, `leaving` and
//! `messages`. The book's channels are unbuffered, which keeps each
//! connection's events in program order for free; ours are buffered, so the
//! order is restored explicitly:
//!
//! - a membership change is a barrier: before applying it, every message
//!   already queued at that moment is delivered, so a newcomer never gets the
//!   lines sent before it arrived, and a leaver's last lines precede its
//!   `has left`;
//! - membership changes are taken before messages, so a flood of messages
//!   never starves them, and the barrier keeps messages from starving in turn;
//! - a newcomer's connection may send lines only once it has joined (the
//!   broadcaster grants its first permits then), so its first line always
//!   reaches itself.
//!
//! The broadcaster never waits for a client: it pushes to each client's
//! bounded queue and cuts off any client whose queue is full. A client cut
//! off leaves the audience at once, but its `has left` waits for its
//! connection's leave, like anyone's, so that the lines it sent before are
//! delivered first and the leave is announced exactly once.
//!
//! It yields to the other tasks every [`YIELD_EVERY_BYTES`] broadcast, so that
//! writers drain the queues while a burst goes through: a client reading at
//! a steady pace is never cut off by a burst it can absorb.

use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::Arc;

use async_channel::Receiver;
use futures_lite::future;
use smol::lock::{Semaphore, SemaphoreGuardArc};

use crate::conn::Socket;
use crate::log;
use crate::queue::{Line, PushError, QueueSender};

/// Lines one connection may have waiting for the broadcaster. Enough to
/// keep the broadcaster busy with a single fast sender, few enough that a
/// flood never keeps anyone else's line waiting long.
pub const LINES_IN_FLIGHT: usize = 32;

/// Bytes of lines broadcast between two yields to the writers. Well under
/// the smallest sensible send queue, so no queue fills within one turn.
const YIELD_EVERY_BYTES: usize = 32 * 1024;

/// Lines broadcast between two yields, however short they are, so that
/// accepting and reading go on during a flood.
const YIELD_EVERY_LINES: usize = 256;

/// A connection asking to join the audience.
pub struct Entering {
    /// Tells this client apart from every other, past or present.
    pub id: u64,
    /// The client's address as the others see it (`127.0.0.1:54321`).
    pub name: Arc<str>,
    /// Where the broadcaster puts the lines this client must receive.
    pub queue: QueueSender,
    /// Lets the broadcaster cut off a client that stopped reading, even while
    /// its writer is blocked on a full socket.
    pub socket: Socket,
    /// The connection's permits to have lines in flight, none until the
    /// client is in the audience: the broadcaster grants them on joining.
    pub permits: Arc<Semaphore>,
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
/// Each connection may have only a few lines waiting for the broadcaster
/// (see `conn`); the permit goes back when the line has been broadcast. So a
/// flooding client can never fill the channel and keep others' lines out:
/// everyone's next line is at most a few lines per active sender away.
pub struct Message {
    /// The line, already formatted as `ADDR: TEXT\n`.
    pub line: Line,
    /// Returned to the sending connection when this message is dropped.
    pub permit: SemaphoreGuardArc,
}

/// The broadcaster's three inputs, plus the signal to stop.
pub struct Inputs {
    /// Connections asking to join.
    pub entering: Receiver<Entering>,
    /// Connections whose input ended.
    pub leaving: Receiver<Leaving>,
    /// Lines to send to everyone.
    pub messages: Receiver<Message>,
    /// Closed when the server shuts down.
    pub stop: Receiver<()>,
}

/// One client in the audience.
struct Member {
    /// Identity, to find the member when it leaves.
    id: u64,
    /// Address, for its `has left` line and for logs.
    name: Arc<str>,
    /// Its outgoing queue.
    queue: QueueSender,
    /// Its socket, to cut it off if it stops reading.
    socket: Socket,
}

/// Everything the broadcaster can be woken by.
enum Event {
    Enter(Entering),
    Leave(Leaving),
    Message(Message),
    Stop,
}

/// Runs the broadcaster until the server stops; then delivers the messages
/// still queued and lets go of every client queue, so that each writer
/// flushes and closes its connection.
pub async fn run(inputs: Inputs) {
    let mut audience = Audience::default();
    let mut pacer = Pacer::default();
    loop {
        match next_event(&inputs).await {
            Event::Message(message) => deliver(message, &mut audience, &mut pacer),
            Event::Enter(entering) => {
                deliver_queued(&inputs.messages, &mut audience, &mut pacer).await;
                audience.broadcast(format_line(&entering.name, " has arrived"));
                audience.join(entering);
            }
            Event::Leave(leaving) => {
                deliver_queued(&inputs.messages, &mut audience, &mut pacer).await;
                audience.leave(leaving.id, leaving.farewell);
            }
            Event::Stop => {
                deliver_queued(&inputs.messages, &mut audience, &mut pacer).await;
                // Connections still waiting to join get their greeting
                // flushed and learn the server is stopping.
                while inputs.entering.try_recv().is_ok() {}
                return;
            }
        }
        pacer.pause_if_due().await;
    }
}

/// Waits for the next event: stopping first, then joins, then leaves, then
/// messages (see the module doc). A connection queues its leave only after
/// its join, so preferring joins never handles a leave before its join.
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

/// Broadcasts one message and gives its permit back to its sender.
fn deliver(message: Message, audience: &mut Audience, pacer: &mut Pacer) {
    let Message { line, permit } = message;
    pacer.count(&line);
    audience.broadcast(line);
    drop(permit);
}

/// Delivers the messages queued right now, and no more: the barrier before a
/// membership change. New messages arriving meanwhile wait for the next turn.
async fn deliver_queued(messages: &Receiver<Message>, audience: &mut Audience, pacer: &mut Pacer) {
    for _ in 0..messages.len() {
        match messages.try_recv() {
            Ok(message) => deliver(message, audience, pacer),
            Err(_) => break,
        }
        pacer.pause_if_due().await;
    }
}

/// Decides when the broadcaster lets the writers run.
#[derive(Default)]
struct Pacer {
    /// Bytes broadcast since the last yield.
    bytes: usize,
    /// Lines broadcast since the last yield.
    lines: usize,
}

impl Pacer {
    /// Notes one line broadcast.
    fn count(&mut self, line: &Line) {
        self.bytes += line.len();
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

/// `NAME` followed by `what` and a newline, as one shared line.
fn format_line(name: &str, what: &str) -> Line {
    let mut line = Vec::with_capacity(name.len() + what.len() + 1);
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(what.as_bytes());
    line.push(b'\n');
    Line::from(line)
}

/// The set of clients receiving broadcasts.
#[derive(Default)]
struct Audience {
    /// Members in a vector: a broadcast is one pass over contiguous memory.
    members: Vec<Member>,
    /// Where each member's id sits in `members`.
    index: HashMap<u64, usize>,
    /// Members whose queue overflowed during the current broadcast.
    lagging: Vec<u64>,
    /// Clients cut off, by id, whose connection has not said it left yet:
    /// their `has left` goes out when it does.
    departed: HashMap<u64, Arc<str>>,
}

impl Audience {
    /// Queues `line` for every member, then cuts off those that are full.
    fn broadcast(&mut self, line: Line) {
        for member in &self.members {
            if let Err(PushError::Full) = member.queue.push(line.clone()) {
                self.lagging.push(member.id);
            }
        }
        while let Some(id) = self.lagging.pop() {
            self.cut_off(id);
        }
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

    /// Adds a newcomer and tells its connection it may start reading.
    fn join(&mut self, entering: Entering) {
        self.index.insert(entering.id, self.members.len());
        self.members.push(Member {
            id: entering.id,
            name: entering.name,
            queue: entering.queue,
            socket: entering.socket,
        });
        entering.permits.add_permits(LINES_IN_FLIGHT);
    }

    /// Removes a member whose input ended; its queue is closed after the
    /// farewell, so its writer flushes and ends. Then the others hear of it.
    fn leave(&mut self, id: u64, farewell: Option<Line>) {
        let name = if let Some(member) = self.remove(id) {
            if let Some(farewell) = farewell {
                let _ = member.queue.push(farewell);
            }
            member.name
        } else if let Some(name) = self.departed.remove(&id) {
            name
        } else {
            return;
        };
        self.broadcast(format_line(&name, " has left"));
    }

    /// Takes a member out of the audience, if it is still in.
    fn remove(&mut self, id: u64) -> Option<Member> {
        let position = self.index.remove(&id)?;
        let member = self.members.swap_remove(position);
        if let Some(moved) = self.members.get(position) {
            self.index.insert(moved.id, position);
        }
        Some(member)
    }
}
