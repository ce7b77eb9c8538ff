//! The room's stream: the commands that add this server's events to it
//! (names claimed in the same step, see `scripts`), and the reading of
//! every server's events from it, in their one order.

use std::time::Duration;

use redis::streams::{StreamRangeReply, StreamReadReply};
use redis::RedisResult;

use super::scripts::{ENTER, JOINED, LEAVE, NICK, PUBLISH};
use super::{connect, owner, Member, Store};
use crate::room::redis::wire::{self, Event, Origin};

/// How long one read of the room's events waits for the next.
const READ_WAIT: Duration = Duration::from_secs(1);

/// The most events taken in one read.
const READ_COUNT: usize = 512;

impl Store {
    /// Follows the room's events after the one numbered `after`, on a
    /// connection of its own (a read waits for events, and would hold up
    /// every other command on a shared one).
    pub async fn follow(&self, after: String) -> RedisResult<Follow> {
        let mut connection = connect(&self.client).await?;
        let key = self.keys.events();
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
                    let count = entry.get("n");
                    after = entry.id.clone();
                    if events.send((entry.id, count, message)).await.is_err() {
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

    /// The number of the room's last event (`0-0` for none yet), the
    /// count of events the room has had, and who was in then.
    pub async fn last_event(&mut self) -> RedisResult<(String, u64, Vec<Member>)> {
        let (last, count, listed): (String, u64, Vec<Vec<u8>>) = redis::cmd("EVAL")
            .arg(JOINED)
            .arg(3)
            .arg(self.keys.events())
            .arg(self.keys.count())
            .arg(self.keys.servers())
            .arg(self.keys.members_prefix())
            .query_async(&mut self.connection)
            .await?;
        let number = |bytes: &[u8]| std::str::from_utf8(bytes).ok()?.parse().ok();
        let members = listed
            .chunks_exact(3)
            .filter_map(|member| {
                let origin = Origin {
                    server: number(&member[0])?,
                    conn: number(&member[1])?,
                };
                Member::listed(origin, &member[2])
            })
            .collect();
        Ok((last, count, members))
    }

    /// Up to `count` of the room's messages, newest first, from the one
    /// numbered `from` back (`(NUMBER` for those before it), each with
    /// its number.
    pub async fn recent(
        &mut self,
        from: &str,
        count: usize,
    ) -> RedisResult<Vec<(String, Vec<u8>)>> {
        let range: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.keys.events())
            .arg(from)
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.connection)
            .await?;
        Ok(range
            .ids
            .into_iter()
            .map(|entry| {
                let message: Vec<u8> = entry.get("e").unwrap_or_default();
                (entry.id, message)
            })
            .collect())
    }

    /// The command adding `message` (`events` events) to the room's (see
    /// [`PUBLISH`]).
    pub fn publish_command(&self, message: Vec<u8>, events: usize) -> redis::Cmd {
        let mut command = redis::cmd("EVAL");
        command
            .arg(PUBLISH)
            .arg(2)
            .arg(self.keys.events())
            .arg(self.keys.count())
            .arg(events)
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
            free: true,
        };
        let fixed = [self.members_of(from), self.held(from), self.keys.arrivals()];
        self.claim(ENTER, &fixed, conn, name, keys, &event)
    }

    /// The command for this server's client `conn` taking the name `name`
    /// (see [`NICK`]).
    pub fn rename(&self, conn: u64, name: &[u8], keys: &[Box<str>]) -> redis::Cmd {
        let from = self.own(conn);
        let rename = Event::Rename {
            from,
            name: name.to_vec(),
            free: false,
        };
        let fixed = [self.members_of(from), self.held(from)];
        self.claim(NICK, &fixed, conn, name, keys, &rename)
    }

    /// The command for the leave of `from` (see [`LEAVE`]); `once` for a
    /// dead server's client.
    pub fn departure(&self, from: Origin, once: bool) -> redis::Cmd {
        let mut event = Vec::new();
        wire::encode(&Event::Leave { from }, &mut event);
        let mut command = redis::cmd("EVAL");
        command
            .arg(LEAVE)
            .arg(4)
            .arg(self.members_of(from))
            .arg(self.held(from))
            .arg(self.keys.events())
            .arg(self.keys.count())
            .arg(from.conn)
            .arg(owner(from))
            .arg(event)
            .arg(if once { "once" } else { "always" });
        command
    }

    /// A script that claims a name as it adds `event`: KEYS are `fixed`,
    /// the events, their count, then the name's `keys`; ARGV the connection, its owner,
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
        command.arg(script).arg(fixed.len() + 2 + keys.len());
        for key in fixed {
            command.arg(key);
        }
        command.arg(self.keys.events()).arg(self.keys.count());
        for key in keys {
            command.arg(self.keys.name(key));
        }
        command
            .arg(conn)
            .arg(owner(self.own(conn)))
            .arg(name)
            .arg(encoded);
        command
    }
}

/// One message of the room's stream: its number in the stream, the count
/// of the room's events up to its last (if it says), and its events.
pub type Entry = (String, Option<u64>, Vec<u8>);

/// The room's events as a server reads them, in order, each with its
/// number; closed when Redis is lost.
pub struct Follow {
    /// The events read.
    received: async_channel::Receiver<Entry>,
    /// Reads them (on smol's own executor, as the `redis` crate's
    /// connections run); stopped when this is dropped.
    _reader: smol::Task<()>,
}

impl Follow {
    /// The next message of the stream; `None` once Redis is lost.
    pub async fn next(&self) -> Option<Entry> {
        self.received.recv().await.ok()
    }
}
