//! `chat`: the chat server of *The Go Programming Language*, chapter 8, on
//! smol, byte-compatible with the book and safe to run for real.
//!
//! Every client gets `You are ADDR`; the others get `ADDR has arrived`; each
//! line a client sends goes to everyone as `ADDR: TEXT`; and when a client's
//! input ends the others get `ADDR has left`.
//!
//! # Layout
//!
//! The data flows one way: socket -> transport -> reader -> the corridor ->
//! the room's order -> the room -> per-client queue -> writer -> socket.
//! There are two wings, the connection (`conn`) and the room (`room`), and
//! they meet only in the corridor, `room::events`; what both need lives
//! below both. In the order the data flows:
//!
//! - `server`: the accept loops, the caps, start-up and graceful shutdown
//!   ([`serve`]), on an address read as Go reads it ([`addr`]), within the
//!   limits of [`config`] (their defaults, their bounds, and the command
//!   line's policy, `config::Flags`).
//! - `transport`: what a connection's bytes travel over, TCP or (the `web`
//!   feature) a WebSocket of the page, `web`; and the socket handle.
//! - [`tls`] (the `tls` feature): TCP clients over TLS, another transport,
//!   and the certificate it serves.
//! - `conn`: the connection wing, one connection's life in named phases:
//!   its reader (the book's `handleConn`), names mode's way in, flood
//!   control, and how an input ended; it reads through `lines`, bounded
//!   line framing, and parses names mode's lines into a [`command`] (names
//!   judged by [`names`]).
//! - `room::events`: the corridor: what a connection tells the room, the
//!   three channels, and the one function that makes both ends.
//! - `room`: the room wing, the one place that knows who is here:
//!   `room::order` says where the order comes from (the book's select over
//!   three channels, or with the `redis` feature the room's stream in
//!   Redis, which several servers share), and the room applies each event
//!   with one entry: the fan-out, the roster of names, names mode's
//!   commands, the history.
//! - `line` and `queue`: each broadcast line, formatted and kept once in
//!   the room's log, and each client's outgoing queue of runs of it,
//!   bounded in bytes, which the connection's writer drains.
//! - [`log`]: log lines on stderr, which never hold up the chat.
//!
//! # Example
//!
//! Serve on a free loopback port until a client-side check is done:
//!
//! ```
//! use std::io::{BufRead, BufReader};
//!
//! let listener = smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
//! let addr = listener.local_addr().unwrap();
//! let (stop, stopped) = async_channel::bounded::<()>(1);
//! let server = std::thread::spawn(move || {
//!     smol::block_on(chat::serve(listener, chat::Config::default(), async move {
//!         let _ = stopped.recv().await;
//!     }))
//! });
//!
//! let socket = std::net::TcpStream::connect(addr).unwrap();
//! let mut greeting = String::new();
//! BufReader::new(socket).read_line(&mut greeting).unwrap();
//! assert!(greeting.starts_with("You are 127.0.0.1:"));
//!
//! drop(stop);
//! server.join().unwrap().unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod addr;
mod bans;
pub mod command;
pub mod config;
mod conn;
mod line;
mod lines;
pub mod log;
pub mod names;
mod places;
mod queue;
mod room;
mod server;
#[cfg(feature = "tls")]
pub mod tls;
mod transport;
#[cfg(feature = "web")]
mod web;

pub use config::Config;
pub use room::keys as room_keys;
#[cfg(feature = "web")]
pub use server::serve_with_page;
pub use server::{listen, serve};
