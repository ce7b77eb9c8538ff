//! The connection's permits to have lines in flight (see `room::events`),
//! counted in its queue's shared state.
//!
//! A semaphore of its own cost every connection two allocations for its
//! life (the semaphore, and its listeners' list once the reader first
//! waited, which it does before the room lets it in: 128 bytes of the
//! allocator's); here the count is one more field under the queue's lock,
//! and the reader waits in the slot it waits in for its replies to be
//! taken (see `watch`): the two waits are the reader's, one at a time.

use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{QueueSender, QueueWatch, Shared};

/// A line's permit to be in flight: back to its connection when dropped,
/// once the room has taken the line.
pub struct Permit {
    /// The queue whose count it goes back to.
    shared: Arc<Shared>,
}

impl QueueSender {
    /// Grants the connection `count` more permits: the room lets it in.
    pub fn grant(&self, count: usize) {
        let mut state = self.shared.lock();
        state.permits += count;
        let watcher = state.watcher.take();
        drop(state);
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }
}

impl QueueWatch {
    /// Waits for a permit to have one more line in flight.
    pub fn permit(&self) -> impl Future<Output = Permit> + '_ {
        poll_fn(|context| match self.poll_permits(context, 1) {
            Poll::Ready(()) => {
                self.shared.lock().permits -= 1;
                Poll::Ready(Permit {
                    shared: self.shared.clone(),
                })
            }
            Poll::Pending => Poll::Pending,
        })
    }

    /// Waits until `count` permits are back, the ones the room granted:
    /// the room has taken every line the client had in flight.
    pub fn permits_back(&self, count: usize) -> impl Future<Output = ()> + '_ {
        poll_fn(move |context| self.poll_permits(context, count))
    }

    /// Ready once `count` permits are here; else the reader is woken when
    /// one comes back.
    fn poll_permits(&self, context: &mut Context<'_>, count: usize) -> Poll<()> {
        let mut state = self.shared.lock();
        if state.permits >= count {
            return Poll::Ready(());
        }
        match &mut state.watcher {
            Some(watcher) if watcher.will_wake(context.waker()) => {}
            watcher => *watcher = Some(context.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.permits += 1;
        let watcher = state.watcher.take();
        drop(state);
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_lite::future;

    use super::super::queue;
    use crate::line::Log;

    #[test]
    fn none_until_granted_and_each_back_when_dropped() {
        let (sender, _receiver, watch) = queue(1000, &Log::default());
        let now = |watch: &super::QueueWatch| future::block_on(future::poll_once(watch.permit()));
        assert!(now(&watch).is_none(), "not let in yet");
        sender.grant(2);
        let first = now(&watch).expect("granted");
        let _second = now(&watch).expect("granted");
        assert!(now(&watch).is_none(), "both in flight");
        let back = || future::block_on(future::poll_once(watch.permits_back(2))).is_some();
        assert!(!back());
        drop(first);
        assert!(now(&watch).is_some(), "one back, and back again");
        assert!(!back(), "the second is still in flight");
    }

    #[test]
    fn a_waiting_reader_wakes_for_its_grant_and_for_a_permit_back() {
        let (sender, _receiver, watch) = queue(1000, &Log::default());
        let executor = smol::LocalExecutor::new();
        let held = std::rc::Rc::new(std::cell::RefCell::new(None));
        let in_flight = held.clone();
        let reader = executor.spawn(async move {
            let permit = watch.permit().await;
            *in_flight.borrow_mut() = Some(permit);
            watch.permits_back(1).await;
        });
        while executor.try_tick() {}
        assert!(held.borrow().is_none(), "not let in yet");
        sender.grant(1);
        while executor.try_tick() {}
        assert!(held.borrow().is_some(), "let in: a line in flight");
        assert!(!reader.is_finished(), "waiting for it to come back");
        drop(held.borrow_mut().take());
        while executor.try_tick() {}
        assert!(reader.is_finished(), "the room took it: all back");
    }
}
