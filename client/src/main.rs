//! `client`: a netcat replacement for the chat server.
//!
//! In a pipe it is byte for byte netcat (below). At a terminal (standard
//! input and output both terminals) it gives you a prompt line to edit, keeps
//! what you type intact while lines arrive above it, and shows peers' control
//! characters instead of obeying them: see `terminal`; at a terminal that
//! cannot move its cursor, see `plain`. `display` picks among them.
//!
//! Standard input goes to the server and the server's output to standard
//! output, byte for byte. At the end of standard input the client half-closes
//! the connection, so the server knows this user is done, and keeps printing
//! what the server still sends until the server closes: `printf 'hi\n' |
//! client` shows the echo of `hi`, which netcat without `-N` can lose.
//!
//! `--name NAME` answers the question of a server in names mode (`chat
//! --names`) so the user need not: see `naming`. In a pipe, standard input
//! waits until the name is accepted, and a refusal is an error: see
//! `handshake`. At a terminal, a refusal is shown and the user types another.

#![forbid(unsafe_code)]

mod addr;
mod display;
mod editor;
mod handshake;
mod incoming;
mod input;
mod keys;
mod naming;
mod output;
mod plain;
mod reader;
mod render;
mod screen;
mod signals;
mod terminal;
mod threads;
#[cfg(feature = "tls")]
mod tls;
mod unicode;

use std::future::Future;
use std::io::{self, ErrorKind, IsTerminal, Write};
use std::net::Shutdown;
use std::process::ExitCode;

use async_net::TcpStream;
use futures_lite::{future, AsyncWriteExt};

use display::{Color, Mode};
use input::Input;
use output::Output;
use reader::ServerReader;

/// The book's address.
const DEFAULT_ADDR: &str = "localhost:8000";

const USAGE: &str = "\
client: talk to a chat server, like netcat

Usage: client [OPTIONS] [ADDR]

  ADDR                  server address, HOST:PORT [default: localhost:8000];
                        as in Go, an empty HOST (:8000) is this machine, and
                        an IPv6 HOST is in brackets ([::1]:8000). localhost
                        (127.0.0.1, then ::1) and IP addresses need no
                        resolver; other names are looked up

Options:
  --name NAME           answer the server's \"What is your name?\" (chat
                        --names) with NAME, unseen. In a pipe, standard
                        input waits until the name is accepted, and a
                        refused name is an error (exit status 1) with the
                        server's reason; at a terminal, the reason is shown
                        and you type another name. A server without names
                        mode ignores it, with a warning
  --tls                 connect over TLS (a client built with --features
                        tls), trusting the system's certificates
  --tls-ca FILE         with --tls, trust the certificates in FILE (PEM)
  --tls-name NAME       with --tls, the name the server's certificate must
                        be for [default: ADDR's host]
  --color WHEN          at a terminal, colour your messages, others',
                        actions (/me), private lines (/msg) and notices:
                        never, auto (unless NO_COLOR is set, or TERM is
                        dumb or unset) or always [default: auto]
  -h, --help            print this help
  -V, --version         print the version

In a pipe or a script, standard input goes to the server and what the server
sends goes to standard output, byte for byte, as with netcat. At the end of
input the client tells the server it is done, prints what the server still
sends, and exits when the server closes the connection.

At a terminal (standard input and output both terminals) you type on a
prompt line at the bottom, with readline's keys (left, right, home, end,
backspace, delete, Ctrl-A, -E, -K, -U, -W, -L; up and down for history),
while lines arrive above it; control characters a peer sends are shown (^[
for ESC) rather than obeyed. Ctrl-D on an empty line ends your input the
same way (on a line, it deletes the character under the cursor); Ctrl-C
quits, with exit status 130. What you typed stays on the screen when the
client exits. With TERM=dumb, lines are printed as they come and typing is
the terminal's own.";

/// What the command line asks for.
struct Args {
    /// The server address.
    addr: String,
    /// Colouring at a terminal.
    color: Color,
    /// The answer to the server's question, if the user gave one.
    name: Option<String>,
    /// `--tls`, and its options.
    #[cfg(feature = "tls")]
    tls: Option<tls::Options>,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "client: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The exit status of a user who quit with Ctrl-C, as shells report a
/// program stopped by SIGINT: 128 + 2.
const INTERRUPTED: u8 = 130;

/// Parses the command line, connects and relays; errors come back as one line.
fn run() -> Result<ExitCode, String> {
    let Some(args) = parse_args()? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (addr, color, name) = (&args.addr, args.color, args.name.clone());
    let at_terminal = io::stdin().is_terminal() && io::stdout().is_terminal();
    let term = std::env::var_os("TERM");
    let no_color = std::env::var_os("NO_COLOR");
    let colored = display::colored(color, term.as_deref(), no_color.as_deref());
    // Before any thread starts (see `signals`).
    let session = match display::mode(at_terminal, term.as_deref()) {
        Mode::Editor => Session::Editor(
            signals::watch().map_err(|error| format!("cannot watch for signals: {error}"))?,
        ),
        Mode::Plain => Session::Plain,
        Mode::Pipe => Session::Pipe,
    };
    smol::block_on(async {
        // The CA file is read before connecting: an error there is not a
        // connection the server sees.
        #[cfg(feature = "tls")]
        let tls = match &args.tls {
            Some(options) => Some(tls::prepare(addr::split(addr)?.0, options)?),
            None => None,
        };
        let stream = connect(addr).await?;
        #[cfg(feature = "tls")]
        let stream = match tls {
            Some(prepared) => tls::connect(stream, prepared).await?,
            None => stream,
        };
        match session {
            Session::Editor(signals) => {
                match terminal::run(stream, colored, name, signals).await? {
                    terminal::Ending::ServerClosed => Ok(ExitCode::SUCCESS),
                    terminal::Ending::Interrupted => Ok(ExitCode::from(INTERRUPTED)),
                    terminal::Ending::Signaled(status) => Ok(ExitCode::from(status)),
                }
            }
            Session::Plain => {
                relay(stream.clone(), plain::print_lines(stream, colored, name)).await?;
                Ok(ExitCode::SUCCESS)
            }
            Session::Pipe => {
                if let Some(name) = &name {
                    handshake::settle(stream.clone(), name).await?;
                }
                relay(stream.clone(), print_output(stream)).await?;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// The session `display::mode` chose, with what it needs from before the
/// connection.
enum Session {
    /// The line editor, and the signals it must be told of.
    Editor(signals::Signals),
    Plain,
    Pipe,
}

/// Sends standard input to the server while `download` shows what it
/// sends, until the server closes.
async fn relay(
    stream: TcpStream,
    download: impl Future<Output = Result<(), String>>,
) -> Result<(), String> {
    // Set when standard input fails: reported once the server has closed,
    // so that what it still sends is printed first.
    let mut input_error = None;
    let upload = async {
        if let Err(InputError::Stdin(error)) = send_input(stream.clone()).await {
            input_error = Some(format!("cannot read input: {error}"));
            let _ = stream.shutdown(Shutdown::Write);
        }
        // A failed send means the connection is going away: the download
        // notices and reports it.
        future::pending::<()>().await;
        Ok(())
    };
    future::or(download, upload).await?;
    input_error.map_or(Ok(()), Err)
}

/// The arguments, or `None` when `--help` or `--version` answered.
fn parse_args() -> Result<Option<Args>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut addr = None;
    let mut color = Color::Auto;
    let mut name = None;
    #[cfg(feature = "tls")]
    let (mut tls, mut tls_ca, mut tls_name) = (false, None, None);
    while let Some(arg) = parser.next().map_err(|error| error.to_string())? {
        match arg {
            Short('h') | Long("help") => {
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                return Ok(None);
            }
            Short('V') | Long("version") => {
                let _ = writeln!(std::io::stdout(), "client {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Long("color") => {
                let value = parser.value().map_err(|error| error.to_string())?;
                color = match value.string().map_err(|error| error.to_string())?.as_str() {
                    "never" => Color::Never,
                    "auto" => Color::Auto,
                    "always" => Color::Always,
                    other => return Err(format!("bad --color {other:?}: never, auto or always")),
                };
            }
            Long("name") => {
                let value = parser.value().map_err(|error| error.to_string())?;
                let value = value.string().map_err(|error| error.to_string())?;
                // The name goes to the server as one line: a line break
                // in it would send the rest as a message.
                if value.contains(['\n', '\r']) {
                    return Err(format!("bad --name {value:?}: a name is one line"));
                }
                name = Some(value);
            }
            #[cfg(feature = "tls")]
            Long("tls") => tls = true,
            #[cfg(feature = "tls")]
            Long("tls-ca") => tls_ca = Some(text(parser.value())?),
            #[cfg(feature = "tls")]
            Long("tls-name") => tls_name = Some(text(parser.value())?),
            #[cfg(not(feature = "tls"))]
            Long(flag @ ("tls" | "tls-ca" | "tls-name")) => {
                return Err(format!(
                    "--{flag}: this client was built without TLS; build it with \
                     `cargo build --release -p client --features tls`"
                ))
            }
            Value(value) if addr.is_none() => {
                addr = Some(value.string().map_err(|error| error.to_string())?);
            }
            _ => return Err(format!("{}; try --help", arg.unexpected())),
        }
    }
    #[cfg(feature = "tls")]
    let tls = match (tls, tls_ca, tls_name) {
        (true, ca, name) => Some(tls::Options { ca, name }),
        (false, None, None) => None,
        (false, Some(_), _) => return Err("--tls-ca needs --tls".to_string()),
        (false, None, Some(_)) => return Err("--tls-name needs --tls".to_string()),
    };
    Ok(Some(Args {
        addr: addr.unwrap_or_else(|| DEFAULT_ADDR.to_string()),
        color,
        name,
        #[cfg(feature = "tls")]
        tls,
    }))
}

/// A flag's value as text.
#[cfg(feature = "tls")]
fn text(value: Result<std::ffi::OsString, lexopt::Error>) -> Result<String, String> {
    use lexopt::ValueExt;
    let value = value.map_err(|error| error.to_string())?;
    value.string().map_err(|error| error.to_string())
}

/// Connects to the first address of `addr` that answers (see `addr` for
/// which, in which order).
async fn connect(addr: &str) -> Result<TcpStream, String> {
    let mut last_error = None;
    for candidate in addr::resolve(addr)? {
        match TcpStream::connect(candidate).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    Err(match last_error {
        Some(error) => format!("cannot connect to {addr}: {error}"),
        None => format!("bad address {addr:?}: it resolves to nothing"),
    })
}

/// Which side of [`send_input`] failed.
enum InputError {
    /// Standard input could not be read: worth telling the user.
    Stdin(io::Error),
    /// The connection failed: the download reports it.
    Socket,
}

/// Copies standard input to the server, then half-closes the connection.
async fn send_input(mut stream: TcpStream) -> Result<(), InputError> {
    let stdin = Input::spawn().map_err(InputError::Stdin)?;
    loop {
        let chunk = stdin.next().await.map_err(InputError::Stdin)?;
        if chunk.is_empty() {
            break;
        }
        stream
            .write_all(&chunk)
            .await
            .map_err(|_| InputError::Socket)?;
    }
    stream.flush().await.map_err(|_| InputError::Socket)?;
    stream
        .shutdown(Shutdown::Write)
        .map_err(|_| InputError::Socket)
}

/// Copies the server's output to standard output until the server closes.
async fn print_output(stream: TcpStream) -> Result<(), String> {
    let mut stdout = Output::spawn().map_err(|error| format!("cannot write output: {error}"))?;
    let mut server = ServerReader::new(stream);
    loop {
        let chunk = server.next().await?;
        if chunk.is_empty() {
            break;
        }
        let written = async {
            stdout.write_all(chunk).await?;
            stdout.flush().await
        };
        match written.await {
            Ok(()) => {}
            // The reader of our output is gone (`client | head -1`): done.
            Err(error) if error.kind() == ErrorKind::BrokenPipe => return Ok(()),
            Err(error) => return Err(format!("cannot write output: {error}")),
        }
    }
    stdout
        .flush()
        .await
        .map_err(|error| format!("cannot write output: {error}"))
}
