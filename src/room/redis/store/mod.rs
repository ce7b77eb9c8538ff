//! What a server keeps in Redis, and the commands that keep it.
//!
//! Redis decides everything that several servers could race for, each in
//! one atomic step (a Lua script): a name is claimed in the same step that
//! publishes the arrival or rename that uses it, and released in the same
//! step that publishes the leave. So the order of the room's channel and
//! the claims agree, and every server, applying the channel in order,
//! refuses exactly the names that Redis refused to claim.
//!
//! The keys, and what each holds, are named in one place, `room::keys`.

mod scripts;
mod servers;
mod stream;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisResult};

use crate::config::RedisRoom;
use crate::room::keys::RoomKeys;
use crate::room::redis::url::connection_info;
use crate::room::redis::wire::{self, Origin};
use scripts::MODE;
pub use stream::{Entry, Follow};

/// How long a Redis command may take before the room is taken for
/// unreachable.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// About how many of the room's last events Redis keeps (`MAXLEN ~`, as
/// the scripts say too): what a server cut off for a while can catch up on.
pub const KEPT: usize = 10_000;

/// One server's link to the room in Redis.
pub struct Store {
    /// Where new connections come from.
    client: Client,
    /// Commands (shared, pipelined).
    connection: MultiplexedConnection,
    /// The room's keys.
    keys: RoomKeys,
    /// This server's number in the room.
    pub server: u64,
    /// `book` or `names`, and the wire format (`book 2`): what the room's
    /// mode key must hold for this server to join.
    mode: String,
    /// How long this server's heartbeat lasts: silent this long, it is
    /// taken for dead, and another server announces its clients' leaves.
    pub alive: Duration,
    /// Where this server listens and on which host, for the others' logs.
    address: String,
    /// The room's last event when this server joined: it follows the room
    /// from there...
    pub joined_at: String,
    /// ...and the count of the room's events by then...
    pub joined_count: u64,
    /// ...and who was in the room then.
    pub joined_members: Vec<Member>,
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

impl Member {
    /// `origin`, as its server's members' key lists it: `SEQ:NAME`.
    fn listed(origin: Origin, entry: &[u8]) -> Option<Member> {
        let colon = entry.iter().position(|&byte| byte == b':')?;
        let seq = std::str::from_utf8(&entry[..colon]).ok()?.parse().ok()?;
        Some(Member {
            origin,
            name: entry[colon + 1..].to_vec(),
            seq,
        })
    }
}

/// What can go wrong when joining the room.
#[derive(Debug)]
pub enum JoinError {
    /// Redis could not be reached or failed.
    Redis(redis::RedisError),
    /// The room is in the other mode.
    Mode(String),
    /// The room's other servers speak another wire format: its version.
    Version(String),
}

impl From<redis::RedisError> for JoinError {
    fn from(error: redis::RedisError) -> Self {
        JoinError::Redis(error)
    }
}

impl Store {
    /// Connects to Redis, joins the room `shared` in names mode or not,
    /// and takes a number for this server, which listens at `address` (as
    /// the log says). Fails if Redis is unreachable or the room is in the
    /// other mode or speaks another wire format.
    pub async fn join(
        shared: &RedisRoom,
        names: bool,
        address: String,
    ) -> Result<Store, JoinError> {
        let client = Client::open(connection_info(&shared.url)?)?;
        let connection = connect(&client).await?;
        let mut store = Store {
            client,
            connection,
            keys: RoomKeys::new(&shared.room),
            alive: shared.lifetime,
            address,
            server: 0,
            mode: format!("{} {}", if names { "names" } else { "book" }, wire::VERSION),
            joined_at: String::new(),
            joined_count: 0,
            joined_members: Vec::new(),
        };
        let held = store.claim_mode().await?;
        if held != store.mode {
            // Before the wire format had a version, the key held the mode
            // alone: that was version 1.
            let (mode, version) = held.split_once(' ').unwrap_or((&held, "1"));
            let ours = store.mode.split(' ').next().unwrap_or_default();
            return Err(if mode == ours {
                JoinError::Version(version.to_string())
            } else {
                JoinError::Mode(mode.to_string())
            });
        }
        store.server = server_number();
        // Where to follow the room from, read before this server is seen:
        // everything the others do from then on comes after it.
        (store.joined_at, store.joined_count, store.joined_members) = store.last_event().await?;
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

    /// Sends `commands` in one round trip, in order (nothing, if there are
    /// none: Redis takes no empty pipeline).
    pub async fn send(&mut self, commands: &redis::Pipeline) -> RedisResult<()> {
        if commands.is_empty() {
            return Ok(());
        }
        commands.query_async::<()>(&mut self.connection).await
    }

    /// Keeps `value` as the room's manners' `field`, or forgets it.
    pub async fn keep(&mut self, field: &str, value: Option<&[u8]>) -> RedisResult<()> {
        let key = self.keys.manners();
        let command = match value {
            Some(value) => {
                let mut command = redis::cmd("HSET");
                command.arg(&key).arg(field).arg(value);
                command
            }
            None => {
                let mut command = redis::cmd("HDEL");
                command.arg(&key).arg(field);
                command
            }
        };
        command.query_async::<()>(&mut self.connection).await
    }

    /// The room's manners as kept: each field and its value.
    pub async fn kept(&mut self) -> RedisResult<Vec<(String, Vec<u8>)>> {
        redis::cmd("HGETALL")
            .arg(self.keys.manners())
            .query_async(&mut self.connection)
            .await
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
        self.keys.members(from.server)
    }

    /// The key listing the name keys `from` holds.
    fn held(&self, from: Origin) -> String {
        self.keys.held(from.server, from.conn)
    }

    /// Holds the room's mode for this server's, or learns the other one.
    async fn claim_mode(&mut self) -> RedisResult<String> {
        redis::cmd("EVAL")
            .arg(MODE)
            .arg(1)
            .arg(self.keys.mode())
            .arg(&self.mode)
            .arg(self.alive.as_millis() as u64)
            .query_async(&mut self.connection)
            .await
    }

    /// Lists this server in the room, alive, with its address.
    async fn register(&mut self) -> RedisResult<()> {
        redis::pipe()
            .cmd("SADD")
            .arg(self.keys.servers())
            .arg(self.server)
            .ignore()
            .cmd("HSET")
            .arg(self.keys.addresses())
            .arg(self.server)
            .arg(&self.address)
            .ignore()
            .query_async::<()>(&mut self.connection)
            .await?;
        self.heartbeat().await
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

/// A connection for commands, with every command bounded in time.
async fn connect(client: &Client) -> RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}
