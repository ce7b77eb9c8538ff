//! The `flood` scenario: whether names mode's flood control keeps one
//! client's flood from delaying everyone else's lines.

use std::time::{Duration, Instant};

use async_net::TcpStream;
use futures_lite::AsyncWriteExt;
use smol::{LocalExecutor, Timer};

use crate::clients::{
    connect_readers, millis, payload, percentile, sorted_latencies, wait_until, Mode,
};
use crate::server::Server;

/// 50 named clients talking, a line a second each, under names mode's flood
/// control: how long their lines take to arrive without a flooder and with
/// one sending as fast as it can.
pub fn flood() -> String {
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
        let latencies = sorted_latencies(&readers);
        (
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            complete,
        )
    }))
}
