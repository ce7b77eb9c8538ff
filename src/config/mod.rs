//! The server's limits and their defaults.
//!
//! The book's server has no limits at all; PROTOCOL.md lists the ones we add.
//! Every limit lives here with its default and its bounds, so that `main`
//! only maps flags onto them (through [`Flags`], which holds the command
//! line's policy) and tests can shrink a limit to make it easy to hit.

mod features;
mod files;
mod flags;
mod units;

#[cfg(feature = "manners")]
pub use files::{read_motd, read_password, Password};
pub use flags::{Flags, Settings, DEFAULT_ADDR};
pub use units::{
    format_bytes, format_count, format_duration, parse_bytes, parse_duration, parse_rate,
};

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
    /// Most clients connected at once from one address, if capped; past it
    /// a newcomer gets `error: too many connections from your address`.
    /// Off by default: on one machine everyone is 127.0.0.1.
    pub max_per_address: Option<usize>,
    /// Disconnect a client that has sent nothing for this long (the book's
    /// exercise 8.13); `None` keeps quiet clients forever.
    pub idle_timeout: Option<Duration>,
    /// How long a line may take from its first byte to its `\n`, if
    /// bounded: a client trickling a byte a second is never idle, yet must
    /// not hold a connection forever. People never notice: terminals and
    /// `client` send whole lines.
    pub line_timeout: Option<Duration>,
    /// How long a leaving client may take to read what is still queued for
    /// it before its connection is closed anyway.
    pub flush_timeout: Duration,
    /// How long shutdown waits for queued lines to be flushed before it
    /// closes the remaining connections anyway.
    pub shutdown_grace: Duration,
    /// Flood control: how fast one client's lines are read, if limited.
    /// `chat` sets [`NAMES_DEFAULT_RATE`] in names mode unless told
    /// otherwise; the book's server has none.
    pub rate: Option<Rate>,
    /// How many recent messages a newcomer gets after its greeting; 0 for
    /// none.
    pub history: usize,
    /// Names mode (`--names`): people choose names and have commands.
    /// Off, the server is the book's, byte for byte.
    pub names: bool,
    /// In names mode, how long a newcomer has to choose a valid, free name
    /// before it is disconnected: it holds a place under the connection
    /// cap meanwhile.
    pub naming_timeout: Duration,
    /// Several servers, one room (`--redis`, the `redis` feature): where
    /// the room lives. `None`: this server is the whole room.
    pub redis: Option<RedisRoom>,
    /// Log where the server listens (`listening on ADDR`, and the page's
    /// address) once it is ready: after joining the Redis room, if any, so
    /// that a server that cannot join says one line, its error.
    pub announce: bool,
    /// The chat listener's certificate and key (`--tls-cert`, `--tls-key`,
    /// the `tls` feature): `None`, plain TCP, the book's.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::identity::Identity>,
    /// Names mode: the password that makes an operator (`/op`), if any
    /// (`--operator-password-file`; the feature `manners`).
    #[cfg(feature = "manners")]
    pub operator_password: Option<Password>,
    /// Names mode: the message of the day, a line each, for every
    /// newcomer (`--motd`; the feature `manners`).
    #[cfg(feature = "manners")]
    pub motd: Vec<Vec<u8>>,
}

/// A room shared through Redis.
#[derive(Debug, Clone)]
pub struct RedisRoom {
    /// Redis's address, `redis://HOST:PORT`.
    pub url: String,
    /// The room's name: servers with the same Redis and room serve one chat.
    pub room: String,
    /// How often this server says it is alive, and looks for servers that
    /// are not (`--heartbeat`).
    pub heartbeat: Duration,
    /// How long each heartbeat lasts: a server silent this long is taken
    /// for dead, and its clients' leaves announced (`--heartbeat-lifetime`).
    pub lifetime: Duration,
}

impl RedisRoom {
    /// The room `room` on the Redis at `url`, with the default heartbeat.
    pub fn new(url: String, room: String) -> Self {
        RedisRoom {
            url,
            room,
            heartbeat: DEFAULT_HEARTBEAT,
            lifetime: DEFAULT_HEARTBEAT * HEARTBEATS_PER_LIFETIME,
        }
    }
}

/// How often a server of a shared room says it is alive, by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(2);

/// A heartbeat's lifetime, by default, in heartbeats: a server is taken
/// for dead after this many missed.
pub const HEARTBEATS_PER_LIFETIME: u32 = 5;

/// The fewest heartbeats a lifetime may hold: one late heartbeat on a
/// busy machine must not get a live server buried.
pub const HEARTBEATS_AT_LEAST: u32 = 3;

/// The most often a heartbeat may be: each is a few round trips to Redis.
pub const HEARTBEAT_FLOOR: Duration = Duration::from_millis(100);

/// The longest a heartbeat's interval may be.
pub const HEARTBEAT_CEILING: Duration = Duration::from_secs(60);

/// The longest a heartbeat may last: a dead server's clients are announced
/// as gone within this.
pub const LIFETIME_CEILING: Duration = Duration::from_secs(600);

/// The book's line limit: 64 KiB less the `\n`.
pub const DEFAULT_MAX_LINE_BYTES: usize = 65_535;

/// 16 MiB: how far behind the room a client may fall before it is cut
/// off. Broadcast lines are kept once, in the room's log, so this costs the
/// server at most once, whatever the number of clients that lag, not once
/// per client; and since each connection's kernel send buffer is small
/// (see `conn`), this is also the slack a reader has for a burst it reads
/// a little slower than it comes: four clients pasting 20 MB as fast as
/// they can leave a steady reader well within it. It is the order of
/// Redis' pub/sub limits (8 MiB soft, 32 MiB hard).
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// A minute to finish a line: far more than any person or program sending
/// whole lines takes, and the end of a trickler that sends a byte a second.
pub const DEFAULT_LINE_TIMEOUT: Duration = Duration::from_secs(60);

/// Names mode: how many names a newcomer may have refused before it is
/// told `error: too many refused names` and closed. Ten is more than any
/// person needs to find a free name; each try costs the server its Unicode
/// checks, and a crowd trying names forever cost it a core.
pub const REFUSED_NAMES: usize = 10;

/// A leaving client's last lines are a few KiB at most: seconds are plenty.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Long enough to flush a full send queue over a slow link, short enough that
/// an operator's Ctrl-C feels immediate.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The longest line a client may be allowed: 16 MiB. Every connection may
/// buffer this much, so the limit is what keeps "bounded memory" a promise.
pub const MAX_LINE_CEILING: usize = 16 << 20;

/// The largest send queue a client may be allowed: 256 MiB, already far
/// past any client that reads.
pub const SEND_QUEUE_CEILING: usize = 256 << 20;

/// The longest timeout a flag takes: a day. Beyond it a timeout means
/// never, which is what leaving it off says.
pub const DURATION_CEILING: Duration = Duration::from_secs(24 * 3600);

/// Room for a client's name in a line it is sent: the longest address,
/// `[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535`, is 58
/// bytes.
const NAME_ROOM: usize = 64;

/// The most messages `--history` keeps.
pub const HISTORY_CEILING: usize = 1000;

/// The most bytes of history kept, whatever `--history` says: a few screens
/// of chat.
pub const HISTORY_BYTES: usize = 64 * 1024;

/// Room for a farewell `error: ...` line.
const FAREWELL_ROOM: usize = 128;

/// How fast one client may send: `burst` lines at once, then `lines` per
/// `per`. Commands count as lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Lines per `per`, once the burst is spent.
    pub lines: u32,
    /// The period of `lines`.
    pub per: Duration,
    /// Lines that may come at once.
    pub burst: u32,
}

/// Names mode's flood control: a paste of 20 lines goes through at once,
/// a person typing never meets it, and a flooder is read at 5 lines a
/// second.
pub const NAMES_DEFAULT_RATE: Rate = Rate {
    lines: 5,
    per: Duration::from_secs(1),
    burst: 20,
};

/// A minute to choose a name: time to think of one, not to hold a place
/// forever without one.
pub const DEFAULT_NAMING_TIMEOUT: Duration = Duration::from_secs(60);

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

/// The smallest send queue that holds what every client is sent at once
/// before it can read anything: its greeting, one line of the longest kind
/// `max_line_bytes` allows, and an `error: ...` line. A smaller queue would
/// cut off every reader of a long line, or every client before its
/// greeting.
pub fn min_send_queue(max_line_bytes: usize) -> usize {
    let greeting = "You are \n".len() + NAME_ROOM;
    let longest = NAME_ROOM + ": \n".len() + max_line_bytes;
    crate::queue::cost(greeting) + crate::queue::cost(longest) + crate::queue::cost(FAREWELL_ROOM)
}

impl Config {
    /// The smallest send queue these limits work with: a greeting, the
    /// history if any, and one longest line (see [`min_send_queue`]).
    pub fn least_send_queue(&self) -> usize {
        let mut needed = min_send_queue(self.max_line_bytes);
        if self.history > 0 {
            // The recent messages arrive at once, after the greeting.
            needed += HISTORY_BYTES + crate::queue::cost(0) * (self.history + 1);
        }
        needed
    }

    /// Checks the limits against each other and against their ceilings, as
    /// `chat` does at start; the error is one line naming the flags.
    /// ([`crate::serve`] takes any limits: tests shrink them on purpose.)
    pub fn check(&self) -> Result<(), String> {
        let needed = self.least_send_queue();
        if self.send_queue_bytes < needed {
            let history = if self.history > 0 {
                ", the history"
            } else {
                ""
            };
            return Err(format!(
                "--send-queue {} cannot hold a greeting{history} and one line of --max-line {}: \
                 it must be at least {needed} bytes",
                format_bytes(self.send_queue_bytes),
                format_bytes(self.max_line_bytes)
            ));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            max_connections: default_max_connections(),
            max_per_address: None,
            idle_timeout: None,
            line_timeout: Some(DEFAULT_LINE_TIMEOUT),
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            rate: None,
            history: 0,
            names: false,
            naming_timeout: DEFAULT_NAMING_TIMEOUT,
            redis: None,
            announce: false,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "manners")]
            operator_password: None,
            #[cfg(feature = "manners")]
            motd: Vec::new(),
        }
    }
}

/// A room's name (`--room`), if it is one: letters, digits, `.`, `_` and
/// `-`, at most 64; it becomes part of Redis keys.
pub(crate) fn room_name(text: &str) -> Result<String, String> {
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if text.is_empty() || text.len() > 64 || !text.chars().all(fits) {
        return Err(format!(
            "bad --room {text:?}: letters, digits, '.', '_' and '-', at most 64"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_send_queue_holds_the_longest_default_line() {
        assert!(Config::default().check().is_ok());
        let config = Config {
            send_queue_bytes: 1024,
            ..Config::default()
        };
        let error = config.check().unwrap_err();
        assert!(error.contains("--send-queue 1K"), "{error}");
        assert!(error.contains("--max-line 65535"), "{error}");
        let config = Config {
            send_queue_bytes: SEND_QUEUE_CEILING,
            max_line_bytes: MAX_LINE_CEILING,
            ..Config::default()
        };
        assert!(config.check().is_ok());
    }
}
