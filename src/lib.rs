//! `chat`: the chat server of *The Go Programming Language*, chapter 8, on
//! smol, byte-compatible with the book and safe to run for real.
//!
//! Every client gets `You are ADDR`; the others get `ADDR has arrived`; each
//! line a client sends goes to everyone as `ADDR: TEXT`; and when a client's
//! input ends the others get `ADDR has left`.
//!
//! # Layout
//!
//! The data flows one way: socket -> lines -> reader -> broadcaster ->
//! per-client queue -> writer -> socket.
//!
//! - [`addr`]: the listening address, read as Go reads it.
//! - [`config`]: the limits and their defaults.
//! - `server`: the accept loop, start-up and graceful shutdown ([`serve`]).
//! - `room`: the broadcaster, the one place that knows who is in the chat:
//!   `room::order` turns entering, leaving and messages into one order of
//!   events, and the room applies them to its audience (`room::audience`).
//! - `conn`: one connection's life, over a `transport` (TCP; a WebSocket).
//! - `reader`: a connection's reading side, and how its input ends.
//! - `naming`: names mode's way in: asking a newcomer its name.
//! - `throttle`: flood control, deciding when a client's next line is read.
//! - [`names`]: what a name is, and when two are the same.
//! - `command`: a names-mode line as a message or a command.
//! - `web` (the `web` feature): the page in the browser, and its
//!   WebSockets as another transport.
//! - `lines`: bounded line framing.
//! - `queue`: a client's outgoing queue, bounded in bytes.
//! - [`log`]: log lines on stderr.
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
pub mod command;
pub mod config;
mod conn;
mod line;
mod lines;
pub mod log;
pub mod names;
mod queue;
mod room;
mod server;
mod transport;
#[cfg(feature = "web")]
mod web;

pub use config::Config;
#[cfg(feature = "web")]
pub use server::serve_with_page;
pub use server::{listen, serve};
