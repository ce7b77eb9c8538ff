//! The `idle` scenario: what a connection costs the server in memory
//! while it does nothing, which bounds how many one machine can hold.

use std::time::Instant;

use async_net::TcpStream;
use smol::LocalExecutor;

use crate::clients::{connect_readers, Mode};
use crate::server::Server;

/// 10,000 connections held open and quiet: the server's memory per
/// connection.
pub fn idle() -> String {
    idle_in(Mode::Book)
}

/// `idle` in names mode: every connection named.
pub fn idle_names() -> String {
    idle_in(Mode::Names)
}

/// The scenario in `mode`.
fn idle_in(mode: Mode) -> String {
    const CLIENTS: usize = 10_000;
    let server = Server::start(mode.flags());
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
            mode,
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
