//! Log lines on stderr, `chat: ` first.
//!
//! Two levels are enough for a chat server: what an operator must always see
//! (the listening address, clients cut off by a limit, newcomers turned
//! away by a cap, accept failures) and,
//! with `--verbose`, every connect and leave. The level is process-wide
//! because it is an operator's choice, not a property of one server.
//!
//! Lines are written by a thread of their own, through a bounded queue: the
//! thread that serves every client must never wait for stderr (a pipe nobody
//! drains, a terminal paused with Ctrl-S), nor die with it (a closed pipe).
//! When the queue is full, lines are dropped and counted, and the count is
//! logged once there is room again.

use std::cell::Cell;
use std::fmt::Arguments;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use futures_lite::future;

/// Whether [`verbose`] lines are printed.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Lines dropped because the writing thread fell behind.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Lines that may wait for the writing thread.
const BACKLOG: usize = 1024;

/// What the writing thread is asked to do.
enum Request {
    /// Write this line.
    Line(String),
    /// Say when everything before has been written.
    Flush(Sender<()>),
}

/// Turns on the connect and leave lines.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Logs a line an operator must always see.
pub fn always(message: Arguments<'_>) {
    let line = format!("chat: {message}\n");
    if logger().try_send(Request::Line(line)).is_err() {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Logs a line only with `--verbose`.
pub fn verbose(message: Arguments<'_>) {
    if VERBOSE.load(Ordering::Relaxed) {
        always(message);
    }
}

/// Waits, at most `patience`, until every line logged so far is written:
/// before the process exits.
pub fn flush(patience: Duration) {
    let (done, finished) = async_channel::bounded(1);
    if logger().try_send(Request::Flush(done)).is_ok() {
        smol::block_on(future::or(
            async {
                let _ = finished.recv().await;
            },
            async {
                smol::Timer::after(patience).await;
            },
        ));
    }
}

/// The queue to the writing thread, started on first use. (An
/// async-channel, which the server uses anyway, rather than the standard
/// library's, whose three kinds of channel came with it: 9 KB.)
fn logger() -> &'static Sender<Request> {
    static LOGGER: OnceLock<Sender<Request>> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let (sender, requests) = async_channel::bounded(BACKLOG);
        let _ = std::thread::Builder::new()
            .name("chat-log".into())
            .spawn(move || write_lines(requests));
        sender
    })
}

/// The writing thread: a failed write loses the line, nothing more.
fn write_lines(requests: Receiver<Request>) {
    let mut stderr = std::io::stderr();
    while let Ok(request) = requests.recv_blocking() {
        match request {
            Request::Line(line) => {
                let dropped = DROPPED.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    let _ = writeln!(
                        stderr,
                        "chat: ({dropped} log lines dropped: stderr too slow)"
                    );
                }
                let _ = stderr.write_all(line.as_bytes());
            }
            Request::Flush(done) => {
                let _ = done.try_send(());
            }
        }
    }
}

/// An event that can come in floods (newcomers turned away by a cap), as
/// the log tells of it: an operator must see every one, and a flood of
/// them must not be a flood of lines. The first is logged at once; after
/// it, at most a line a minute, with the count of those since the last.
#[derive(Default)]
pub struct Repeats {
    /// Seen since the last line about them.
    since: Cell<usize>,
    /// When the last line about them was logged.
    logged: Cell<Option<Instant>>,
}

impl Repeats {
    /// How often a flood is logged.
    pub const EVERY: Duration = Duration::from_secs(60);

    /// One more, `now`: `Some(N)` if it is to be logged, with the N not
    /// logged since the last line; `None` if it is only counted.
    pub fn again(&self, now: Instant) -> Option<usize> {
        match self.logged.get() {
            Some(at) if now.saturating_duration_since(at) < Self::EVERY => {
                self.since.set(self.since.get() + 1);
                None
            }
            _ => {
                self.logged.set(Some(now));
                Some(self.since.replace(0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first is logged, the rest of its minute counted, and told with
    /// the next line, a minute on at the soonest.
    #[test]
    fn repeats_are_logged_first_then_a_line_a_minute() {
        let repeats = Repeats::default();
        let start = Instant::now();
        let later = |secs| start + Duration::from_secs(secs);
        assert_eq!(repeats.again(start), Some(0), "the first is logged at once");
        assert_eq!(repeats.again(later(1)), None);
        assert_eq!(repeats.again(later(59)), None);
        assert_eq!(repeats.again(later(60)), Some(2));
        assert_eq!(repeats.again(later(200)), Some(0));
    }
}
