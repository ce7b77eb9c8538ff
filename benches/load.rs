//! Load scenarios against the real `chat` binary over loopback; one line of
//! results each. Run with `cargo bench`; `cargo bench -- fanout churn` runs
//! only the scenarios named. `cargo bench --features web` adds `web`, the
//! fanout load over the page's WebSocket, beside the TCP rows it is judged
//! against; `cargo bench --features redis` adds `cluster`, the fanout load
//! on two servers sharing one room through a Redis the benchmark starts
//! (Debian's `redis-server`, on the PATH).
//!
//! The client side runs on one thread (a smol executor) so that, on a
//! 2-core machine, the server has the other core; its own CPU is printed
//! too, so a reader can tell when the benchmark, not the server, is the
//! ceiling. Its clients take turns like separate machines would: each
//! yields after a full read or a write, so a client with a backlog never
//! holds the thread while the others wait (that stall used to show up as
//! the server's "longest pause"). Server CPU comes from /proc (every
//! thread's schedstat), memory from VmRSS. Every scenario is bounded in time
//! and talks to 127.0.0.1 only. `CHAT_BIN=path cargo bench` measures another
//! build of `chat`, to compare two builds on one machine.

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use rustix::process::{kill_process, Pid, Signal};
use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
use smol::{LocalExecutor, Timer};

/// Connections the benchmark opens ahead of their greetings.
const CONNECT_WINDOW: usize = 100;

/// The longest any scenario may run before it is reported as timed out.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// A scenario: runs and describes its results in one line.
type Scenario = fn() -> String;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let scenarios: &[(&str, Scenario)] = &[
        ("fanout", fanout),
        ("fanout-names", fanout_names),
        #[cfg(feature = "web")]
        ("web", web::fanout),
        #[cfg(feature = "redis")]
        ("cluster", cluster::fanout),
        ("fanout-wide", fanout_wide),
        ("latency", latency),
        ("idle", idle),
        ("slow", slow),
        ("churn", churn),
        ("flood", flood),
    ];
    // A typo must not pass for a run that measured nothing.
    let known: Vec<&str> = scenarios.iter().map(|(name, _)| *name).collect();
    if let Some(unknown) = wanted.iter().find(|w| !known.contains(&w.as_str())) {
        // Reached only in a build without the scenario's feature.
        let hint = match unknown.as_str() {
            "web" => " (`web` is built with `--features web`)",
            "cluster" => " (`cluster` is built with `--features redis`)",
            _ => "",
        };
        eprintln!(
            "load: no scenario named {unknown:?}; the scenarios are {}{hint}",
            known.join(", ")
        );
        std::process::exit(2);
    }
    raise_fd_limit();
    pin_benchmark();
    for &(name, scenario) in scenarios {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            println!("{name:<12} {}", scenario());
        }
    }
}

// ---------------------------------------------------------------- server

/// The release `chat` binary on a free loopback port.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The page's address, when started with `--http`.
    #[cfg_attr(not(feature = "web"), allow(dead_code))]
    page: Option<SocketAddr>,
    /// The server's log lines after the first, collected by a thread.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        // CHAT_BIN runs another build of `chat`, to compare two builds.
        let binary =
            std::env::var_os("CHAT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_chat").into());
        let mut child = Command::new(binary)
            .args(extra)
            .arg("127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let addr = logged_addr(&mut stderr, "chat: listening on ");
        // The page's line follows the listening line.
        let page = extra
            .contains(&"--http")
            .then(|| logged_addr(&mut stderr, "chat: the page is at http://"));
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let collected = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        let server = Server {
            child,
            addr,
            page,
            log,
        };
        if let Some(&cpu) = SERVER_CPU.get() {
            server.pin(cpu);
        }
        server
    }

    /// Keeps every thread of the server on `cpu`.
    fn pin(&self, cpu: usize) {
        pin_process(self.child.id(), cpu);
    }

    /// How many clients the server has cut off so far, from its log.
    fn cut_offs(&self) -> usize {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|line| line.contains("send queue full"))
            .count()
    }

    /// CPU time of all the server's threads, in nanoseconds.
    fn cpu_ns(&self) -> u64 {
        cpu_ns_of(&format!("/proc/{}/task", self.child.id()))
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Server {
    /// Stops the server as an operator would, with SIGTERM, so that a
    /// profiler it runs under (`CHAT_BIN` pointing at a valgrind wrapper)
    /// writes its results; kills it if it takes too long.
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = pid {
            let _ = kill_process(pid, Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the server's next log line, which must start with
/// `prefix`: anything else (a `CHAT_BIN` built without the page, a port in
/// use) is the server refusing to start, and is shown as it said it.
fn logged_addr(stderr: &mut impl BufRead, prefix: &str) -> SocketAddr {
    let mut line = String::new();
    stderr.read_line(&mut line).expect("read chat's log");
    line.trim_end()
        .strip_prefix(prefix)
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("chat did not start: {:?}", line.trim_end()))
}

/// Keeps every thread of process `pid` on `cpu`; the threads it starts
/// later inherit that from the thread that starts them.
fn pin_process(pid: u32, cpu: usize) {
    let mut set = CpuSet::new();
    set.set(cpu);
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"));
    for task in tasks.into_iter().flatten().flatten() {
        let tid = task.file_name().to_str().and_then(|tid| tid.parse().ok());
        if let Some(tid) = tid.and_then(Pid::from_raw) {
            let _ = sched_setaffinity(Some(tid), &set);
        }
    }
}

/// Sum of the first field of every thread's schedstat under `tasks`.
fn cpu_ns_of(tasks: &str) -> u64 {
    std::fs::read_dir(tasks)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| std::fs::read_to_string(entry.path().join("schedstat")).ok())
                .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// This benchmark's own CPU time, in nanoseconds.
fn bench_cpu_ns() -> u64 {
    cpu_ns_of("/proc/self/task")
}

/// The CPU the server runs on, once [`pin_benchmark`] has chosen it.
static SERVER_CPU: OnceLock<usize> = OnceLock::new();

/// Puts the benchmark's thread on the first CPU it may use and keeps the
/// second for the server: the two then never share a core. Left to itself,
/// the scheduler often wakes a reader on the core of the writer that woke
/// it, so the server and its load share one core while the other idles
/// (latency doubles). With one CPU, or `BENCH_PIN=0`, nothing is pinned.
/// Everything on the server's side goes to the second CPU: `cluster`'s two
/// servers and its Redis too.
fn pin_benchmark() {
    if std::env::var_os("BENCH_PIN").is_some_and(|pin| pin == "0") {
        return;
    }
    let Ok(allowed) = sched_getaffinity(None) else {
        return;
    };
    let mut cpus = (0..CpuSet::MAX_CPU).filter(|&cpu| allowed.is_set(cpu));
    if let (Some(bench), Some(server)) = (cpus.next(), cpus.next()) {
        let mut set = CpuSet::new();
        set.set(bench);
        if sched_setaffinity(None, &set).is_ok() {
            let _ = SERVER_CPU.set(server);
        }
    }
}

fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

// --------------------------------------------------------------- clients

/// What a reading client saw.
#[derive(Default)]
struct Seen {
    /// Lines carrying a timestamp (payload lines).
    payload: usize,
    /// All lines.
    lines: usize,
    /// Delivery latencies in microseconds, for payload lines.
    latencies: Vec<u32>,
    /// The longest gap between two payload lines, once the first arrived.
    longest_pause: Duration,
    /// When the last payload line arrived.
    last: Option<Instant>,
    /// The connection ended.
    ended: bool,
}

impl Seen {
    /// Counts one line (without its `\n`) that arrived at `now`, `now_ns`
    /// after the epoch, recording its latency when `record`.
    fn line(&mut self, line: &[u8], now: Instant, now_ns: u64, record: bool) {
        self.lines += 1;
        if let Some(sent) = timestamp(line) {
            self.payload += 1;
            if record {
                self.latencies
                    .push((now_ns.saturating_sub(sent) / 1000) as u32);
            }
            if let Some(last) = self.last {
                self.longest_pause = self.longest_pause.max(now - last);
            }
            self.last = Some(now);
        }
    }
}

/// Shared view of one client's reading.
type SeenRef = Rc<RefCell<Seen>>;

/// A payload line: `T` and 16 hex digits of nanoseconds since `epoch`,
/// padded with `x` to `size` bytes, then `\n`.
fn payload(epoch: Instant, size: usize) -> Vec<u8> {
    let nanos = epoch.elapsed().as_nanos() as u64;
    let mut line = format!("T{nanos:016x}").into_bytes();
    line.resize(size.max(17), b'x');
    line.push(b'\n');
    line
}

/// Reads a client's lines until the connection ends, recording payload
/// latencies (when `record`) and pauses.
async fn read_lines(
    mut stream: TcpStream,
    epoch: Instant,
    seen: SeenRef,
    record: bool,
    buffer: usize,
) {
    let mut buf = vec![0u8; buffer];
    let mut partial: Vec<u8> = Vec::new();
    loop {
        let count = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        {
            let now = Instant::now();
            let now_ns = (now - epoch).as_nanos() as u64;
            let mut seen = seen.borrow_mut();
            let mut rest = &buf[..count];
            while let Some(end) = rest.iter().position(|&b| b == b'\n') {
                let line: &[u8] = if partial.is_empty() {
                    &rest[..end]
                } else {
                    partial.extend_from_slice(&rest[..end]);
                    &partial
                };
                seen.line(line, now, now_ns, record);
                partial.clear();
                rest = &rest[end + 1..];
            }
            partial.extend_from_slice(rest);
        }
        // A full read means more is waiting, and the next read would return
        // at once: give the other clients their turn first, or one client
        // with a backlog keeps the thread and the others see a pause that
        // is the benchmark's own, not the server's.
        if count == buf.len() {
            future::yield_now().await;
        }
    }
    seen.borrow_mut().ended = true;
}

/// The timestamp of a line `ADDR: T<16 hex>...`, if it is a payload line.
fn timestamp(line: &[u8]) -> Option<u64> {
    let space = line.iter().position(|&b| b == b' ')?;
    let hex = line.get(space + 1..space + 18)?;
    if hex[0] != b'T' {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(&hex[1..]).ok()?, 16).ok()
}

/// A client of the room as the benchmark drives it: over TCP, as the
/// book's clients are, or (the `web` scenario) over the page's WebSocket.
/// Scenarios written over it run the same load either way, so their rows
/// compare the transports and nothing else.
trait Client: Clone + 'static {
    /// What the scenario's row calls these clients.
    const NOUN: &'static str;

    /// The server's flags this kind of client needs.
    const FLAGS: &'static [&'static str];

    /// Where these clients connect.
    fn addr(server: &Server) -> SocketAddr;

    /// Connects to `addr` and starts reading what arrives into `seen` on a
    /// task of its own, as [`read_lines`] does.
    async fn connect(
        executor: &LocalExecutor<'_>,
        addr: SocketAddr,
        epoch: Instant,
        seen: SeenRef,
        record: bool,
        buffer: usize,
    ) -> Self;

    /// Sends `lines`, each ending with `\n`, in one write.
    async fn send(&mut self, lines: &[u8]) -> std::io::Result<()>;
}

impl Client for TcpStream {
    const NOUN: &'static str = "clients";

    const FLAGS: &'static [&'static str] = &[];

    fn addr(server: &Server) -> SocketAddr {
        server.addr
    }

    async fn connect(
        executor: &LocalExecutor<'_>,
        addr: SocketAddr,
        epoch: Instant,
        seen: SeenRef,
        record: bool,
        buffer: usize,
    ) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let _ = stream.set_nodelay(true);
        executor
            .spawn(read_lines(stream.clone(), epoch, seen, record, buffer))
            .detach();
        stream
    }

    async fn send(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.write_all(lines).await
    }
}

/// Waits until `done` holds, checking whenever the executor is idle for a
/// moment, or until the scenario's time is up (then false).
async fn wait_until(started: Instant, mut done: impl FnMut() -> bool) -> bool {
    while !done() {
        if started.elapsed() > SCENARIO_LIMIT {
            return false;
        }
        Timer::after(Duration::from_millis(1)).await;
    }
    true
}

/// Connects `count` reading clients, dealt out in turn among the servers
/// at `addrs` (one room, however many servers), and waits until each has
/// seen the arrivals of all that came after it (so the storm is over).
#[allow(clippy::too_many_arguments)]
async fn connect_readers<'a, C: Client>(
    executor: &LocalExecutor<'a>,
    addrs: &[SocketAddr],
    count: usize,
    epoch: Instant,
    record: bool,
    buffer: usize,
    mode: Mode,
) -> Vec<(C, SeenRef)> {
    let mut clients: Vec<(C, SeenRef)> = Vec::with_capacity(count);
    for index in 0..count {
        // At most a window of connections not yet greeted: the server's
        // accept backlog is finite.
        if index >= CONNECT_WINDOW {
            let waiting = clients[index - CONNECT_WINDOW].1.clone();
            let greeted =
                wait_until(Instant::now(), || waiting.borrow().lines >= mode.greeting()).await;
            assert!(greeted, "a client was not greeted in time");
        }
        let seen: SeenRef = Rc::default();
        let addr = addrs[index % addrs.len()];
        let mut client = C::connect(executor, addr, epoch, seen.clone(), record, buffer).await;
        if mode == Mode::Names {
            let name = format!("c{index}\n");
            client.send(name.as_bytes()).await.expect("name");
        }
        clients.push((client, seen));
    }
    let started = Instant::now();
    // Every client's greeting, and each arrival at everyone already there:
    // counted in total, since accepting need not follow the order of
    // connecting.
    let expected = count * mode.greeting() + count * (count - 1) / 2;
    let ready = wait_until(started, || {
        clients
            .iter()
            .map(|(_, seen)| seen.borrow().lines)
            .sum::<usize>()
            >= expected
    })
    .await;
    if !ready {
        let behind: Vec<(usize, usize, bool)> = clients
            .iter()
            .enumerate()
            .filter(|(index, (_, seen))| seen.borrow().lines < count - index)
            .map(|(index, (_, seen))| (index, seen.borrow().lines, seen.borrow().ended))
            .take(5)
            .collect();
        panic!("the clients were not all greeted and announced in time: (index, lines, ended) {behind:?}");
    }
    for (_, seen) in &clients {
        let mut seen = seen.borrow_mut();
        seen.lines = 0;
    }
    clients
}

/// Book mode, or names mode (`--names`) with every client named.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Book,
    Names,
}

impl Mode {
    /// The server's flags for the mode.
    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::Book => &[],
            // The cost of delivery, not of pacing: flood control off.
            Mode::Names => &["--names", "--rate", "off"],
        }
    }

    /// The lines a client gets before it is in: `You are ADDR`; or the
    /// question, `You are NAME` and who else is here.
    fn greeting(self) -> usize {
        match self {
            Mode::Book => 1,
            Mode::Names => 3,
        }
    }
}

/// Each of `senders` sends `lines` payload lines of `size` bytes as fast as
/// it can, `per_write` lines a write, each stamped when written.
fn spawn_senders<C: Client>(
    executor: &LocalExecutor<'_>,
    senders: &[(C, SeenRef)],
    lines: usize,
    size: usize,
    per_write: usize,
    epoch: Instant,
) {
    for (client, _) in senders {
        let mut client = client.clone();
        executor
            .spawn(async move {
                let mut sent = 0;
                while sent < lines {
                    let mut chunk = Vec::with_capacity(per_write * (size + 1));
                    for _ in 0..per_write.min(lines - sent) {
                        chunk.extend_from_slice(&payload(epoch, size));
                        sent += 1;
                    }
                    if client.send(&chunk).await.is_err() {
                        return;
                    }
                    // A write returns at once while the socket has room:
                    // let the readers run between chunks, as they would on
                    // their own machines.
                    future::yield_now().await;
                }
            })
            .detach();
    }
}

/// Percentile `p` (0..=100) of sorted samples.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn millis(micros: u32) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

// ----------------------------------------------------------- page clients

/// The page's clients, for the `web` scenario. tungstenite opens each
/// WebSocket (the request with its `Origin`, the check of the answer) and
/// frames and masks what it sends, as a browser would. The frames that come
/// back are read as the TCP readers read lines: up to `buffer` bytes a
/// read, every frame the read completed counted at that read's time, and a
/// yield after a read that filled the buffer. Finding a server's frame (2
/// bytes of header, unmasked) costs less than finding a `\n`, so the
/// benchmark's own cost per delivery is no higher than for TCP, and the two
/// rows differ by the server's cost. tungstenite's reading did not allow
/// that: it zeroes its whole free buffer before every read, an eighth of
/// the benchmark's time in a profile.
#[cfg(feature = "web")]
mod web {
    use std::cell::RefCell;
    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::rc::Rc;
    use std::time::Instant;

    use futures_lite::{future, AsyncReadExt};
    use smol::{Async, LocalExecutor};
    use tungstenite::client::IntoClientRequest;
    use tungstenite::{Error, HandshakeError, Message, WebSocket};

    use super::{fan_out, Client, Mode, SeenRef, Server};

    /// `fanout`'s load from the page: the same 100 clients, 10 of them
    /// sending, all over WebSockets, so that its row differs from
    /// `fanout`'s by the transport alone. Each line goes out as the page
    /// sends it, a text frame, 16 frames a write as `fanout` writes 16
    /// lines; every client gets each as a binary frame.
    pub fn fanout() -> String {
        fan_out::<Page>(100, 10, 1_000, 32, Mode::Book)
    }

    /// One page's WebSocket: its reader task reads the socket, its sender
    /// writes through tungstenite.
    #[derive(Clone)]
    pub struct Page {
        /// The socket, to wait on.
        socket: Rc<Async<TcpStream>>,
        /// tungstenite's side of it, for sending; borrowed only between
        /// awaits.
        websocket: Rc<RefCell<WebSocket<Tapped>>>,
    }

    /// The socket as tungstenite sees it: non-blocking, and, during the
    /// handshake, keeping a copy of what tungstenite read, whose part past
    /// the answer's head is the first frames.
    struct Tapped {
        /// The socket.
        socket: Rc<Async<TcpStream>>,
        /// What was read, while the handshake lasts.
        tap: Option<Vec<u8>>,
    }

    impl Read for Tapped {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let read = self.socket.get_ref().read(buf)?;
            if let Some(tap) = &mut self.tap {
                tap.extend_from_slice(&buf[..read]);
            }
            Ok(read)
        }
    }

    impl Write for Tapped {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.socket.get_ref().write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Client for Page {
        const NOUN: &'static str = "WebSocket clients";

        const FLAGS: &'static [&'static str] = &["--http", "127.0.0.1:0"];

        fn addr(server: &Server) -> SocketAddr {
            server.page.expect("the page's address")
        }

        async fn connect(
            executor: &LocalExecutor<'_>,
            addr: SocketAddr,
            epoch: Instant,
            seen: SeenRef,
            record: bool,
            buffer: usize,
        ) -> Self {
            let socket = Rc::new(Async::<TcpStream>::connect(addr).await.expect("connect"));
            let _ = socket.get_ref().set_nodelay(true);
            let mut request = format!("ws://{addr}/ws")
                .into_client_request()
                .expect("a request");
            // As the page does: its Origin is the Host it was served from.
            let origin = format!("http://{addr}").parse().expect("an origin");
            request.headers_mut().insert("Origin", origin);
            let tapped = Tapped {
                socket: socket.clone(),
                tap: Some(Vec::new()),
            };
            let mut handshake = tungstenite::client::client(request, tapped);
            let mut websocket = loop {
                match handshake {
                    Ok((websocket, _)) => break websocket,
                    // The request fits an empty socket's buffer: only the
                    // answer is ever waited for.
                    Err(HandshakeError::Interrupted(midway)) => {
                        socket.readable().await.expect("wait for the answer");
                        handshake = midway.handshake();
                    }
                    Err(HandshakeError::Failure(error)) => panic!("handshake failed: {error}"),
                }
            };
            let tap = websocket.get_mut().tap.take().unwrap_or_default();
            let head = tap
                .windows(4)
                .position(|window| window == b"\r\n\r\n")
                .expect("the answer's head")
                + 4;
            let early = tap[head..].to_vec();
            executor
                .spawn(read_frames(
                    socket.clone(),
                    early,
                    epoch,
                    seen,
                    record,
                    buffer,
                ))
                .detach();
            Page {
                socket,
                websocket: Rc::new(RefCell::new(websocket)),
            }
        }

        /// Each line as a text frame, as the page sends it, all in one
        /// write.
        async fn send(&mut self, lines: &[u8]) -> io::Result<()> {
            {
                let mut websocket = self.websocket.borrow_mut();
                let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
                for line in lines.split(|&byte| byte == b'\n') {
                    let text = std::str::from_utf8(line).map_err(io::Error::other)?;
                    // Kept in tungstenite's buffer until the flush.
                    match websocket.write(Message::text(text)) {
                        Ok(()) => {}
                        Err(Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {}
                        Err(error) => return Err(io::Error::other(error)),
                    }
                }
            }
            loop {
                let flushed = self.websocket.borrow_mut().flush();
                match flushed {
                    Ok(()) => return Ok(()),
                    Err(Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {
                        self.socket.writable().await?
                    }
                    Err(error) => return Err(io::Error::other(error)),
                }
            }
        }
    }

    /// Reads a page's frames until the connection ends or the server
    /// closes it, beginning with `early`; each data frame is a line,
    /// counted as [`super::read_lines`] counts lines.
    async fn read_frames(
        socket: Rc<Async<TcpStream>>,
        early: Vec<u8>,
        epoch: Instant,
        seen: SeenRef,
        record: bool,
        buffer: usize,
    ) {
        let mut buf = vec![0u8; buffer.max(early.len())];
        buf[..early.len()].copy_from_slice(&early);
        // `buf[..end]` is read and not yet taken as frames.
        let mut end = early.len();
        let mut full = false;
        let mut now = Instant::now();
        let mut stream = &*socket;
        'reading: loop {
            let now_ns = (now - epoch).as_nanos() as u64;
            let mut taken = 0;
            {
                let mut seen = seen.borrow_mut();
                while let Some((opcode, payload)) = frame(&buf[taken..end]) {
                    let line = &buf[taken + payload.start..taken + payload.end];
                    match opcode {
                        OP_TEXT | OP_BINARY => seen.line(line, now, now_ns, record),
                        OP_CLOSE => break 'reading,
                        // Pings and pongs: the server sends neither.
                        _ => {}
                    }
                    taken += payload.end;
                }
            }
            // The start of a frame waits at the front for the rest; one
            // longer than the buffer (a line near --max-line) gets room.
            buf.copy_within(taken..end, 0);
            end -= taken;
            if end == buf.len() {
                buf.resize(2 * buf.len(), 0);
            }
            // As a TCP reader does: after a full read, the others first.
            if full {
                future::yield_now().await;
            }
            let count = match stream.read(&mut buf[end..]).await {
                Ok(0) | Err(_) => break,
                Ok(count) => count,
            };
            full = end + count == buf.len();
            end += count;
            now = Instant::now();
        }
        seen.borrow_mut().ended = true;
    }

    const OP_TEXT: u8 = 0x1;
    const OP_BINARY: u8 = 0x2;
    const OP_CLOSE: u8 = 0x8;

    /// The first frame of `bytes`, if it is all there: its opcode and where
    /// its payload lies in `bytes`. A server's frames are unmasked and
    /// whole (FIN set): RFC 6455, section 5.2.
    fn frame(bytes: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
        let [first, second, ..] = *bytes else {
            return None;
        };
        let (header, len): (usize, usize) = match second & 0x7f {
            126 => (
                4,
                u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize,
            ),
            127 => (
                10,
                u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize,
            ),
            len => (2, usize::from(len)),
        };
        let payload = header..header.checked_add(len)?;
        (payload.end <= bytes.len()).then_some((first & 0x0f, payload))
    }
}

// -------------------------------------------------------------- scenarios

/// `senders` of `clients` each send `lines` payload lines of `size` bytes
/// as fast as they can; every client must receive all of them.
fn fan_out<C: Client>(
    clients: usize,
    senders: usize,
    lines: usize,
    size: usize,
    mode: Mode,
) -> String {
    let flags: Vec<&str> = mode.flags().iter().chain(C::FLAGS).copied().collect();
    let server = Server::start(&flags);
    fan_out_on::<C>(&[server], &[], clients, senders, lines, size, mode)
}

/// [`fan_out`]'s load on `servers` of one room, the clients dealt out among
/// them in turn, so the senders too. The row adds up the servers' CPU, and
/// shows apart that of each of `helpers` (a name and a process id): the
/// `cluster` scenario's Redis.
#[allow(clippy::too_many_arguments)]
fn fan_out_on<C: Client>(
    servers: &[Server],
    helpers: &[(&str, u32)],
    clients: usize,
    senders: usize,
    lines: usize,
    size: usize,
    mode: Mode,
) -> String {
    let servers_cpu = || servers.iter().map(Server::cpu_ns).sum::<u64>();
    let helpers_cpu = || {
        helpers
            .iter()
            .map(|(_, pid)| cpu_ns_of(&format!("/proc/{pid}/task")))
            .collect::<Vec<u64>>()
    };
    let addrs: Vec<SocketAddr> = servers.iter().map(C::addr).collect();
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let readers =
            connect_readers::<C>(&executor, &addrs, clients, epoch, true, 64 * 1024, mode).await;
        let expected = senders * lines;
        let cpu_before = servers_cpu();
        let helpers_before = helpers_cpu();
        let bench_before = bench_cpu_ns();
        let started = Instant::now();
        spawn_senders(&executor, &readers[..senders], lines, size, 16, epoch);
        let complete = wait_until(started, || {
            readers
                .iter()
                .all(|(_, seen)| seen.borrow().payload >= expected)
        })
        .await;
        let elapsed = readers
            .iter()
            .filter_map(|(_, seen)| seen.borrow().last)
            .max()
            .map_or(started.elapsed(), |last| last - started);
        let server_cpu = servers_cpu() - cpu_before;
        let helpers_cpu: Vec<u64> = helpers_cpu()
            .iter()
            .zip(&helpers_before)
            .map(|(after, before)| after - before)
            .collect();
        let bench_cpu = bench_cpu_ns() - bench_before;
        let deliveries = readers
            .iter()
            .map(|(_, s)| s.borrow().payload)
            .sum::<usize>();
        let per_delivery = |ns: u64| ns as f64 / 1e3 / deliveries.max(1) as f64;
        let mut latencies: Vec<u32> = readers
            .iter()
            .flat_map(|(_, seen)| std::mem::take(&mut seen.borrow_mut().latencies))
            .collect();
        latencies.sort_unstable();
        let (on, server) = match servers.len() {
            1 => (String::new(), "server"),
            count => (format!(" on {count} servers"), "servers"),
        };
        let helpers: String = helpers
            .iter()
            .zip(helpers_cpu)
            .map(|((name, _), cpu)| format!("{name} {:.3} µs CPU/delivery, ", per_delivery(cpu)))
            .collect();
        format!(
            "{clients} {}{on}, {senders} x {lines} lines of {size} B: {:.2} M deliveries/s, \
             {server} {:.3} µs CPU/delivery, {helpers}bench {:.3} µs CPU/delivery, \
             latency p50 {} p99 {}{}",
            C::NOUN,
            deliveries as f64 / elapsed.as_secs_f64() / 1e6,
            per_delivery(server_cpu),
            per_delivery(bench_cpu),
            millis(percentile(&latencies, 50.0)),
            millis(percentile(&latencies, 99.0)),
            if complete {
                ""
            } else {
                " (TIMED OUT: not all delivered)"
            },
        )
    }))
}

fn fanout() -> String {
    fan_out::<TcpStream>(100, 10, 1_000, 32, Mode::Book)
}

fn fanout_wide() -> String {
    fan_out::<TcpStream>(1_000, 1, 200, 32, Mode::Book)
}

/// `fanout` in names mode: the same load from named clients.
fn fanout_names() -> String {
    fan_out::<TcpStream>(100, 10, 1_000, 32, Mode::Names)
}

/// 50 named clients talking, a line a second each, under names mode's flood
/// control: how long their lines take to arrive without a flooder and with
/// one sending as fast as it can.
fn flood() -> String {
    let (quiet_p50, quiet_p99, quiet_done) = talk_with_flooder(false);
    let (loud_p50, loud_p99, loud_done) = talk_with_flooder(true);
    format!(
        "{TALKERS} clients, a line a second each for {TALK_SECONDS} s: latency p50 {} p99 {} \
         without a flooder, p50 {} p99 {} with one ({:.2}x p99){}",
        millis(quiet_p50),
        millis(quiet_p99),
        millis(loud_p50),
        millis(loud_p99),
        loud_p99 as f64 / quiet_p99.max(1) as f64,
        if quiet_done && loud_done {
            ""
        } else {
            " (TIMED OUT)"
        },
    )
}

/// The talkers of [`flood`].
const TALKERS: usize = 50;

/// How long they talk.
const TALK_SECONDS: usize = 10;

/// One run of [`flood`]: the talkers' latency p50 and p99 (µs), and whether
/// every line arrived.
fn talk_with_flooder(flooder: bool) -> (u32, u32, bool) {
    let server = Server::start(&["--names"]);
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let clients = TALKERS + usize::from(flooder);
        let readers = connect_readers::<TcpStream>(
            &executor,
            &[server.addr],
            clients,
            epoch,
            true,
            16 * 1024,
            Mode::Names,
        )
        .await;
        if flooder {
            // As fast as it can: its lines are not timestamped, so only the
            // talkers' lines are timed; it is held back by flood control
            // and, past that, by TCP.
            let mut stream = readers[TALKERS].0.clone();
            executor
                .spawn(async move {
                    let lines = b"flood, flood, flood\n".repeat(256);
                    while stream.write_all(&lines).await.is_ok() {}
                })
                .detach();
        }
        let started = Instant::now();
        for (index, (stream, _)) in readers[..TALKERS].iter().enumerate() {
            let mut stream = stream.clone();
            // Spread over the second, as people are.
            let offset = Duration::from_millis((1000 * index / TALKERS) as u64);
            executor
                .spawn(async move {
                    for second in 0..TALK_SECONDS {
                        Timer::at(started + offset + Duration::from_secs(second as u64)).await;
                        if stream.write_all(&payload(epoch, 32)).await.is_err() {
                            return;
                        }
                    }
                })
                .detach();
        }
        let expected = TALKERS * TALK_SECONDS;
        let complete = wait_until(started, || {
            readers
                .iter()
                .all(|(_, seen)| seen.borrow().payload >= expected)
        })
        .await;
        let mut latencies: Vec<u32> = readers
            .iter()
            .flat_map(|(_, seen)| std::mem::take(&mut seen.borrow_mut().latencies))
            .collect();
        latencies.sort_unstable();
        (
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            complete,
        )
    }))
}

/// One line every 10 ms to 100 clients: how long each takes to arrive.
fn latency() -> String {
    const CLIENTS: usize = 100;
    const LINES: usize = 300;
    let server = Server::start(&[]);
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let readers = connect_readers::<TcpStream>(
            &executor,
            &[server.addr],
            CLIENTS,
            epoch,
            true,
            16 * 1024,
            Mode::Book,
        )
        .await;
        let started = Instant::now();
        let mut sender = readers[0].0.clone();
        for index in 0..LINES {
            Timer::at(started + Duration::from_millis(10 * index as u64)).await;
            sender.write_all(&payload(epoch, 32)).await.expect("send");
        }
        let complete = wait_until(started, || {
            readers
                .iter()
                .all(|(_, seen)| seen.borrow().payload >= LINES)
        })
        .await;
        let mut latencies: Vec<u32> = readers
            .iter()
            .flat_map(|(_, seen)| std::mem::take(&mut seen.borrow_mut().latencies))
            .collect();
        latencies.sort_unstable();
        format!(
            "{CLIENTS} clients, a line every 10 ms ({LINES} lines): latency p50 {} p99 {} max {}{}",
            millis(percentile(&latencies, 50.0)),
            millis(percentile(&latencies, 99.0)),
            millis(latencies.last().copied().unwrap_or(0)),
            if complete { "" } else { " (TIMED OUT)" },
        )
    }))
}

/// 10,000 connections held open and quiet: the server's memory per
/// connection.
fn idle() -> String {
    const CLIENTS: usize = 10_000;
    let server = Server::start(&[]);
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    let baseline = server.rss_kib();
    smol::block_on(executor.run(async {
        let started = Instant::now();
        let readers = connect_readers::<TcpStream>(
            &executor,
            &[server.addr],
            CLIENTS,
            epoch,
            false,
            1024,
            Mode::Book,
        )
        .await;
        let storm = started.elapsed();
        let rss = server.rss_kib();
        let per_connection = (rss.saturating_sub(baseline)) as f64 * 1024.0 / CLIENTS as f64;
        drop(readers);
        format!(
            "{CLIENTS} idle connections: server RSS {} KiB (baseline {baseline} KiB), \
             {per_connection:.0} B per connection; arrival storm {:.1} s, {} cut off",
            rss,
            storm.as_secs_f64(),
            server.cut_offs()
        )
    }))
}

/// 50 clients, one never reads, 4 senders x 10,000 lines of 512 B (20 MB,
/// past the 16 MiB send queue): do the others get everything, without a
/// long pause, while the one that never reads is cut off?
fn slow() -> String {
    const CLIENTS: usize = 50;
    const SENDERS: usize = 4;
    const LINES: usize = 10_000;
    let server = Server::start(&[]);
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let readers = connect_readers::<TcpStream>(
            &executor,
            &[server.addr],
            CLIENTS - 1,
            epoch,
            false,
            64 * 1024,
            Mode::Book,
        )
        .await;
        // The stalled client: connected, never read.
        let stalled = TcpStream::connect(server.addr).await.expect("connect");
        let announced = wait_until(Instant::now(), || {
            readers.iter().all(|(_, seen)| seen.borrow().lines >= 1)
        })
        .await;
        assert!(announced);
        let started = Instant::now();
        spawn_senders(&executor, &readers[..SENDERS], LINES, 512, 8, epoch);
        let expected = SENDERS * LINES;
        let complete = wait_until(started, || {
            readers
                .iter()
                .all(|(_, seen)| seen.borrow().payload >= expected)
        })
        .await;
        let delivered: usize = readers.iter().map(|(_, s)| s.borrow().payload).sum();
        let pause = readers
            .iter()
            .map(|(_, s)| s.borrow().longest_pause)
            .max()
            .unwrap_or_default();
        let cut_off = server.cut_offs() > 0;
        drop(stalled);
        format!(
            "{CLIENTS} clients, 1 never reads, {SENDERS} x {LINES} lines of 512 B: \
             {:.1}% delivered to the others, longest pause {:.1} ms, stalled client {}{}",
            100.0 * delivered as f64 / (expected * readers.len()) as f64,
            pause.as_secs_f64() * 1e3,
            if cut_off {
                "cut off"
            } else {
                "still connected"
            },
            if complete { "" } else { " (TIMED OUT)" },
        )
    }))
}

/// Clients connect, say a line, leave, over and over, with observers.
fn churn() -> String {
    const OBSERVERS: usize = 3;
    const WORKERS: usize = 8;
    const CYCLES: usize = 20_000;
    let server = Server::start(&[]);
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let observers = connect_readers::<TcpStream>(&executor, &[server.addr], OBSERVERS, epoch, false, 64 * 1024, Mode::Book).await;
        let addr = server.addr;
        let done = Rc::new(RefCell::new(0usize));
        let cpu_before = server.cpu_ns();
        let started = Instant::now();
        for _ in 0..WORKERS {
            let done = done.clone();
            executor
                .spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for _ in 0..CYCLES / WORKERS {
                        let Ok(mut stream) = TcpStream::connect(addr).await else { return };
                        if stream.write_all(b"hello, and goodbye\n").await.is_err() {
                            return;
                        }
                        let _ = stream.shutdown(std::net::Shutdown::Write);
                        // Read the greeting and the echo, up to the close.
                        while let Ok(1..) = stream.read(&mut buf).await {}
                        *done.borrow_mut() += 1;
                    }
                })
                .detach();
        }
        let complete = wait_until(started, || *done.borrow() >= CYCLES).await;
        let elapsed = started.elapsed();
        let server_cpu = server.cpu_ns() - cpu_before;
        let cycles = *done.borrow();
        drop(observers);
        future::yield_now().await;
        format!(
            "{WORKERS} clients at a time, {cycles} connect-say-leave cycles, {OBSERVERS} observers: \
             {:.0} cycles/s, server {:.1} µs CPU/cycle{}",
            cycles as f64 / elapsed.as_secs_f64(),
            server_cpu as f64 / 1e3 / cycles.max(1) as f64,
            if complete { "" } else { " (TIMED OUT)" },
        )
    }))
}

// ---------------------------------------------------------------- cluster

/// The `cluster` scenario: `fanout`'s load on two servers that share one
/// room through Redis (`--redis`), the clients, and so the senders, split
/// evenly between them; its row sits beside `fanout`'s, which is the same
/// load on one server.
///
/// The benchmark starts its own Redis (`redis-server`, Debian's package)
/// on a free loopback port, with nothing saved to disk, and stops it at
/// the end. Pinned (see [`pin_benchmark`]), both servers and Redis share
/// the server's CPU, and the benchmark keeps its own: so the row compares
/// what one core does as a cluster with what it does as one server, the
/// cost of going through Redis, not the scaling that more machines would
/// give (a 2-core machine has no core to give each server). With
/// `BENCH_PIN=0` the scheduler places all four processes, and they take
/// turns on the two cores.
#[cfg(feature = "redis")]
mod cluster {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use async_net::TcpStream;
    use rustix::process::{kill_process, Pid, Signal};

    use super::{fan_out_on, pin_process, Mode, Server, SERVER_CPU};

    /// The servers of the room.
    const SERVERS: usize = 2;

    /// `fanout`'s 100 clients, 10 of them sending 1,000 lines of 32 B,
    /// split between the servers. Anything the row alone would not show is
    /// added to it: a server that lost Redis, or Redis cutting a server's
    /// subscription off for falling behind (its output buffer limit).
    pub fn fanout() -> String {
        // Declared first, so dropped last: the servers leave the room while
        // Redis is still there.
        let redis = Redis::start();
        let url = redis.url();
        let servers: Vec<Server> = (0..SERVERS)
            .map(|_| Server::start(&["--redis", &url]))
            .collect();
        let row = fan_out_on::<TcpStream>(
            &servers,
            &[("Redis", redis.child.id())],
            100,
            10,
            1_000,
            32,
            Mode::Book,
        );
        let mut trouble: Vec<String> = servers
            .iter()
            .flat_map(|server| server.log.lock().unwrap().clone())
            .filter(|line| line.contains("Redis"))
            .collect();
        trouble.extend(
            redis
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|line| line.contains("output buffer limits"))
                .cloned(),
        );
        match trouble.first() {
            None => row,
            Some(first) => format!("{row} ({} log lines: {first:?}...)", trouble.len()),
        }
    }

    /// A `redis-server` of the benchmark's own.
    struct Redis {
        child: Child,
        port: u16,
        /// Its working directory, empty (nothing is saved), removed after.
        dir: PathBuf,
        /// Its log, collected by a thread.
        log: Arc<Mutex<Vec<String>>>,
    }

    impl Redis {
        /// Starts Redis on a free loopback port and waits until it answers.
        fn start() -> Redis {
            // The port is free when chosen, but another process may take it
            // before Redis binds it: then a second choice.
            let mut failures = Vec::new();
            for _ in 0..3 {
                match Redis::try_start() {
                    Ok(redis) => return redis,
                    Err(failure) => failures.push(failure),
                }
            }
            panic!("redis-server did not start: {failures:?}");
        }

        fn try_start() -> Result<Redis, String> {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let dir = std::env::temp_dir()
                .join(format!("chat-bench-redis-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("Redis's directory");
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--bind", "127.0.0.1"])
                .arg("--dir")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap_or_else(|error| {
                    panic!(
                        "`cluster` needs redis-server on the PATH \
                         (Debian: apt install redis-server): {error}"
                    )
                });
            let stdout = BufReader::new(child.stdout.take().unwrap());
            let log = Arc::new(Mutex::new(Vec::new()));
            let collected = log.clone();
            std::thread::spawn(move || {
                for line in stdout.lines().map_while(Result::ok) {
                    collected.lock().unwrap().push(line);
                }
            });
            // Dropped on failure from here: stopped, its directory removed.
            let mut redis = Redis {
                child,
                port,
                dir,
                log,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while !redis.answers() {
                if let Ok(Some(status)) = redis.child.try_wait() {
                    let log = redis.log.lock().unwrap().join("\n");
                    return Err(format!("exited ({status}): {log}"));
                }
                if Instant::now() > deadline {
                    return Err("no PONG within 10 s".into());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            // Its threads started from the benchmark's, on the benchmark's
            // CPU: they go to the servers'.
            if let Some(&cpu) = SERVER_CPU.get() {
                pin_process(redis.child.id(), cpu);
            }
            Ok(redis)
        }

        /// Whether Redis answers a PING.
        fn answers(&self) -> bool {
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            let timeout = Duration::from_secs(1);
            let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, timeout) else {
                return false;
            };
            let _ = stream.set_read_timeout(Some(timeout));
            let mut answer = [0u8; 7];
            stream.write_all(b"PING\r\n").is_ok()
                && stream.read_exact(&mut answer).is_ok()
                && &answer == b"+PONG\r\n"
        }

        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}", self.port)
        }
    }

    impl Drop for Redis {
        /// Stops Redis (it saves nothing), or kills it if it takes too
        /// long, and removes its directory.
        fn drop(&mut self) {
            if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
                let _ = kill_process(pid, Signal::TERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
