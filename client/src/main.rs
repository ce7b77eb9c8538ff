//! `client`: a netcat replacement for the chat server.
//!
//! Standard input goes to the server and the server's output to standard
//! output, byte for byte. At the end of standard input the client half-closes
//! the connection, so the server knows this user is done, and keeps printing
//! what the server still sends until the server closes: `printf 'hi\n' |
//! client` shows the echo of `hi`, which netcat without `-N` can lose.

#![forbid(unsafe_code)]

use std::io::{self, ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use async_net::TcpStream;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use smol::Unblock;

/// The book's address.
const DEFAULT_ADDR: &str = "localhost:8000";

const USAGE: &str = "\
client: talk to a chat server, like netcat

Usage: client [ADDR]

  ADDR            server address [default: localhost:8000]

Options:
  -h, --help      print this help
  -V, --version   print the version

Each line typed (or piped) on standard input is sent to the server; what the
server sends is printed on standard output. At the end of input (Ctrl-D) the
client tells the server it is done, prints what the server still sends, and
exits when the server closes the connection.";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "client: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line, connects and relays; errors come back as one line.
fn run() -> Result<(), String> {
    let Some(addr) = parse_args()? else {
        return Ok(());
    };
    smol::block_on(async {
        let stream = connect(&addr).await?;
        // Set when standard input fails: reported once the server has
        // closed, so that what it still sends is printed first.
        let mut input_error = None;
        let upload = async {
            if let Err(InputError::Stdin(error)) = send_input(stream.clone()).await {
                input_error = Some(format!("cannot read input: {error}"));
                let _ = stream.shutdown(Shutdown::Write);
            }
            // A failed send means the connection is going away; the
            // download notices and reports it.
            future::pending::<()>().await;
            Ok(())
        };
        future::or(print_output(stream.clone()), upload).await?;
        input_error.map_or(Ok(()), Err)
    })
}

/// The server address, or `None` when `--help` or `--version` answered.
fn parse_args() -> Result<Option<String>, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut addr = None;
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
            Value(value) if addr.is_none() => {
                addr = Some(value.string().map_err(|error| error.to_string())?);
            }
            _ => return Err(format!("{}; try --help", arg.unexpected())),
        }
    }
    Ok(Some(addr.unwrap_or_else(|| DEFAULT_ADDR.to_string())))
}

/// Connects to the first address of `addr` that answers, IPv4 first: the
/// server binds `localhost` to 127.0.0.1, as the book's does.
async fn connect(addr: &str) -> Result<TcpStream, String> {
    let mut candidates: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|error| format!("bad address {addr:?}: {error}; expected HOST:PORT"))?
        .collect();
    candidates.sort_by_key(|candidate| candidate.is_ipv6());
    let mut last_error = None;
    for candidate in candidates {
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
    let mut stdin = Unblock::new(io::stdin());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let count = stdin.read(&mut buf).await.map_err(InputError::Stdin)?;
        if count == 0 {
            break;
        }
        stream
            .write_all(&buf[..count])
            .await
            .map_err(|_| InputError::Socket)?;
    }
    stream.flush().await.map_err(|_| InputError::Socket)?;
    stream
        .shutdown(Shutdown::Write)
        .map_err(|_| InputError::Socket)
}

/// Copies the server's output to standard output until the server closes.
async fn print_output(mut stream: TcpStream) -> Result<(), String> {
    let mut stdout = Unblock::new(io::stdout());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let count = stream
            .read(&mut buf)
            .await
            .map_err(|error| format!("connection lost: {error}"))?;
        if count == 0 {
            break;
        }
        let written = async {
            stdout.write_all(&buf[..count]).await?;
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
