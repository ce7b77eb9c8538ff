//! The client side every scenario shares: clients that connect to the
//! room and read it on the benchmark's one thread, the payload lines that
//! carry their own send time, and the percentiles and figures the rows
//! report.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use smol::{LocalExecutor, Timer};

use crate::server::{Peer, Server};

/// Connections the benchmark opens ahead of their greetings.
const CONNECT_WINDOW: usize = 100;

/// The longest any scenario may run before it is reported as timed out.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// What a reading client saw.
#[derive(Default)]
pub struct Seen {
    /// Lines carrying a timestamp (payload lines).
    pub payload: usize,
    /// All lines.
    pub lines: usize,
    /// Delivery latencies in microseconds, for payload lines.
    pub latencies: Vec<u32>,
    /// The longest gap between two payload lines, once the first arrived.
    pub longest_pause: Duration,
    /// When the last payload line arrived.
    pub last: Option<Instant>,
    /// The connection ended.
    pub ended: bool,
}

impl Seen {
    /// Counts one line (without its `\n`) that arrived at `now`, `now_ns`
    /// after the epoch, recording its latency when `record`.
    pub fn line(&mut self, line: &[u8], now: Instant, now_ns: u64, record: bool) {
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
pub type SeenRef = Rc<RefCell<Seen>>;

/// A payload line: `T` and 16 hex digits of nanoseconds since `epoch`,
/// padded with `x` to `size` bytes, then `\n`.
pub fn payload(epoch: Instant, size: usize) -> Vec<u8> {
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

/// The timestamp of a line `ADDR: T<16 hex>...`, if it is a payload line
/// (or `ADDR says: T...`, as smol's example says it: see `Peer`).
fn timestamp(line: &[u8]) -> Option<u64> {
    let colon = line.windows(3).position(|w| w == b": T")?;
    let hex = line.get(colon + 2..colon + 19)?;
    u64::from_str_radix(std::str::from_utf8(&hex[1..]).ok()?, 16).ok()
}

/// A client of the room as the benchmark drives it: over TCP, as the
/// book's clients are, or (the `web` scenario) over the page's WebSocket.
/// Scenarios written over it run the same load either way, so their rows
/// compare the transports and nothing else.
pub trait Client: Clone + 'static {
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
        start_reading(executor, stream, epoch, seen, record, buffer)
    }

    async fn send(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.write_all(lines).await
    }
}

/// Sets up a connected `stream` as the benchmark's clients are (no Nagle)
/// and reads what arrives into `seen` on a task of its own; the stream is
/// the client's sending half.
pub fn start_reading(
    executor: &LocalExecutor<'_>,
    stream: TcpStream,
    epoch: Instant,
    seen: SeenRef,
    record: bool,
    buffer: usize,
) -> TcpStream {
    let _ = stream.set_nodelay(true);
    executor
        .spawn(read_lines(stream.clone(), epoch, seen, record, buffer))
        .detach();
    stream
}

/// Waits until `done` holds, checking whenever the executor is idle for a
/// moment, or until the scenario's time is up (then false).
pub async fn wait_until(started: Instant, mut done: impl FnMut() -> bool) -> bool {
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
pub async fn connect_readers<'a, C: Client>(
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
        if mode == Mode::Names || Peer::chosen().is_some_and(Peer::asks_name) {
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
    let total = || {
        clients
            .iter()
            .map(|(_, seen)| seen.borrow().lines)
            .sum::<usize>()
    };
    // The book's server announces a newcomer before it is in, so a client
    // just before it may miss its arrival: for a peer, the storm is over
    // when nothing more arrives for a while.
    let mut quiet = (0, Instant::now());
    let ready = wait_until(started, || {
        let now = total();
        if now != quiet.0 {
            quiet = (now, Instant::now());
        }
        now >= expected
            || Peer::chosen().is_some() && quiet.1.elapsed() > Duration::from_millis(500)
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
pub enum Mode {
    /// The book's room: a client is its address, and is in at once.
    Book,
    /// Names mode: a client answers for its name first.
    Names,
}

impl Mode {
    /// The server's flags for the mode.
    pub fn flags(self) -> &'static [&'static str] {
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
pub fn spawn_senders<C: Client>(
    executor: &LocalExecutor<'_>,
    senders: &[(C, SeenRef)],
    lines: usize,
    size: usize,
    per_write: usize,
    epoch: Instant,
) {
    spawn_paced_senders(executor, senders, lines, size, per_write, epoch, None);
}

/// How far senders may get ahead of the clients reading them: at most
/// `lines` payload lines, in all, past the fewest any of `readers` has
/// seen (those whose connection ended aside).
///
/// For a load past what the benchmark's one thread reads in time. Each
/// reader takes every sender's lines, and the senders are never idle:
/// whenever the readers wait for the reactor to say their sockets are
/// readable, the senders write on, and the server takes what they write
/// as fast as its room broadcasts (the faster, the less its writers get
/// written). In `slow`, unpaced, the senders once got 8 MB ahead in 10 ms,
/// and in about one run in three the readers fell 16 MiB behind: the
/// server rightly cut them off as clients that do not keep up, and the run
/// waited for them until it timed out. Clients on their own machines read
/// as fast as the server writes; a pace keeps the benchmark's readers
/// within a window of the room, so that a client the server cuts off is
/// one that does not read, not one the benchmark starved.
pub struct Pace {
    /// The clients whose reading the senders wait for.
    pub readers: Vec<SeenRef>,
    /// How many payload lines, in all, may be on their way to them.
    pub lines: usize,
}

impl Pace {
    /// Whether `sent` payload lines in all, and `more`, keep within the
    /// window.
    fn allows(&self, sent: usize, more: usize) -> bool {
        let fewest = self
            .readers
            .iter()
            .map(|seen| seen.borrow())
            .filter(|seen| !seen.ended)
            .map(|seen| seen.payload)
            .min();
        fewest.is_none_or(|fewest| sent + more <= fewest + self.lines)
    }
}

/// [`spawn_senders`], each write waiting, when `pace` is given, until it
/// keeps within the pace's window.
pub fn spawn_paced_senders<C: Client>(
    executor: &LocalExecutor<'_>,
    senders: &[(C, SeenRef)],
    lines: usize,
    size: usize,
    per_write: usize,
    epoch: Instant,
    pace: Option<Pace>,
) {
    // The lines written by all the senders, against the pace.
    let written: Rc<std::cell::Cell<usize>> = Rc::default();
    let pace = pace.map(Rc::new);
    for (client, _) in senders {
        let mut client = client.clone();
        let (written, pace) = (written.clone(), pace.clone());
        executor
            .spawn(async move {
                let mut sent = 0;
                while sent < lines {
                    let count = per_write.min(lines - sent);
                    if let Some(pace) = &pace {
                        while !pace.allows(written.get(), count) {
                            Timer::after(Duration::from_millis(1)).await;
                        }
                    }
                    let mut chunk = Vec::with_capacity(count * (size + 1));
                    for _ in 0..count {
                        chunk.extend_from_slice(&payload(epoch, size));
                    }
                    sent += count;
                    written.set(written.get() + count);
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

/// Every reader's latencies in one sorted list, for [`percentile`]: a row's
/// figures are over all its deliveries, whichever client they reached.
/// Taken from the readers, not copied: they are done by then.
pub fn sorted_latencies<C>(readers: &[(C, SeenRef)]) -> Vec<u32> {
    let mut latencies: Vec<u32> = readers
        .iter()
        .flat_map(|(_, seen)| std::mem::take(&mut seen.borrow_mut().latencies))
        .collect();
    latencies.sort_unstable();
    latencies
}

/// Percentile `p` (0..=100) of sorted samples.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Microseconds as every row shows a latency, so that rows compare at a
/// glance.
pub fn millis(micros: u32) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}
