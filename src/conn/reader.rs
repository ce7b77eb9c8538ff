//! A connection's reading side: the book's `handleConn` loop, which turns
//! what a client sends into messages for the room until its input ends (see
//! `ending`). In names mode each line is parsed into what it asks (see
//! `command`); the room carries it out, in its place in the order.
//!
//! The reader waits for a permit before each line (see `room::events`), so
//! a client can have only a few lines waiting for the room; and it reads
//! through a [`LineReader`], so it never holds more than one line's limit.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use smol::lock::Semaphore;
use smol::Timer;

use super::ending::InputEnd;
use super::naming;
use super::throttle::Throttle;
use crate::command::{self, Command};
use crate::lines::LineReader;
use crate::queue::{line, QueueSender, QueueWatch};
use crate::room::events::{Hub, Message, Said};
use crate::transport::Transport;
use crate::Config;

/// Reads the client's input until it ends: in names mode first its name
/// (while `unnamed` holds its queue, see `naming`), then each line it
/// sends, for the room. Returns how the input ended, and whether the
/// client had entered the audience by then.
///
/// One `async move` block, not an `async fn` nor a block around one: each
/// of those would keep these arguments twice, in every connection's state.
#[allow(clippy::too_many_arguments, clippy::manual_async_fn)]
pub fn read_input<'a, T: Transport>(
    transport: &'a T,
    id: u64,
    name: &'a str,
    hub: &'a Hub,
    permits: &'a Arc<Semaphore>,
    own_queue: &'a QueueWatch,
    config: &'a Config,
    unnamed: Option<QueueSender>,
) -> impl Future<Output = (InputEnd, bool)> + 'a {
    async move {
        let mut lines = LineReader::new(
            transport.source(),
            config.max_line_bytes,
            config.idle_timeout,
            config.line_timeout,
        );
        if let Some(queue) = unnamed {
            // Boxed, and built right inside the box (a binding would keep
            // room for it in every connection's state): only names mode
            // pays for it, and only until the client has a name.
            let entered = Box::pin(naming::enter(
                queue,
                &mut lines,
                id,
                transport.socket(),
                permits,
                hub,
                config,
            ))
            .await;
            if let Err(end) = entered {
                return (end, false);
            }
        }
        let mut throttle = Throttle::default();
        loop {
            // Over its rate, the client is read more slowly: it waits here,
            // and its lines wait in its own connection. (Boxed: the timer
            // takes room only while it runs.)
            if let Some(rate) = &config.rate {
                if let Some(until) = throttle.wait_until(rate, Instant::now()) {
                    Box::pin(Timer::at(until)).await;
                }
            }
            // Waits until the client has joined, and then whenever it has
            // enough lines in flight.
            let permit = permits.acquire_arc().await;
            let said = match lines.next_line().await {
                // Cut off: the socket was shut down under the client, so
                // an unfinished line it sent is not its last line.
                Ok(Some(_)) if own_queue.was_cut_off() => return (InputEnd::Closed, true),
                Ok(Some(text)) if config.names => match command::parse(text) {
                    Command::Quit => return (InputEnd::Quit, true),
                    command => Said::Command(Box::new(command)),
                },
                Ok(Some(text)) => Said::Line(line(&[name.as_bytes(), b": ", text])),
                Ok(None) => return (InputEnd::Closed, true),
                Err(error) => return (error.into(), true),
            };
            if let Some(rate) = &config.rate {
                throttle.count(rate, Instant::now());
            }
            let message = Message {
                from: id,
                said,
                permit: Some(permit),
            };
            if hub.messages.send(message).await.is_err() {
                return (InputEnd::ServerStopped, true);
            }
        }
    }
}
