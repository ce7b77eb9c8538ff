//! What a server that joins a room late recalls of it: the last messages
//! said before it joined, read back from the room's stream, so that
//! `--history` gives a newcomer the same recent lines on every server,
//! whenever each started.
//!
//! Book mode only: there a message travels as the line everyone receives,
//! `ADDR: TEXT`. In names mode a message travels as its text, and the
//! room names its sender as the order stood when its turn came (renames
//! included), which a server that was not there cannot replay; there each
//! server's history starts when it does.

use redis::RedisResult;

use super::store::KEPT;
use super::wire::{self, Event};
use super::{check, Cluster, Pending};
use crate::config::HISTORY_BYTES;
use crate::line::Line;
use crate::room::events::Said;
use crate::room::order;

/// How many messages of the stream one read takes, newest first: each may
/// hold many lines, and a few pages hold a history's bytes.
const PAGE: usize = 16;

impl Cluster {
    /// Hands the room, for its history, the last `--history` messages said
    /// before this server joined (book mode), oldest first.
    pub(super) async fn recall(&mut self) -> RedisResult<()> {
        if self.history == 0 || self.names {
            return Ok(());
        }
        // Newest first, as they are read.
        let mut recalled: Vec<Line> = Vec::new();
        let mut bytes = 0;
        let mut from = self.last.clone();
        'pages: for _ in 0..KEPT / PAGE {
            let entries = self.store.recent(&from, PAGE).await?;
            let full = entries.len() == PAGE;
            for (number, message) in entries {
                from = format!("({number}");
                let Ok(events) = wire::decode(&message) else {
                    continue;
                };
                for event in events.into_iter().rev() {
                    if check::refusal(&event, self.names).is_some() {
                        continue;
                    }
                    if let Event::Said {
                        said: Said::Line(line),
                        ..
                    } = event
                    {
                        bytes += line.len();
                        recalled.push(line);
                        if recalled.len() >= self.history || bytes >= HISTORY_BYTES {
                            break 'pages;
                        }
                    }
                }
            }
            if !full {
                break;
            }
        }
        for line in recalled.into_iter().rev() {
            self.pending
                .push_back(Pending::Event(order::Event::Recall(line)));
        }
        Ok(())
    }
}
