//! Names mode's manners that outlive the servers: the room applies each
//! change (a topic set, a ban, a mute, their ends) and hands it here, and
//! the order keeps it in the room's manners in Redis; a server that joins
//! reads them back before it listens, so that it knows the topic and
//! refuses the banned however late it started.
//!
//! Every server of the room applies every change, and each keeps it: the
//! same value, written as often as there are servers, which costs a few
//! writes a ban and needs no server to be the one that writes. A
//! member's own manners (an operator, muted, away: `person ID`) are kept
//! by its own server alone, as `person SERVER:CONN`, the member's origin,
//! which no later member shares: a server that joins late gives them back
//! to the member they were of, and to nobody else (see `join`).

use async_channel::Receiver;
use futures_lite::future;

use super::{Cluster, Next};
use crate::bans::Save;
use crate::log;

/// The next change to keep, once the room has one; never, once the room
/// let go of its end (or in a room that keeps none).
pub(super) async fn next(saved: Option<&Receiver<Save>>) -> Next {
    match saved {
        Some(saved) => match saved.recv().await {
            Ok(save) => Next::Save(Some(save)),
            Err(_) => Next::Save(None),
        },
        None => future::pending().await,
    }
}

impl Cluster {
    /// Keeps `save` in Redis; a room that let go has nothing more.
    pub(super) async fn keep(&mut self, save: Option<Save>) {
        let Some((mut field, value)) = save else {
            self.saved = None;
            return;
        };
        if let Some(conn) = field.strip_prefix("person ") {
            field = format!("person {}:{conn}", self.store.server);
        }
        if let Err(error) = self.store.keep(&field, value.as_deref()).await {
            log::always(format_args!("Redis: the room's {field} not kept: {error}"));
        }
    }

    /// The room's manners as Redis kept them when this server joined,
    /// for the room to know before the server listens.
    pub fn take_kept(&mut self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut self.kept)
    }
}
