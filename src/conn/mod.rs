//! The connection wing: one connection, from its greeting to its close, a
//! reader (the book's `handleConn`, in `reader`) and a writer (the book's
//! `clientWriter`).
//!
//! The reader turns the client's lines into broadcasts; the writer is the only
//! code that writes to the client, and writes whatever the broadcaster queued
//! for it, as its transport does (see `transport`). The connection ends when
//! its writer does: after the broadcaster has let go of the client's queue
//! and every queued line is flushed, or when the socket fails.
//!
//! [`serve`] is named phases over one [`Conn`]: `enter` (in line to join,
//! or names mode's way in), `run` (the reader and the writer until one
//! ends, then `leave` and the flush), and `close` (the linger, the log).
//! This wing talks to the room only through `room::events`, the corridor.

mod connection;
mod ending;
mod naming;
mod reader;
mod throttle;

use std::future::Future;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{future, AsyncReadExt, AsyncWriteExt, FutureExt};
use smol::Async;

use crate::log;
use crate::queue;
use crate::room::events::{Entering, Hub, Leaving};
use crate::transport::{Socket, Transport};
use crate::Config;
use connection::{Conn, Entry};
use ending::{describe, farewell, InputEnd, ReadEnd};
use reader::read_input;

/// How long a connection that ended on our side (a limit, a shutdown) keeps
/// reading, and discarding, so that the peer gets our last line before the
/// close: closing with unread input makes the kernel send a reset, which can
/// destroy data the peer has not read yet.
const LINGER: Duration = Duration::from_secs(2);

/// How long a client turned away may take to read its `error: server full`.
const TURN_AWAY_TIMEOUT: Duration = Duration::from_secs(1);

/// How a connection's two sides ended.
struct Ended {
    /// How its input ended, if that still mattered: not when it was cut
    /// off, or the server stopped, before its input ended.
    input: Option<ReadEnd>,
    /// How its output ended, if it did before the input: `None` while it
    /// was still flushing.
    output: Option<OutputEnd>,
}

/// How the writer's part ended.
enum OutputEnd {
    /// The broadcaster let go of the queue and everything was written.
    Flushed,
    /// Cut off for not reading.
    CutOff,
    /// The socket failed for writing: the peer reset or closed it.
    Failed,
}

/// Serves one client from its greeting to its close. `ticket` is dropped
/// when the connection ends (the server counts live connections with it).
///
/// The connection is set up here, and only its life is a future: what a
/// future captures keeps its room for as long as the future lives, even
/// once moved on, so the arguments are moved into the [`Conn`] first, and
/// the future holds each of them once. This state is what each idle
/// connection costs.
pub fn serve<T: Transport, Ticket>(
    transport: T,
    addr: SocketAddr,
    id: u64,
    hub: Hub,
    config: Arc<Config>,
    ticket: Ticket,
) -> impl Future<Output = ()> {
    // An IPv4 client of a dual-stack listener is named as Go names it:
    // 127.0.0.1:PORT, not [::ffff:127.0.0.1]:PORT.
    let name: Arc<str> = SocketAddr::new(addr.ip().to_canonical(), addr.port())
        .to_string()
        .into();
    log::verbose(format_args!("{name} connected"));
    let watch = queue::watch(config.send_queue_bytes);
    let conn = Conn {
        transport,
        id,
        name,
        hub,
        config,
        watch,
    };
    async move {
        let Some(entry) = conn.enter().await else {
            return;
        };
        let ended = conn.run(entry).await;
        conn.close(&ended, ticket).await;
    }
}

impl<T: Transport> Conn<T> {
    /// Book mode: in line to join at once (and greeted when the room's kind
    /// says, see `events::Greeting`). Names mode: asked its name first, by
    /// its reader. `None` when the server is stopping.
    async fn enter(&self) -> Option<Entry> {
        let queue = self.watch.sender();
        if self.config.names {
            return Some(Entry::Unnamed(queue));
        }
        let entering = Entering {
            id: self.id,
            name: self.name.clone(),
            queue,
            socket: self.transport.socket().clone(),
            naming: None,
        };
        self.hub.join(entering).await.then_some(Entry::Queued)
    }

    /// Reads and writes until one side ends, then leaves the room and
    /// flushes what is queued. The reader and the writer live in this
    /// future, which is gone before the connection lingers: the two never
    /// take room together.
    ///
    /// (An `async move` block, as [`serve`] is, and for the same reason.)
    #[allow(clippy::manual_async_fn)]
    fn run(&self, entry: Entry) -> impl Future<Output = Ended> + '_ {
        async move {
            let mut reader = pin!(read_input(self, entry));
            let outgoing = self.watch.receiver(&self.hub.log);
            let mut writer = pin!(self.transport.write_queue(outgoing));
            let first = async { Ok(reader.as_mut().await) }
                .or(async { Err(self.output_end(writer.as_mut().await)) })
                .await;
            let ended = match first {
                Ok(input) => Ended {
                    input: Some(input),
                    output: None,
                },
                // The peer can no longer receive, but what it sent before
                // still counts, as in the book: read it to the end.
                Err(OutputEnd::Failed) => Ended {
                    input: Some(reader.as_mut().await),
                    output: Some(OutputEnd::Failed),
                },
                // Cut off, or the server is stopping: the input no longer
                // matters.
                Err(output) => Ended {
                    input: None,
                    output: Some(output),
                },
            };
            // Boxed: what follows the reading takes no room in the idle
            // connection's state.
            Box::pin(self.finish(&ended, writer)).await;
            ended
        }
    }

    /// Leaves the room, then flushes what is queued if the writer did
    /// not end first; but not forever: a client that stopped reading is
    /// no longer in the audience, so nothing else cuts it off.
    async fn finish<W: Future>(&self, ended: &Ended, writer: Pin<&mut W>) {
        self.leave(ended).await;
        if ended.output.is_none() {
            let deadline = async {
                smol::Timer::after(self.config.flush_timeout).await;
            };
            let flushed = async {
                writer.await;
            };
            flushed.or(deadline).await;
        }
    }

    /// How the writer ended, with `written`: it writes what the room
    /// queues for the client until the room lets go of its queue, or the
    /// socket fails. (Its future is the transport's own, not one around it,
    /// which would keep its queue twice in every connection's state.)
    fn output_end(&self, written: std::io::Result<()>) -> OutputEnd {
        match written {
            _ if self.watch.was_cut_off() => OutputEnd::CutOff,
            Ok(()) => OutputEnd::Flushed,
            Err(_) => OutputEnd::Failed,
        }
    }

    /// Out of the audience, with the `error: ...` line the client earned;
    /// the room delivers its last lines first, then announces the leave
    /// (once, however it ended). A client that never entered (names mode:
    /// it never gave a name) has nothing to leave. When the writer ended
    /// first (a cut-off, say), it is in, or was.
    async fn leave(&self, ended: &Ended) {
        let end = ended.input.as_ref();
        let farewell = end.and_then(|input| farewell(&input.end, &self.config));
        if let (Some(input), Some(_)) = (end, &farewell) {
            let why = describe(&input.end, &self.config);
            log::always(format_args!("{} disconnected: {why}", self.name));
        }
        if end.is_some_and(|input| !input.entered) {
            return;
        }
        let leaving = Leaving {
            id: self.id,
            farewell,
        };
        let _ = self.hub.leaving.send(leaving).await;
    }

    /// Lingers if the connection ended on our side, so that the client
    /// gets our last line; then logs why it left, and lets go of its
    /// `ticket` (its place under the caps). One the room sent away (a
    /// kick, a ban) lets go of it before it lingers, its last lines
    /// flushed, as one cut off does: the room logged why it left.
    async fn close<Ticket>(&self, ended: &Ended, ticket: Ticket) {
        let input = ended.input.as_ref().map(|input| &input.end);
        let clean = matches!(input, Some(InputEnd::Closed | InputEnd::Failed(_)));
        let cut_off = matches!(ended.output, Some(OutputEnd::CutOff));
        let sent_away = input.is_none() && self.watch.was_sent_away();
        if sent_away {
            drop(ticket);
        }
        if !clean && !cut_off {
            linger(self.transport.socket()).await;
        }
        if sent_away {
            return;
        }
        let why = match input {
            _ if cut_off => "cut off (send queue full)".to_string(),
            Some(input) => describe(input, &self.config),
            None => "server stopping".to_string(),
        };
        log::verbose(format_args!("{} left: {why}", self.name));
    }
}

/// Tells a client past a cap why it is turned away (`why`, an `error: ...`
/// line), and closes; bounded in time, so a flood of newcomers cannot pile
/// these up.
pub async fn turn_away(socket: Socket, why: &'static [u8]) {
    let mut writer = &*socket;
    let farewell = async {
        if writer.write_all(why).await.is_ok() {
            let _ = socket.get_ref().shutdown(Shutdown::Write);
            linger(&socket).await;
        }
    };
    future::or(farewell, async {
        smol::Timer::after(TURN_AWAY_TIMEOUT).await;
    })
    .await;
}

/// Reads and discards what the peer still sends, until it closes or
/// [`LINGER`] passes, so that our close does not reset the connection.
pub(crate) async fn linger(socket: &Async<TcpStream>) {
    let mut stream = socket;
    let drain = async {
        // On the heap: this future is part of every connection's state.
        let mut scratch = vec![0u8; 512];
        while let Ok(1..) = stream.read(&mut scratch).await {}
    };
    future::or(drain, async {
        smol::Timer::after(LINGER).await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::events::{channels, Greeting};
    use crate::transport::Tcp;

    /// What each idle connection costs, most of it: its task's future,
    /// which holds the reader's and the writer's states side by side (968
    /// bytes before the reader's wait was a poll over its own state, the
    /// writer's waits poll functions, the hub one pointer, the queue's
    /// ends made where they are needed and the leave boxed).
    #[test]
    fn an_idle_connections_task_stays_small() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, addr) = listener.accept().unwrap();
        let socket = Arc::new(Async::new(accepted).unwrap());
        let hub = channels(Greeting::AtOnce).hub;
        let task = serve(Tcp(socket), addr, 1, hub, Arc::default(), ());
        let size = std::mem::size_of_val(&task);
        assert!(size <= 640, "{size} bytes");
    }
}
