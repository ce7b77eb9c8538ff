//! A connection's reading side: the book's `handleConn` loop, which turns
//! what a client sends into messages for the room, and the ways its input
//! can end.
//!
//! The reader waits for a permit before each line (see `room::events`), so
//! a client can have only a few lines waiting for the room; and it reads
//! through a [`LineReader`], so it never holds more than one line's limit.

use std::io;
use std::net::TcpStream;
use std::sync::Arc;

use async_channel::Sender;
use smol::lock::Semaphore;
use smol::Async;

use crate::config::{format_count, format_duration};
use crate::lines::{LineError, LineReader};
use crate::queue::{line, text_line, Line, QueueWatch};
use crate::room::Message;
use crate::Config;

/// How a client's input ended.
pub enum InputEnd {
    /// End of input: a close, a half-close.
    Closed,
    /// A line over the limit.
    TooLong,
    /// Nothing received for the idle timeout.
    Idle,
    /// The socket failed: a reset, for example.
    Failed(io::Error),
    /// The broadcaster is gone: the server is shutting down.
    ServerStopped,
}

/// The `error: ...` line a client gets when the server ends its session.
pub fn farewell(end: &InputEnd, config: &Config) -> Option<Line> {
    let why = match end {
        InputEnd::TooLong => format!(
            "error: line too long (the limit is {})",
            format_count(config.max_line_bytes, "byte")
        ),
        InputEnd::Idle => format!(
            "error: idle for too long (nothing received for {})",
            format_duration(config.idle_timeout.unwrap_or_default())
        ),
        _ => return None,
    };
    Some(text_line(&[&why]))
}

/// Broadcasts each line the client sends until its input ends.
pub async fn read_lines(
    socket: &Async<TcpStream>,
    name: &str,
    messages: &Sender<Message>,
    permits: &Arc<Semaphore>,
    own_queue: &QueueWatch,
    config: &Config,
) -> InputEnd {
    let mut lines = LineReader::new(socket, config.max_line_bytes, config.idle_timeout);
    loop {
        // Waits until the client has joined, and then whenever it has
        // enough lines in flight.
        let permit = permits.acquire_arc().await;
        match lines.next_line().await {
            // Cut off: the socket was shut down under the client, so an
            // unfinished line it sent is not its last line.
            Ok(Some(_)) if own_queue.was_cut_off() => return InputEnd::Closed,
            Ok(Some(text)) => {
                let line = line(&[name.as_bytes(), b": ", text]);
                if messages.send(Message { line, permit }).await.is_err() {
                    return InputEnd::ServerStopped;
                }
            }
            Ok(None) => return InputEnd::Closed,
            Err(LineError::TooLong) => return InputEnd::TooLong,
            Err(LineError::Idle) => return InputEnd::Idle,
            Err(LineError::Io(error)) => return InputEnd::Failed(error),
        }
    }
}

/// Why the input ended, for the log.
pub fn describe(end: &InputEnd, config: &Config) -> String {
    match end {
        InputEnd::Closed => "end of input".to_string(),
        InputEnd::TooLong => format!(
            "line too long (over {})",
            format_count(config.max_line_bytes, "byte")
        ),
        InputEnd::Idle => format!(
            "idle for {}",
            format_duration(config.idle_timeout.unwrap_or_default())
        ),
        InputEnd::Failed(error) => format!("connection error: {error}"),
        InputEnd::ServerStopped => "server stopping".to_string(),
    }
}
