//! The server's limits and their defaults.
//!
//! The book's server has no limits at all; PROTOCOL.md lists the ones we add.
//! Every limit lives here with its default, so that `main` only maps flags
//! onto fields and tests can shrink a limit to make it easy to hit.

use std::time::Duration;

/// Tunable limits of one server instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// Longest line a client may send, in bytes before the `\n` (a `\r`
    /// counts). 65,535 is the book's limit: `bufio.Scanner` gives up on a
    /// token of 64 KiB.
    pub max_line_bytes: usize,
    /// How many bytes may wait in one client's outgoing queue before the
    /// client counts as a slow consumer and is disconnected. Broadcast lines
    /// are shared between clients, so this bounds what one client can pin,
    /// not a copy per client.
    pub send_queue_bytes: usize,
    /// How long shutdown waits for queued lines to be flushed before it
    /// closes the remaining connections anyway.
    pub shutdown_grace: Duration,
}

/// The book's line limit: 64 KiB less the `\n`.
pub const DEFAULT_MAX_LINE_BYTES: usize = 65_535;

/// One MiB of outgoing lines: over ten thousand typical chat lines, so a
/// client that reads at all never gets near it during a burst, while a client
/// that stopped reading is cut off long before it costs real memory. It is the
/// order of an IRC server's SendQ and of Redis' pub/sub soft limit.
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 1024 * 1024;

/// Long enough to flush a full send queue over a slow link, short enough that
/// an operator's Ctrl-C feels immediate.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}
