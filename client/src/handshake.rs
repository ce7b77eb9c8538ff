//! In a pipe, `--name` is settled before standard input is read.
//!
//! What a script pipes in is meant to be said under that name. Sent at
//! once, it would reach a server still asking, and be taken for more names
//! to try: a line that happens to be a free name would make the script
//! someone it never meant to be. So nothing of standard input is read
//! until the server says `You are NAME`. A refusal ends the client with
//! the server's reason on standard error and status 1, the input unsent,
//! since a script cannot pick another name. Meanwhile the server's lines
//! go to standard output byte for byte, as ever, but for the question,
//! which is answered rather than shown.

use std::io::{self, ErrorKind, Write};

use async_net::TcpStream;
use futures_lite::AsyncWriteExt;

use crate::naming::{Naming, Step, NO_NAMES_MODE};
use crate::output::Output;
use crate::reader::ServerReader;
use crate::render;

/// The longest line looked at while waiting: a longer one cannot be the
/// server's question or greeting, and is passed on unread rather than
/// held in memory to its end.
const LONGEST_LINE: usize = 4096;

/// Answers the server's question with `name` and waits for the verdict;
/// `Ok` once standard input may flow. What the server sent so far is on
/// standard output.
pub async fn settle(stream: TcpStream, name: &str) -> Result<(), String> {
    let mut stdout = Output::spawn().map_err(|error| format!("cannot write output: {error}"))?;
    let settled = until_settled(stream, name, &mut stdout).await;
    let flushed = stdout.flush().await;
    settled?;
    ignore_broken_pipe(flushed)
}

/// The wait proper: the server's lines, one by one, until the name's fate
/// is known; standard output flushed or not.
async fn until_settled(
    mut stream: TcpStream,
    name: &str,
    stdout: &mut Output,
) -> Result<(), String> {
    let mut naming = Naming::new(Some(name.to_string()));
    // The start of a line whose `\n` has not arrived yet.
    let mut pending = Vec::new();
    // Inside a line too long to be looked at: passed on to its end.
    let mut passing = false;
    let mut server = ServerReader::new(stream.clone());
    loop {
        let chunk = server.next().await?;
        if chunk.is_empty() {
            put(stdout, &pending).await?;
            return Err("the server closed the connection before accepting the name".into());
        }
        pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            let next = start + end + 1;
            let step = if passing {
                passing = false;
                Step::Pass
            } else {
                naming.step(&pending[start..next - 1])
            };
            match step {
                Step::Pass => put(stdout, &pending[start..next]).await?,
                Step::Answer(answer) => stream
                    .write_all(format!("{answer}\n").as_bytes())
                    .await
                    .map_err(|error| format!("connection lost: {error}"))?,
                Step::Refused(why) => return Err(refused(why)),
                Step::NoNamesMode => {
                    let _ = writeln!(io::stderr(), "client: {NO_NAMES_MODE}");
                }
                Step::Accepted => {}
            }
            if naming.settled() {
                // The greeting and all after it: the server's, as it sent it.
                return put(stdout, &pending[start..]).await;
            }
            start = next;
        }
        pending.drain(..start);
        if pending.len() > LONGEST_LINE {
            put(stdout, &pending).await?;
            pending.clear();
            passing = true;
        }
    }
}

/// The one line that tells the user why, escaped: it ends on a terminal
/// more often than not.
fn refused(why: &[u8]) -> String {
    if why.is_empty() {
        "the server refused the name".to_string()
    } else {
        format!("the server refused the name: {}", render::escape(why))
    }
}

/// Writes to standard output; a reader that has gone (`client | head -1`)
/// is not an error, as in the rest of the pipe.
async fn put(stdout: &mut Output, bytes: &[u8]) -> Result<(), String> {
    ignore_broken_pipe(stdout.write_all(bytes).await)
}

/// A write's outcome, a reader gone aside.
fn ignore_broken_pipe(result: io::Result<()>) -> Result<(), String> {
    match result {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => {
            Err(format!("cannot write output: {error}"))
        }
        _ => Ok(()),
    }
}
