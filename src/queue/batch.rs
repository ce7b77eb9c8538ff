//! The writer's end of a client's queue: what it takes for one write, as
//! much as is queued under a cap, under one lock, into one buffer sized
//! once.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::task::Poll;

use super::watch::REPLY_BACKLOG;
use super::{cost, Entry, QueueReceiver, State, KEEP_SLOTS};
use crate::line::{Line, LogLines};

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
    ///
    /// (A function that returns its poll function, not an `async fn`: the
    /// wait is what every idle writer holds, and this way it holds each
    /// argument once.)
    pub fn next_batch(&self, cap: usize) -> impl Future<Output = Option<Batch>> + '_ {
        self.take_lines(cap, |state, log, count, size| {
            if count == 1 {
                if let Some(line) = take(state, log) {
                    return Batch::One(line);
                }
            }
            let mut bytes = Vec::with_capacity(size);
            for _ in 0..count {
                if let Some(line) = take(state, log) {
                    bytes.extend_from_slice(&line);
                }
            }
            Batch::Many(bytes)
        })
    }

    /// Whether the batch just taken was the last: the room let go of the
    /// queue, and nothing is left in it. Its write can then carry the
    /// connection's end with it.
    pub fn is_finished(&self) -> bool {
        let state = self.shared.lock();
        state.sender_gone && state.lines.is_empty()
    }

    /// What [`next_batch`](Self::next_batch) would take, put into one
    /// buffer line by line by `frame`, as a transport puts lines on the
    /// wire (the buffer is sized for `slack` bytes more a line), and the
    /// bytes of the lines taken. Each line is framed as it is taken, where
    /// its end is known: finding the ends again in a batch is a search.
    #[cfg(feature = "web")]
    pub fn next_frames<'a>(
        &'a self,
        cap: usize,
        slack: usize,
        frame: impl Fn(&[u8], &mut Vec<u8>) + 'a,
    ) -> impl Future<Output = Option<(Vec<u8>, usize)>> + 'a {
        self.take_lines(cap, move |state, log, count, size| {
            let mut frames = Vec::with_capacity(size + count * slack);
            for _ in 0..count {
                if let Some(line) = take(state, log) {
                    frame(&line, &mut frames);
                }
            }
            (frames, size)
        })
    }

    /// Waits for lines as [`next_batch`](Self::next_batch) does, and hands
    /// `build` how many to take, under `cap` bytes, and their size.
    fn take_lines<'a, T>(
        &'a self,
        cap: usize,
        build: impl FnOnce(&mut State, &LogLines, usize, usize) -> T + 'a,
    ) -> impl Future<Output = Option<T>> + 'a {
        let mut build = Some(build);
        let mut slept = false;
        poll_fn(move |context| {
            if std::mem::take(&mut slept) {
                // Woken: the tasks woken with it run first, once, so that
                // what they queue here too goes out in this write.
                context.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut state = self.shared.lock();
            if state.lines.is_empty() {
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
                slept = true;
                return Poll::Pending;
            }
            let log = self.log.lock();
            // Whole lines while under the cap: count them, then copy them
            // into a buffer of exactly their size.
            let (mut size, mut count) = (0, 0);
            'count: for entry in &state.lines {
                let mut line_len = |line: Option<&Line>| {
                    size += line.map_or(0, |line| line.len());
                    count += 1;
                    size >= cap
                };
                let full = match entry {
                    Entry::Own(line) => line_len(Some(line)),
                    Entry::Shared { from, to } => {
                        (*from..*to).any(|number| line_len(log.get(number)))
                    }
                };
                if full {
                    break 'count;
                }
            }
            let build = build.take().expect("polled after it was ready");
            let batch = build(&mut state, &log, count, size);
            // The reader waits for the client to take its replies.
            let watcher = match state.own <= REPLY_BACKLOG {
                true => state.watcher.take(),
                false => None,
            };
            drop((state, log));
            if let Some(watcher) = watcher {
                watcher.wake();
            }
            Poll::Ready(Some(batch))
        })
    }
}

/// Takes the first queued line and gives its bytes back to the budget.
/// (A shared line the log no longer has counts as taken: it cannot be,
/// since the room keeps every line a queue still has.)
fn take(state: &mut State, log: &LogLines) -> Option<Line> {
    let line = match state.lines.front_mut()? {
        Entry::Own(_) => match state.lines.pop_front() {
            Some(Entry::Own(line)) => {
                state.own -= cost(line.len());
                Some(line)
            }
            _ => None,
        },
        Entry::Shared { from, to } => {
            let line = log.get(*from).cloned();
            *from += 1;
            if from == to {
                state.lines.pop_front();
            }
            line
        }
    };
    if let Some(line) = &line {
        state.queued -= cost(line.len());
    }
    line
}

impl Drop for QueueReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        // Nobody will write these: free them now, not when the sender goes,
        // and let go of the writer's waker, which keeps its task allocated.
        let lines = std::mem::take(&mut state.lines);
        let waker = state.waker.take();
        let watcher = state.watcher.take();
        state.queued = 0;
        state.own = 0;
        drop(state);
        drop((lines, waker));
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }
}
