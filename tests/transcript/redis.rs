//! The Redis that joins a script's servers (`set servers N`): the tests'
//! own `redis-server` (`common::redis`), or the reason the script is
//! skipped; and the wait until every server has joined the room.
//!
//! Without the `redis` feature there is none: such scripts are skipped
//! before any server starts, so [`Redis`] is then a type with no value.

/// The room the servers in this process share; `chat`'s default, so that a
/// `chat` process, given no `--room`, shares it too.
pub const ROOM: &str = "chat";

#[cfg(feature = "redis")]
pub use with::*;

#[cfg(not(feature = "redis"))]
pub use without::*;

#[cfg(feature = "redis")]
mod with {
    use std::time::Duration;

    pub use crate::common::redis::Redis;
    use crate::common::try_eventually;

    /// How long the servers may take to join the room.
    const PATIENCE: Duration = Duration::from_secs(20);

    /// A fresh `redis-server`; `Ok(Err(why))` when there is none to start
    /// (the script is skipped), unless `CHAT_REQUIRE_REDIS=1` (CI's), where
    /// a missing Redis is a failure.
    pub fn start() -> Result<Result<Redis, String>, String> {
        if !installed() {
            let why = "it has several servers joined through Redis, and there is no \
                       redis-server in PATH (apt-get install redis-server)";
            if std::env::var("CHAT_REQUIRE_REDIS").is_ok_and(|value| value == "1") {
                return Err(format!("CHAT_REQUIRE_REDIS=1: {why}"));
            }
            return Ok(Err(why.into()));
        }
        Redis::start()
            .map(Ok)
            .ok_or_else(|| "redis-server did not start".into())
    }

    /// `redis://127.0.0.1:PORT`, where the servers find it.
    pub fn url(redis: &Redis) -> String {
        redis.url()
    }

    /// Waits until `count` servers have joined the room (listed in
    /// `chat:ROOM:servers`, as the server's `room::redis::store` names it):
    /// a server in this process listens at once, but follows the room only
    /// from when it joined. (A `chat` process says `listening on` only once
    /// it has joined, so only servers in this process need this.)
    pub fn wait_for_servers(redis: &Redis, count: usize) -> Result<(), String> {
        let servers = format!("chat:{}:servers", super::ROOM);
        let mut reply = String::new();
        // Other threads' start-up, which says nothing when it is done.
        try_eventually(
            &format!("{count} servers to join the room"),
            PATIENCE,
            || {
                reply = redis.query(&["SCARD", &servers]);
                let joined = reply
                    .lines()
                    .rev()
                    .find_map(|line| line.strip_prefix(':'))
                    .and_then(|number| number.trim().parse::<usize>().ok());
                (joined == Some(count)).then_some(())
            },
        )
        .map_err(|why| format!("{why} (Redis: {reply:?})"))
    }

    /// Whether `redis-server` is in PATH.
    fn installed() -> bool {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).any(|dir| dir.join("redis-server").is_file())
    }
}

#[cfg(not(feature = "redis"))]
mod without {
    /// No Redis without the feature: never made.
    pub enum Redis {}

    /// Never reached: scripts of several servers are skipped first.
    pub fn start() -> Result<Result<Redis, String>, String> {
        Ok(Err(
            "these tests were built without the redis feature".into()
        ))
    }

    pub fn url(redis: &Redis) -> String {
        match *redis {}
    }

    pub fn wait_for_servers(redis: &Redis, _count: usize) -> Result<(), String> {
        match *redis {}
    }
}
