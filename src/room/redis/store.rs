//! What a server keeps in Redis, and the commands that keep it.
//!
//! Redis decides everything that several servers could race for, each in
//! one atomic step (a Lua script): a name is claimed in the same step that
//! publishes the arrival or rename that uses it, and released in the same
//! step that publishes the leave. So the order of the room's channel and
//! the claims agree, and every server, applying the channel in order,
//! refuses exactly the names that Redis refused to claim.
//!
//! Keys, for a room R (`--room`, default `chat`):
//!
//! - `chat:R:events`: the stream every event goes through, in the one
//!   order; its last [`KEPT`] events are kept, so that a server cut off
//!   for a while reads what it missed when it is back;
//! - `chat:R:mode`: the room's mode, `book` or `names`, kept while any
//!   server is alive;
//! - `chat:R:servers`: the servers that have joined, each by a random
//!   number; `chat:R:alive:S`, S's heartbeat, which expires when S stops
//!   refreshing it; `chat:R:buried:S`, that S was taken for dead;
//! - `chat:R:members:S`: S's clients, connection id to `SEQ:NAME`, SEQ its
//!   place among arrivals (`chat:R:arrivals` counts them);
//! - `chat:R:name:KEY`: who holds a name, `S:ID`; `chat:R:held:S:ID`, the
//!   keys a client holds, to let go of them when it leaves.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, RedisResult};

use super::wire::{self, Event, Origin};
use crate::command::Command;
use crate::room::events::Said;

/// How long a server's heartbeat lasts: a server silent this long is taken
/// for dead, and another announces its clients' leaves.
pub const ALIVE: Duration = Duration::from_secs(10);

/// How long a Redis command may take before the room is taken for
/// unreachable.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// About how many of the room's last events Redis keeps (`MAXLEN ~`, as
/// the scripts say too): what a server cut off for a while can catch up on.
pub const KEPT: usize = 10_000;

/// How long one read of the room's events waits for the next.
const READ_WAIT: Duration = Duration::from_secs(1);

/// The most events taken in one read.
const READ_COUNT: usize = 512;

/// A client's arrival: claims its name if it is free (names mode), lists
/// it among its server's members, and adds the arrival to the room's
/// events, its place among arrivals filled in by Redis. Published either way: every server refuses a taken
/// name for itself, from the same order.
///
/// KEYS: members, held, arrivals, events, then the name's keys.
/// ARGV: connection id, owner (`S:ID`), name, the event.
const ENTER: &str = r"
local free = true
for i = 5, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[2] then free = false end
end
local seq = redis.call('INCR', KEYS[3])
if free then
  for i = 5, #KEYS do
    redis.call('SET', KEYS[i], ARGV[2])
    redis.call('SADD', KEYS[2], KEYS[i])
  end
  redis.call('HSET', KEYS[1], ARGV[1], seq .. ':' .. ARGV[3])
end
local event = string.sub(ARGV[4], 1, #ARGV[4] - 20) .. string.format('%020d', seq)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '10000', '*', 'e', event)
return free and 1 or 0
";

/// A rename: claims the new name's keys if no one else holds them, lets
/// go of the old ones, and publishes the rename either way.
///
/// KEYS: members, held, events, then the new name's keys.
/// ARGV: connection id, owner, new name, the event.
const NICK: &str = r"
local free = true
for i = 4, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[2] then free = false end
end
if free then
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
  end
  redis.call('DEL', KEYS[2])
  for i = 4, #KEYS do
    redis.call('SET', KEYS[i], ARGV[2])
    redis.call('SADD', KEYS[2], KEYS[i])
  end
  local member = redis.call('HGET', KEYS[1], ARGV[1])
  if member then
    local seq = string.match(member, '^(%d+):')
    redis.call('HSET', KEYS[1], ARGV[1], seq .. ':' .. ARGV[3])
  end
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'e', ARGV[4])
return free and 1 or 0
";

/// A leave: lets go of the client's names, takes it off its server's
/// members, and publishes the leave. With ARGV[4] set (a dead server's
/// clients), only if it was still a member: the leave is announced once,
/// however many servers try.
///
/// KEYS: members, held, events. ARGV: connection id, owner, the event,
/// `once`.
const LEAVE: &str = r"
local was = redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] == 'once' and was == 0 then return 0 end
for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
end
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'e', ARGV[3])
return 1
";

/// The room's mode, set if no server holds it, refreshed if it is ours;
/// returns the mode the room is in.
///
/// KEYS: mode. ARGV: our mode, its lifetime in milliseconds.
const MODE: &str = r"
local mode = redis.call('GET', KEYS[1])
if mode and mode ~= ARGV[1] then return mode end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
";

/// The room's mode goes with its last server, so that the next may start
/// in either mode. KEYS: servers, mode.
const LAST_OUT: &str = r"
if redis.call('SCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
return 0
";

/// How long a buried server's grave is kept: a server that comes back
/// within it learns its clients were announced as gone.
const BURIED: Duration = Duration::from_secs(3600);

/// One server's link to the room in Redis.
pub struct Store {
    /// Where new connections come from.
    client: Client,
    /// Commands (shared, pipelined).
    connection: MultiplexedConnection,
    /// `chat:R`.
    prefix: String,
    /// This server's number in the room.
    pub server: u64,
    /// `book` or `names`.
    mode: &'static str,
    /// The room's last event when this server joined: it follows the room
    /// from there.
    pub joined_at: String,
}

/// Someone in the room, from Redis's lists: a server that joins late
/// learns the room from these.
pub struct Member {
    /// Who.
    pub origin: Origin,
    /// Its name.
    pub name: Vec<u8>,
    /// Its place among arrivals.
    pub seq: u64,
}

/// What can go wrong when joining the room.
#[derive(Debug)]
pub enum JoinError {
    /// Redis could not be reached or failed.
    Redis(redis::RedisError),
    /// The room is in the other mode.
    Mode(String),
}

impl From<redis::RedisError> for JoinError {
    fn from(error: redis::RedisError) -> Self {
        JoinError::Redis(error)
    }
}

impl Store {
    /// Connects to Redis at `url`, joins room `room` in names mode or not,
    /// and takes a number for this server. Fails if Redis is unreachable
    /// or the room is in the other mode.
    pub async fn join(url: &str, room: &str, names: bool) -> Result<Store, JoinError> {
        let client = Client::open(url)?;
        let connection = connect(&client).await?;
        let mut store = Store {
            client,
            connection,
            prefix: format!("chat:{room}"),
            server: 0,
            mode: if names { "names" } else { "book" },
            joined_at: String::new(),
        };
        let mode = store.claim_mode().await?;
        if mode != store.mode {
            return Err(JoinError::Mode(mode));
        }
        store.server = server_number();
        // Where to follow the room from, read before this server is seen:
        // everything the others do from then on comes after it.
        store.joined_at = store.last_event().await?;
        store.register().await?;
        Ok(store)
    }

    /// Connects again after Redis was lost, and registers this server
    /// again (a restarted Redis has forgotten it).
    pub async fn rejoin(&mut self) -> RedisResult<()> {
        self.connection = connect(&self.client).await?;
        self.claim_mode().await?;
        self.register().await
    }

    /// Follows the room's events after the one numbered `after`, on a
    /// connection of its own (a read waits for events, and would hold up
    /// every other command on a shared one).
    pub async fn follow(&self, after: String) -> RedisResult<Follow> {
        let mut connection = connect(&self.client).await?;
        let key = self.key("events");
        let (events, received) = async_channel::bounded(READ_COUNT);
        let reader = smol::spawn(async move {
            let mut after = after;
            loop {
                let read: RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(READ_COUNT)
                    .arg("BLOCK")
                    .arg(READ_WAIT.as_millis() as u64)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(&after)
                    .query_async(&mut connection)
                    .await;
                let Ok(read) = read else {
                    return;
                };
                for entry in read
                    .into_iter()
                    .flat_map(|reply| reply.keys)
                    .flat_map(|key| key.ids)
                {
                    let message: Vec<u8> = entry.get("e").unwrap_or_default();
                    after = entry.id.clone();
                    if events.send((entry.id, message)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Follow {
            received,
            _reader: reader,
        })
    }

    /// The number of the room's last event (`0-0` for none yet).
    pub async fn last_event(&mut self) -> RedisResult<String> {
        let last: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.key("events"))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.connection)
            .await?;
        Ok(last
            .ids
            .into_iter()
            .next()
            .map_or_else(|| "0-0".to_string(), |entry| entry.id))
    }

    /// Everyone in the room now, in order of arrival.
    pub async fn members(&mut self) -> RedisResult<Vec<Member>> {
        let servers: Vec<u64> = redis::cmd("SMEMBERS")
            .arg(self.key("servers"))
            .query_async(&mut self.connection)
            .await?;
        let mut members = Vec::new();
        for server in servers {
            let listed: Vec<(u64, Vec<u8>)> = redis::cmd("HGETALL")
                .arg(self.key(&format!("members:{server}")))
                .query_async(&mut self.connection)
                .await?;
            for (conn, entry) in listed {
                let Some(colon) = entry.iter().position(|&byte| byte == b':') else {
                    continue;
                };
                let Some(seq) = std::str::from_utf8(&entry[..colon])
                    .ok()
                    .and_then(|seq| seq.parse().ok())
                else {
                    continue;
                };
                members.push(Member {
                    origin: Origin { server, conn },
                    name: entry[colon + 1..].to_vec(),
                    seq,
                });
            }
        }
        members.sort_by_key(|member| member.seq);
        Ok(members)
    }

    /// Keeps this server alive and listed in the room (listed again if it
    /// was buried while it could not answer), and the room's mode held.
    pub async fn heartbeat(&mut self) -> RedisResult<()> {
        self.claim_mode().await?;
        redis::pipe()
            .cmd("SADD")
            .arg(self.key("servers"))
            .arg(self.server)
            .ignore()
            .cmd("SET")
            .arg(self.key(&format!("alive:{}", self.server)))
            .arg(1)
            .arg("PX")
            .arg(ALIVE.as_millis() as u64)
            .ignore()
            .query_async::<()>(&mut self.connection)
            .await
    }

    /// Whether another server buried this one while it could not answer
    /// (its clients were announced as gone); asking forgets it.
    pub async fn was_buried(&mut self) -> RedisResult<bool> {
        redis::cmd("GETDEL")
            .arg(self.key(&format!("buried:{}", self.server)))
            .query_async::<Option<String>>(&mut self.connection)
            .await
            .map(|buried| buried.is_some())
    }

    /// Servers of the room whose heartbeat has lapsed, that this server
    /// won the right to bury (one server does it, whichever asks first).
    pub async fn dead_servers(&mut self) -> RedisResult<Vec<u64>> {
        let servers: Vec<u64> = redis::cmd("SMEMBERS")
            .arg(self.key("servers"))
            .query_async(&mut self.connection)
            .await?;
        let mut dead = Vec::new();
        for server in servers.into_iter().filter(|&server| server != self.server) {
            let alive: bool = redis::cmd("EXISTS")
                .arg(self.key(&format!("alive:{server}")))
                .query_async(&mut self.connection)
                .await?;
            if alive {
                continue;
            }
            let won: Option<String> = redis::cmd("SET")
                .arg(self.key(&format!("burying:{server}")))
                .arg(self.server)
                .arg("NX")
                .arg("PX")
                .arg(ALIVE.as_millis() as u64 * 3)
                .query_async(&mut self.connection)
                .await?;
            if won.is_some() {
                dead.push(server);
            }
        }
        Ok(dead)
    }

    /// Announces the leave of every client of dead `server`, once each,
    /// and forgets the server.
    pub async fn bury(&mut self, server: u64) -> RedisResult<()> {
        let members: Vec<u64> = redis::cmd("HKEYS")
            .arg(self.key(&format!("members:{server}")))
            .query_async(&mut self.connection)
            .await?;
        for conn in members {
            self.departure(Origin { server, conn }, true)
                .query_async::<()>(&mut self.connection)
                .await?;
        }
        redis::pipe()
            .cmd("SREM")
            .arg(self.key("servers"))
            .arg(server)
            .ignore()
            .cmd("DEL")
            .arg(self.key(&format!("members:{server}")))
            .ignore()
            .cmd("SET")
            .arg(self.key(&format!("buried:{server}")))
            .arg(1)
            .arg("PX")
            .arg(BURIED.as_millis() as u64)
            .ignore()
            .query_async::<()>(&mut self.connection)
            .await
    }

    /// Leaves the room cleanly: this server's registration goes (its
    /// clients' leaves were published before), and the room's mode with
    /// the last server.
    pub async fn part(&mut self) -> RedisResult<()> {
        redis::pipe()
            .cmd("SREM")
            .arg(self.key("servers"))
            .arg(self.server)
            .ignore()
            .cmd("EVAL")
            .arg(LAST_OUT)
            .arg(2)
            .arg(self.key("servers"))
            .arg(self.key("mode"))
            .ignore()
            .cmd("DEL")
            .arg(self.key(&format!("alive:{}", self.server)))
            .ignore()
            .cmd("DEL")
            .arg(self.key(&format!("members:{}", self.server)))
            .ignore()
            .query_async::<()>(&mut self.connection)
            .await
    }

    /// Sends `commands` in one round trip, in order (nothing, if there are
    /// none: Redis takes no empty pipeline).
    pub async fn send(&mut self, commands: &redis::Pipeline) -> RedisResult<()> {
        if commands.is_empty() {
            return Ok(());
        }
        commands.query_async::<()>(&mut self.connection).await
    }

    /// The command adding `message` (one or more events) to the room's.
    pub fn publish_command(&self, message: Vec<u8>) -> redis::Cmd {
        let mut command = redis::cmd("XADD");
        command
            .arg(self.key("events"))
            .arg("MAXLEN")
            .arg("~")
            .arg(KEPT)
            .arg("*")
            .arg("e")
            .arg(message);
        command
    }

    /// The command for the arrival of this server's client `conn` named
    /// `name` (see [`ENTER`]); `keys`, the name's keys in names mode.
    pub fn arrival(&self, conn: u64, name: &[u8], keys: &[Box<str>]) -> redis::Cmd {
        let from = self.own(conn);
        let event = Event::Arrive {
            from,
            name: name.to_vec(),
            seq: 0,
        };
        let fixed = [self.members_of(from), self.held(from), self.key("arrivals")];
        self.claim(ENTER, &fixed, conn, name, keys, &event)
    }

    /// The command for this server's client `conn` taking the name `name`
    /// (see [`NICK`]).
    pub fn rename(&self, conn: u64, name: &[u8], keys: &[Box<str>]) -> redis::Cmd {
        let from = self.own(conn);
        let said = Said::Command(Box::new(Command::Nick(name.to_vec())));
        let fixed = [self.members_of(from), self.held(from)];
        self.claim(NICK, &fixed, conn, name, keys, &Event::Said { from, said })
    }

    /// The command for the leave of `from` (see [`LEAVE`]); `once` for a
    /// dead server's client.
    pub fn departure(&self, from: Origin, once: bool) -> redis::Cmd {
        let mut event = Vec::new();
        wire::encode(&Event::Leave { from }, &mut event);
        let mut command = redis::cmd("EVAL");
        command
            .arg(LEAVE)
            .arg(3)
            .arg(self.members_of(from))
            .arg(self.held(from))
            .arg(self.key("events"))
            .arg(from.conn)
            .arg(owner(from))
            .arg(event)
            .arg(if once { "once" } else { "always" });
        command
    }

    /// A script that claims a name as it adds `event`: KEYS are `fixed`,
    /// the events, then the name's `keys`; ARGV the connection, its owner,
    /// the name and the event.
    fn claim(
        &self,
        script: &str,
        fixed: &[String],
        conn: u64,
        name: &[u8],
        keys: &[Box<str>],
        event: &Event,
    ) -> redis::Cmd {
        let mut encoded = Vec::new();
        wire::encode(event, &mut encoded);
        let mut command = redis::cmd("EVAL");
        command.arg(script).arg(fixed.len() + 1 + keys.len());
        for key in fixed {
            command.arg(key);
        }
        command.arg(self.key("events"));
        for key in keys {
            command.arg(self.key(&format!("name:{key}")));
        }
        command
            .arg(conn)
            .arg(owner(self.own(conn)))
            .arg(name)
            .arg(encoded);
        command
    }

    /// This server's client `conn`.
    fn own(&self, conn: u64) -> Origin {
        Origin {
            server: self.server,
            conn,
        }
    }

    /// The key listing `from`'s server's members.
    fn members_of(&self, from: Origin) -> String {
        self.key(&format!("members:{}", from.server))
    }

    /// The key listing the name keys `from` holds.
    fn held(&self, from: Origin) -> String {
        self.key(&format!("held:{}:{}", from.server, from.conn))
    }

    /// Holds the room's mode for this server's, or learns the other one.
    async fn claim_mode(&mut self) -> RedisResult<String> {
        redis::cmd("EVAL")
            .arg(MODE)
            .arg(1)
            .arg(self.key("mode"))
            .arg(self.mode)
            .arg(ALIVE.as_millis() as u64)
            .query_async(&mut self.connection)
            .await
    }

    /// Lists this server in the room, alive.
    async fn register(&mut self) -> RedisResult<()> {
        redis::cmd("SADD")
            .arg(self.key("servers"))
            .arg(self.server)
            .query_async::<()>(&mut self.connection)
            .await?;
        self.heartbeat().await
    }

    /// The key `chat:R:NAME`.
    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }
}

/// A number for this server, unique in the room without asking Redis
/// (whose counters a restart would reset while servers hold numbers):
/// 48 random bits, from the standard library's per-process random keys.
fn server_number() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    (hasher.finish() & 0xffff_ffff_ffff).max(1)
}

/// How a client is named in Redis's claims: `SERVER:ID`.
fn owner(client: Origin) -> String {
    format!("{}:{}", client.server, client.conn)
}

/// The room's events as a server reads them, in order, each with its
/// number; closed when Redis is lost.
pub struct Follow {
    /// The events read.
    received: async_channel::Receiver<(String, Vec<u8>)>,
    /// Reads them (on smol's own executor, as the `redis` crate's
    /// connections run); stopped when this is dropped.
    _reader: smol::Task<()>,
}

impl Follow {
    /// The next event's number and message; `None` once Redis is lost.
    pub async fn next(&self) -> Option<(String, Vec<u8>)> {
        self.received.recv().await.ok()
    }
}

/// A connection for commands, with every command bounded in time.
async fn connect(client: &Client) -> RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}
