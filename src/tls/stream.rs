//! A TLS connection as a [`Transport`]: the socket, and the session for
//! it (rustls's state and the bytes in flight, see `session`), which the
//! reader and the writer share on the server's one thread.
//!
//! The session is sans-I/O: it is handed the ciphertext the socket has and
//! gives back the ciphertext to send, so the reader and the writer each
//! move bytes between the socket and the one session, as they do between
//! the socket and the kernel for TCP. Neither holds the session across a
//! wait, so a `RefCell` is all they need, and there is no lock, and no
//! stream to split.
//!
//! A handshake is part of arriving: it runs under the connection's place
//! in the caps, within the line timeout, and one that fails (a plaintext
//! client, garbage, a client that does not trust us) ends that connection
//! only, with a line in the verbose log.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::future;
use rustls::ServerConfig;
use smol::{Async, Timer};

use crate::config::format_duration;
use crate::conn;
use crate::lines::Source;
use crate::log;
use crate::queue::QueueReceiver;
use crate::room::events::Hub;
use crate::transport::{SendBuffer, Socket, Transport, WRITE_BATCH};
use crate::Config;

use super::session::Session;

/// How long a handshake may take when the line timeout is off: a stalled
/// handshake must not hold its place forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a newcomer turned away may take to shake hands and read why.
const TURN_AWAY_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection over TLS.
pub struct Tls {
    /// The TCP socket underneath.
    socket: Socket,
    /// rustls's state: the keys, and the records coming and going.
    session: RefCell<Session>,
    /// Since when ciphertext has waited for the rest of its record: a
    /// trickled record is an unfinished line, for the line timeout.
    partial_since: Cell<Option<Instant>>,
}

/// Shakes hands with a client, then serves it as `conn::serve` serves a
/// TCP client or, for the page (`page`: whether it listens on loopback),
/// as `web::serve` does: HTTPS, and its WebSocket `wss://`. `ticket` is
/// its place in the caps, held from the first byte of the handshake.
#[allow(clippy::manual_async_fn, clippy::too_many_arguments)]
pub fn serve<Ticket: 'static>(
    socket: Socket,
    tls: Arc<ServerConfig>,
    page: Option<bool>,
    addr: SocketAddr,
    id: u64,
    hub: Hub,
    config: Arc<Config>,
    ticket: Ticket,
) -> impl Future<Output = ()> {
    async move {
        let timeout = config.line_timeout.unwrap_or(HANDSHAKE_TIMEOUT);
        // Each step is boxed, and each box made in a statement of its own:
        // what a step holds (the session, the connection's state) is then
        // not kept a second time in this task's state for the connection's
        // life, as a future awaited in place, or made in the statement that
        // awaits it, would be (4 KB of every connection, once).
        let shaking = Box::pin(handshake(socket, tls, timeout, addr));
        let made = |tls| serving(tls, page, addr, id, hub, config, ticket);
        let Some(serving) = shaking.await.map(made) else {
            return;
        };
        serving.await
    }
}

/// The connection's life after its handshake, as the chat's or the page's.
fn serving<Ticket: 'static>(
    tls: Tls,
    page: Option<bool>,
    addr: SocketAddr,
    id: u64,
    hub: Hub,
    config: Arc<Config>,
    ticket: Ticket,
) -> Pin<Box<dyn Future<Output = ()>>> {
    match page {
        None => Box::pin(conn::serve(tls, addr, id, hub, config, ticket)),
        #[cfg(feature = "web")]
        Some(loopback) => Box::pin(crate::web::serve(
            tls, addr, id, hub, config, ticket, loopback,
        )),
        #[cfg(not(feature = "web"))]
        Some(_) => Box::pin(async {}),
    }
}

/// Tells a client past a cap why it is turned away (`why`, an `error: ...`
/// line), over TLS once it has shaken hands (for the `page`, as an HTTPS
/// answer); bounded in time, all of it.
pub async fn turn_away(socket: Socket, tls: Arc<ServerConfig>, page: bool, why: &'static [u8]) {
    let addr = socket.get_ref().peer_addr();
    let farewell = async {
        let Ok(addr) = addr else { return };
        let Some(tls) = handshake(socket, tls, TURN_AWAY_TIMEOUT, addr).await else {
            return;
        };
        if page {
            #[cfg(feature = "web")]
            crate::web::turn_away(tls, why).await;
            return;
        }
        let sent = async {
            tls.session.borrow_mut().encrypt(why)?;
            tls.close().await
        };
        if sent.await.is_ok() {
            conn::linger(&tls.socket).await;
        }
    };
    future::or(farewell, async {
        Timer::after(TURN_AWAY_TIMEOUT).await;
    })
    .await;
}

/// The handshake, within `timeout`; `None` (and a line in the verbose log)
/// when it fails.
async fn handshake(
    socket: Socket,
    config: Arc<ServerConfig>,
    timeout: Duration,
    addr: SocketAddr,
) -> Option<Tls> {
    let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
    let session = match Session::new(config) {
        Ok(session) => session,
        Err(error) => {
            log::always(format_args!("{addr}: TLS: {error}"));
            return None;
        }
    };
    let tls = Tls {
        socket,
        session: RefCell::new(session),
        partial_since: Cell::new(None),
    };
    let shaken = future::or(async { Some(tls.shake().await) }, async {
        Timer::after(timeout).await;
        None
    })
    .await;
    let why = match shaken {
        Some(Ok(())) => return Some(tls),
        Some(Err(error)) => error.to_string(),
        None => format!("not finished within {}", format_duration(timeout)),
    };
    log::verbose(format_args!("{addr} TLS handshake failed: {why}"));
    None
}

impl Tls {
    /// Reads and writes until the handshake is done.
    async fn shake(&self) -> io::Result<()> {
        loop {
            let processed = self.session.borrow_mut().process();
            if let Err(error) = processed {
                // Its alert, if it can go, tells the peer why.
                let _ = self.flush().await;
                return Err(error);
            }
            self.flush().await?;
            if !self.session.borrow().is_handshaking() {
                return Ok(());
            }
            let read = self
                .socket
                .read_with(|stream| self.session.borrow_mut().read_socket(stream))
                .await?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed during the handshake",
                ));
            }
        }
    }

    /// Sends every record ready.
    async fn flush(&self) -> io::Result<()> {
        if self.session.borrow().wants_write() {
            self.socket
                .write_with(|stream| self.session.borrow_mut().write_socket(stream))
                .await?;
        }
        Ok(())
    }

    /// Sends what is pending, then `close_notify`, then the TCP half-close.
    async fn close(&self) -> io::Result<()> {
        self.session.borrow_mut().close_notify()?;
        self.flush().await?;
        self.socket.get_ref().shutdown(Shutdown::Write)
    }

    /// Reads into `buf` the plaintext there is, reading what the socket
    /// has now; 0 once the input has ended, `WouldBlock` when there is
    /// nothing yet.
    fn read_plain(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut session = self.session.borrow_mut();
        loop {
            let read = session.read_plain(buf);
            if read > 0 || buf.is_empty() || session.peer_closed() {
                return Ok(read);
            }
            // A close without `close_notify` ends the input as a TCP
            // close does: the book's clients just close.
            if session.read_socket(self.socket.get_ref())? == 0 {
                return Ok(0);
            }
            let processed = session.process();
            // Its answers (an alert, a key update) go out now, without
            // waiting for the writer.
            let _ = session.write_socket(self.socket.get_ref());
            processed?;
            match session.has_partial() {
                false => self.partial_since.set(None),
                true if self.partial_since.get().is_none() => {
                    self.partial_since.set(Some(Instant::now()))
                }
                true => {}
            }
        }
    }
}

/// The client's plaintext, as the line reader reads it.
pub struct TlsSource<'a>(&'a Tls);

impl Source for TlsSource<'_> {
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_plain(buf)
    }

    fn poll_readable(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Async::poll_readable(&*self.0.socket, context)
    }

    fn line_begun(&self) -> Option<Instant> {
        self.0.partial_since.get()
    }
}

impl Transport for Tls {
    type Source<'a> = TlsSource<'a>;

    fn socket(&self) -> &Socket {
        &self.socket
    }

    fn source(&self) -> Self::Source<'_> {
        TlsSource(self)
    }

    async fn write_queue(&self, queue: QueueReceiver) -> io::Result<()> {
        let mut send_buffer = SendBuffer::default();
        while let Some(batch) = queue.next_batch(WRITE_BATCH).await {
            self.session.borrow_mut().encrypt(batch.bytes())?;
            self.flush().await?;
            send_buffer.wrote(batch.bytes().len(), &self.socket);
        }
        self.close().await
    }
}

/// The page over TLS: the same non-blocking calls as the socket's, on
/// plaintext.
#[cfg(feature = "web")]
impl crate::web::wire::Wire for Tls {
    fn socket(&self) -> &Socket {
        &self.socket
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_plain(buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        // Full while what was written before still waits for the socket.
        let mut session = self.session.borrow_mut();
        session.write_socket(self.socket.get_ref())?;
        session.encrypt(buf)?;
        let _ = session.write_socket(self.socket.get_ref());
        Ok(buf.len())
    }

    fn try_flush(&self) -> io::Result<()> {
        self.session
            .borrow_mut()
            .write_socket(self.socket.get_ref())
    }

    fn poll_readable(&self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Async::poll_readable(&*self.socket, context)
    }

    async fn writable(&self) -> io::Result<()> {
        if self.session.borrow().wants_write() {
            self.flush().await
        } else {
            Async::writable(&*self.socket).await
        }
    }

    async fn shutdown_write(&self) -> io::Result<()> {
        self.close().await
    }
}
