//! Joining a room that several servers share: once, at start, where an
//! error ends the server with one line saying what to do.

use async_channel::Receiver;

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;

use super::store::{JoinError, Store};
use super::url::shown;
use super::wire::Origin;
use super::{cluster, Cluster};
use crate::bans::Save;
use crate::config::RedisRoom;
use crate::log;
use crate::room::events::Inputs;
use crate::Config;

/// The room's manners as Redis keeps them: field, value.
type Kept = Vec<(String, Vec<u8>)>;

/// Joins the room `shared` as `config` says (names mode or not, and how
/// much history newcomers get), as a server listening on
/// `listening`; `inputs` are this server's connections, whose events go
/// through the room's order from now on. The order follows the room from
/// here once it runs. The log says which room was joined, and with whom.
pub async fn join(
    shared: &RedisRoom,
    config: &Config,
    inputs: Inputs,
    listening: Option<SocketAddr>,
    saved: Receiver<Save>,
) -> io::Result<Cluster> {
    let names = config.names;
    let refused = |error| refusal(shared, names, error);
    let mut store = Store::join(shared, names, address(listening))
        .await
        .map_err(refused)?;
    let present = store
        .server_count()
        .await
        .map_err(|error| refused(JoinError::Redis(error)))?;
    log::always(format_args!(
        "joined room {} on {} as server {}, {present} servers present",
        shared.room,
        shown(&shared.url),
        store.server
    ));
    let (kept, people_kept) = people_apart(&mut store)
        .await
        .map_err(|error| refused(JoinError::Redis(error)))?;
    let mut cluster = cluster(inputs, config, store, shared.heartbeat);
    cluster.saved = Some(saved);
    cluster.kept = kept;
    cluster.people_kept = people_kept;
    Ok(cluster)
}

/// The room's manners as Redis keeps them, with the members' own
/// (`person SERVER:CONN`) apart, by origin, for the members listed now;
/// those of members no longer listed (their server stopped before it
/// could forget them) are forgotten in Redis too.
async fn people_apart(store: &mut Store) -> redis::RedisResult<(Kept, HashMap<Origin, Vec<u8>>)> {
    let mut kept = store.kept().await?;
    if !kept.iter().any(|(field, _)| field.starts_with("person ")) {
        return Ok((kept, HashMap::new()));
    }
    let listed: HashSet<Origin> = store.members().await?.iter().map(|m| m.origin).collect();
    let mut people = HashMap::new();
    let mut stale = Vec::new();
    kept.retain_mut(|(field, value)| {
        let Some(origin) = field.strip_prefix("person ") else {
            return true;
        };
        let origin = origin.split_once(':').and_then(|(server, conn)| {
            Some(Origin {
                server: server.parse().ok()?,
                conn: conn.parse().ok()?,
            })
        });
        match origin {
            Some(origin) if listed.contains(&origin) => {
                people.insert(origin, std::mem::take(value));
            }
            _ => stale.push(std::mem::take(field)),
        }
        false
    });
    for field in stale {
        store.keep(&field, None).await?;
    }
    Ok((kept, people))
}

/// Where this server listens and on which host, as the other servers' logs
/// name it: `listening on ADDR on HOST`.
fn address(listening: Option<SocketAddr>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = match host.trim() {
        "" => "an unnamed host",
        host => host,
    };
    match listening {
        Some(addr) => format!("listening on {addr} on {host}"),
        None => format!("on {host}"),
    }
}

/// Why the room could not be joined, in one line.
fn refusal(shared: &RedisRoom, names: bool, error: JoinError) -> io::Error {
    let url = shown(&shared.url);
    match error {
        JoinError::Redis(error) if error.kind() == redis::ErrorKind::InvalidClientConfig => {
            io::Error::other(format!("bad --redis {url}: expected redis://HOST:PORT"))
        }
        JoinError::Redis(error) => {
            io::Error::other(format!("cannot reach Redis at {url}: {error}"))
        }
        JoinError::Mode(mode) => io::Error::other(format!(
            "the room {:?} is in {mode} mode on its other servers; start this one {}",
            shared.room,
            if names {
                "without --names"
            } else {
                "with --names"
            }
        )),
        JoinError::Version(version) => io::Error::other(format!(
            "the room {:?} speaks wire format {version} on its other servers, and this chat \
             speaks {}; \
             run one version of chat on all of a room's servers",
            shared.room,
            super::wire::VERSION
        )),
    }
}
