//! Load scenarios against the real `chat` binary over loopback; one line of
//! results each. Run with `cargo bench`; `cargo bench -- fanout churn` runs
//! only the scenarios named. `cargo bench --features web` adds `web`, the
//! fanout load over the page's WebSocket, beside the TCP rows it is judged
//! against; `cargo bench --features redis` adds `cluster`, the fanout load
//! on two servers sharing one room through a Redis the benchmark starts
//! (Debian's `redis-server`, on the PATH); `cargo bench --features tls`
//! adds `tls`, `churn-tls` and `idle-tls`, the fanout, churn and idle
//! rows over TLS.
//!
//! The client side runs on one thread (a smol executor) so that, on a
//! 2-core machine, the server has the other core; its own CPU is printed
//! too, so a reader can tell when the benchmark, not the server, is the
//! ceiling. Its clients take turns like separate machines would: each
//! yields after a full read or a write, so a client with a backlog never
//! holds the thread while the others wait (that stall used to show up as
//! the server's "longest pause"); and where a load is more than the one
//! thread reads in time (`slow`), its senders keep pace with its slowest
//! reader (`clients::Pace`), so that the server never cuts off a client
//! the benchmark starved. Server CPU comes from /proc (every
//! thread's schedstat), memory from VmRSS. Every scenario is bounded in time
//! and talks to 127.0.0.1 only. `CHAT_BIN=path cargo bench` measures another
//! build of `chat`, to compare two builds on one machine.
//!
//! This file is the table of scenarios and the choice among them; `server`
//! and `clients` are the harness they all share, and every other module is
//! one scenario, or a family of them that share a load.

mod churn;
mod clients;
#[cfg(feature = "redis")]
mod cluster;
mod fanout;
mod flood;
mod idle;
mod latency;
mod server;
mod slow;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "web")]
mod web;

use churn::churn;
use fanout::{fanout, fanout_names, fanout_wide};
use flood::flood;
use idle::{idle, idle_names};
use latency::{latency, latency_names};
use server::{pin_benchmark, raise_fd_limit};
use slow::slow;

/// A scenario: runs and describes its results in one line.
type Scenario = fn() -> String;

/// Runs the scenarios named, or all of them; arguments that start with `-`
/// are cargo's (`--bench`), not names.
fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let scenarios: &[(&str, Scenario)] = &[
        ("fanout", fanout),
        ("fanout-names", fanout_names),
        #[cfg(feature = "web")]
        ("web", web::fanout),
        #[cfg(feature = "redis")]
        ("cluster", cluster::fanout),
        #[cfg(feature = "tls")]
        ("tls", tls::fanout),
        ("fanout-wide", fanout_wide),
        ("latency", latency),
        ("latency-names", latency_names),
        ("idle", idle),
        ("idle-names", idle_names),
        ("slow", slow),
        ("churn", churn),
        #[cfg(feature = "tls")]
        ("churn-tls", tls::churn),
        #[cfg(feature = "tls")]
        ("idle-tls", tls::idle),
        #[cfg(feature = "web")]
        ("churn-web", web::churn),
        ("flood", flood),
    ];
    // A typo must not pass for a run that measured nothing.
    let known: Vec<&str> = scenarios.iter().map(|(name, _)| *name).collect();
    if let Some(unknown) = wanted.iter().find(|w| !known.contains(&w.as_str())) {
        // Reached only in a build without the scenario's feature.
        let hint = match unknown.as_str() {
            "web" | "churn-web" => " (`web` and `churn-web` are built with `--features web`)",
            "cluster" => " (`cluster` is built with `--features redis`)",
            "tls" | "churn-tls" | "idle-tls" => " (the TLS rows are built with `--features tls`)",
            _ => "",
        };
        eprintln!(
            "load: no scenario named {unknown:?}; the scenarios are {}{hint}",
            known.join(", ")
        );
        std::process::exit(2);
    }
    raise_fd_limit();
    pin_benchmark();
    for &(name, scenario) in scenarios {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            println!("{name:<12} {}", scenario());
        }
    }
}
