//! The places taken under the caps (`--max-connections`,
//! `--max-per-address`): a newcomer holds one from its accept to the end
//! of its task, handshake and flush included, so the caps count every
//! connection the server is spending anything on.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

/// The places taken under the caps.
#[derive(Default)]
pub struct Places {
    /// Connections alive.
    pub live: usize,
    /// Connections alive per address, when there is a cap per address
    /// (an IPv4-mapped IPv6 address counts as its IPv4 address).
    by_address: HashMap<IpAddr, usize>,
}

impl Places {
    /// Connections alive from `address`.
    pub fn from(&self, address: IpAddr) -> usize {
        self.by_address.get(&address).copied().unwrap_or(0)
    }
}

/// A connection's place under the caps, given back when its task ends.
/// Everything runs on the server's one thread: a `RefCell` is enough.
pub struct Slot {
    /// The places, this one included.
    places: Rc<RefCell<Places>>,
    /// The address it counts against, when there is a cap per address.
    address: Option<IpAddr>,
    /// Dropped with the slot: the server waits for every one at shutdown.
    _done: async_channel::Sender<()>,
}

impl Slot {
    /// Takes one more place (and one from `address`).
    pub fn take(
        places: &Rc<RefCell<Places>>,
        address: Option<IpAddr>,
        done: async_channel::Sender<()>,
    ) -> Self {
        let mut taken = places.borrow_mut();
        taken.live += 1;
        if let Some(address) = address {
            *taken.by_address.entry(address).or_default() += 1;
        }
        Slot {
            places: places.clone(),
            address,
            _done: done,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut places = self.places.borrow_mut();
        places.live -= 1;
        if let Some(address) = self.address {
            if let Some(count) = places.by_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    places.by_address.remove(&address);
                }
            }
        }
    }
}
