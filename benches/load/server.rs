//! The server side of every scenario: the `chat` binary started and
//! stopped as an operator would, its CPU and memory read from /proc, and
//! the pinning that keeps it and the benchmark off each other's core.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};

/// The release `chat` binary on a free loopback port.
pub struct Server {
    /// The process, to measure and to stop.
    child: Child,
    /// Where TCP clients connect.
    pub addr: SocketAddr,
    /// The page's address, when started with `--http`.
    #[cfg_attr(not(feature = "web"), allow(dead_code))]
    pub page: Option<SocketAddr>,
    /// The server's log lines after the first, collected by a thread.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `chat` with the flags `extra` and waits for the addresses it
    /// logs, so that no client connects before it listens.
    pub fn start(extra: &[&str]) -> Self {
        // CHAT_BIN runs another build of `chat`, to compare two builds.
        let binary =
            std::env::var_os("CHAT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_chat").into());
        if let Some(peer) = Peer::chosen() {
            return Self::start_peer(peer, binary, extra);
        }
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

    /// Starts `binary` as the peer server `peer`, and waits until it
    /// accepts connections at its fixed address. A probe connection says
    /// so, and leaves at once: a line or two before the scenario starts,
    /// which the scenarios' counts allow for.
    fn start_peer(peer: Peer, binary: std::ffi::OsString, extra: &[&str]) -> Self {
        assert!(
            extra.is_empty(),
            "this scenario needs chat's own flags {extra:?}: not for CHAT_PEER"
        );
        let child = Command::new(binary)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the peer server");
        let addr = peer.addr();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the peer never listened on {addr}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let server = Server {
            child,
            addr,
            page: None,
            log: Default::default(),
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
    pub fn cut_offs(&self) -> usize {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|line| line.contains("send queue full"))
            .count()
    }

    /// Whether the server has cut off the client connected from `addr`,
    /// from its log.
    pub fn cut_off(&self, addr: SocketAddr) -> bool {
        let needle = format!("{addr} disconnected: not reading");
        let log = self.log.lock().unwrap();
        log.iter().any(|line| line.contains(&needle))
    }

    /// CPU time of all the server's threads, in nanoseconds.
    pub fn cpu_ns(&self) -> u64 {
        cpu_ns_of(&format!("/proc/{}/task", self.child.id()))
    }

    /// Resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
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

/// A peer server measured in `chat`'s place, for the README's side by
/// side: `CHAT_PEER=go|smol|tokio CHAT_BIN=path cargo bench -- fanout-wide
/// churn` (the book's `ch8/chat`, smol's `chat-server` example, tokio's
/// `chat` example, each as published). Each listens on its own fixed
/// address and speaks its own dialect of the book's chat; the scenarios
/// that need `chat`'s flags (names mode, the page, Redis) refuse to run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Peer {
    /// The book's: the same lines as `chat` in book mode.
    Go,
    /// smol's example: `ADDR says: TEXT`, and a newcomer sees its own
    /// arrival (in place of a greeting).
    Smol,
    /// tokio's example: asks a name first, and never echoes a line to
    /// its sender.
    Tokio,
}

impl Peer {
    /// The peer `CHAT_PEER` names, if any.
    pub fn chosen() -> Option<Peer> {
        static CHOSEN: OnceLock<Option<Peer>> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let name = std::env::var("CHAT_PEER").ok()?;
            match name.as_str() {
                "go" => Some(Peer::Go),
                "smol" => Some(Peer::Smol),
                "tokio" => Some(Peer::Tokio),
                _ => panic!("CHAT_PEER={name:?}: go, smol or tokio"),
            }
        })
    }

    /// Where it listens, as published.
    fn addr(self) -> SocketAddr {
        let port = match self {
            Peer::Go => 8000,
            Peer::Smol => 6000,
            Peer::Tokio => 6142,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Whether a sender gets its own lines back.
    pub fn echoes(self) -> bool {
        self != Peer::Tokio
    }

    /// Whether a client must give a name before it is in.
    pub fn asks_name(self) -> bool {
        self == Peer::Tokio
    }
}

/// The address in the server's next log line, which must start with
/// `prefix`: anything else (a `CHAT_BIN` built without the page, a port in
/// use) is the server refusing to start, and is shown as it said it. A
/// server of a shared room says first which room it joined.
fn logged_addr(stderr: &mut impl BufRead, prefix: &str) -> SocketAddr {
    let mut line = String::new();
    stderr.read_line(&mut line).expect("read chat's log");
    if line.starts_with("chat: joined room ") {
        line.clear();
        stderr.read_line(&mut line).expect("read chat's log");
    }
    line.trim_end()
        .strip_prefix(prefix)
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("chat did not start: {:?}", line.trim_end()))
}

/// Keeps every thread of process `pid` on `cpu`; the threads it starts
/// later inherit that from the thread that starts them.
pub fn pin_process(pid: u32, cpu: usize) {
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
pub fn cpu_ns_of(tasks: &str) -> u64 {
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
pub fn bench_cpu_ns() -> u64 {
    cpu_ns_of("/proc/self/task")
}

/// The CPU the server runs on, once [`pin_benchmark`] has chosen it.
pub static SERVER_CPU: OnceLock<usize> = OnceLock::new();

/// Puts the benchmark's thread on the first CPU it may use and keeps the
/// second for the server: the two then never share a core. Left to itself,
/// the scheduler often wakes a reader on the core of the writer that woke
/// it, so the server and its load share one core while the other idles
/// (latency doubles). With one CPU, or `BENCH_PIN=0`, nothing is pinned.
/// Everything on the server's side goes to the second CPU: `cluster`'s two
/// servers and its Redis too.
pub fn pin_benchmark() {
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

/// Lets `idle` hold its 10,000 connections, past the usual soft limit of
/// 1,024 open files.
pub fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}
