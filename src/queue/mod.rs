//! A client's outgoing queue, bounded in bytes, sending from the log of
//! broadcast lines all the queues share (see `line`).
//!
//! The broadcaster must never wait for a client, so it only ever pushes,
//! which fails at once when the client already has too many bytes waiting.
//! Counting bytes rather than lines is what makes the bound mean something:
//! a thousand 64 KiB lines are not a thousand short ones.
//!
//! A broadcast line is kept once, in the room's [`Log`], and a queue holds
//! runs of the log (`lines 1200 to 1260`) between the lines that are its
//! client's alone (its greeting, its errors, its replies). A broadcast
//! extends each queue's last run: no slot per line per client. So a client
//! that never reads pins one run, not the 80,000 pointers of a full queue
//! of short lines, and a storm of 10,000 leaves is 10,000 lines in the log,
//! not one per member per leave. The log keeps a line for as long as some
//! queue still has it to send.
//!
//! The connection learns from its queue ([`QueueWatch`]) whether the
//! broadcaster cut it off, and waits on it while the client leaves its
//! replies unread (see `watch`).
//!
//! A queue is a `VecDeque` and one waker behind a mutex rather than an
//! async-channel: there is one producer and one consumer, and every idle
//! client has a queue. An empty queue here holds no buffer at all (about
//! 100 bytes in all), where an async-channel holds a cache-padded channel
//! and a 31-slot block (about 1.5 KiB) for as long as the client stays.

mod batch;
mod permits;
mod watch;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use crate::line::{Line, Log};
pub use permits::Permit;

/// What a queued line costs beyond its bytes: the queue slot and the
/// reference. Counting it keeps a flood of empty lines bounded too.
const LINE_OVERHEAD: usize = 32;

/// Slots a queue may keep while its writer waits; a bigger buffer, grown
/// by a burst, goes back to the allocator once the burst is written.
const KEEP_SLOTS: usize = 8;

/// One entry of a queue.
enum Entry {
    /// A line for this client alone.
    Own(Line),
    /// The log's lines numbered `from` to `to`, `to` excluded.
    Shared {
        /// The first still to send.
        from: u64,
        /// One past the last.
        to: u64,
    },
}

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
    /// What is queued and not yet taken by the writer, in order.
    lines: VecDeque<Entry>,
    /// What `lines` costs against the limit.
    queued: usize,
    /// What the lines for this client alone among them cost: its replies,
    /// which nobody shares (see `watch`).
    own: usize,
    /// What every reply ever queued here cost, in all: how much a command
    /// was answered with (see `watch`).
    replied: u64,
    /// The writer, when it waits for a line.
    waker: Option<Waker>,
    /// The connection's reader, when it waits for the client to take its
    /// replies, or for a permit (see `permits`).
    watcher: Option<Waker>,
    /// The connection's permits to have lines in flight, not in flight.
    permits: usize,
    /// The broadcaster let go: once `lines` is empty, the writer is done.
    sender_gone: bool,
    /// The writer is gone (its socket failed): pushing is pointless.
    receiver_gone: bool,
    /// Set by the broadcaster when it cuts the client off.
    cut_off: bool,
    /// Set by the room when it sends the client away (a kick, a ban).
    sent_away: bool,
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
    /// Where its shared lines are.
    log: Log,
}

/// The connection's view of its queue (see `watch`).
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

/// A new empty queue that holds at most `limit` bytes, its shared lines in
/// `log`, and its three ends at once (the tests' way: a connection makes
/// its ends from the [`watch`]).
#[cfg(test)]
pub fn queue(limit: usize, log: &Log) -> (QueueSender, QueueReceiver, QueueWatch) {
    let watch = watch(limit);
    (watch.sender(), watch.receiver(log), watch)
}

/// A new empty queue that holds at most `limit` bytes, as its connection
/// sees it; its ends are made from the watch, once each, when they are
/// needed (see [`QueueWatch::sender`]).
pub fn watch(limit: usize) -> QueueWatch {
    QueueWatch {
        shared: Arc::new(Shared {
            state: Mutex::default(),
            limit,
        }),
    }
}

impl QueueWatch {
    /// The broadcaster's end. (Made from the watch, once, where it is
    /// needed: a connection's task that kept the ends from the start
    /// would hold room for each for its life.)
    pub fn sender(&self) -> QueueSender {
        QueueSender {
            shared: self.shared.clone(),
        }
    }

    /// The writer's end, its shared lines in `log` (made once, as
    /// [`sender`](Self::sender) is).
    pub fn receiver(&self, log: &Log) -> QueueReceiver {
        QueueReceiver {
            shared: self.shared.clone(),
            log: log.clone(),
        }
    }
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
    /// Queues `line`, for this client alone, without waiting.
    pub fn push(&self, line: Line) -> Result<(), PushError> {
        let cost = cost(line.len());
        self.add(cost, |state| {
            state.own += cost;
            state.replied += cost as u64;
            state.lines.push_back(Entry::Own(line));
        })
    }

    /// Queues the log's line `number`, of `len` bytes, without waiting:
    /// the queue's last run grows by one, or a new run starts. Returns the
    /// number of the oldest log line the queue still has to send. A
    /// waiting writer is not woken now but put in `wakes`, for the room to
    /// wake once its burst is applied (see [`Wakes`]).
    pub fn push_shared(
        &self,
        number: u64,
        len: usize,
        wakes: &mut Wakes,
    ) -> Result<u64, PushError> {
        self.add_then(cost(len), Some(wakes), |state| {
            let lines = &mut state.lines;
            match lines.back_mut() {
                Some(Entry::Shared { to, .. }) if *to == number => *to += 1,
                _ => lines.push_back(Entry::Shared {
                    from: number,
                    to: number + 1,
                }),
            }
            oldest_shared(lines).unwrap_or(number)
        })
    }

    /// Adds what costs `cost`, with `enqueue`, if there is room; wakes the
    /// writer.
    fn add<T>(&self, cost: usize, enqueue: impl FnOnce(&mut State) -> T) -> Result<T, PushError> {
        self.add_then(cost, None, enqueue)
    }

    /// [`add`](Self::add), the writer woken now, or later if `wakes` is
    /// given: put there.
    fn add_then<T>(
        &self,
        cost: usize,
        wakes: Option<&mut Wakes>,
        enqueue: impl FnOnce(&mut State) -> T,
    ) -> Result<T, PushError> {
        let mut state = self.shared.lock();
        if state.receiver_gone {
            return Err(PushError::Closed);
        }
        if state.queued + cost > self.shared.limit {
            return Err(PushError::Full);
        }
        state.queued += cost;
        let added = enqueue(&mut state);
        let waker = state.waker.take();
        drop(state);
        match (waker, wakes) {
            (Some(waker), Some(wakes)) => wakes.0.push(waker),
            (Some(waker), None) => waker.wake(),
            (None, _) => {}
        }
        Ok(added)
    }

    /// The number of the oldest log line this queue still has to send: the
    /// log must keep it, and every line after it.
    pub fn oldest_shared(&self) -> Option<u64> {
        oldest_shared(&self.shared.lock().lines)
    }

    /// Lets go: once what is queued is written, the writer ends. (A sender
    /// kept after this only tells the room what the queue still holds.)
    pub fn close(&self) {
        let mut state = self.shared.lock();
        state.sender_gone = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Marks the client as cut off and empties its queue; dropping the
    /// sender then ends its writer.
    pub fn cut_off(&self) {
        let mut state = self.shared.lock();
        state.cut_off = true;
        let lines = std::mem::take(&mut state.lines);
        state.queued = 0;
        state.own = 0;
        let watcher = state.watcher.take();
        drop(state);
        drop(lines);
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }

    /// Marks the client as sent away by the room (a kick, a ban), before
    /// the room lets go of its queue: its connection, once flushed, frees
    /// its place at once, and leaves the log's line to the room, which
    /// knows why.
    pub fn send_away(&self) {
        self.shared.lock().sent_away = true;
    }

    /// Whether its writer has nothing left to do for it: gone, or done
    /// with everything once the sender is.
    pub fn is_done(&self) -> bool {
        let state = self.shared.lock();
        state.receiver_gone || state.lines.is_empty()
    }
}

impl Drop for QueueSender {
    fn drop(&mut self) {
        self.close();
    }
}

/// Writers with broadcast lines to take, to be woken together once the room
/// has applied what is ready for it: a burst then reaches each writer
/// whole, and goes out in one write, not one write a line. Woken at the
/// latest when dropped.
///
/// (The room runs on the writers' thread: a writer woken at the first line
/// of a burst would run, and write that line alone, before the room
/// applied the rest. In a room of 1,000 with one sender, that was a
/// system call for every 32 deliveries, against one for 300 with ten
/// senders.)
#[derive(Default)]
pub struct Wakes(Vec<Waker>);

impl Wakes {
    /// Whether a writer waits to be woken.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Wakes every writer put here.
    pub fn wake_all(&mut self) {
        for waker in self.0.drain(..) {
            waker.wake();
        }
    }
}

impl Drop for Wakes {
    fn drop(&mut self) {
        self.wake_all();
    }
}

/// The number of the first log line among `lines`.
fn oldest_shared(lines: &VecDeque<Entry>) -> Option<u64> {
    lines.iter().find_map(|entry| match entry {
        Entry::Shared { from, .. } => Some(*from),
        Entry::Own(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use futures_lite::future;

    use super::batch::Batch;
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
        let (sender, receiver, _) = queue(2 * (10 + LINE_OVERHEAD), &Log::default());
        assert!(sender.push(line("0123456789")).is_ok());
        assert!(sender.push(line("0123456789")).is_ok());
        assert_eq!(sender.push(line("x")), Err(PushError::Full));
        assert_eq!(batch_now(&receiver, 10), Some(Some(b"0123456789".to_vec())));
        assert!(sender.push(line("0123456789")).is_ok());
    }

    #[test]
    fn a_batch_takes_whole_lines_up_to_the_cap() {
        let (sender, receiver, _) = queue(1000, &Log::default());
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
        let (sender, receiver, _) = queue(1000, &Log::default());
        drop(receiver);
        assert_eq!(sender.push(line("x")), Err(PushError::Closed));
    }

    #[test]
    fn receiver_drains_then_ends_when_the_sender_is_gone() {
        let (sender, receiver, _) = queue(1000, &Log::default());
        sender.push(line("a")).unwrap();
        drop(sender);
        assert_eq!(batch_now(&receiver, 100), Some(Some(b"a".to_vec())));
        assert_eq!(batch_now(&receiver, 100), Some(None));
    }

    #[test]
    fn a_waiting_writer_wakes_for_a_line_and_for_the_end() {
        let (sender, receiver, _) = queue(1000, &Log::default());
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
        let (sender, receiver, _) = queue(1 << 20, &Log::default());
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
        let (sender, receiver, _) = queue(1000, &Log::default());
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
    fn broadcasts_are_runs_of_the_log_between_own_lines() {
        let log = Log::default();
        let (sender, receiver, _) = queue(1000, &log);
        sender.push(line("greeting\n")).unwrap();
        for text in ["a\n", "b\n", "c\n"] {
            let number = log.append(line(text));
            sender
                .push_shared(number, text.len(), &mut Wakes::default())
                .unwrap();
        }
        sender.push(line("reply\n")).unwrap();
        let number = log.append(line("d\n"));
        assert_eq!(
            sender.push_shared(number, 2, &mut Wakes::default()),
            Ok(0),
            "the oldest it still has"
        );
        assert_eq!(
            sender.shared.lock().lines.len(),
            4,
            "own, a run of 3, own, a run of 1"
        );
        assert_eq!(
            batch_now(&receiver, 1000),
            Some(Some(b"greeting\na\nb\nc\nreply\nd\n".to_vec()))
        );
        assert_eq!(sender.oldest_shared(), None);
        assert_eq!(receiver.shared.lock().queued, 0);
    }

    #[test]
    fn a_broadcast_wakes_the_writer_only_when_the_room_says() {
        let log = Log::default();
        let (sender, receiver, _) = queue(1000, &log);
        let executor = smol::LocalExecutor::new();
        let writer = executor.spawn(async move {
            let batch = receiver.next_batch(100).await;
            batch.map(|batch| batch.bytes().to_vec())
        });
        while executor.try_tick() {}
        let mut wakes = Wakes::default();
        for text in ["a\n", "b\n"] {
            let number = log.append(line(text));
            sender.push_shared(number, 2, &mut wakes).unwrap();
        }
        assert!(!executor.try_tick(), "not woken by the lines themselves");
        assert!(!wakes.is_empty());
        wakes.wake_all();
        assert!(executor.try_tick(), "woken by the room");
        // It lets the others run once before it takes its batch.
        while executor.try_tick() {}
        assert_eq!(
            smol::block_on(writer),
            Some(b"a\nb\n".to_vec()),
            "both at once"
        );
    }

    #[test]
    fn a_woken_writer_takes_what_came_while_the_others_ran() {
        let (sender, receiver, _) = queue(1000, &Log::default());
        let executor = smol::LocalExecutor::new();
        let writer = executor.spawn(async move {
            let batch = receiver.next_batch(100).await;
            batch.map(|batch| batch.bytes().to_vec())
        });
        while executor.try_tick() {}
        sender.push(line("a")).unwrap();
        assert!(executor.try_tick(), "woken, it lets the others run");
        sender.push(line("b")).unwrap();
        while executor.try_tick() {}
        assert_eq!(smol::block_on(writer), Some(b"ab".to_vec()), "one batch");
    }

    #[test]
    fn the_last_batch_is_known_as_it_is_taken() {
        let (sender, receiver, _) = queue(1000, &Log::default());
        sender.push(line("a")).unwrap();
        assert!(batch_now(&receiver, 100).is_some());
        assert!(!receiver.is_finished(), "the room may queue more");
        sender.push(line("b")).unwrap();
        sender.close();
        assert!(!receiver.is_finished(), "b is still to take");
        assert_eq!(batch_now(&receiver, 100), Some(Some(b"b".to_vec())));
        assert!(receiver.is_finished(), "b was the last");
    }

    #[test]
    fn a_run_counts_each_line_against_the_limit() {
        let log = Log::default();
        let (sender, _receiver, _) = queue(2 * (10 + LINE_OVERHEAD), &log);
        for _ in 0..2 {
            let number = log.append(line("0123456789"));
            sender
                .push_shared(number, 10, &mut Wakes::default())
                .unwrap();
        }
        let number = log.append(line("x"));
        assert_eq!(
            sender.push_shared(number, 1, &mut Wakes::default()),
            Err(PushError::Full)
        );
    }

    #[test]
    fn the_watch_sees_a_cut_off() {
        let (sender, _receiver, watch) = queue(1000, &Log::default());
        assert!(!watch.was_cut_off());
        sender.cut_off();
        assert!(watch.was_cut_off());
    }
}
