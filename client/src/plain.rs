//! The client at a terminal that cannot move its cursor (`TERM=dumb`).
//!
//! No prompt line can be kept at the bottom there, so typing is left to the
//! terminal's own line editing, as in a pipe, and the server's lines are
//! printed as they come, but escaped as at any terminal (see `render`):
//! a terminal that calls itself dumb may still obey escape sequences.
//! `--name` answers the server's question here, as in the line editor.

use async_net::TcpStream;
use futures_lite::AsyncWriteExt;

use crate::incoming::{Incoming, SERVER_CLOSED};
use crate::output::Output;
use crate::reader::ServerReader;

/// Prints the server's lines until it closes; `name` answers the server's
/// question.
pub async fn print_lines(
    mut stream: TcpStream,
    color: bool,
    name: Option<String>,
) -> Result<(), String> {
    let mut stdout = Output::spawn().map_err(|error| format!("cannot write output: {error}"))?;
    let mut incoming = Incoming::new(color, name);
    let mut server = ServerReader::new(stream.clone());
    loop {
        let chunk = server.next().await?;
        let closed = chunk.is_empty();
        let lines = if closed {
            let last = incoming.finish();
            last.into_iter()
                .chain([SERVER_CLOSED.to_string()])
                .collect()
        } else {
            incoming.feed(chunk)
        };
        if let Some(name) = incoming.take_answer() {
            // A failed send: the next read reports it.
            let _ = stream.write_all(format!("{name}\n").as_bytes()).await;
        }
        let mut text = String::new();
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
        let written = async {
            stdout.write_all(text.as_bytes()).await?;
            stdout.flush().await
        };
        written
            .await
            .map_err(|error| format!("cannot write output: {error}"))?;
        if closed {
            return Ok(());
        }
    }
}
