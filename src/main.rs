//! The `chat` binary: flags onto the limits, logging, signals, then
//! [`chat::serve`]. What each flag may be, and which needs which, is
//! `chat::config`'s; this file only reads the command line and runs.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use async_signal::{Signal, Signals};
use chat::config::{self, Config, Flags, Settings};
use futures_lite::{future, StreamExt};

/// `chat --help`.
const USAGE: &str = include_str!("usage.txt");

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
    let Some(settings) = parse_args()? else {
        return Ok(());
    };
    chat::log::set_verbose(settings.verbose);
    let settings = with_tls(settings)?;
    let addr = chat::addr::resolve(&settings.addr)?;
    let mut signals = Signals::new([Signal::Int, Signal::Term, Signal::Hup])
        .map_err(|error| format!("cannot watch for signals: {error}"))?;
    // SIGUSR1 reloads a TLS server's certificate; anywhere else its default
    // would end the server, when a renewal hook signals every `chat`.
    let stray = match reloads_on_usr1(&settings) {
        true => None,
        false => Signals::new([Signal::Usr1]).ok(),
    };
    smol::block_on(async {
        let listener = chat::listen(addr)
            .map_err(|error| format!("cannot listen on {}: {error}", settings.addr))?;
        let page = match &settings.http {
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
            serve(listener, page, settings.config, shutdown)
                .await
                .map_err(|error| error.to_string())
        };
        let ignore = async move {
            if let Some(mut signals) = stray {
                while signals.next().await.is_some() {
                    chat::log::always(format_args!(
                        "SIGUSR1: nothing to reload (no --tls-cert), so ignored"
                    ));
                }
            }
            future::pending().await
        };
        future::or(serve, future::or(watch, ignore)).await
    })
}

/// Whether `SIGUSR1` is this server's: a TLS server reloads its
/// certificate and key on it.
fn reloads_on_usr1(settings: &Settings) -> bool {
    #[cfg(feature = "tls")]
    return settings.config.tls.is_some();
    #[cfg(not(feature = "tls"))]
    {
        let _ = settings;
        false
    }
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

/// The settings with the certificate and key read, if `--tls-cert` asked.
#[cfg(feature = "tls")]
fn with_tls(mut settings: Settings) -> Result<Settings, String> {
    if let Some((cert, key)) = &settings.tls {
        let identity = chat::tls::Identity::load(cert.as_ref(), key.as_ref())?;
        settings.config.tls = Some(identity);
    }
    Ok(settings)
}

/// Without the `tls` feature, `--tls-cert` was refused with the flags.
#[cfg(not(feature = "tls"))]
fn with_tls(settings: Settings) -> Result<Settings, String> {
    Ok(settings)
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

/// The settings the command line asks for, or `None` when `--help` or
/// `--version` already answered.
fn parse_args() -> Result<Option<Settings>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut flags = Flags::default();
    while let Some(arg) = parser.next().map_err(|error| error.to_string())? {
        match arg {
            Short('h') | Long("help") => {
                let _ = write!(std::io::stdout(), "{USAGE}");
                return Ok(None);
            }
            Short('V') | Long("version") => {
                let _ = writeln!(std::io::stdout(), "chat {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Short('v') | Long("verbose") => flags.verbose(),
            Long("names") => flags.names(),
            Long(flag) if Flags::takes_value(flag) => {
                let flag = flag.to_string();
                flags.set(&flag, text(parser.value())?)?;
            }
            Value(value) if flags.wants_addr() => flags.addr(text(Ok(value))?),
            _ => return Err(format!("{}; try --help", arg.unexpected())),
        }
    }
    flags.finish().map(Some)
}

/// A value of the command line as text.
fn text(value: Result<std::ffi::OsString, lexopt::Error>) -> Result<String, String> {
    use lexopt::ValueExt;
    let value = value.map_err(|error| error.to_string())?;
    value.string().map_err(|error| error.to_string())
}
