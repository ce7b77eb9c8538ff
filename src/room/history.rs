//! The last messages, for newcomers (`--history N`).
//!
//! ssh-chat and devzat replay the last lines to whoever joins, so that a
//! newcomer knows what the room is talking about. Only messages are kept
//! (`NAME: TEXT`, `* NAME TEXT`): never arrivals, leaves, renames, private
//! lines or errors. The lines are the very ones broadcast, shared, not
//! copied, and there are at most N of them and [`HISTORY_BYTES`].

use std::collections::VecDeque;

use crate::config::HISTORY_BYTES;
use crate::line::{text_line, Line};
use crate::queue::QueueSender;

/// The recent messages.
pub struct History {
    /// How many to keep; 0 keeps none.
    most: usize,
    /// Oldest first.
    lines: VecDeque<Line>,
    /// Their bytes.
    bytes: usize,
}

impl History {
    /// A history of at most `most` messages.
    pub fn new(most: usize) -> Self {
        History {
            most,
            lines: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Keeps `line`, a message just broadcast, dropping the oldest past the
    /// bounds.
    pub fn record(&mut self, line: &Line) {
        if self.most == 0 {
            return;
        }
        self.lines.push_back(line.clone());
        self.bytes += line.len();
        while self.lines.len() > self.most || self.bytes > HISTORY_BYTES {
            match self.lines.pop_front() {
                Some(oldest) => self.bytes -= oldest.len(),
                None => break,
            }
        }
    }

    /// Queues `Recent messages (K):` and the K messages for a newcomer,
    /// or nothing when there are none.
    pub fn replay(&self, queue: &QueueSender) {
        if self.lines.is_empty() {
            return;
        }
        let count = self.lines.len().to_string();
        let _ = queue.push(text_line(&["Recent messages (", &count, "):"]));
        for line in &self.lines {
            let _ = queue.push(line.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn line(text: &str) -> Line {
        Arc::new(format!("{text}\n").into_bytes())
    }

    fn kept(history: &History) -> Vec<String> {
        history
            .lines
            .iter()
            .map(|line| String::from_utf8_lossy(line).trim_end().to_string())
            .collect()
    }

    #[test]
    fn the_last_n_messages() {
        let mut history = History::new(2);
        history.record(&line("a: 1"));
        assert_eq!(kept(&history), ["a: 1"]);
        history.record(&line("a: 2"));
        history.record(&line("a: 3"));
        assert_eq!(kept(&history), ["a: 2", "a: 3"]);
    }

    #[test]
    fn bounded_in_bytes_too() {
        let mut history = History::new(100);
        let long = "x".repeat(HISTORY_BYTES / 2);
        for _ in 0..3 {
            history.record(&line(&long));
        }
        assert_eq!(history.lines.len(), 1);
        assert!(history.bytes <= HISTORY_BYTES);
    }

    #[test]
    fn none_kept_when_off() {
        let mut history = History::new(0);
        history.record(&line("a: 1"));
        assert!(history.lines.is_empty());
    }
}
