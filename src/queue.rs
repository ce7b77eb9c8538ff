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

/// The byte strings joined, and a newline, as one line.
pub fn line(pieces: &[&[u8]]) -> Line {
    let length = pieces.iter().map(|piece| piece.len()).sum::<usize>() + 1;
    let mut line = Vec::with_capacity(length);
    for piece in pieces {
        line.extend_from_slice(piece);
    }
    line.push(b'\n');
    Arc::new(line)
}

/// The strings joined, and a newline, as one line.
pub fn text_line(pieces: &[&str]) -> Line {
    let mut line = pieces.concat().into_bytes();
    line.push(b'\n');
    Arc::new(line)
}

/// What a queued line costs beyond its bytes: the queue slot and the
/// reference. Counting it keeps a flood of empty lines bounded too.
const LINE_OVERHEAD: usize = 32;

/// Slots a queue may keep while its writer waits; a bigger buffer, grown
/// by a burst, goes back to the allocator once the burst is written.
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

/// What a line of `len` bytes counts for against the limit.
pub fn cost(len: usize) -> usize {
    len + LINE_OVERHEAD
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
        let cost = cost(line.len());
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

/// What the writer takes from its queue for one write.
pub enum Batch {
    /// A single line: written straight from the shared buffer, no copy.
    One(Line),
    /// Several lines copied into one buffer: one write instead of many.
    Many(Vec<u8>),
}

impl Batch {
    /// The bytes to write.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Batch::One(line) => line,
            Batch::Many(bytes) => bytes,
        }
    }
}

impl QueueReceiver {
    /// Everything queued, up to about `cap` bytes (at least one line,
    /// however long), waiting for a line if there is none; `None` once the
    /// sender is gone and every queued line has been taken. One lock for
    /// the whole batch, and its buffer is allocated once at its final size,
    /// then dropped after the write: an idle client holds no buffer.
    pub async fn next_batch(&self, cap: usize) -> Option<Batch> {
        poll_fn(|context| {
            let mut state = self.shared.lock();
            let Some(first) = take(&mut state) else {
                if state.sender_gone {
                    return Poll::Ready(None);
                }
                // Going idle: let go of a buffer a burst made big.
                if state.lines.capacity() > KEEP_SLOTS {
                    state.lines = VecDeque::new();
                }
                match &mut state.waker {
                    Some(waker) if waker.will_wake(context.waker()) => {}
                    waker => *waker = Some(context.waker().clone()),
                }
                return Poll::Pending;
            };
            if state.lines.is_empty() {
                return Poll::Ready(Some(Batch::One(first)));
            }
            // Whole lines while under the cap: count them, then copy them
            // into a buffer of exactly their size.
            let (mut size, mut more) = (first.len(), 0);
            for line in &state.lines {
                if size >= cap {
                    break;
                }
                size += line.len();
                more += 1;
            }
            let mut bytes = Vec::with_capacity(size);
            bytes.extend_from_slice(&first);
            for line in std::iter::from_fn(|| take(&mut state)).take(more) {
                bytes.extend_from_slice(&line);
            }
            Poll::Ready(Some(Batch::Many(bytes)))
        })
        .await
    }
}

/// Takes the first queued line and gives its bytes back to the budget.
fn take(state: &mut State) -> Option<Line> {
    let line = state.lines.pop_front()?;
    state.queued -= cost(line.len());
    Some(line)
}

impl Drop for QueueReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        // Nobody will write these: free them now, not when the sender goes,
        // and let go of the writer's waker, which keeps its task allocated.
        let lines = std::mem::take(&mut state.lines);
        let waker = state.waker.take();
        state.queued = 0;
        drop(state);
        drop((lines, waker));
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
    use futures_lite::future;

    use super::*;

    fn line(text: &str) -> Line {
        Arc::new(text.as_bytes().to_vec())
    }

    /// The next batch's bytes if one is ready now, without waiting.
    fn batch_now(receiver: &QueueReceiver, cap: usize) -> Option<Option<Vec<u8>>> {
        let batch = future::block_on(future::poll_once(receiver.next_batch(cap)))?;
        Some(batch.map(|batch| batch.bytes().to_vec()))
    }

    #[test]
    fn refuses_past_the_byte_limit_and_recovers_as_lines_are_taken() {
        let (sender, receiver, _) = queue(2 * (10 + LINE_OVERHEAD));
        assert!(sender.push(line("0123456789")).is_ok());
        assert!(sender.push(line("0123456789")).is_ok());
        assert_eq!(sender.push(line("x")), Err(PushError::Full));
        assert_eq!(batch_now(&receiver, 10), Some(Some(b"0123456789".to_vec())));
        assert!(sender.push(line("0123456789")).is_ok());
    }

    #[test]
    fn a_batch_takes_whole_lines_up_to_the_cap() {
        let (sender, receiver, _) = queue(1000);
        for text in ["aaaa\n", "bbbb\n", "cccc\n"] {
            sender.push(line(text)).unwrap();
        }
        match future::block_on(receiver.next_batch(6)) {
            Some(Batch::Many(bytes)) => {
                assert_eq!(bytes, b"aaaa\nbbbb\n");
                assert_eq!(bytes.capacity(), bytes.len(), "sized once, exactly");
            }
            _ => panic!("expected two lines in one batch"),
        }
        assert!(matches!(
            future::block_on(receiver.next_batch(6)),
            Some(Batch::One(_))
        ));
        assert_eq!(batch_now(&receiver, 6), None, "empty: it waits");
        assert_eq!(receiver.shared.lock().queued, 0);
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
        assert_eq!(batch_now(&receiver, 100), Some(Some(b"a".to_vec())));
        assert_eq!(batch_now(&receiver, 100), Some(None));
    }

    #[test]
    fn a_waiting_writer_wakes_for_a_line_and_for_the_end() {
        let (sender, receiver, _) = queue(1000);
        let executor = smol::LocalExecutor::new();
        let writer = executor.spawn(async move {
            let first = receiver.next_batch(100).await.map(|b| b.bytes().to_vec());
            (first, receiver.next_batch(100).await.is_none())
        });
        while executor.try_tick() {}
        sender.push(line("a")).unwrap();
        assert!(executor.try_tick(), "the push woke the writer");
        assert!(!writer.is_finished());
        drop(sender);
        assert!(executor.try_tick(), "the sender's end woke the writer");
        assert_eq!(smol::block_on(writer), (Some(b"a".to_vec()), true));
    }

    #[test]
    fn a_waiting_writer_lets_go_of_what_a_burst_grew() {
        let (sender, receiver, _) = queue(1 << 20);
        for _ in 0..1000 {
            sender.push(line("burst")).unwrap();
        }
        assert!(receiver.shared.lock().lines.capacity() >= 1000);
        assert!(batch_now(&receiver, 1 << 20).is_some());
        assert_eq!(batch_now(&receiver, 1 << 20), None);
        assert_eq!(receiver.shared.lock().lines.capacity(), 0);
        assert_eq!(receiver.shared.lock().queued, 0);
    }

    #[test]
    fn a_gone_writer_lets_go_of_its_waker() {
        let (sender, receiver, _) = queue(1000);
        let executor = smol::LocalExecutor::new();
        let writer = executor.spawn(async move {
            // Waits once, registering its waker, then ends.
            future::poll_once(receiver.next_batch(100)).await;
        });
        while executor.try_tick() {}
        assert!(writer.is_finished());
        assert!(sender.shared.lock().waker.is_none());
        assert_eq!(sender.push(line("x")), Err(PushError::Closed));
    }

    #[test]
    fn the_watch_sees_a_cut_off() {
        let (sender, _receiver, watch) = queue(1000);
        assert!(!watch.was_cut_off());
        sender.cut_off();
        assert!(watch.was_cut_off());
    }
}
