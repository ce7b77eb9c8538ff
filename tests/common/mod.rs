//! Shared test helpers: a server on a free loopback port, and blocking
//! clients that wait for what must arrive instead of sleeping.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// A `redis-server` of a test's own: always built, as it needs no
/// feature of the server's.
pub mod redis;
/// Skips for want of a tool, counted and told at the end of the run.
pub mod skips;
/// A WebSocket client: always built (tungstenite is a dev-dependency), so
/// that the code of clients via web is checked in every build; only a
/// server that serves the page needs the `web` feature.
pub mod web;

/// How long a client waits for a line that must arrive. Generous: a loaded CI
/// machine can be slow, and a pass never waits this long.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `check` until it gives a value, for at most `limit`; `Err` says
/// it waited that long for `what`. For what nothing announces (another
/// process starting or exiting, what Redis lists): the limit bounds a wait
/// that ends as soon as `check` holds, never a pause to synchronise on.
/// The transcript engine's own, so that the two wait alike; tests that
/// fail at once use [`eventually`].
#[allow(unused_imports)]
pub use transcript::wait::try_eventually;

/// [`try_eventually`], failing the test (saying what it waited for) when
/// `check` gives nothing within `limit`.
pub fn eventually<T>(what: &str, limit: Duration, check: impl FnMut() -> Option<T>) -> T {
    try_eventually(what, limit, check).unwrap_or_else(|why| panic!("{why}"))
}

/// A server running in-process on its own thread, stopped when dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves the page, if it does (`web`).
    pub page: Option<SocketAddr>,
    /// Dropping it starts the graceful shutdown.
    stop: Option<async_channel::Sender<()>>,
    /// The server thread.
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// A server with the default limits.
    pub fn start() -> Self {
        Self::start_with(chat::Config::default())
    }

    /// A server with the given limits, on a free port of 127.0.0.1.
    pub fn start_with(config: chat::Config) -> Self {
        Self::start_on("127.0.0.1:0", config)
    }

    /// A server with the given limits, listening on `addr`.
    pub fn start_on(addr: &str, config: chat::Config) -> Self {
        let listener =
            smol::block_on(async_net::TcpListener::bind(addr)).expect("bind a free loopback port");
        let addr = listener.local_addr().expect("listener address");
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let thread = std::thread::spawn(move || {
            smol::block_on(chat::serve(listener, config, async move {
                let _ = stopped.recv().await;
            }))
        });
        TestServer {
            addr,
            page: None,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A server with the given limits that serves the page too, both on
    /// free ports of 127.0.0.1.
    #[cfg(feature = "web")]
    pub fn start_with_page(config: chat::Config) -> Self {
        let bind = || {
            smol::block_on(async_net::TcpListener::bind("127.0.0.1:0"))
                .expect("bind a free loopback port")
        };
        let (listener, page) = (bind(), bind());
        let addr = listener.local_addr().expect("listener address");
        let page_addr = page.local_addr().expect("listener address");
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let thread = std::thread::spawn(move || {
            smol::block_on(chat::serve_with_page(listener, page, config, async move {
                let _ = stopped.recv().await;
            }))
        });
        TestServer {
            addr,
            page: Some(page_addr),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Shuts the server down and waits until `serve` has returned.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let result = thread.join().expect("server thread panicked");
            result.expect("serve returned an error");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.shutdown();
        }
    }
}

/// A blocking chat client over a real socket.
pub struct Peer {
    /// The address the server sees for us: `ADDR` in every line about us.
    pub name: String,
    /// Write side.
    stream: TcpStream,
    /// Read side, buffered.
    reader: BufReader<TcpStream>,
    /// How long a read waits for what must arrive: [`PATIENCE`], unless
    /// the test said otherwise ([`Peer::set_patience`]).
    patience: Duration,
}

impl Peer {
    /// Connects and checks the greeting.
    pub fn connect(addr: SocketAddr) -> Self {
        let mut peer = Self::connect_quiet(addr);
        peer.expect(&format!("You are {}", peer.name));
        peer
    }

    /// Connects without reading anything.
    pub fn connect_quiet(addr: SocketAddr) -> Self {
        Self::from_stream(TcpStream::connect(addr).expect("connect to the server"))
    }

    /// Connects with a small receive buffer, so that not reading fills it
    /// after little traffic; checks the greeting.
    pub fn connect_small(addr: SocketAddr) -> Self {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .expect("a socket");
        socket
            .set_recv_buffer_size(4096)
            .expect("a small receive buffer");
        socket.connect(&addr.into()).expect("connect to the server");
        let mut peer = Self::from_stream(socket.into());
        peer.expect(&format!("You are {}", peer.name));
        peer
    }

    /// A peer on `stream`, connected already; checks the greeting.
    #[allow(dead_code)]
    pub fn from_stream_expecting_greeting(stream: TcpStream) -> Self {
        let mut peer = Self::from_stream(stream);
        peer.expect(&format!("You are {}", peer.name));
        peer
    }

    /// Connects from the local address `local`, which another socket of
    /// this process may be bound to as well (both with `SO_REUSEADDR` and
    /// `SO_REUSEPORT`): two connections to two servers from one address,
    /// as two machines behind one address give. Reads nothing.
    pub fn connect_from(addr: SocketAddr, local: SocketAddr) -> Self {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .expect("a socket");
        socket.set_reuse_address(true).expect("SO_REUSEADDR");
        socket.set_reuse_port(true).expect("SO_REUSEPORT");
        socket.bind(&local.into()).expect("bind the local address");
        socket.connect(&addr.into()).expect("connect to the server");
        Self::from_stream(socket.into())
    }

    /// A peer on `stream`.
    fn from_stream(stream: TcpStream) -> Self {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let name = stream.local_addr().unwrap().to_string();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Peer {
            name,
            stream,
            reader,
            patience: PATIENCE,
        }
    }

    /// Waits up to `patience` for each line from now on, instead of
    /// [`PATIENCE`]: for lines the server sends only after a timeout of
    /// its own (a dead server's clients' leaves, once its heartbeat has
    /// lapsed), so that only lines that never come fail the test, not
    /// lines that come late on a loaded machine.
    pub fn set_patience(&mut self, patience: Duration) {
        self.stream
            .set_read_timeout(Some(patience))
            .expect("set the read timeout");
        self.patience = patience;
    }

    /// Sends `text` and a newline.
    pub fn say(&mut self, text: &str) {
        self.send(format!("{text}\n").as_bytes());
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to the server");
    }

    /// Ends our input; we can still read.
    pub fn half_close(&self) {
        self.stream.shutdown(Shutdown::Write).unwrap();
    }

    /// Resets the connection (RST) instead of closing it.
    pub fn reset(self) {
        let socket = socket2::Socket::from(self.stream);
        socket.set_linger(Some(Duration::ZERO)).unwrap();
        drop(socket);
    }

    /// Resets the connection (RST) once the server's kernel has
    /// acknowledged every byte sent: what a reset then destroys never
    /// left this side, so a test knows what reached the server.
    pub fn reset_once_received(self) {
        /// `SIOCOUTQ`: the bytes sent and not yet acknowledged.
        const SIOCOUTQ: rustix::ioctl::Opcode = 0x5411;
        eventually("the server to acknowledge every byte", PATIENCE, || {
            // SAFETY: SIOCOUTQ writes one int, the size `Getter` gives it.
            let getter = unsafe { rustix::ioctl::Getter::<SIOCOUTQ, i32>::new() };
            let unacknowledged = unsafe { rustix::ioctl::ioctl(&self.stream, getter) };
            (unacknowledged.expect("SIOCOUTQ") == 0).then_some(())
        });
        self.reset();
    }

    /// The next line, `\n` included; fails after its patience (see
    /// [`Peer::set_patience`]) or at EOF.
    pub fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(_) if line.ends_with(b"\n") => line,
            Ok(_) => panic!(
                "{}: connection ended, expected a line; got {:?}",
                self.name,
                line.escape_ascii().to_string()
            ),
            Err(error) => panic!("{}: no line within {:?}: {error}", self.name, self.patience),
        }
    }

    /// The next line, as text without its `\n`.
    pub fn text(&mut self) -> String {
        let line = self.line();
        String::from_utf8_lossy(&line[..line.len() - 1]).into_owned()
    }

    /// Checks that the next line is exactly `text` and a `\n`.
    pub fn expect(&mut self, text: &str) {
        self.expect_bytes(format!("{text}\n").as_bytes());
    }

    /// Checks that the next line is exactly `bytes` (with its `\n`).
    pub fn expect_bytes(&mut self, bytes: &[u8]) {
        let line = self.line();
        assert_eq!(
            line.escape_ascii().to_string(),
            bytes.escape_ascii().to_string(),
            "{}: unexpected line",
            self.name
        );
    }

    /// The write side and the buffered read side, to use from two threads.
    pub fn into_parts(self) -> (TcpStream, BufReader<TcpStream>) {
        (self.stream, self.reader)
    }

    /// Checks that the server closes the connection with nothing more sent.
    pub fn expect_end(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "{}: unexpected bytes before the close: {:?}",
                self.name,
                rest.escape_ascii().to_string()
            ),
            Err(error) => panic!(
                "{}: no close within {:?}: {error}",
                self.name, self.patience
            ),
        }
    }
}

/// Raises this process's soft file-descriptor limit to hold `needed`.
pub fn raise_own_fd_limit(needed: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit).expect("raise the fd limit");
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    assert!(
        soft as usize >= needed,
        "the fd limit {soft} is below {needed}"
    );
}
