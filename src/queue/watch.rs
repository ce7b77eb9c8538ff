//! The connection's view of its queue: whether the broadcaster cut it off,
//! and whether the client is taking its replies.
//!
//! A broadcast line is kept once, whoever has it to send; a reply (a
//! `/who`, an error, a refused name) is made for one client and kept in its
//! queue alone. `/who` in a room of 2,000 answers 5 bytes with 13 KB: a
//! client that asks and never reads would have the server hold its whole
//! send queue of answers. So the reader reads the client's next line only
//! once the replies still queued for it are under [`REPLY_BACKLOG`]: a
//! client is read as fast as it takes its answers, and otherwise waits,
//! as a flooder does, in its own connection (TCP pushes back on its
//! sender). Nothing is dropped and nobody is cut off for it. And with flood
//! control on, an answer counts against the asker's rate by its size (see
//! `conn::reader`).

use std::future::poll_fn;
use std::task::Poll;

use super::QueueWatch;

/// How many bytes of replies (as a queue counts them) a client may leave
/// unread before the server stops reading it: a few answers of any size,
/// and more than what a reader ever has waiting for its socket.
pub(super) const REPLY_BACKLOG: usize = 16 * 1024;

impl QueueWatch {
    /// What the replies queued for the client ever cost, in all: the
    /// difference across a command is what it was answered with.
    pub fn replied(&self) -> u64 {
        self.shared.lock().replied
    }

    /// Whether the broadcaster cut this client off.
    pub fn was_cut_off(&self) -> bool {
        self.shared.lock().cut_off
    }

    /// Whether the room sent this client away (see
    /// [`QueueSender::send_away`](super::QueueSender::send_away)).
    pub fn was_sent_away(&self) -> bool {
        self.shared.lock().sent_away
    }

    /// Waits until the replies queued for the client are under
    /// [`REPLY_BACKLOG`], or it will never take them (cut off, or its
    /// writer is gone).
    pub async fn replies_taken(&self) {
        poll_fn(|context| {
            let mut state = self.shared.lock();
            if state.own <= REPLY_BACKLOG || state.cut_off || state.receiver_gone {
                return Poll::Ready(());
            }
            match &mut state.watcher {
                Some(watcher) if watcher.will_wake(context.waker()) => {}
                watcher => *watcher = Some(context.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_lite::future;

    use super::super::queue;
    use super::*;
    use crate::line::Log;

    #[test]
    fn unread_replies_hold_the_reader_and_broadcasts_do_not() {
        let log = Log::default();
        let (sender, receiver, watch) = queue(1 << 20, &log);
        let ready = || future::block_on(future::poll_once(watch.replies_taken())).is_some();
        for _ in 0..100 {
            let number = log.append(Arc::new(vec![b'x'; 1000]));
            sender
                .push_shared(number, 1000, &mut super::super::Wakes::default())
                .unwrap();
        }
        assert!(ready(), "broadcast lines are shared: no wait");
        let reply = Arc::new(vec![b'y'; REPLY_BACKLOG]);
        sender.push(reply.clone()).unwrap();
        assert!(!ready(), "a backlog of replies: wait");
        assert!(future::block_on(receiver.next_batch(usize::MAX)).is_some());
        assert!(ready(), "taken by the writer");
        sender.push(reply).unwrap();
        drop(receiver);
        assert!(ready(), "a writer gone never takes them");
    }
}
