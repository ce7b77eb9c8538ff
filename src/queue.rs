//! A client's outgoing queue, bounded in bytes.
//!
//! The broadcaster must never wait for a client, so it only ever
//! [`QueueSender::push`]es, which fails at once when the client already has
//! too many bytes waiting. Counting bytes rather than lines is what makes the
//! bound mean something: a thousand 64 KiB lines are not a thousand short
//! ones. The lines themselves are shared ([`Line`]), so what a full queue pins
//! is mostly memory that other queues hold too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One line as it goes on the wire, `\n` included, formatted once and shared
/// by every client it is sent to.
pub type Line = Arc<[u8]>;

/// What a queued line costs beyond its bytes: the queue slot and the
/// reference. Counting it keeps a flood of empty lines bounded too.
const LINE_OVERHEAD: usize = 32;

/// The broadcaster's end of a client's queue.
pub struct QueueSender {
    /// Where lines go.
    lines: async_channel::Sender<Line>,
    /// Bytes queued and not yet taken by the writer, shared with it.
    queued: Arc<AtomicUsize>,
    /// The most that may be queued.
    limit: usize,
}

/// The writer's end of a client's queue.
pub struct QueueReceiver {
    /// Where lines come from.
    lines: async_channel::Receiver<Line>,
    /// Bytes queued and not yet taken, shared with the sender.
    queued: Arc<AtomicUsize>,
}

/// The line did not fit: the client is not keeping up.
#[derive(Debug)]
pub struct QueueFull;

/// A new empty queue that holds at most `limit` bytes.
pub fn queue(limit: usize) -> (QueueSender, QueueReceiver) {
    // Unbounded in lines, bounded in bytes by `push`. A bounded channel would
    // allocate all its slots up front, for every idle client.
    let (sender, receiver) = async_channel::unbounded();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        QueueSender {
            lines: sender,
            queued: queued.clone(),
            limit,
        },
        QueueReceiver {
            lines: receiver,
            queued,
        },
    )
}

/// What `line` counts for against the limit.
fn cost(line: &Line) -> usize {
    line.len() + LINE_OVERHEAD
}

impl QueueSender {
    /// Queues `line` without waiting. Fails if it would take the queue past
    /// its limit, or if the writer is gone; either way the client is lost.
    pub fn push(&self, line: Line) -> Result<(), QueueFull> {
        let cost = cost(&line);
        if self.queued.load(Ordering::Acquire) + cost > self.limit {
            return Err(QueueFull);
        }
        self.queued.fetch_add(cost, Ordering::AcqRel);
        self.lines.try_send(line).map_err(|_| QueueFull)
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

    /// Whether nothing is queued right now.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Gives `line`'s bytes back to the budget.
    fn taken(&self, line: &Line) {
        self.queued.fetch_sub(cost(line), Ordering::AcqRel);
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
        let (sender, receiver) = queue(2 * (10 + LINE_OVERHEAD));
        assert!(sender.push(line("0123456789")).is_ok());
        assert!(sender.push(line("0123456789")).is_ok());
        assert!(sender.push(line("x")).is_err());
        assert_eq!(receiver.try_recv().as_deref(), Some(&b"0123456789"[..]));
        assert!(sender.push(line("0123456789")).is_ok());
    }

    #[test]
    fn receiver_drains_then_ends_when_the_sender_is_gone() {
        let (sender, receiver) = queue(1000);
        sender.push(line("a")).unwrap();
        drop(sender);
        smol::block_on(async {
            assert_eq!(receiver.recv().await.as_deref(), Some(&b"a"[..]));
            assert!(receiver.recv().await.is_none());
        });
    }
}
