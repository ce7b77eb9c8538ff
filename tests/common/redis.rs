//! A real `redis-server` for the tests of `chat --redis`: one per test, on
//! a free loopback port, with nothing saved to disk, killed when dropped.
//! A test can kill it and start it again on the same port, to see the
//! servers lose Redis and find it again, and put a [`Relay`] between one
//! server and it, to take that server alone away from Redis.
//!
//! The one place both the Redis tests and the transcript runner (scripts
//! of several servers) find `redis-server`, honour `CHAT_REQUIRE_REDIS`,
//! start Redis and wait for the servers to join: so that they skip, fail
//! and wait alike. It needs no `redis` feature: only a `chat` that joins
//! the room does.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat::room_keys::RoomKeys;

use super::try_eventually;

/// How long Redis may take to answer its first PING.
const STARTUP: Duration = Duration::from_secs(10);

/// The room a `chat` given no `--room` serves: the one the tests' servers
/// share, unless a test says otherwise.
pub const ROOM: &str = "chat";

/// A `redis-server` of this test's own.
pub struct Redis {
    /// Its port on 127.0.0.1, kept across restarts.
    pub port: u16,
    /// Its working directory, removed when dropped.
    dir: PathBuf,
    /// The process, while it runs.
    child: Option<Child>,
}

/// Why there is no Redis for a test: no `redis-server` to start. What
/// becomes of the test then is the caller's to say, in its own words.
pub struct Missing {
    /// `CHAT_REQUIRE_REDIS=1` (CI's setting): a missing Redis is a
    /// failure, not a skip.
    pub required: bool,
}

impl Missing {
    /// What is missing, and how to install it.
    pub const WHY: &'static str = "there is no redis-server in PATH (apt-get install redis-server)";
}

impl Redis {
    /// A fresh `redis-server`, answering; or `None`, the test skipped
    /// (saying so), when there is no `redis-server` and
    /// `CHAT_REQUIRE_REDIS` is not `1` (CI sets it: there a missing Redis
    /// is a failure, not a skip).
    pub fn start() -> Option<Self> {
        match Self::try_start() {
            Ok(redis) => Some(redis),
            Err(Missing { required: true }) => {
                panic!("CHAT_REQUIRE_REDIS=1 but {}", Missing::WHY)
            }
            Err(Missing { required: false }) => {
                let why = format!(
                    "{}; set CHAT_REQUIRE_REDIS=1 to make this a failure",
                    Missing::WHY
                );
                super::skips::skipped("a test of several servers", &why);
                None
            }
        }
    }

    /// A fresh `redis-server`, answering, or why there is none, for a
    /// caller that says itself what a missing Redis means (the transcript
    /// runner: a script skipped, or an error).
    pub fn try_start() -> Result<Self, Missing> {
        if !installed() {
            let required = std::env::var("CHAT_REQUIRE_REDIS").is_ok_and(|value| value == "1");
            return Err(Missing { required });
        }
        // A free port can be taken by someone else before Redis binds it:
        // then try another.
        for _ in 0..5 {
            let port = free_port();
            let mut redis = Redis {
                port,
                dir: own_dir(port),
                child: None,
            };
            if redis.launch() {
                return Ok(redis);
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// `redis://127.0.0.1:PORT`, for `--redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills Redis at once (SIGKILL): its connections drop, as when a
    /// Redis host dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Redis again on the same port, empty, as a restarted Redis
    /// without persistence is; returns once it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart: Redis is still running");
        // The port was ours a moment ago; only a stray connection's local
        // port could hold it, and not for long.
        for _ in 0..20 {
            if self.launch() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not start again on port {}", self.port);
    }

    /// Runs `redis-server` on our port and waits until it answers PING;
    /// false if it exited first (the port was taken).
    fn launch(&mut self) -> bool {
        std::fs::create_dir_all(&self.dir).expect("create Redis's directory");
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let port = self.port;
        let answering = try_eventually(
            &format!("redis-server to answer on port {port}"),
            STARTUP,
            || {
                if ping(port) && serves_as(port, child.id()) {
                    return Some(true);
                }
                let exited = child.try_wait().expect("wait for redis-server").is_some();
                exited.then_some(false)
            },
        );
        match answering {
            Ok(true) => {
                self.child = Some(child);
                true
            }
            Ok(false) => false,
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{why}");
            }
        }
    }

    /// Sends one command and returns Redis's reply as it came, for a test
    /// that watches the room's keys (`SCARD` of the room's servers is
    /// `:2\r\n`). Only for short replies.
    pub fn query(&self, args: &[&str]) -> String {
        let mut stream =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to Redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(&command(args)).expect("send to Redis");
        let mut reply = [0; 4096];
        let read = stream.read(&mut reply).expect("Redis's reply");
        String::from_utf8_lossy(&reply[..read]).into_owned()
    }

    /// Sends one command of binary arguments (an event forged into the
    /// room's stream, say) and returns Redis's reply as it came.
    pub fn query_bytes(&self, args: &[&[u8]]) -> String {
        let mut stream =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to Redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        stream.write_all(&out).expect("send to Redis");
        let mut reply = [0; 4096];
        let read = stream.read(&mut reply).expect("Redis's reply");
        String::from_utf8_lossy(&reply[..read]).into_owned()
    }

    /// The strings of a short reply that is an array of them (`SMEMBERS`,
    /// `HGETALL`), in order.
    pub fn strings(&self, args: &[&str]) -> Vec<String> {
        let reply = self.query(args);
        let mut lines = reply.split("\r\n");
        let count: usize = lines
            .next()
            .and_then(|head| head.strip_prefix('*'))
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("{args:?}: not an array: {reply:?}"));
        (0..count)
            .map(|_| {
                lines.next();
                lines.next().unwrap_or_default().to_string()
            })
            .collect()
    }

    /// Every client the room `room` lists, as (server, connection, name).
    pub fn members_of(&self, room: &str) -> Vec<(u64, u64, String)> {
        let keys = RoomKeys::new(room);
        let mut members = Vec::new();
        for server in self.strings(&["SMEMBERS", &keys.servers()]) {
            let server: u64 = server.parse().expect("a server's number");
            let listed = self.strings(&["HGETALL", &keys.members(server)]);
            for pair in listed.chunks(2) {
                let name = pair[1].split_once(':').map_or("", |(_, name)| name);
                members.push((server, pair[0].parse().expect("an id"), name.to_string()));
            }
        }
        members
    }

    /// How many servers Redis lists in `room` (its key named as the
    /// server names it, `chat::room_keys`), if it says.
    pub fn servers_in(&self, room: &str) -> Option<usize> {
        let reply = self.query(&["SCARD", &RoomKeys::new(room).servers()]);
        reply.strip_prefix(':')?.trim_end().parse().ok()
    }

    /// Waits, for at most `limit`, until Redis lists `count` servers in
    /// `room`: a server is listed once it has joined the room (and follows
    /// it), and a dead one forgotten only once its clients' leaves went
    /// out. `Err` says what Redis listed last.
    pub fn wait_for_servers(
        &self,
        room: &str,
        count: usize,
        limit: Duration,
    ) -> Result<(), String> {
        let mut listed = None;
        let what = format!("Redis to list {count} servers in the room {room:?}");
        try_eventually(&what, limit, || {
            listed = self.servers_in(room);
            (listed == Some(count)).then_some(())
        })
        .map_err(|why| format!("{why}; it lists {listed:?}"))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `redis-server` is in PATH.
fn installed() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join("redis-server").is_file())
}

/// A loopback port nobody listens on right now, and never handed out
/// before in this process (tests run in parallel: two must not pick one).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map(|addr: SocketAddr| addr.port())
            .expect("a free loopback port");
        let mut given = lock(&GIVEN);
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A directory of Redis's own (`--dir`), unique to this process and port.
fn own_dir(port: u16) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("chat-redis-{}-{port}-{n}", std::process::id()))
}

/// Whether Redis answers PING on `port` (a bounded try).
fn ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// Whether the Redis on `port` is process `pid` (ours, not one another
/// program started there first): `INFO server` names its process.
fn serves_as(port: u16, pid: u32) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(&command(&["INFO", "server"])).is_err() {
        return false;
    }
    let wanted = format!("\r\nprocess_id:{pid}\r\n");
    let mut reply = Vec::new();
    let mut chunk = [0; 4096];
    while let Ok(read @ 1..) = stream.read(&mut chunk) {
        reply.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&reply);
        if text.contains(&wanted) {
            return true;
        }
        if text.contains("\r\nprocess_id:") && text.ends_with("\r\n\r\n") {
            return false;
        }
    }
    false
}

/// `args` as a RESP command.
fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}

/// A TCP relay between one `chat` and Redis, that a test can cut (every
/// connection through it dropped, new ones closed at once) and heal: one
/// server loses Redis while the others keep it, or finds it later than
/// they do. It can also hold what the server sends, so that a command is
/// surely on its way, unanswered, when the relay is cut.
pub struct Relay {
    /// The port the server is given instead of Redis's.
    pub port: u16,
    /// What the relay's threads share.
    shared: Arc<RelayState>,
}

/// The relay's state, shared with its threads.
struct RelayState {
    /// Cut: connections are closed as they come.
    cut: AtomicBool,
    /// Holding: bytes toward Redis are kept back, in `held`.
    holding: AtomicBool,
    /// The bytes kept back, to look into.
    held: Mutex<Vec<u8>>,
    /// Dropped: the accepting thread ends.
    closed: AtomicBool,
    /// Both ends of every connection relayed, to cut them.
    streams: Mutex<Vec<TcpStream>>,
}

impl Relay {
    /// A relay to `redis`, open.
    pub fn to(redis: &Redis) -> Relay {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the relay");
        let port = listener.local_addr().expect("the relay's address").port();
        let upstream = redis.port;
        let shared = Arc::new(RelayState {
            cut: AtomicBool::new(false),
            holding: AtomicBool::new(false),
            held: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let state = shared.clone();
        std::thread::spawn(move || {
            for downstream in listener.incoming() {
                if state.closed.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(downstream) = downstream else { continue };
                if state.cut.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(upstream) = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)) else {
                    continue;
                };
                state.relay(downstream, upstream);
            }
        });
        Relay { port, shared }
    }

    /// `redis://127.0.0.1:PORT` of the relay, for `--redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Drops every connection through the relay, and refuses new ones.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.drop_all();
    }

    /// Relays new connections again (and stops holding).
    pub fn heal(&self) {
        self.shared.holding.store(false, Ordering::SeqCst);
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Keeps back, from now on, what the server sends to Redis.
    pub fn hold(&self) {
        self.shared.holding.store(true, Ordering::SeqCst);
    }

    /// Waits, for a bounded time, until the bytes kept back contain
    /// `bytes`: the command carrying them is on its way, unanswered.
    pub fn wait_until_held(&self, bytes: &[u8]) {
        let held = || {
            lock(&self.shared.held)
                .windows(bytes.len())
                .any(|window| window == bytes)
                .then_some(())
        };
        let what = format!(
            "the relay to see {:?} on its way to Redis",
            bytes.escape_ascii().to_string()
        );
        try_eventually(&what, Duration::from_secs(10), held).unwrap_or_else(|why| {
            panic!(
                "{why}; it holds {:?}",
                lock(&self.shared.held).escape_ascii().to_string()
            )
        });
    }
}

impl RelayState {
    /// Copies bytes both ways between `downstream` and `upstream` until
    /// either ends (or the relay is cut), on two threads.
    fn relay(self: &Arc<Self>, downstream: TcpStream, upstream: TcpStream) {
        let ends = [&downstream, &upstream].map(|stream| stream.try_clone().expect("clone"));
        lock(&self.streams).extend(ends);
        let toward_redis = (
            downstream.try_clone().expect("clone"),
            upstream.try_clone().expect("clone"),
        );
        for ((from, to), holds) in [(toward_redis, true), ((upstream, downstream), false)] {
            let state = self.clone();
            std::thread::spawn(move || {
                let _ = state.pipe(&from, &to, holds);
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
            });
        }
    }

    /// Copies `from` to `to` until either ends; if `holds`, what comes
    /// while the relay is holding waits in `held` until it stops holding
    /// (then goes on) or is cut (then is dropped with the connection).
    fn pipe(&self, mut from: &TcpStream, mut to: &TcpStream, holds: bool) -> std::io::Result<()> {
        let mut buffer = [0; 16 * 1024];
        loop {
            let read = from.read(&mut buffer)?;
            if read == 0 {
                return Ok(());
            }
            if holds && self.holding.load(Ordering::SeqCst) {
                lock(&self.held).extend_from_slice(&buffer[..read]);
                while self.holding.load(Ordering::SeqCst) {
                    if self.cut.load(Ordering::SeqCst) {
                        lock(&self.held).clear();
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                lock(&self.held).clear();
            }
            to.write_all(&buffer[..read])?;
        }
    }

    /// Closes every connection relayed.
    fn drop_all(&self) {
        for stream in lock(&self.streams).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.drop_all();
        // Wakes the accepting thread, which sees it is closed.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// `mutex`, locked even if a panicking thread held it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
