//! The fanout family: senders as fast as they can, every client receiving
//! every line; the throughput, CPU per delivery and latency rows that
//! `web` and `cluster` run over other transports and servers.

use std::net::SocketAddr;
use std::time::Instant;

use async_net::TcpStream;
use smol::LocalExecutor;

use crate::clients::{
    connect_readers, millis, percentile, sorted_latencies, spawn_senders, wait_until, Client, Mode,
};
use crate::server::{bench_cpu_ns, cpu_ns_of, Peer, Server};

/// `senders` of `clients` each send `lines` payload lines of `size` bytes
/// as fast as they can; every client must receive all of them.
pub fn fan_out<C: Client>(
    clients: usize,
    senders: usize,
    lines: usize,
    size: usize,
    mode: Mode,
) -> String {
    let flags: Vec<&str> = mode.flags().iter().chain(C::FLAGS).copied().collect();
    let server = Server::start(&flags);
    fan_out_on::<C>(&[server], &[], clients, senders, lines, size, mode)
}

/// [`fan_out`]'s load on `servers` of one room, the clients dealt out among
/// them in turn, so the senders too. The row adds up the servers' CPU, and
/// shows apart that of each of `helpers` (a name and a process id): the
/// `cluster` scenario's Redis.
#[allow(clippy::too_many_arguments)]
pub fn fan_out_on<C: Client>(
    servers: &[Server],
    helpers: &[(&str, u32)],
    clients: usize,
    senders: usize,
    lines: usize,
    size: usize,
    mode: Mode,
) -> String {
    let servers_cpu = || servers.iter().map(Server::cpu_ns).sum::<u64>();
    let helpers_cpu = || {
        helpers
            .iter()
            .map(|(_, pid)| cpu_ns_of(&format!("/proc/{pid}/task")))
            .collect::<Vec<u64>>()
    };
    let addrs: Vec<SocketAddr> = servers.iter().map(C::addr).collect();
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let readers =
            connect_readers::<C>(&executor, &addrs, clients, epoch, true, 64 * 1024, mode).await;
        let expected = senders * lines;
        let cpu_before = servers_cpu();
        let helpers_before = helpers_cpu();
        let bench_before = bench_cpu_ns();
        let started = Instant::now();
        spawn_senders(&executor, &readers[..senders], lines, size, 16, epoch);
        // A peer that echoes nothing to its sender (see `Peer`) sends a
        // sender only the others' lines.
        let own = match Peer::chosen().is_some_and(|peer| !peer.echoes()) {
            true => lines,
            false => 0,
        };
        let complete = wait_until(started, || {
            readers.iter().enumerate().all(|(index, (_, seen))| {
                seen.borrow().payload >= expected - if index < senders { own } else { 0 }
            })
        })
        .await;
        let elapsed = readers
            .iter()
            .filter_map(|(_, seen)| seen.borrow().last)
            .max()
            .map_or(started.elapsed(), |last| last - started);
        let server_cpu = servers_cpu() - cpu_before;
        let helpers_cpu: Vec<u64> = helpers_cpu()
            .iter()
            .zip(&helpers_before)
            .map(|(after, before)| after - before)
            .collect();
        let bench_cpu = bench_cpu_ns() - bench_before;
        let deliveries = readers
            .iter()
            .map(|(_, s)| s.borrow().payload)
            .sum::<usize>();
        let per_delivery = |ns: u64| ns as f64 / 1e3 / deliveries.max(1) as f64;
        let latencies = sorted_latencies(&readers);
        let (on, server) = match servers.len() {
            1 => (String::new(), "server"),
            count => (format!(" on {count} servers"), "servers"),
        };
        let helpers: String = helpers
            .iter()
            .zip(helpers_cpu)
            .map(|((name, _), cpu)| format!("{name} {:.3} µs CPU/delivery, ", per_delivery(cpu)))
            .collect();
        format!(
            "{clients} {}{on}, {senders} x {lines} lines of {size} B: {:.2} M deliveries/s, \
             {server} {:.3} µs CPU/delivery, {helpers}bench {:.3} µs CPU/delivery, \
             latency p50 {} p99 {}{}",
            C::NOUN,
            deliveries as f64 / elapsed.as_secs_f64() / 1e6,
            per_delivery(server_cpu),
            per_delivery(bench_cpu),
            millis(percentile(&latencies, 50.0)),
            millis(percentile(&latencies, 99.0)),
            if complete {
                ""
            } else {
                " (TIMED OUT: not all delivered)"
            },
        )
    }))
}

/// 100 clients, 10 of them sending 1,000 lines of 32 B: the load the other
/// rows of the family are judged against.
pub fn fanout() -> String {
    fan_out::<TcpStream>(100, 10, 1_000, 32, Mode::Book)
}

/// One sender to 1,000 clients: a room ten times as wide, where each line
/// costs ten times the deliveries, and one sender's lines in flight are
/// all there is to batch.
pub fn fanout_wide() -> String {
    fan_out::<TcpStream>(1_000, 1, 500, 32, Mode::Book)
}

/// `fanout` in names mode: the same load from named clients.
pub fn fanout_names() -> String {
    fan_out::<TcpStream>(100, 10, 1_000, 32, Mode::Names)
}
