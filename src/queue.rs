//! A client's outgoing queue, bounded in bytes.
//!
//! The broadcaster must never wait for a client, so it only ever
//! [`QueueSender::push`]es, which fails at once when the client already has
//! too many bytes waiting. Counting bytes rather than lines is what makes the
//! bound mean something: a thousand 64 KiB lines are not a thousand short
//! ones. The lines themselves are shared ([`Line`]), so what a full queue pins
//! is mostly memory that other queues hold too.
//!
//! The connection learns from its queue ([`QueueWatch`]) whether the
//! broadcaster cut it off.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// One line as it goes on the wire, `\n` included, formatted once and shared
/// by every client it is sent to.
pub type Line = Arc<[u8]>;

/// What a queued line costs beyond its bytes: the queue slot and the
/// reference. Counting it keeps a flood of empty lines bounded too.
const LINE_OVERHEAD: usize = 32;

/// State shared by the three ends of a queue.
struct Shared {
    /// Bytes queued and not yet taken by the writer.
    queued: AtomicUsize,
    /// The most that may be queued.
    limit: usize,
    /// Set by the broadcaster when it cuts the client off.
    cut_off: AtomicBool,
}

/// The broadcaster's end of a client's queue.
pub struct QueueSender {
    /// Where lines go.
    lines: async_channel::Sender<Line>,
    /// Shared with the writer and the watch.
    shared: Arc<Shared>,
}

/// The writer's end of a client's queue.
pub struct QueueReceiver {
    /// Where lines come from.
    lines: async_channel::Receiver<Line>,
    /// Shared with the sender and the watch.
    shared: Arc<Shared>,
}

/// The connection's view of its queue.
#[derive(Clone)]
pub struct QueueWatch {
    /// Shared with the sender and the writer.
    shared: Arc<Shared>,
}

/// Why a line could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// The client is not keeping up: cut it off.
    Full,
    /// The writer is gone (its socket failed): the connection is ending on
    /// its own and will say so.
    Closed,
}

/// A new empty queue that holds at most `limit` bytes.
pub fn queue(limit: usize) -> (QueueSender, QueueReceiver, QueueWatch) {
    // Unbounded in lines, bounded in bytes by `push`. A bounded channel would
    // allocate all its slots up front, for every idle client.
    let (sender, receiver) = async_channel::unbounded();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        limit,
        cut_off: AtomicBool::new(false),
    });
    (
        QueueSender {
            lines: sender,
            shared: shared.clone(),
        },
        QueueReceiver {
            lines: receiver,
            shared: shared.clone(),
        },
        QueueWatch { shared },
    )
}

/// What `line` counts for against the limit.
fn cost(line: &Line) -> usize {
    line.len() + LINE_OVERHEAD
}

impl QueueSender {
    /// Queues `line` without waiting.
    pub fn push(&self, line: Line) -> Result<(), PushError> {
        if self.lines.is_closed() {
            return Err(PushError::Closed);
        }
        let cost = cost(&line);
        if self.shared.queued.load(Ordering::Acquire) + cost > self.shared.limit {
            return Err(PushError::Full);
        }
        self.shared.queued.fetch_add(cost, Ordering::AcqRel);
        self.lines.try_send(line).map_err(|_| PushError::Closed)
    }

    /// Marks the client as cut off; dropping the sender then ends its writer.
    pub fn cut_off(&self) {
        self.shared.cut_off.store(true, Ordering::Release);
    }
}

impl QueueReceiver {
    /// The next line, waiting for one; `None` once the sender is gone and
    /// every queued line has been taken.
    pub async fn recv(&self) -> Option<Line> {
        let line = self.lines.recv().await.ok()?;
        self.taken(&line);
        Some(line)
    }

    /// The next line if one is queued now.
    pub fn try_recv(&self) -> Option<Line> {
        let line = self.lines.try_recv().ok()?;
        self.taken(&line);
        Some(line)
    }

    /// Gives `line`'s bytes back to the budget.
    fn taken(&self, line: &Line) {
        self.shared.queued.fetch_sub(cost(line), Ordering::AcqRel);
    }
}

impl QueueWatch {
    /// Whether the broadcaster cut this client off.
    pub fn was_cut_off(&self) -> bool {
        self.shared.cut_off.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Arc::from(text.as_bytes())
    }

    #[test]
    fn refuses_past_the_byte_limit_and_recovers_as_lines_are_taken() {
        let (sender, receiver, _) = queue(2 * (10 + LINE_OVERHEAD));
        assert!(sender.push(line("0123456789")).is_ok());
        assert!(sender.push(line("0123456789")).is_ok());
        assert_eq!(sender.push(line("x")), Err(PushError::Full));
        assert_eq!(receiver.try_recv().as_deref(), Some(&b"0123456789"[..]));
        assert!(sender.push(line("0123456789")).is_ok());
    }

    #[test]
    fn a_gone_writer_is_not_a_full_queue() {
        let (sender, receiver, _) = queue(1000);
        drop(receiver);
        assert_eq!(sender.push(line("x")), Err(PushError::Closed));
    }

    #[test]
    fn receiver_drains_then_ends_when_the_sender_is_gone() {
        let (sender, receiver, _) = queue(1000);
        sender.push(line("a")).unwrap();
        drop(sender);
        smol::block_on(async {
            assert_eq!(receiver.recv().await.as_deref(), Some(&b"a"[..]));
            assert!(receiver.recv().await.is_none());
        });
    }

    #[test]
    fn the_watch_sees_a_cut_off() {
        let (sender, _receiver, watch) = queue(1000);
        assert!(!watch.was_cut_off());
        sender.cut_off();
        assert!(watch.was_cut_off());
    }
}
