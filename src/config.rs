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
    /// Most clients connected at once; past it a newcomer gets
    /// `error: server full` and is closed.
    pub max_connections: usize,
    /// Disconnect a client that has sent nothing for this long (the book's
    /// exercise 8.13); `None` keeps quiet clients forever.
    pub idle_timeout: Option<Duration>,
    /// How long a leaving client may take to read what is still queued for
    /// it before its connection is closed anyway.
    pub flush_timeout: Duration,
    /// How long shutdown waits for queued lines to be flushed before it
    /// closes the remaining connections anyway.
    pub shutdown_grace: Duration,
}

/// The book's line limit: 64 KiB less the `\n`.
pub const DEFAULT_MAX_LINE_BYTES: usize = 65_535;

/// Four MiB of outgoing lines: tens of thousands of typical chat lines, so a
/// client that reads steadily never gets near it, even a little slower than
/// a burst (a thousand arrivals at once are about 60 KiB; four clients
/// pasting 10 MB as fast as they can leave a steady reader a few MiB
/// behind at most), while a client that stopped reading is cut off before
/// it costs real memory: the lines are shared, so what it pins is mostly
/// held by the others' queues anyway. It is the order of an IRC server's
/// SendQ and of Redis' pub/sub limits (8 MiB soft, 32 MiB hard).
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// A leaving client's last lines are a few KiB at most: seconds are plenty.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Long enough to flush a full send queue over a slow link, short enough that
/// an operator's Ctrl-C feels immediate.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// File descriptors kept for everything but clients: the listener, the
/// reactor, standard streams, a client being turned away.
const RESERVED_FDS: usize = 32;

/// The connection cap that fits the process's file-descriptor limit: one
/// descriptor per client, less a few the server needs for itself. Raise the
/// limit first (see [`raise_fd_limit`]) to get the most out of it.
pub fn default_max_connections() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let soft = limit.current.map_or(usize::MAX, |soft| {
        usize::try_from(soft).unwrap_or(usize::MAX)
    });
    soft.saturating_sub(RESERVED_FDS).max(1)
}

/// Raises the soft file-descriptor limit to the hard limit, as servers do at
/// start: the soft limit is often a timid 1,024.
pub fn raise_fd_limit() -> std::io::Result<()> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return Ok(());
    }
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit).map_err(std::io::Error::from)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            max_connections: default_max_connections(),
            idle_timeout: None,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// A duration as the flags take it and the error lines show it: `250ms`,
/// `30s`, `5m`, `1h`.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    let secs = duration.as_secs();
    if millis % 1000 != 0 || secs == 0 {
        format!("{millis}ms")
    } else if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Parses `250ms`, `30s`, `5m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("bad duration {text:?}: expected e.g. 250ms, 30s, 5m, 1h"))?;
    let seconds = |factor: u64| amount.checked_mul(factor).map(Duration::from_secs);
    let duration = match unit {
        "ms" => Some(Duration::from_millis(amount)),
        "" | "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => None,
    };
    duration.ok_or_else(|| format!("bad duration {text:?}: expected e.g. 250ms, 30s, 5m, 1h"))
}

/// Parses a byte count: `65536`, `64K`, `1M` (binary units).
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let bad = || format!("bad size {text:?}: expected e.g. 65536, 64K, 1M");
    let (digits, factor) = match text.strip_suffix(['K', 'k']) {
        Some(digits) => (digits, 1024),
        None => match text.strip_suffix(['M', 'm']) {
            Some(digits) => (digits, 1024 * 1024),
            None => (text, 1),
        },
    };
    let amount: usize = digits.parse().map_err(|_| bad())?;
    amount.checked_mul(factor).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for text in ["250ms", "30s", "5m", "1h", "90s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64K").unwrap(), 65536);
        assert_eq!(parse_bytes("1M").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("123").unwrap(), 123);
        assert!(parse_bytes("1G").is_err());
        assert!(parse_bytes("-1").is_err());
    }
}
