//! The `churn` scenario: the cost of a connection's whole life, arrival,
//! a line and departure, announced each time to the observers.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use async_net::TcpStream;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use smol::LocalExecutor;

use crate::clients::{connect_readers, wait_until, Mode};
use crate::server::Server;

/// Clients connect, say a line, leave, over and over, with observers.
pub fn churn() -> String {
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
