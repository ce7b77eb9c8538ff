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
//!
//! It is a `VecDeque` and one waker behind a mutex rather than an
//! async-channel: there is one producer and one consumer, and every idle
//! client has a queue. An empty queue here holds no buffer at all (about
//! 100 bytes in all), where an async-channel holds a cache-padded channel
//! and a 31-slot block (about 1.5 KiB) for as long as the client stays.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

/// One line as it goes on the wire, `\n` included, formatted once and shared
/// by every client it is sent to.
///
/// An `Arc<Vec<u8>>` rather than an `Arc<[u8]>`: a thin pointer, so a queued
/// line takes 8 bytes of its queue, not 16. In an arrival storm every queue
/// holds a backlog of them, and the memory they took stays with the process.
pub type Line = Arc<Vec<u8>>;

/// What a queued line costs beyond its bytes: the queue slot and the
/// reference. Counting it keeps a flood of empty lines bounded too.
const LINE_OVERHEAD: usize = 32;

/// Slots an emptied queue may keep for its next lines; a bigger buffer,
/// grown by a burst, goes back to the allocator once the burst is written.
const KEEP_SLOTS: usize = 8;

/// The queue itself, shared by its three ends.
struct Shared {
    /// Everything that changes, under one lock: the ends touch it briefly,
    /// and never while waking anyone.
    state: Mutex<State>,
    /// The most bytes that may be queued.
    limit: usize,
}

/// What [`Shared`] guards.
#[derive(Default)]
struct State {
    /// Lines queued and not yet taken by the writer.
    lines: VecDeque<Line>,
    /// What `lines` costs against the limit.
    queued: usize,
    /// The writer, when it waits for a line.
    waker: Option<Waker>,
    /// The broadcaster let go: once `lines` is empty, the writer is done.
    sender_gone: bool,
    /// The writer is gone (its socket failed): pushing is pointless.
    receiver_gone: bool,
    /// Set by the broadcaster when it cuts the client off.
    cut_off: bool,
}

/// The broadcaster's end of a client's queue.
pub struct QueueSender {
    /// The queue.
    shared: Arc<Shared>,
}

/// The writer's end of a client's queue.
pub struct QueueReceiver {
    /// The queue.
    shared: Arc<Shared>,
}

/// The connection's view of its queue.
#[derive(Clone)]
pub struct QueueWatch {
    /// The queue.
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
    let shared = Arc::new(Shared {
        state: Mutex::default(),
        limit,
    });
    (
        QueueSender {
            shared: shared.clone(),
        },
        QueueReceiver {
            shared: shared.clone(),
        },
        QueueWatch { shared },
    )
}

/// What `line` counts for against the limit.
fn cost(line: &Line) -> usize {
    line.len() + LINE_OVERHEAD
}

impl Shared {
    /// The state, even if a thread panicked while holding it: every update
    /// leaves it consistent, so there is nothing to recover.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl QueueSender {
    /// Queues `line` without waiting.
    pub fn push(&self, line: Line) -> Result<(), PushError> {
        let mut state = self.shared.lock();
        if state.receiver_gone {
            return Err(PushError::Closed);
        }
        let cost = cost(&line);
        if state.queued + cost > self.shared.limit {
            return Err(PushError::Full);
        }
        state.queued += cost;
        state.lines.push_back(line);
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Marks the client as cut off; dropping the sender then ends its writer.
    pub fn cut_off(&self) {
        self.shared.lock().cut_off = true;
    }
}

impl Drop for QueueSender {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.sender_gone = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl QueueReceiver {
    /// The next line, waiting for one; `None` once the sender is gone and
    /// every queued line has been taken.
    pub async fn recv(&self) -> Option<Line> {
        poll_fn(|context| {
            let mut state = self.shared.lock();
            if let Some(line) = take(&mut state) {
                return Poll::Ready(Some(line));
            }
            if state.sender_gone {
                return Poll::Ready(None);
            }
            match &mut state.waker {
                Some(waker) if waker.will_wake(context.waker()) => {}
                waker => *waker = Some(context.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// The next line if one is queued now.
    pub fn try_recv(&self) -> Option<Line> {
        take(&mut self.shared.lock())
    }
}

/// Takes the first queued line and gives its bytes back to the budget; an
/// emptied queue lets go of a buffer a burst made big.
fn take(state: &mut State) -> Option<Line> {
    let line = state.lines.pop_front()?;
    state.queued -= cost(&line);
    if state.lines.is_empty() && state.lines.capacity() > KEEP_SLOTS {
        state.lines = VecDeque::new();
    }
    Some(line)
}

impl Drop for QueueReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        // Nobody will write these: free them now, not when the sender goes.
        state.lines = VecDeque::new();
        state.queued = 0;
    }
}

impl QueueWatch {
    /// Whether the broadcaster cut this client off.
    pub fn was_cut_off(&self) -> bool {
        self.shared.lock().cut_off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Arc::new(text.as_bytes().to_vec())
    }

    #[test]
    fn refuses_past_the_byte_limit_and_recovers_as_lines_are_taken() {
        let (sender, receiver, _) = queue(2 * (10 + LINE_OVERHEAD));
        assert!(sender.push(line("0123456789")).is_ok());
        assert!(sender.push(line("0123456789")).is_ok());
        assert_eq!(sender.push(line("x")), Err(PushError::Full));
        assert_eq!(
            receiver.try_recv().as_deref().map(Vec::as_slice),
            Some(&b"0123456789"[..])
        );
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
            assert_eq!(
                receiver.recv().await.as_deref().map(Vec::as_slice),
                Some(&b"a"[..])
            );
            assert!(receiver.recv().await.is_none());
        });
    }

    #[test]
    fn a_waiting_writer_wakes_for_a_line_and_for_the_end() {
        let (sender, receiver, _) = queue(1000);
        let executor = smol::LocalExecutor::new();
        let writer = executor.spawn(async move { (receiver.recv().await, receiver.recv().await) });
        while executor.try_tick() {}
        sender.push(line("a")).unwrap();
        assert!(executor.try_tick(), "the push woke the writer");
        assert!(!writer.is_finished());
        drop(sender);
        assert!(executor.try_tick(), "the sender's end woke the writer");
        let (first, end) = smol::block_on(writer);
        assert_eq!(first.as_deref().map(Vec::as_slice), Some(&b"a"[..]));
        assert!(end.is_none());
    }

    #[test]
    fn an_emptied_queue_lets_go_of_what_a_burst_grew() {
        let (sender, receiver, _) = queue(1 << 20);
        for _ in 0..1000 {
            sender.push(line("burst")).unwrap();
        }
        assert!(receiver.shared.lock().lines.capacity() >= 1000);
        while receiver.try_recv().is_some() {}
        assert_eq!(receiver.shared.lock().lines.capacity(), 0);
        assert_eq!(receiver.shared.lock().queued, 0);
    }

    #[test]
    fn the_watch_sees_a_cut_off() {
        let (sender, _receiver, watch) = queue(1000);
        assert!(!watch.was_cut_off());
        sender.cut_off();
        assert!(watch.was_cut_off());
    }
}
