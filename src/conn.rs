//! One connection: a reader (the book's `handleConn`) and a writer (the
//! book's `clientWriter`).
//!
//! The reader turns the client's lines into broadcasts; the writer is the only
//! code that writes to the socket, and writes whatever the broadcaster queued
//! for this client. The connection ends when its writer does: after the
//! broadcaster has let go of the client's queue and every queued line is
//! flushed, or when the socket fails.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_channel::Sender;
use async_net::TcpStream;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt, FutureExt};

use crate::broadcaster::{Entering, Leaving};
use crate::config::format_duration;
use crate::lines::{LineError, LineReader};
use crate::log;
use crate::queue::{queue, Line, QueueReceiver};
use crate::Config;

/// Largest batch the writer gathers from its queue for one write.
const WRITE_BATCH: usize = 64 * 1024;

/// How long a connection that ended on our side (a limit, a shutdown) keeps
/// reading, and discarding, so that the peer gets our last line before the
/// close: closing with unread input makes the kernel send a reset, which can
/// destroy data the peer has not read yet.
const LINGER: Duration = Duration::from_secs(2);

/// How long a client turned away may take to read its `error: server full`.
const TURN_AWAY_TIMEOUT: Duration = Duration::from_secs(1);

/// The senders a connection uses to talk to the broadcaster.
#[derive(Clone)]
pub struct Hub {
    /// To join the audience.
    pub entering: Sender<Entering>,
    /// To leave it.
    pub leaving: Sender<Leaving>,
    /// To broadcast a line.
    pub messages: Sender<Line>,
}

/// How a client's input ended.
enum InputEnd {
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

/// Serves one client from its greeting to its close.
pub async fn serve(stream: TcpStream, addr: SocketAddr, id: u64, hub: Hub, config: Arc<Config>) {
    let name: Arc<str> = addr.to_string().into();
    log::verbose(format_args!("{name} connected"));
    let (queue, outgoing) = queue(config.send_queue_bytes);
    let _ = queue.push(format_line(&["You are ", &name]));
    let (joined, has_joined) = async_channel::bounded(1);
    let entering = Entering {
        id,
        name: name.clone(),
        queue,
        stream: stream.clone(),
        joined,
    };
    if hub.entering.send(entering).await.is_err() {
        return;
    }

    let mut reader = pin!(async {
        if has_joined.recv().await.is_err() {
            return InputEnd::ServerStopped;
        }
        read_lines(stream.clone(), &name, &hub.messages, &config).await
    });
    let mut writer = pin!(write_queue(outgoing, stream.clone()));

    let input_end = async { Some(reader.as_mut().await) };
    let output_end = async {
        let _ = writer.as_mut().await;
        None
    };
    match input_end.or(output_end).await {
        Some(input) => {
            let farewell = farewell(&input, &config);
            if farewell.is_some() {
                log::always(format_args!(
                    "{name} disconnected: {}",
                    describe(&input, &config)
                ));
            }
            let _ = hub.leaving.send(Leaving { id, farewell }).await;
            let _ = writer.as_mut().await;
            if !matches!(input, InputEnd::Closed | InputEnd::Failed(_)) {
                linger(&stream).await;
            }
            log::verbose(format_args!("{name} left: {}", describe(&input, &config)));
        }
        None => {
            // Cut off by the broadcaster, the server is stopping, or the
            // socket failed: make sure we are out of the audience.
            let _ = hub.leaving.send(Leaving { id, farewell: None }).await;
            linger(&stream).await;
            log::verbose(format_args!("{name} left: output ended"));
        }
    }
}

/// The `error: ...` line a client gets when the server ends its session.
fn farewell(end: &InputEnd, config: &Config) -> Option<Line> {
    let why = match end {
        InputEnd::TooLong => format!(
            "error: line too long (the limit is {} bytes)",
            config.max_line_bytes
        ),
        InputEnd::Idle => format!(
            "error: idle for too long (nothing received for {})",
            format_duration(config.idle_timeout.unwrap_or_default())
        ),
        _ => return None,
    };
    Some(format_line(&[&why]))
}

/// Tells a client past the connection cap that the server is full, and
/// closes; bounded in time, so a flood of newcomers cannot pile these up.
pub async fn turn_away(stream: TcpStream) {
    let mut writer = stream.clone();
    let farewell = async {
        if writer.write_all(b"error: server full\n").await.is_ok() {
            let _ = writer.shutdown(Shutdown::Write);
            linger(&stream).await;
        }
    };
    future::or(farewell, async {
        smol::Timer::after(TURN_AWAY_TIMEOUT).await;
    })
    .await;
}

/// Broadcasts each line the client sends until its input ends.
async fn read_lines(
    stream: TcpStream,
    name: &str,
    messages: &Sender<Line>,
    config: &Config,
) -> InputEnd {
    let mut lines = LineReader::new(stream, config.max_line_bytes, config.idle_timeout);
    loop {
        match lines.next_line().await {
            Ok(Some(text)) => {
                let mut line = Vec::with_capacity(name.len() + 2 + text.len() + 1);
                line.extend_from_slice(name.as_bytes());
                line.extend_from_slice(b": ");
                line.extend_from_slice(text);
                line.push(b'\n');
                if messages.send(Line::from(line)).await.is_err() {
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

/// Writes every line queued for the client, several per write when they pile
/// up, until the queue is closed and empty; then half-closes the socket.
async fn write_queue(queue: QueueReceiver, mut stream: TcpStream) -> io::Result<()> {
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        let Some(second) = queue.try_recv() else {
            stream.write_all(&first).await?;
            continue;
        };
        batch.extend_from_slice(&first);
        batch.extend_from_slice(&second);
        while batch.len() < WRITE_BATCH {
            let Some(next) = queue.try_recv() else { break };
            batch.extend_from_slice(&next);
        }
        stream.write_all(&batch).await?;
        batch.clear();
        if queue.is_empty() {
            // Idle again: do not keep a burst's buffer for the quiet time.
            batch = Vec::new();
        }
    }
    stream.flush().await?;
    stream.shutdown(Shutdown::Write)
}

/// Reads and discards what the peer still sends, until it closes or
/// [`LINGER`] passes, so that our close does not reset the connection.
async fn linger(stream: &TcpStream) {
    let mut stream = stream.clone();
    let drain = async {
        let mut scratch = [0u8; 512];
        while let Ok(1..) = stream.read(&mut scratch).await {}
    };
    future::or(drain, async {
        smol::Timer::after(LINGER).await;
    })
    .await;
}

/// The pieces joined and a newline added, as one line.
fn format_line(pieces: &[&str]) -> Line {
    let mut line = pieces.concat().into_bytes();
    line.push(b'\n');
    Line::from(line)
}

/// Why the input ended, for the log.
fn describe(end: &InputEnd, config: &Config) -> String {
    match end {
        InputEnd::Closed => "end of input".to_string(),
        InputEnd::TooLong => format!("line too long (over {} bytes)", config.max_line_bytes),
        InputEnd::Idle => format!(
            "idle for {}",
            format_duration(config.idle_timeout.unwrap_or_default())
        ),
        InputEnd::Failed(error) => format!("connection error: {error}"),
        InputEnd::ServerStopped => "server stopping".to_string(),
    }
}
