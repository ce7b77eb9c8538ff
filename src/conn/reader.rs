//! A connection's reading side: the book's `handleConn` loop, which turns
//! what a client sends into messages for the room until its input ends (see
//! `ending`). In names mode each line is parsed into what it asks (see
//! `command`); the room carries it out, in its place in the order.
//!
//! The reader waits for a permit before each line (see `room::events`), so
//! a client can have only a few lines waiting for the room; and it reads
//! through a [`LineReader`], so it never holds more than one line's limit.

use std::future::Future;

use super::connection::{Conn, Entry};
use super::ending::{InputEnd, ReadEnd};
use super::naming;
use super::throttle::Throttle;
use crate::command::{self, Command};
use crate::line::line;
use crate::lines::LineReader;
use crate::room::events::{Message, Said, LINES_IN_FLIGHT};
use crate::transport::Transport;

/// Reads the client's input until it ends: in names mode first its name
/// (while its `entry` holds its queue, see `naming`), then each line it
/// sends, for the room.
///
/// One `async move` block, not an `async fn` nor a block around one: each
/// of those would keep these arguments twice, in every connection's state.
#[allow(clippy::manual_async_fn)]
pub fn read_input<T: Transport>(
    conn: &Conn<T>,
    entry: Entry,
) -> impl Future<Output = ReadEnd> + '_ {
    async move {
        let config = &*conn.config;
        let mut lines = LineReader::new(
            conn.transport.source(),
            config.max_line_bytes,
            config.idle_timeout,
            config.line_timeout,
        );
        // Tries at a name are paced as lines are, and count against the
        // same rate.
        let mut throttle = Throttle::default();
        if let Entry::Unnamed(queue) = entry {
            // Boxed, and built right inside the box (a binding would keep
            // room for it in every connection's state): only names mode
            // pays for it, and only until the client has a name.
            let named = Box::pin(naming::enter(conn, queue, &mut lines, &mut throttle)).await;
            if let Err(end) = named {
                return ReadEnd {
                    end,
                    entered: false,
                };
            }
        }
        loop {
            // Over its rate, the client is read more slowly: it waits here,
            // and its lines wait in its own connection.
            throttle.pace(config.rate.as_ref()).await;
            // Waits until the client has joined, and then whenever it has
            // enough lines in flight, or leaves its replies unread (see
            // `queue::watch`).
            let permit = conn.watch.permit().await;
            conn.watch.replies_taken().await;
            let said = match lines.next_line().await {
                // Cut off: the socket was shut down under the client, so
                // an unfinished line it sent is not its last line.
                Ok(Some(_)) if conn.watch.was_cut_off() => return entered(InputEnd::Closed),
                Ok(Some(text)) if config.names => match command::parse(text) {
                    Command::Quit => return entered(InputEnd::Quit),
                    #[cfg(feature = "manners")]
                    command => {
                        let password = config.operator_password.as_deref();
                        Said::Command(Box::new(command::vouch(command, password)))
                    }
                    #[cfg(not(feature = "manners"))]
                    command => Said::Command(Box::new(command)),
                },
                Ok(Some(text)) => Said::Line(line(&[conn.name.as_bytes(), b": ", text])),
                Ok(None) => return entered(InputEnd::Closed),
                Err(error) => return entered(error.into()),
            };
            throttle.counted(config.rate.as_ref());
            let message = Message {
                from: conn.id,
                said,
                permit: Some(permit),
            };
            let command = matches!(message.said, Said::Command(_));
            let replied = conn.watch.replied();
            if conn.hub.messages.send(message).await.is_err() {
                return entered(InputEnd::ServerStopped);
            }
            // A command's answer is queued before the next line is read,
            // so that the wait for replies counts it: a client cannot have
            // a few dozen answers in flight past that wait. And a long
            // answer costs the asker's rate a line a KiB past the first.
            if command {
                conn.watch.permits_back(LINES_IN_FLIGHT).await;
                let answer = conn.watch.replied().wrapping_sub(replied);
                let lines = u32::try_from(answer / ANSWER_BYTES_A_LINE).unwrap_or(u32::MAX);
                throttle.charge(config.rate.as_ref(), lines);
            }
        }
    }
}

/// How many bytes of a command's answer (as its queue counts them) cost
/// the asker one more line of its rate: `/who` in a room of 2,000 (13 KB)
/// costs 14 lines, a short answer only its own.
const ANSWER_BYTES_A_LINE: u64 = 1024;

/// How the input of a client in the audience ended.
fn entered(end: InputEnd) -> ReadEnd {
    ReadEnd { end, entered: true }
}
