//! The `chat` binary: flags, logging, signals, then [`chat::serve`].

#![forbid(unsafe_code)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use async_net::TcpListener;

/// The book's address.
const DEFAULT_ADDR: &str = "localhost:8000";

const USAGE: &str = "\
chat: the chat server of The Go Programming Language, chapter 8

Usage: chat [OPTIONS] [ADDR]

  ADDR               address to listen on [default: localhost:8000]
                     (a name is resolved and its first IPv4 address used,
                     as the book's server does)

Options:
  -v, --verbose      log every connect and leave on stderr
  -h, --help         print this help
  -V, --version      print the version

Clients get `You are ADDR`; each line they send goes to everyone as
`ADDR: TEXT`; arrivals and leaves are announced. Try it with `client` or nc.";

/// What the command line asks for.
struct Args {
    /// Where to listen.
    addr: String,
    /// Log connects and leaves.
    verbose: bool,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chat: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Parses flags, binds, serves; any error comes back as one line.
fn run() -> Result<(), String> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    chat::log::set_verbose(args.verbose);
    let addr = resolve(&args.addr)?;
    smol::block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
        let local = listener.local_addr().map_err(|error| error.to_string())?;
        chat::log::always(format_args!("listening on {local}"));
        chat::serve(listener, chat::Config::default(), std::future::pending())
            .await
            .map_err(|error| error.to_string())
    })
}

/// The arguments, or `None` when `--help` or `--version` already answered.
fn parse_args() -> Result<Option<Args>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut args = Args {
        addr: DEFAULT_ADDR.to_string(),
        verbose: false,
    };
    let mut addr_seen = false;
    while let Some(arg) = parser.next().map_err(|error| error.to_string())? {
        match arg {
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(None);
            }
            Short('V') | Long("version") => {
                println!("chat {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Short('v') | Long("verbose") => args.verbose = true,
            Value(value) if !addr_seen => {
                args.addr = value.string().map_err(|error| error.to_string())?;
                addr_seen = true;
            }
            _ => return Err(format!("{}; try --help", arg.unexpected())),
        }
    }
    Ok(Some(args))
}

/// Resolves `addr` as Go's `net.Listen` does for the book: the first IPv4
/// address if there is one (`localhost` is 127.0.0.1), else the first.
fn resolve(addr: &str) -> Result<SocketAddr, String> {
    let bad = |why: String| format!("bad address {addr:?}: {why}; expected HOST:PORT");
    let candidates: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|error| bad(error.to_string()))?
        .collect();
    candidates
        .iter()
        .find(|candidate| candidate.is_ipv4())
        .or(candidates.first())
        .copied()
        .ok_or_else(|| bad("it resolves to nothing".to_string()))
}
