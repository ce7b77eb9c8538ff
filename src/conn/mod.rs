//! One connection, from its greeting to its close: a reader (the book's
//! `handleConn`, in `reader`) and a writer (the book's `clientWriter`).
//!
//! The reader turns the client's lines into broadcasts; the writer is the only
//! code that writes to the client, and writes whatever the broadcaster queued
//! for it, as its transport does (see `transport`). The connection ends when
//! its writer does: after the broadcaster has let go of the client's queue
//! and every queued line is flushed, or when the socket fails.

mod ending;
mod naming;
mod reader;
mod throttle;

use std::future::Future;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{future, AsyncReadExt, AsyncWriteExt, FutureExt};
use smol::lock::Semaphore;
use smol::Async;

use crate::log;
use crate::queue::queue;
use crate::room::events::{Entering, Hub, Leaving};
use crate::transport::{Socket, Transport, SEND_BUFFER};
use crate::Config;
use ending::{describe, farewell, InputEnd};
use reader::read_input;

/// The kernel's receive buffer of a connection: a few lines of the longest
/// kind in flight, however fast the client sends.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// How long a connection that ended on our side (a limit, a shutdown) keeps
/// reading, and discarding, so that the peer gets our last line before the
/// close: closing with unread input makes the kernel send a reset, which can
/// destroy data the peer has not read yet.
const LINGER: Duration = Duration::from_secs(2);

/// How long a client turned away may take to read its `error: server full`.
const TURN_AWAY_TIMEOUT: Duration = Duration::from_secs(1);

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
/// A function returning an `async move` block rather than an `async fn`:
/// an `async fn` keeps every argument twice in its state (as the argument
/// and as the binding it moves into), and this state is what each idle
/// connection costs.
#[allow(clippy::manual_async_fn)]
pub fn serve<T: Transport, Ticket>(
    transport: T,
    addr: SocketAddr,
    id: u64,
    hub: Hub,
    config: Arc<Config>,
    ticket: Ticket,
) -> impl Future<Output = ()> {
    async move {
        let socket = transport.socket();
        // As Go does for every TCP connection: a line goes out when written,
        // not when the peer's delayed acknowledgement lets Nagle's algorithm
        // send it (up to 40 ms later). The writer batches what piles up.
        let _ = socket.get_ref().set_nodelay(true);
        // The kernel's send buffer, bounded: left to autotune, a thousand
        // clients that never read pinned 1.5 GiB of the machine's TCP
        // memory (its pressure limit, which hurts every socket on the box).
        // It grows only as the client reads (see `SendBuffer`).
        let _ = rustix::net::sockopt::set_socket_send_buffer_size(socket.get_ref(), SEND_BUFFER);
        // And what a client sends waits in a bounded buffer too: a chat
        // client needs no window of megabytes, and a flooder then waits in
        // its own kernel, not in ours.
        let _ = rustix::net::sockopt::set_socket_recv_buffer_size(socket.get_ref(), RECEIVE_BUFFER);
        // An IPv4 client of a dual-stack listener is named as Go names it:
        // 127.0.0.1:PORT, not [::ffff:127.0.0.1]:PORT.
        let name: Arc<str> = SocketAddr::new(addr.ip().to_canonical(), addr.port())
            .to_string()
            .into();
        log::verbose(format_args!("{name} connected"));
        let (queue, outgoing, watch) = queue(config.send_queue_bytes, &hub.log);
        // No permits until the broadcaster has let us in.
        let permits = Arc::new(Semaphore::new(0));
        // Book mode: in line to join at once, and greeted by the room when
        // it joins. Names mode: asked its name first (see `naming`).
        let unnamed = if config.names {
            Some(queue)
        } else {
            let entering = Entering {
                id,
                name: name.clone(),
                queue,
                socket: socket.clone(),
                permits: permits.clone(),
                naming: None,
            };
            if hub.entering.send(entering).await.is_err() {
                return;
            }
            None
        };

        // The reader and the writer live in this inner future, which is
        // gone before the linger below: the two never take room together.
        let (input, output) = async {
            let mut reader = pin!(read_input(
                &transport, id, &name, &hub, &permits, &watch, &config, unnamed
            ));
            let mut writer = pin!(async {
                match transport.write_queue(outgoing).await {
                    _ if watch.was_cut_off() => OutputEnd::CutOff,
                    Ok(()) => OutputEnd::Flushed,
                    Err(_) => OutputEnd::Failed,
                }
            });

            let first = async { Ok(reader.as_mut().await) }
                .or(async { Err(writer.as_mut().await) })
                .await;
            let (input, output) = match first {
                Ok(input) => (Some(input), None),
                // The peer can no longer receive, but what it sent before
                // still counts, as in the book: read it to the end.
                Err(OutputEnd::Failed) => (Some(reader.as_mut().await), Some(OutputEnd::Failed)),
                // Cut off, or the server is stopping: the input no longer
                // matters.
                Err(output) => (None, Some(output)),
            };
            // Whether it never entered the audience (names mode: it never
            // gave a name) is known only from its reader. When the writer
            // ended first (a cut-off, say), it is in, or was.
            let never_entered = matches!(input, Some((_, false)));
            let input = input.map(|(input, _)| input);
            let farewell = input.as_ref().and_then(|input| farewell(input, &config));
            if let (Some(input), Some(_)) = (&input, &farewell) {
                log::always(format_args!(
                    "{name} disconnected: {}",
                    describe(input, &config)
                ));
            }
            if !never_entered {
                // Out of the audience; the broadcaster delivers this
                // client's last lines first, then announces the leave (once,
                // however it ended).
                let _ = hub.leaving.send(Leaving { id, farewell }).await;
            }
            if output.is_none() {
                // Flush what is queued, but not forever: a client that
                // stopped reading is no longer in the audience, so nothing
                // else cuts it off.
                let flushed = async {
                    writer.as_mut().await;
                };
                let deadline = async {
                    smol::Timer::after(config.flush_timeout).await;
                };
                flushed.or(deadline).await;
            }
            (input, output)
        }
        .await;

        let clean = matches!(input, Some(InputEnd::Closed | InputEnd::Failed(_)));
        if !clean && !matches!(output, Some(OutputEnd::CutOff)) {
            linger(socket).await;
        }
        let why = match (&input, &output) {
            (_, Some(OutputEnd::CutOff)) => "cut off (send queue full)".to_string(),
            (Some(input), _) => describe(input, &config),
            (None, _) => "server stopping".to_string(),
        };
        log::verbose(format_args!("{name} left: {why}"));
        drop(ticket);
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
