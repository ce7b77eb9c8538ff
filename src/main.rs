//! The `chat` binary: flags, logging, signals, then [`chat::serve`].

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use async_signal::{Signal, Signals};
use chat::config::{self, Config};
use futures_lite::{future, StreamExt};

/// The book's address.
const DEFAULT_ADDR: &str = "localhost:8000";

/// The room servers share when `--room` does not name one.
const DEFAULT_ROOM: &str = "chat";

const USAGE: &str = "\
chat: the chat server of The Go Programming Language, chapter 8

Usage: chat [OPTIONS] [ADDR]

  ADDR                      address to listen on [default: localhost:8000]:
                            HOST:PORT, [IPv6]:PORT, or :PORT for every
                            interface (IPv4 and IPv6), as in Go. localhost is
                            127.0.0.1; another name is looked up and its
                            first IPv4 address used, as the book's server does

Modes:
  --names                   names mode: people choose names (asked with
                            `What is your name?`), see who is here, and
                            have commands: /who, /nick NAME, /me TEXT,
                            /msg NAME TEXT, /help, /quit. Without it the
                            server is the book's, byte for byte

The page (a build with `--features web`):
  --http ADDR               also serve a page on ADDR (HOST:PORT, :PORT) from
                            which a browser joins the same room, over a
                            WebSocket, as a client like any other

Several servers, one room (a build with `--features redis`):
  --redis URL               share the room with every server on the same
                            Redis (redis://HOST:PORT) and room: one order,
                            names, /who and /msg across servers
  --room NAME               the room's name on that Redis [default: chat]

Limits (BYTES: 65536, 64K, 1M; DURATION: 250ms, 30s, 5m, 1h, or a bare
number of seconds):
  --max-line BYTES          longest line a client may send; a longer one
                            ends the client with an error line
                            [default: 65535, the book's; at most 16M]
  --send-queue BYTES        most output queued for one client; a client that
                            stops reading is disconnected when it is full
                            [default: 16M; at most 256M; at least one
                            greeting and one line of --max-line]
  --max-connections N       most clients at once; newcomers past it get
                            `error: server full` [default and most: the
                            file descriptor limit, raised to its maximum,
                            less 32]
  --max-per-address N       most clients at once from one address; more get
                            `error: too many connections from your address`
                            [default: no cap: on one machine everyone is
                            127.0.0.1]
  --idle-timeout DURATION   disconnect a client silent for this long
                            [default: never; at most 24h]
  --rate N/DURATION         flood control: read at most N lines per DURATION
                            from one client (5/1s, 60/1m) once its burst is
                            spent; a client over it is read more slowly,
                            nothing is dropped; `off` for none [default:
                            off; in names mode 5/1s]
  --burst N                 lines a client may send at once before its rate
                            applies [default: 20]
  --history N               newcomers get `Recent messages (K):` and the last
                            K messages (K at most N, and 64 KiB) after their
                            greeting [default: 0, none; at most 1000]
  --line-timeout DURATION   disconnect a client that started a line and has
                            not finished it this long after its first byte
                            (a trickler); `off` for never [default: 60s;
                            at most 24h]
  --shutdown-grace DURATION how long SIGINT, SIGTERM or SIGHUP waits for queued
                            lines to be flushed [default: 3s; at most 24h]

Options:
  -v, --verbose             log every connect and leave on stderr
  -h, --help                print this help
  -V, --version             print the version

Clients get `You are ADDR`; each line they send goes to everyone as
`ADDR: TEXT`; arrivals and leaves are announced. Try it with `client` or
`nc -N`. SIGINT, SIGTERM or SIGHUP (the terminal went away) stops the
server gracefully; a second one stops
it at once. The protocol: PROTOCOL.md in the source.";

/// What the command line asks for.
struct Args {
    /// Where to listen.
    addr: String,
    /// Where to serve the page (`--http`), if anywhere.
    http: Option<String>,
    /// Log connects and leaves.
    verbose: bool,
    /// The limits.
    config: Config,
}

fn main() -> ExitCode {
    let result = run();
    chat::log::flush(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "chat: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Parses flags, binds, serves until a signal; errors come back as one line.
fn run() -> Result<(), String> {
    // Before the defaults are computed: the connection cap follows it.
    if let Err(error) = config::raise_fd_limit() {
        chat::log::always(format_args!(
            "cannot raise the file descriptor limit: {error}"
        ));
    }
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    chat::log::set_verbose(args.verbose);
    let addr = chat::addr::resolve(&args.addr)?;
    let mut signals = Signals::new([Signal::Int, Signal::Term, Signal::Hup])
        .map_err(|error| format!("cannot watch for signals: {error}"))?;
    smol::block_on(async {
        let listener = chat::listen(addr)
            .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
        let page = match &args.http {
            Some(http) => Some(listen_for_page(http)?),
            None => None,
        };

        let (stop, stopped) = async_channel::bounded::<()>(1);
        let watch = async {
            let _ = signals.next().await;
            chat::log::always(format_args!(
                "shutting down: flushing to clients (signal again to stop at once)"
            ));
            drop(stop);
            let _ = signals.next().await;
            Err("stopped at once by a second signal".to_string())
        };
        let serve = async {
            let shutdown = async {
                let _ = stopped.recv().await;
            };
            serve(listener, page, args.config, shutdown)
                .await
                .map_err(|error| error.to_string())
        };
        future::or(serve, watch).await
    })
}

/// The page's listener (`--http ADDR`).
#[cfg(feature = "web")]
fn listen_for_page(text: &str) -> Result<async_net::TcpListener, String> {
    let addr = chat::addr::resolve(text).map_err(|why| format!("--http: {why}"))?;
    chat::listen(addr).map_err(|error| format!("--http: cannot listen on {text}: {error}"))
}

/// Without the `web` feature, `--http` was refused with the flags.
#[cfg(not(feature = "web"))]
fn listen_for_page(_: &str) -> Result<async_net::TcpListener, String> {
    unreachable!("--http is refused without the web feature")
}

/// Serves the chat, and the page if it has a listener.
async fn serve(
    listener: async_net::TcpListener,
    page: Option<async_net::TcpListener>,
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    match page {
        #[cfg(feature = "web")]
        Some(page) => chat::serve_with_page(listener, page, config, shutdown).await,
        _ => chat::serve(listener, config, shutdown).await,
    }
}

/// The arguments, or `None` when `--help` or `--version` already answered.
fn parse_args() -> Result<Option<Args>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut args = Args {
        addr: DEFAULT_ADDR.to_string(),
        http: None,
        verbose: false,
        config: Config {
            announce: true,
            ..Config::default()
        },
    };
    let mut addr_seen = false;
    let mut max_connections_asked = false;
    // `--rate`: `Some(None)` for off; `None` for the mode's default.
    let mut rate: Option<Option<(u32, std::time::Duration)>> = None;
    let mut burst: Option<usize> = None;
    let mut redis_url: Option<String> = None;
    let mut room: Option<String> = None;
    while let Some(arg) = parser.next().map_err(|error| error.to_string())? {
        match arg {
            Short('h') | Long("help") => {
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                return Ok(None);
            }
            Short('V') | Long("version") => {
                let _ = writeln!(std::io::stdout(), "chat {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Short('v') | Long("verbose") => args.verbose = true,
            Long("names") => args.config.names = true,
            Long("redis") => {
                let url = value(&mut parser)?;
                if !cfg!(feature = "redis") {
                    return Err("--redis: this chat was built without Redis; build it with \
                         `cargo build --release --features redis`"
                        .to_string());
                }
                redis_url = Some(url);
            }
            Long("room") => room = Some(room_name(&value(&mut parser)?)?),
            Long("http") => {
                let addr = value(&mut parser)?;
                if !cfg!(feature = "web") {
                    return Err(
                        "--http: this chat was built without the page; build it with \
                         `cargo build --release --features web`"
                            .to_string(),
                    );
                }
                args.http = Some(addr);
            }
            Long("max-line") => {
                let bytes = config::parse_bytes(&value(&mut parser)?)?;
                args.config.max_line_bytes = within("--max-line", bytes, config::MAX_LINE_CEILING)?;
            }
            Long("send-queue") => {
                let bytes = config::parse_bytes(&value(&mut parser)?)?;
                args.config.send_queue_bytes =
                    within("--send-queue", bytes, config::SEND_QUEUE_CEILING)?;
            }
            Long("max-connections") => {
                args.config.max_connections = count("--max-connections", &mut parser)?;
                max_connections_asked = true;
            }
            Long("max-per-address") => {
                args.config.max_per_address = Some(count("--max-per-address", &mut parser)?);
            }
            Long("idle-timeout") => {
                let timeout = timeout("--idle-timeout", &value(&mut parser)?)?;
                args.config.idle_timeout = Some(timeout);
            }
            Long("rate") => {
                let text = value(&mut parser)?;
                rate = Some(match text.as_str() {
                    "off" => None,
                    text => Some(config::parse_rate(text).map_err(|why| format!("--rate: {why}"))?),
                });
            }
            Long("burst") => burst = Some(count("--burst", &mut parser)?),
            Long("history") => {
                let text = value(&mut parser)?;
                let count: usize = text
                    .parse()
                    .map_err(|_| format!("bad --history {text:?}: expected a number"))?;
                if count > config::HISTORY_CEILING {
                    return Err(format!(
                        "--history must be at most {}",
                        config::HISTORY_CEILING
                    ));
                }
                args.config.history = count;
            }
            Long("line-timeout") => {
                let text = value(&mut parser)?;
                args.config.line_timeout = match text.as_str() {
                    "off" => None,
                    text => Some(timeout("--line-timeout", text)?),
                };
            }
            Long("shutdown-grace") => {
                args.config.shutdown_grace = duration("--shutdown-grace", &value(&mut parser)?)?;
            }
            Value(value) if !addr_seen => {
                args.addr = value.string().map_err(|error| error.to_string())?;
                addr_seen = true;
            }
            _ => return Err(format!("{}; try --help", arg.unexpected())),
        }
    }
    let default_rate = args.config.names.then_some((
        config::NAMES_DEFAULT_RATE.lines,
        config::NAMES_DEFAULT_RATE.per,
    ));
    args.config.rate = match (rate.unwrap_or(default_rate), burst) {
        (Some((lines, per)), burst) => Some(config::Rate {
            lines,
            per,
            burst: burst.map_or(config::NAMES_DEFAULT_RATE.burst, |burst| {
                u32::try_from(burst).unwrap_or(u32::MAX)
            }),
        }),
        (None, Some(_)) => {
            return Err("--burst needs a rate: --rate N/DURATION, or names mode".to_string())
        }
        (None, None) => None,
    };
    args.config.redis = match (redis_url, room) {
        (Some(url), room) => Some(config::RedisRoom {
            url,
            room: room.unwrap_or_else(|| DEFAULT_ROOM.to_string()),
        }),
        (None, Some(_)) => return Err("--room needs --redis URL".to_string()),
        (None, None) => None,
    };
    args.config.check()?;
    let most = config::default_max_connections();
    if max_connections_asked && args.config.max_connections > most {
        chat::log::always(format_args!(
            "--max-connections {} is more than the file descriptor limit allows; using {most}",
            args.config.max_connections
        ));
        args.config.max_connections = most;
    }
    Ok(Some(args))
}

/// A room's name (`--room`), if it is one: letters, digits, `.`, `_` and
/// `-`, at most 64; it becomes part of Redis keys.
fn room_name(text: &str) -> Result<String, String> {
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if text.is_empty() || text.len() > 64 || !text.chars().all(fits) {
        return Err(format!(
            "bad --room {text:?}: letters, digits, '.', '_' and '-', at most 64"
        ));
    }
    Ok(text.to_string())
}

/// The value of the flag just read.
fn value(parser: &mut lexopt::Parser) -> Result<String, String> {
    use lexopt::ValueExt;
    let value = parser.value().map_err(|error| error.to_string())?;
    value.string().map_err(|error| error.to_string())
}

/// The count given to `flag`, if it is a number more than 0.
fn count(flag: &str, parser: &mut lexopt::Parser) -> Result<usize, String> {
    let text = value(parser)?;
    let count = text
        .parse()
        .map_err(|_| format!("bad {flag} {text:?}: expected a number"))?;
    positive(flag, count)
}

/// `value` of `flag`, if it is more than 0: a limit of 0 would lock
/// everyone out.
fn positive(flag: &str, value: usize) -> Result<usize, String> {
    if value == 0 {
        return Err(format!("{flag} must be more than 0"));
    }
    Ok(value)
}

/// The byte count `value` of `flag`, if it is more than 0 and at most
/// `ceiling`.
fn within(flag: &str, value: usize, ceiling: usize) -> Result<usize, String> {
    if positive(flag, value)? > ceiling {
        let ceiling = config::format_bytes(ceiling);
        return Err(format!("{flag} must be at most {ceiling}"));
    }
    Ok(value)
}

/// The timeout `text` given to `flag`: a duration more than 0 (a timeout
/// of 0 would end everyone at once).
fn timeout(flag: &str, text: &str) -> Result<std::time::Duration, String> {
    let timeout = duration(flag, text)?;
    if timeout.is_zero() {
        return Err(format!("{flag} must be more than 0"));
    }
    Ok(timeout)
}

/// The duration `text` given to `flag`, at most [`config::DURATION_CEILING`].
fn duration(flag: &str, text: &str) -> Result<std::time::Duration, String> {
    let duration = config::parse_duration(text).map_err(|why| format!("{flag}: {why}"))?;
    if duration > config::DURATION_CEILING {
        let ceiling = config::format_duration(config::DURATION_CEILING);
        return Err(format!("{flag} must be at most {ceiling}"));
    }
    Ok(duration)
}
