//! The room's servers and their clients as Redis lists them: who is in,
//! which servers are alive, the burial of those that are not, and a clean
//! parting.

use std::time::Duration;

use redis::RedisResult;

use super::scripts::LAST_OUT;
use super::{Member, Store};
use crate::room::redis::wire::Origin;

/// How long a buried server's grave is kept: a server that comes back
/// within it learns its clients were announced as gone.
const BURIED: Duration = Duration::from_secs(3600);

impl Store {
    /// Everyone in the room now, in order of arrival.
    pub async fn members(&mut self) -> RedisResult<Vec<Member>> {
        let servers: Vec<u64> = redis::cmd("SMEMBERS")
            .arg(self.keys.servers())
            .query_async(&mut self.connection)
            .await?;
        let mut members = Vec::new();
        for server in servers {
            let listed: Vec<(u64, Vec<u8>)> = redis::cmd("HGETALL")
                .arg(self.keys.members(server))
                .query_async(&mut self.connection)
                .await?;
            for (conn, entry) in listed {
                members.extend(Member::listed(Origin { server, conn }, &entry));
            }
        }
        members.sort_by_key(|member| member.seq);
        Ok(members)
    }

    /// How many servers Redis lists in the room.
    pub async fn server_count(&mut self) -> RedisResult<usize> {
        redis::cmd("SCARD")
            .arg(self.keys.servers())
            .query_async(&mut self.connection)
            .await
    }

    /// Where `server` said it listens, for the log.
    pub async fn address_of(&mut self, server: u64) -> RedisResult<Option<String>> {
        redis::cmd("HGET")
            .arg(self.keys.addresses())
            .arg(server)
            .query_async(&mut self.connection)
            .await
    }

    /// Whether Redis lists `server` among the room's.
    pub async fn is_listed(&mut self, server: u64) -> RedisResult<bool> {
        redis::cmd("SISMEMBER")
            .arg(self.keys.servers())
            .arg(server)
            .query_async(&mut self.connection)
            .await
    }

    /// Keeps this server alive and listed in the room (listed again if it
    /// was buried while it could not answer), and the room's mode held.
    pub async fn heartbeat(&mut self) -> RedisResult<()> {
        self.claim_mode().await?;
        redis::pipe()
            .cmd("SADD")
            .arg(self.keys.servers())
            .arg(self.server)
            .ignore()
            .cmd("SET")
            .arg(self.keys.alive(self.server))
            .arg(1)
            .arg("PX")
            .arg(self.alive.as_millis() as u64)
            .ignore()
            .query_async::<()>(&mut self.connection)
            .await
    }

    /// Whether another server buried this one while it could not answer
    /// (its clients were announced as gone); asking forgets it.
    pub async fn was_buried(&mut self) -> RedisResult<bool> {
        redis::cmd("GETDEL")
            .arg(self.keys.buried(self.server))
            .query_async::<Option<String>>(&mut self.connection)
            .await
            .map(|buried| buried.is_some())
    }

    /// Servers of the room whose heartbeat has lapsed, that this server
    /// won the right to bury (one server does it, whichever asks first).
    pub async fn dead_servers(&mut self) -> RedisResult<Vec<u64>> {
        let servers: Vec<u64> = redis::cmd("SMEMBERS")
            .arg(self.keys.servers())
            .query_async(&mut self.connection)
            .await?;
        let mut dead = Vec::new();
        for server in servers.into_iter().filter(|&server| server != self.server) {
            let alive: bool = redis::cmd("EXISTS")
                .arg(self.keys.alive(server))
                .query_async(&mut self.connection)
                .await?;
            if alive {
                continue;
            }
            let won: Option<String> = redis::cmd("SET")
                .arg(self.keys.burying(server))
                .arg(self.server)
                .arg("NX")
                .arg("PX")
                .arg(self.alive.as_millis() as u64 * 3)
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
            .arg(self.keys.members(server))
            .query_async(&mut self.connection)
            .await?;
        for conn in members {
            self.departure(Origin { server, conn }, true)
                .query_async::<()>(&mut self.connection)
                .await?;
        }
        redis::pipe()
            .cmd("SREM")
            .arg(self.keys.servers())
            .arg(server)
            .ignore()
            .cmd("DEL")
            .arg(self.keys.members(server))
            .ignore()
            .cmd("HDEL")
            .arg(self.keys.addresses())
            .arg(server)
            .ignore()
            .cmd("SET")
            .arg(self.keys.buried(server))
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
            .arg(self.keys.servers())
            .arg(self.server)
            .ignore()
            .cmd("EVAL")
            .arg(LAST_OUT)
            .arg(2)
            .arg(self.keys.servers())
            .arg(self.keys.mode())
            .ignore()
            .cmd("DEL")
            .arg(self.keys.alive(self.server))
            .ignore()
            .cmd("DEL")
            .arg(self.keys.members(self.server))
            .ignore()
            .cmd("HDEL")
            .arg(self.keys.addresses())
            .arg(self.server)
            .ignore()
            .query_async::<()>(&mut self.connection)
            .await
    }
}
