//! The last lines a server under test wrote to its standard error, kept
//! by a thread of their own: a server that will not start, or that dies
//! mid-script, is reported with what it said last, not only its status.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How many lines are kept: enough for a panic's message and its place.
const KEPT: usize = 10;

/// How long a report waits for the last lines of a server: its standard
/// error may be held open by a child of its own, or by a server that is
/// still running.
const LAST_WORDS: Duration = Duration::from_secs(2);

/// The lines, and whether the stream has ended.
#[derive(Default)]
struct Kept {
    lines: VecDeque<String>,
    ended: bool,
}

/// A server's recent standard error.
pub struct Log {
    kept: Arc<(Mutex<Kept>, Condvar)>,
}

impl Log {
    /// Reads `stream` to its end on a thread, keeping the last lines.
    pub fn follow(stream: Option<impl Read + Send + 'static>) -> Self {
        let kept = Arc::new((Mutex::new(Kept::default()), Condvar::new()));
        match stream {
            Some(stream) => {
                let shared = Arc::clone(&kept);
                std::thread::spawn(move || {
                    for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                        let mut kept = lock(&shared.0);
                        if kept.lines.len() == KEPT {
                            kept.lines.pop_front();
                        }
                        kept.lines
                            .push_back(String::from_utf8_lossy(&line).into_owned());
                    }
                    lock(&shared.0).ended = true;
                    shared.1.notify_all();
                });
            }
            None => lock(&kept.0).ended = true,
        }
        Log { kept }
    }

    /// `; its last lines on stderr:` and the lines, indented, or nothing
    /// when it said nothing. Waits a little for the stream to end: a server
    /// that exited has said all it will then, and the reading thread may
    /// not have read it all yet.
    pub fn last_lines(&self) -> String {
        let (kept, ended) = &*self.kept;
        let (kept, _) = ended
            .wait_timeout_while(lock(kept), LAST_WORDS, |kept| !kept.ended)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.lines.is_empty() {
            return String::new();
        }
        let mut out = String::from("; its last lines on stderr:");
        for line in kept.lines.iter() {
            out.push_str("\n    ");
            out.push_str(line);
        }
        out
    }
}

/// The lines, even if a reading thread panicked holding them.
fn lock(kept: &Mutex<Kept>) -> MutexGuard<'_, Kept> {
    kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
