//! This server's events on their way to the room's stream: gathered into
//! batches, one round trip each, so that a busy server sends many lines to
//! an `XADD`.

use futures_lite::future;

use super::wire::{self, Origin};
use super::{Cluster, Pending};
use crate::command::Command;
use crate::line::text_line;
use crate::log;
use crate::names;
use crate::room::events::{Leaving, Message, Said};
use crate::room::order::Event;

/// The most local events published in one round trip.
const BATCH: usize = 256;

/// The most bytes of lines published in one round trip (and one more
/// line): a batch of the longest lines must not take gigabytes.
const BATCH_BYTES: usize = 1024 * 1024;

/// What a client is told of its lines that were on their way when Redis
/// was lost.
const UNSURE: &str = "error: the room is unreachable: your last lines may not have gone out";

impl Cluster {
    /// Publishes `first` and whatever else this server has ready, in one
    /// round trip; then takes what the room delivered meanwhile, before
    /// more of this server's own events: with more clients talking than a
    /// batch holds there are always more, and this server's clients would
    /// hear nothing meanwhile, echoes included.
    pub(super) async fn publish_from(&mut self, first: Event) {
        let mut bytes = weight(&first);
        let mut batch = vec![first];
        while batch.len() < BATCH && bytes < BATCH_BYTES {
            match future::poll_once(self.local.next_local()).await {
                Some(None) => {
                    self.stopping = true;
                    break;
                }
                Some(Some(event)) => {
                    bytes += weight(&event);
                    batch.push(event);
                }
                None => break,
            }
        }
        let published = self.publish(batch).await;
        for _ in 0..BATCH {
            let Some(following) = &self.events else {
                break;
            };
            let Some(Some(entry)) = future::poll_once(following.next()).await else {
                break;
            };
            self.receive(entry).await;
        }
        if let Err(error) = published {
            self.lose(&format!("lost: {error}"));
        }
    }

    /// Publishes this server's events, in order, in one round trip.
    /// Lines go out several to a message; arrivals, renames and leaves
    /// each in their own atomic step (see `store`).
    pub(super) async fn publish(&mut self, batch: Vec<Event>) -> redis::RedisResult<()> {
        let mut commands = redis::pipe();
        let mut lines = Gathered::default();
        let mut permits = Vec::new();
        let mut senders = Vec::new();
        for event in batch {
            match event {
                Event::Message(Message { from, said, permit }) => {
                    permits.push(permit);
                    senders.push(from);
                    // A valid name is claimed as the rename goes out; the
                    // room refuses any other, in its place in the order.
                    if let Said::Command(command) = &said {
                        if let Command::Nick(new) = &**command {
                            if let Ok(name) = names::parse(new) {
                                self.flush(&mut lines, &mut commands);
                                let store = &self.store;
                                let rename = store.rename(from, name.shown.as_bytes(), &name.keys);
                                commands.add_command(rename).ignore();
                                continue;
                            }
                        }
                    }
                    let from = self.own(from);
                    wire::encode(&wire::Event::Said { from, said }, &mut lines.bytes);
                    lines.events += 1;
                }
                Event::Enter(entering) => {
                    self.flush(&mut lines, &mut commands);
                    // Book mode's name is the address, unique in the room.
                    let address = [Box::from(&*entering.name)];
                    let keys = entering
                        .naming
                        .as_ref()
                        .map_or(&address[..], |naming| &naming.keys);
                    let arrival = self
                        .store
                        .arrival(entering.id, entering.name.as_bytes(), keys);
                    commands.add_command(arrival).ignore();
                    self.entering.insert(entering.id, entering);
                }
                Event::Leave(Leaving { id, farewell }) if self.strangers.remove(&id) => {
                    let leave = Event::Leave(Leaving { id, farewell });
                    self.pending.push_back(Pending::Event(leave));
                }
                Event::Leave(Leaving { id, farewell }) => {
                    self.flush(&mut lines, &mut commands);
                    let departure = self.store.departure(self.own(id), false);
                    commands.add_command(departure).ignore();
                    self.farewells.insert(id, farewell);
                }
                Event::Arrive { .. } | Event::Tell { .. } | Event::Recall(_) => {
                    log::always(format_args!("Redis: a room's event among this server's"));
                }
            }
        }
        self.flush(&mut lines, &mut commands);
        let sent = self.store.send(&commands).await;
        if sent.is_err() {
            // Whether they went out cannot be known: their senders hear so.
            senders.sort_unstable();
            senders.dedup();
            let unsure = Event::Tell {
                to: senders,
                line: text_line(&[UNSURE]),
            };
            self.pending.push_back(Pending::Event(unsure));
        }
        drop(permits);
        sent
    }

    /// Moves the lines gathered so far into one message of the stream.
    fn flush(&self, lines: &mut Gathered, commands: &mut redis::Pipeline) {
        if lines.events > 0 {
            let Gathered { bytes, events } = std::mem::take(lines);
            commands
                .add_command(self.store.publish_command(bytes, events))
                .ignore();
        }
    }

    /// This server's client `conn`, as the room knows it.
    pub(super) fn own(&self, conn: u64) -> Origin {
        Origin {
            server: self.store.server,
            conn,
        }
    }
}

/// Lines gathered for one message of the stream.
#[derive(Default)]
struct Gathered {
    /// Their events, encoded.
    bytes: Vec<u8>,
    /// How many.
    events: usize,
}

/// About how many bytes `event` puts in a batch.
fn weight(event: &Event) -> usize {
    let Event::Message(Message { said, .. }) = event else {
        return 64;
    };
    match said {
        Said::Line(line) => line.len(),
        Said::Command(command) => match &**command {
            Command::Say(text) | Command::Me(text) => text.len(),
            Command::Msg { to, text } => to.len() + text.len(),
            _ => 64,
        },
    }
}
