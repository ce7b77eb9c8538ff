//! The `slow` scenario: a client that never reads must be cut off without
//! holding up the room's other clients.

use std::time::Instant;

use async_net::TcpStream;
use smol::LocalExecutor;

use crate::clients::{connect_readers, spawn_paced_senders, wait_until, Mode, Pace};
use crate::server::Server;

/// How far the senders may get ahead of the slowest reader, in bytes: an
/// eighth of the send queue, so that a client that reads is never cut off
/// for the benchmark's own slowness (see `Pace`), and the one that never
/// reads still is: what the senders send in all is past its queue.
const AHEAD: usize = 2 << 20;

/// 50 clients, one never reads, 4 senders x 10,000 lines of 512 B (20 MB,
/// past the 16 MiB send queue): do the others get everything, without a
/// long pause, while the one that never reads is cut off?
pub fn slow() -> String {
    const CLIENTS: usize = 50;
    const SENDERS: usize = 4;
    const LINES: usize = 10_000;
    const SIZE: usize = 512;
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
        let pace = Pace {
            readers: readers.iter().map(|(_, seen)| seen.clone()).collect(),
            lines: AHEAD / (SIZE + 1),
        };
        let senders = &readers[..SENDERS];
        spawn_paced_senders(&executor, senders, LINES, SIZE, 8, epoch, Some(pace));
        let expected = SENDERS * LINES;
        // Until everyone has everything, or someone's connection ended
        // (cut off, which the row says): then nothing more will come.
        let over = wait_until(started, || {
            readers
                .iter()
                .all(|(_, seen)| seen.borrow().payload >= expected)
                || readers.iter().any(|(_, seen)| seen.borrow().ended)
        })
        .await;
        let complete = over && readers.iter().all(|(_, s)| s.borrow().payload >= expected);
        let delivered: usize = readers.iter().map(|(_, s)| s.borrow().payload).sum();
        let pause = readers
            .iter()
            .map(|(_, s)| s.borrow().longest_pause)
            .max()
            .unwrap_or_default();
        let cut_off = stalled.local_addr().is_ok_and(|addr| server.cut_off(addr));
        // Nothing but a cut-off ends a reader's connection here.
        let others = readers.iter().filter(|(_, s)| s.borrow().ended).count();
        drop(stalled);
        format!(
            "{CLIENTS} clients, 1 never reads, {SENDERS} x {LINES} lines of {SIZE} B: \
             {:.1}% delivered to the others, longest pause {:.1} ms, stalled client {}{}{}",
            100.0 * delivered as f64 / (expected * readers.len()) as f64,
            pause.as_secs_f64() * 1e3,
            if cut_off {
                "cut off"
            } else {
                "still connected"
            },
            match others {
                0 => String::new(),
                _ => format!(", {others} of the others cut off too"),
            },
            match (complete, over) {
                (true, _) => "",
                (false, true) => " (INCOMPLETE)",
                (false, false) => " (TIMED OUT)",
            },
        )
    }))
}
