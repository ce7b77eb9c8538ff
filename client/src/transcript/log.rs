//! The last lines a server under test wrote to its standard error, kept
//! by a thread of their own: a server that will not start, or that dies
//! mid-script, is reported with what it said last, not only its status.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

/// How many lines are kept: enough for a panic's message and its place.
const KEPT: usize = 10;

/// A server's recent standard error.
pub struct Log {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl Log {
    /// Reads `stream` to its end on a thread, keeping the last lines.
    pub fn follow(stream: Option<impl Read + Send + 'static>) -> Self {
        let lines = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stream) = stream {
            let kept = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                    let mut kept = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    if kept.len() == KEPT {
                        kept.pop_front();
                    }
                    kept.push_back(String::from_utf8_lossy(&line).into_owned());
                }
            });
        }
        Log { lines }
    }

    /// `; its last lines:` and the lines, indented, or nothing when it
    /// said nothing.
    pub fn last_lines(&self) -> String {
        // The reading thread may still be on the last line a dead server
        // wrote; what it has is what there is to show.
        let kept = self
            .lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.is_empty() {
            return String::new();
        }
        let mut out = String::from("; its last lines on stderr:");
        for line in kept.iter() {
            out.push_str("\n    ");
            out.push_str(line);
        }
        out
    }
}
