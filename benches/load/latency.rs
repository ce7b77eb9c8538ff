//! The `latency` scenario: how long a line takes to reach everyone when
//! the room is not busy, the delay a person would notice.

use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_lite::AsyncWriteExt;
use smol::{LocalExecutor, Timer};

use crate::clients::{
    connect_readers, millis, payload, percentile, sorted_latencies, wait_until, Mode,
};
use crate::server::Server;

/// One line every 10 ms to 100 clients: how long each takes to arrive.
pub fn latency() -> String {
    latency_in(Mode::Book)
}

/// `latency` in names mode: named clients, the room formatting each line.
pub fn latency_names() -> String {
    latency_in(Mode::Names)
}

/// The scenario in `mode`.
fn latency_in(mode: Mode) -> String {
    const CLIENTS: usize = 100;
    const LINES: usize = 300;
    let server = Server::start(mode.flags());
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
            mode,
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
        let latencies = sorted_latencies(&readers);
        format!(
            "{CLIENTS} clients, a line every 10 ms ({LINES} lines): latency p50 {} p99 {} max {}{}",
            millis(percentile(&latencies, 50.0)),
            millis(percentile(&latencies, 99.0)),
            millis(latencies.last().copied().unwrap_or(0)),
            if complete { "" } else { " (TIMED OUT)" },
        )
    }))
}
