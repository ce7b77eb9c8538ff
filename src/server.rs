//! The accept loop: the book's `main` goroutine.
//!
//! It starts the broadcaster, accepts connections and gives each its own task
//! until the shutdown future completes. Then it stops accepting, lets the
//! broadcaster deliver what is queued and release every client, and waits, for
//! a bounded grace period, for the connections to flush and close.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use async_net::TcpListener;
use futures_lite::future;
use rustix::io::Errno;
use smol::{Async, LocalExecutor, Timer};

use crate::config::format_count;
use crate::conn;
use crate::log;
use crate::places::{Places, Slot};
use crate::room;
use crate::room::events::Hub;
use crate::transport::{Socket, Tcp};
use crate::Config;

/// How long the accept loop rests after a failed accept (out of file
/// descriptors, say) instead of spinning on the same error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Binds a listener as Go's `net.Listen` does: `SO_REUSEADDR`, so a
/// restarted server can bind while old connections linger in TIME_WAIT, and
/// the largest accept backlog the kernel allows (`somaxconn`), so a burst of
/// thousands of connections waits in the kernel instead of being dropped.
/// (Rust's standard library asks for a backlog of only 128.)
///
/// `[::]` (what `:PORT` means) is every interface for IPv4 and IPv6 alike,
/// as in Go; on a machine without IPv6 it becomes `0.0.0.0`.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let every_interface = addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    match bind(addr, every_interface) {
        Err(error)
            if every_interface && Errno::from_io_error(&error) == Some(Errno::AFNOSUPPORT) =>
        {
            bind(
                SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port()),
                false,
            )
        }
        bound => bound,
    }
}

/// The socket calls of [`listen`]; `dual_stack` also takes IPv4 clients on
/// an IPv6 socket, whatever the system's default (`bindv6only`).
fn bind(addr: SocketAddr, dual_stack: bool) -> io::Result<TcpListener> {
    use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&socket, true)?;
    if dual_stack {
        sockopt::set_ipv6_v6only(&socket, false)?;
    }
    rustix::net::bind(&socket, &addr)?;
    // The kernel caps the backlog at net.core.somaxconn.
    rustix::net::listen(&socket, i32::MAX)?;
    TcpListener::try_from(std::net::TcpListener::from(socket))
}

/// Serves chat clients on `listener` until `shutdown` completes, then closes
/// every connection gracefully and returns.
///
/// Everything runs on one thread, the caller's: a chat server's work is
/// moving bytes between sockets, and one thread does that with no lock
/// ever contended. (A second thread, measured on two cores, made
/// connecting and leaving slower and delivery no faster.) Tests bind port
/// 0 and pass the listener in.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    run(listener, None, config, shutdown).await
}

/// [`serve`], and the page on `http` (`--http`): browsers join the same
/// room, under the same caps.
#[cfg(feature = "web")]
pub async fn serve_with_page(
    listener: TcpListener,
    http: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    run(listener, Some(http), config, shutdown).await
}

/// [`serve`], with the page's listener if there is one.
async fn run(
    listener: TcpListener,
    http: Option<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = Arc::new(config);
    for listener in std::iter::once(&listener).chain(&http) {
        crate::transport::tune(listener.as_fd());
    }
    let executor = LocalExecutor::new();
    executor
        .run(async {
            let room::Opened { hub, stop, run } =
                room::open(&config, listener.local_addr().ok(), http.is_some()).await?;
            let broadcaster = executor.spawn(run);
            if config.announce {
                announce(&config, &listener, http.as_ref());
            }
            // Every connection task holds a clone; when the last is dropped,
            // `all_done` reports it: completion by drop, no counting.
            let (done, all_done) = async_channel::bounded::<()>(1);

            #[cfg(feature = "tls")]
            let tls = config.tls.clone().map(crate::tls::Current::new);
            #[cfg(feature = "tls")]
            if let Some(tls) = &tls {
                executor.spawn(tls.clone().reload_on_signal()).detach();
            }
            let doors = Doors {
                executor: &executor,
                places: Rc::new(RefCell::new(Places::default())),
                next_id: Cell::new(0),
                hub: hub.clone(),
                config: config.clone(),
                done: done.clone(),
                full: log::Repeats::default(),
                crowded: log::Repeats::default(),
                #[cfg(feature = "tls")]
                tls,
            };
            let chat = doors.accept(&listener, Kind::Chat);
            let page = async {
                match &http {
                    Some(http) => doors.accept(http, Kind::Page).await,
                    None => future::pending().await,
                }
            };
            future::or(future::or(chat, page), shutdown).await;

            drop(doors);
            drop(listener);
            drop(http);
            drop(stop);
            broadcaster.await;
            drop(hub);
            drop(done);
            future::or(
                async {
                    let _ = all_done.recv().await;
                },
                async {
                    Timer::after(config.shutdown_grace).await;
                },
            )
            .await;
            Ok(())
        })
        .await
}

/// Says where the server listens (`Config::announce`), once it is ready:
/// the line tests and scripts wait for.
fn announce(config: &Config, listener: &TcpListener, http: Option<&TcpListener>) {
    if let Ok(local) = listener.local_addr() {
        log::always(format_args!("listening on {local}"));
    }
    if let Some(Ok(local)) = http.map(|http| http.local_addr()) {
        #[cfg(feature = "tls")]
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        #[cfg(not(feature = "tls"))]
        let scheme = {
            let _ = config;
            "http"
        };
        log::always(format_args!("the page is at {scheme}://{local}/"));
    }
}

/// What a listener's connections are.
#[derive(Clone, Copy)]
enum Kind {
    /// Chat clients over TCP, the book's.
    Chat,
    /// HTTP: the page, and its WebSockets (`web`).
    Page,
}

/// What every accept loop shares: the connections it starts run on one
/// executor, count under the same caps, and join the same room.
struct Doors<'e, 'x> {
    /// Where connections run.
    executor: &'e LocalExecutor<'x>,
    /// The places taken under the caps, by every kind of connection.
    places: Rc<RefCell<Places>>,
    /// The last connection's id.
    next_id: Cell<u64>,
    /// The way into the room.
    hub: Hub,
    /// The limits.
    config: Arc<Config>,
    /// Cloned into every connection's slot (see `run`).
    done: async_channel::Sender<()>,
    /// Newcomers turned away for a full server, as the log counts them.
    full: log::Repeats,
    /// Newcomers turned away by the cap per address.
    crowded: log::Repeats,
    /// The chat listener's certificate, when it speaks TLS.
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::Current>,
}

impl Doors<'_, '_> {
    /// Accepts connections of `kind` on `listener`, forever: each gets its
    /// own task, or, past a cap, a short refusal.
    async fn accept(&self, listener: &TcpListener, kind: Kind) {
        let config = &self.config;
        let mut failing = false;
        let listener_fd: Arc<Async<std::net::TcpListener>> = listener.clone().into();
        // Asked once, not once a connection (a getsockname each).
        #[cfg(feature = "web")]
        let loopback = listener
            .local_addr()
            .is_ok_and(|local| local.ip().to_canonical().is_loopback());
        loop {
            let (stream, addr) = match accept(&listener_fd).await {
                Ok(accepted) => accepted,
                Err(error) => {
                    if !failing {
                        log::always(format_args!("accept failed: {error}; retrying"));
                        failing = true;
                    }
                    Timer::after(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            failing = false;
            let address = addr.ip().to_canonical();
            if self.places.borrow().live >= config.max_connections {
                let cap = format_count(config.max_connections, "connection");
                self.log_turn_away(&self.full, addr, format!("server full ({cap})"));
                self.turn_away(kind, stream, SERVER_FULL);
                continue;
            }
            if let Some(most) = config
                .max_per_address
                .filter(|&most| self.places.borrow().from(address) >= most)
            {
                let why = format!("too many connections from its address ({most})");
                self.log_turn_away(&self.crowded, addr, why);
                self.turn_away(kind, stream, TOO_MANY_FROM_ADDRESS);
                continue;
            }
            let id = self.next_id.get() + 1;
            self.next_id.set(id);
            let by_address = config.max_per_address.map(|_| address);
            let slot = Slot::take(&self.places, by_address, self.done.clone());
            let (hub, config) = (self.hub.clone(), config.clone());
            // Over TLS, either kind shakes hands first.
            #[cfg(feature = "tls")]
            if let Some(tls) = &self.tls {
                let page = matches!(kind, Kind::Page).then(|| {
                    let local = listener.local_addr();
                    local.is_ok_and(|local| local.ip().to_canonical().is_loopback())
                });
                let (socket, tls) = (stream, tls.config());
                let task = crate::tls::serve(socket, tls, page, addr, id, hub, config, slot);
                self.executor.spawn(task).detach();
                continue;
            }
            match kind {
                Kind::Chat => {
                    let task = conn::serve(Tcp(stream), addr, id, hub, config, slot);
                    self.executor.spawn(task).detach();
                }
                #[cfg(feature = "web")]
                Kind::Page => {
                    let task = crate::web::serve(stream, addr, id, hub, config, slot, loopback);
                    self.executor.spawn(task).detach();
                }
                #[cfg(not(feature = "web"))]
                Kind::Page => unreachable!("no page without the web feature"),
            }
        }
    }

    /// Logs a newcomer from `addr` turned away by a cap, `why`: the first
    /// at once, then a line a minute at most (see [`log::Repeats`]).
    fn log_turn_away(&self, tally: &log::Repeats, addr: SocketAddr, why: String) {
        match tally.again(std::time::Instant::now()) {
            None => {}
            Some(0) => log::always(format_args!(
                "{addr} turned away: {why}; more are counted, in a line a minute"
            )),
            Some(more) => log::always(format_args!(
                "{addr} turned away: {why}, and {more} more since the last such line"
            )),
        }
    }

    /// Sends a newcomer past a cap away, with `why`.
    fn turn_away(&self, kind: Kind, socket: Socket, why: &'static [u8]) {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let page = matches!(kind, Kind::Page);
            let task = crate::tls::turn_away(socket, tls.config(), page, why);
            self.executor.spawn(task).detach();
            return;
        }
        match kind {
            Kind::Chat => self.executor.spawn(conn::turn_away(socket, why)).detach(),
            #[cfg(feature = "web")]
            Kind::Page => self
                .executor
                .spawn(crate::web::turn_away(socket, why))
                .detach(),
            #[cfg(not(feature = "web"))]
            Kind::Page => unreachable!("no page without the web feature"),
        }
    }
}

/// Accepts the next connection on `listener`, non-blocking from the start
/// (`accept4`'s flag), so that async-io need not make it so: a system call
/// fewer for every connection.
async fn accept(listener: &Async<std::net::TcpListener>) -> io::Result<(Socket, SocketAddr)> {
    use rustix::net::{acceptfrom_with, SocketFlags};
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let (fd, addr) = listener
        .read_with(|listener| Ok(acceptfrom_with(listener, flags)?))
        .await?;
    let addr = addr.and_then(|addr| SocketAddr::try_from(addr).ok());
    let addr = addr.ok_or_else(|| io::Error::other("a connection without an address"))?;
    let stream = Async::new_nonblocking(std::net::TcpStream::from(fd))?;
    Ok((Arc::new(stream), addr))
}

/// The line a newcomer past the connection cap gets.
const SERVER_FULL: &[u8] = b"error: server full\n";

/// The line a newcomer past the cap per address gets.
const TOO_MANY_FROM_ADDRESS: &[u8] = b"error: too many connections from your address\n";
