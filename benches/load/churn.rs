//! The `churn` scenarios: the cost of a connection's whole life, arrival,
//! a line and departure, announced each time to the observers; over TCP
//! (`churn`), or over the page's WebSocket (`churn-web`, in `web`).

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

use async_net::TcpStream;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use smol::LocalExecutor;

use crate::clients::{connect_readers, wait_until, Mode};
use crate::server::{bench_cpu_ns, Peer, Server};

/// Visits at a time, as the issue that set the goal measured them.
const WORKERS: usize = 20;

/// Clients that stay and hear every arrival and leave.
const OBSERVERS: usize = 4;

/// Visits in all.
const CYCLES: usize = 20_000;

/// One visit to the server at an address: whether it went through.
pub type Visit = fn(SocketAddr) -> Pin<Box<dyn Future<Output = bool>>>;

/// Clients connect, say a line, leave, over and over, with observers.
pub fn churn() -> String {
    let server = Server::start(&[]);
    let addr = server.addr;
    churn_on(&server, addr, |addr| Box::pin(visit(addr)))
}

/// One TCP visit: connect, say a line, half-close, read everything up to
/// the server's close (the greeting and the echo).
async fn visit(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    // tokio's example asks a name first (see `Peer`).
    let said: &[u8] = match Peer::chosen().is_some_and(Peer::asks_name) {
        true => b"visitor\nhello, and goodbye\n",
        false => b"hello, and goodbye\n",
    };
    if stream.write_all(said).await.is_err() {
        return false;
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut buf = [0u8; 4096];
    while let Ok(1..) = stream.read(&mut buf).await {}
    true
}

/// [`WORKERS`] clients at a time make `visit`s to `addr` of `server`
/// until [`CYCLES`] are done, with [`OBSERVERS`] in the room over TCP.
pub fn churn_on(server: &Server, addr: SocketAddr, visit: Visit) -> String {
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let observers = connect_readers::<TcpStream>(
            &executor,
            &[server.addr],
            OBSERVERS,
            epoch,
            false,
            64 * 1024,
            Mode::Book,
        )
        .await;
        let done = Rc::new(RefCell::new(0usize));
        let cpu_before = server.cpu_ns();
        let bench_before = bench_cpu_ns();
        let started = Instant::now();
        for _ in 0..WORKERS {
            let done = done.clone();
            executor
                .spawn(async move {
                    for _ in 0..CYCLES / WORKERS {
                        if !visit(addr).await {
                            return;
                        }
                        *done.borrow_mut() += 1;
                    }
                })
                .detach();
        }
        let complete = wait_until(started, || *done.borrow() >= CYCLES).await;
        let elapsed = started.elapsed();
        let server_cpu = server.cpu_ns() - cpu_before;
        let bench_cpu = bench_cpu_ns() - bench_before;
        let cycles = *done.borrow();
        let per_cycle = |ns: u64| ns as f64 / 1e3 / cycles.max(1) as f64;
        // Near 100%, that side is the ceiling.
        let busy = |ns: u64| ns as f64 / elapsed.as_nanos().max(1) as f64 * 100.0;
        drop(observers);
        future::yield_now().await;
        format!(
            "{WORKERS} clients at a time, {cycles} connect-say-leave cycles, {OBSERVERS} observers: \
             {:.0} cycles/s, server {:.1} µs CPU/cycle ({:.0}% of its core), \
             benchmark {:.1} µs ({:.0}%){}",
            cycles as f64 / elapsed.as_secs_f64(),
            per_cycle(server_cpu),
            busy(server_cpu),
            per_cycle(bench_cpu),
            busy(bench_cpu),
            if complete { "" } else { " (TIMED OUT)" },
        )
    }))
}
