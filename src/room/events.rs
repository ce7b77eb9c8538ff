//! What connections tell the room: the types on the three channels.
//!
//! They live apart from both ends so that the arrows point one way: a
//! connection builds them, the room consumes them, and neither reaches into
//! the other.

use std::sync::Arc;

use async_channel::Receiver;
use smol::lock::{Semaphore, SemaphoreGuardArc};

use crate::conn::Socket;
use crate::queue::{Line, QueueSender};

/// Lines one connection may have waiting for the room. Enough to keep the
/// room busy with a single fast sender, few enough that a flood never keeps
/// anyone else's line waiting long.
pub const LINES_IN_FLIGHT: usize = 32;

/// A connection asking to join the audience.
pub struct Entering {
    /// Tells this client apart from every other, past or present.
    pub id: u64,
    /// The client's address as the others see it (`127.0.0.1:54321`).
    pub name: Arc<str>,
    /// Where the room puts the lines this client must receive.
    pub queue: QueueSender,
    /// Lets the room cut off a client that stopped reading, even while its
    /// writer is blocked on a full socket.
    pub socket: Socket,
    /// The connection's permits to have lines in flight, none until the
    /// client is in the audience: the room grants them on joining.
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
/// Each connection may have only a few lines waiting for the room (see
/// `conn`); the permit goes back when the line has been broadcast. So a
/// flooding client can never fill the channel and keep others' lines out:
/// everyone's next line is at most a few lines per active sender away.
pub struct Message {
    /// The line, already formatted as `ADDR: TEXT\n`.
    pub line: Line,
    /// Returned to the sending connection when this message is dropped.
    pub permit: SemaphoreGuardArc,
}

/// The room's three inputs, plus the signal to stop.
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
