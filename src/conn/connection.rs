//! One connection's parts, as each of its phases shares them (see `conn`):
//! what its reader, its writer, names mode's way in and its ending all
//! read, kept once for the connection's life.

use std::sync::Arc;

use crate::queue::{QueueSender, QueueWatch};
use crate::room::events::Hub;
use crate::Config;

/// One connection, as each of its phases sees it: what the reader, the
/// writer and the ending share, held once for the connection's life.
pub struct Conn<T> {
    /// What its bytes travel over.
    pub transport: T,
    /// Tells it apart from every other connection, past or present.
    pub id: u64,
    /// What the others call it until it has a name: its address, as Go
    /// writes it.
    pub name: Arc<str>,
    /// The way into the room.
    pub hub: Hub,
    /// The limits.
    pub config: Arc<Config>,
    /// Whether the room cut it off, and its permits to have lines in
    /// flight: none until the room lets it in.
    pub watch: QueueWatch,
}

/// How a connection goes in.
pub enum Entry {
    /// Book mode: in line to join already.
    Queued,
    /// Names mode: its queue waits with it until it gives a name (see
    /// `naming`).
    Unnamed(QueueSender),
}
