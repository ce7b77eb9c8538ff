//! The `cluster` scenario: `fanout`'s load on two servers that share one
//! room through Redis (`--redis`), the clients, and so the senders, split
//! evenly between them; its row sits beside `fanout`'s, which is the same
//! load on one server.
//!
//! The benchmark starts its own Redis (`redis-server`, Debian's package) on
//! a free loopback port, with nothing saved to disk, and stops it at the
//! end. Pinned (see [`crate::server::pin_benchmark`]), both servers and
//! Redis share the server's CPU, and the benchmark keeps its own: so the
//! row compares what one core does as a cluster with what it does as one
//! server, the cost of going through Redis, not the scaling that more
//! machines would give (a 2-core machine has no core to give each server).
//! With `BENCH_PIN=0` the scheduler places all four processes, and they
//! take turns on the two cores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_lite::AsyncWriteExt;
use rustix::process::{kill_process, Pid, Signal};
use smol::LocalExecutor;
use socket2::{Domain, Socket, Type};

use crate::clients::{start_reading, Client, Mode, SeenRef};
use crate::fanout::fan_out_on;
use crate::server::{pin_process, Server, SERVER_CPU};

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
    let row = fan_out_on::<FromOwnAddress>(
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

/// A TCP client that connects to each server from a loopback address of
/// that server's own. In book mode a client's name is its address, unique
/// in the whole room: from one shared 127.0.0.1, the kernel may give two
/// clients the same port towards two servers (in about 3% of runs of 50
/// and 50 connections to two fresh ports, tried here), and the later
/// server then rightly refuses its client as already in the room through
/// the other, which the row saw as a client never greeted. From
/// 127.P.P.1, P the server's port, no two servers' clients share an
/// address; all of 127/8 is loopback.
#[derive(Clone)]
struct FromOwnAddress(TcpStream);

impl Client for FromOwnAddress {
    const NOUN: &'static str = TcpStream::NOUN;

    const FLAGS: &'static [&'static str] = TcpStream::FLAGS;

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
        let [high, low] = addr.port().to_be_bytes();
        let from = SocketAddr::from(([127, high, low, 1], 0));
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket
            .bind(&from.into())
            .expect("bind the client's own address");
        // A blocking connect: over loopback it is done within the call, and
        // the window of connections not yet greeted keeps the server's
        // backlog from filling.
        socket.connect(&addr.into()).expect("connect");
        let stream = TcpStream::try_from(std::net::TcpStream::from(socket)).expect("register");
        FromOwnAddress(start_reading(executor, stream, epoch, seen, record, buffer))
    }

    async fn send(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.0.write_all(lines).await
    }
}

/// A `redis-server` of the benchmark's own.
struct Redis {
    /// The process, to pin, measure and stop.
    child: Child,
    /// Where it listens: free when chosen.
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

    /// One attempt of [`Redis::start`]: on failure, what Redis said, for
    /// the panic if every attempt fails.
    fn try_start() -> Result<Redis, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("chat-bench-redis-{}-{port}", std::process::id()));
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

    /// What the servers' `--redis` takes.
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
