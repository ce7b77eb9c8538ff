//! Names mode's manners in a build without the feature `manners`: none.
//! The room asks the same questions of them (see `manners`, the real
//! one), and each answer is that nobody is muted, ignored or away, so
//! that they cost the default build nothing.

use crate::bans::Bans;
use crate::line::Line;
use crate::queue::QueueSender;
use crate::room::events::Message;
use crate::transport::Socket;
use crate::Config;

/// No manners to keep.
#[derive(Default)]
pub struct Manners;

impl Manners {
    /// No manners, whatever `config` says (it cannot ask for any).
    pub fn new(_config: &Config, _bans: Bans, _marks: &async_channel::Sender<Message>) -> Self {
        Manners
    }

    /// No message of the day, no topic.
    #[inline]
    pub fn welcome(&self, _queue: &QueueSender) {}

    /// Nobody is muted.
    #[inline]
    pub fn joined(&mut self, _id: u64, _socket: &Socket) {}

    /// Nobody is muted.
    #[inline]
    pub fn silenced(&mut self, _id: u64) -> Option<Line> {
        None
    }

    /// Nobody ignores anyone.
    #[inline]
    pub fn ignorers(&self, _id: u64) -> Option<Vec<u64>> {
        None
    }

    /// Nobody ignores anyone.
    #[inline]
    pub fn ignores(&self, _who: u64, _whom: u64) -> bool {
        false
    }

    /// Nobody is away.
    #[inline]
    pub fn away(&self, _id: u64) -> Option<&[u8]> {
        None
    }

    /// Nothing to forget.
    #[inline]
    pub fn left(&mut self, _id: u64) {}

    /// Nothing to keep in Redis.
    #[cfg(feature = "redis")]
    pub fn keep_in(&mut self, _saves: async_channel::Sender<crate::bans::Save>) {}

    /// Nothing kept to restore (a room of servers with manners may have
    /// some: this server has no use for them).
    #[cfg(feature = "redis")]
    pub fn restore(&mut self, _kept: Vec<(String, Vec<u8>)>) {}

    /// Nor a member's.
    #[cfg(feature = "redis")]
    pub fn restore_person(&mut self, _id: u64, _kept: &[u8]) {}
}

/// The commands of operators and manners, which this build does not have.
pub mod ask {
    use std::sync::Arc;

    use super::Manners;
    use crate::command::Ask;
    use crate::room::audience::Audience;

    /// Never asked in this build (a line is never parsed into one); from
    /// another server of the room, built with them, nothing happens.
    #[inline]
    pub fn apply(
        _from: u64,
        _name: &Arc<str>,
        _ask: Ask,
        _arg: &[u8],
        _audience: &mut Audience,
        _manners: &mut Manners,
    ) -> Option<usize> {
        None
    }
}
