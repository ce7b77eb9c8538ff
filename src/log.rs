//! Log lines on stderr, `chat: ` first.
//!
//! Two levels are enough for a chat server: what an operator must always see
//! (the listening address, clients cut off by a limit, accept failures) and,
//! with `--verbose`, every connect and leave. The level is process-wide
//! because it is an operator's choice, not a property of one server.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether [`verbose`] lines are printed.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns on the connect and leave lines.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Prints a line an operator must always see. A closed or broken stderr
/// loses the line but never stops the server (`eprintln!` would panic).
pub fn always(message: Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "chat: {message}");
}

/// Prints a line only with `--verbose`.
pub fn verbose(message: Arguments<'_>) {
    if VERBOSE.load(Ordering::Relaxed) {
        always(message);
    }
}
