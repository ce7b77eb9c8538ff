//! The `slow` scenario: a client that never reads must be cut off without
//! holding up the room's other clients.

use std::time::Instant;

use async_net::TcpStream;
use smol::LocalExecutor;

use crate::clients::{connect_readers, spawn_senders, wait_until, Mode};
use crate::server::Server;

/// 50 clients, one never reads, 4 senders x 10,000 lines of 512 B (20 MB,
/// past the 16 MiB send queue): do the others get everything, without a
/// long pause, while the one that never reads is cut off?
pub fn slow() -> String {
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
