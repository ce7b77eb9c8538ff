//! The names of a shared room's keys in Redis (`--redis`), in one place:
//! the servers that keep them and the tests that look into them both take
//! them from here, so that a key renamed in the server cannot leave a test
//! watching a key nobody writes.
//!
//! Keys, for a room R (`--room`, default `chat`):
//!
//! - `chat:R:events`: the stream every event goes through, in the one
//!   order; its last events are kept, so that a server cut off for a while
//!   reads what it missed when it is back;
//! - `chat:R:count`: how many events the stream has had, each message
//!   numbered by it, so that a server knows how many it missed;
//! - `chat:R:mode`: the room's mode and wire format (`book 3`, `names 3`),
//!   kept while any server is alive;
//! - `chat:R:servers`: the servers that have joined, each by a random
//!   number; `chat:R:alive:S`, S's heartbeat, which expires when S stops
//!   refreshing it; `chat:R:addresses`, where each listens (for the log);
//!   `chat:R:buried:S`, that S was taken for dead; `chat:R:burying:S`, which server buries it;
//! - `chat:R:members:S`: S's clients, connection id to `SEQ:NAME`, SEQ its
//!   place among arrivals (`chat:R:arrivals` counts them);
//! - `chat:R:name:KEY`: who holds a name (an address, in book mode),
//!   `S:ID`; `chat:R:held:S:ID`, the keys a client holds, to let go of them
//!   when it leaves;
//! - `chat:R:manners` (names mode's operators and manners): `topic`, and
//!   `ban ADDRESS` and `mute ADDRESS`, each `UNTIL BY [REASON]` (UNTIL in
//!   seconds since the epoch), so that a server started later knows them.
//!
//! Plain text, with no Redis in it: it is compiled in every build, and
//! costs nothing where nothing calls it.

/// The keys of one room.
#[derive(Debug, Clone)]
pub struct RoomKeys {
    /// `chat:R`.
    prefix: String,
}

impl RoomKeys {
    /// The keys of room `room`.
    pub fn new(room: &str) -> Self {
        RoomKeys {
            prefix: format!("chat:{room}"),
        }
    }

    /// `chat:R:NAME`.
    fn key(&self, name: std::fmt::Arguments<'_>) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The room's stream of events.
    pub fn events(&self) -> String {
        self.key(format_args!("events"))
    }

    /// The count of the events the stream has had.
    pub fn count(&self) -> String {
        self.key(format_args!("count"))
    }

    /// The room's manners that outlive its servers (the topic, the bans
    /// and mutes by address), a hash: a server that joins later reads it.
    pub fn manners(&self) -> String {
        self.key(format_args!("manners"))
    }

    /// The room's mode and wire format.
    pub fn mode(&self) -> String {
        self.key(format_args!("mode"))
    }

    /// The servers that have joined.
    pub fn servers(&self) -> String {
        self.key(format_args!("servers"))
    }

    /// The count of arrivals, each arrival's place.
    pub fn arrivals(&self) -> String {
        self.key(format_args!("arrivals"))
    }

    /// Server `server`'s heartbeat.
    pub fn alive(&self, server: u64) -> String {
        self.key(format_args!("alive:{server}"))
    }

    /// Where each server listens, and on which host: what the log names a
    /// server by.
    pub fn addresses(&self) -> String {
        self.key(format_args!("addresses"))
    }

    /// That server `server` was taken for dead.
    pub fn buried(&self, server: u64) -> String {
        self.key(format_args!("buried:{server}"))
    }

    /// Which server buries server `server`.
    pub fn burying(&self, server: u64) -> String {
        self.key(format_args!("burying:{server}"))
    }

    /// Server `server`'s clients.
    pub fn members(&self, server: u64) -> String {
        self.key(format_args!("members:{server}"))
    }

    /// What every server's members' key starts with, for a script that
    /// lists them all.
    pub fn members_prefix(&self) -> String {
        self.key(format_args!("members:"))
    }

    /// The name keys client `conn` of server `server` holds.
    pub fn held(&self, server: u64, conn: u64) -> String {
        self.key(format_args!("held:{server}:{conn}"))
    }

    /// Who holds the name key `key`.
    pub fn name(&self, key: &str) -> String {
        self.key(format_args!("name:{key}"))
    }
}
