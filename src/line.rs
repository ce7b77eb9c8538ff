//! A line as it goes on the wire, and the log of broadcast lines that every
//! client's queue sends from.
//!
//! A broadcast line is formatted once and kept once, in the room's [`Log`],
//! however many clients it goes to: each client's queue (see `queue`) holds
//! runs of the log's numbers, not copies, and the log keeps a line for as
//! long as some queue still has it to send.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

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

/// The strings joined, and a newline, as one line: sized once, exactly,
/// so that what a queue counts for a line is what it holds.
pub fn text_line(pieces: &[&str]) -> Line {
    let length = pieces.iter().map(|piece| piece.len()).sum::<usize>() + 1;
    let mut line = Vec::with_capacity(length);
    for piece in pieces {
        line.extend_from_slice(piece.as_bytes());
    }
    line.push(b'\n');
    Arc::new(line)
}

/// Slots the log may keep once it is empty; a bigger buffer, grown by a
/// storm, goes back to the allocator.
const KEEP_SLOTS: usize = 8;

/// The lines broadcast to everyone, each kept once for every queue that has
/// it to send, numbered in the order they were broadcast.
#[derive(Clone, Default)]
pub struct Log {
    /// The lines still to be sent by some queue.
    lines: Arc<Mutex<LogLines>>,
}

/// What [`Log`] guards.
#[derive(Default)]
pub struct LogLines {
    /// The lines, oldest first.
    lines: VecDeque<Line>,
    /// The number of `lines[0]`.
    first: u64,
}

impl Log {
    /// The lines, even if a thread panicked while holding them.
    pub fn lock(&self) -> MutexGuard<'_, LogLines> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `line`; returns its number.
    pub fn append(&self, line: Line) -> u64 {
        let mut log = self.lock();
        log.lines.push_back(line);
        log.first + log.lines.len() as u64 - 1
    }

    /// Forgets the lines numbered before `number`: no queue has them left.
    pub fn forget_before(&self, number: u64) {
        let mut log = self.lock();
        while log.first < number && log.lines.pop_front().is_some() {
            log.first += 1;
        }
        if log.lines.is_empty() {
            log.first = log.first.max(number);
            // A storm grew it: give the slots back.
            if log.lines.capacity() > KEEP_SLOTS {
                log.lines = VecDeque::new();
            }
        }
    }

    /// How many lines it holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().lines.len()
    }
}

impl LogLines {
    /// Line `number`, if it is kept.
    pub fn get(&self, number: u64) -> Option<&Line> {
        let index = number.checked_sub(self.first)?;
        self.lines.get(usize::try_from(index).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Arc::new(text.as_bytes().to_vec())
    }

    #[test]
    fn a_line_holds_its_bytes_and_no_more() {
        let line = text_line(&["Here: ", "alice, bob"]);
        assert_eq!(line.as_slice(), b"Here: alice, bob\n");
        assert_eq!(line.capacity(), line.len());
        let line = super::line(&[b"a", b": ", b"hi"]);
        assert_eq!(line.capacity(), line.len());
    }

    #[test]
    fn the_log_forgets_what_nobody_has_left_to_send() {
        let log = Log::default();
        for text in ["a", "b", "c"] {
            log.append(line(text));
        }
        log.forget_before(2);
        assert_eq!(log.len(), 1);
        assert_eq!(
            log.lock().get(2).map(|line| line.as_slice()),
            Some(&b"c"[..])
        );
        assert_eq!(log.lock().get(1), None);
        log.forget_before(3);
        assert_eq!(log.len(), 0);
        assert_eq!(log.append(line("d")), 3, "numbers go on");
    }
}
