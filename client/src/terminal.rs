//! The client at a terminal: a prompt line you edit at the bottom (left,
//! right, backspace, home, end, history with up and down), and what the
//! server sends printed above it, so arrivals never break the line you are
//! typing. Peers' bytes are shown escaped (see `render`), never obeyed.
//!
//! Ctrl-D ends your input as the end of a pipe does (a half-close: you
//! still see what the server sends until it closes); Ctrl-C quits.

use std::io::{self, Write as _};
use std::net::Shutdown;

use async_net::TcpStream;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use rustyline_async::{Readline, ReadlineEvent, SharedWriter};

use crate::render;

/// Talks to the server through `stream` until it closes or the user quits.
pub async fn run(stream: TcpStream, color: bool) -> Result<(), String> {
    let (mut readline, screen) = Readline::new("> ".to_string())
        .map_err(|error| format!("cannot use the terminal: {error}"))?;
    // The server echoes every line: show it once, as the echo.
    readline.should_print_line_on(false, false);
    let outcome = future::or(
        print_output(stream.clone(), screen, color),
        read_input(&mut readline, stream),
    )
    .await;
    // Show what is still pending, then give the terminal back.
    let _ = readline.flush();
    drop(readline);
    let _ = io::stdout().flush();
    outcome
}

/// Prints the server's lines above the prompt until it closes.
async fn print_output(
    mut stream: TcpStream,
    mut screen: SharedWriter,
    color: bool,
) -> Result<(), String> {
    let mut me: Option<String> = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let count = stream
            .read(&mut buf)
            .await
            .map_err(|error| format!("connection lost: {error}"))?;
        if count == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..count]);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = &line[..line.len() - 1];
            if me.is_none() {
                if let Some(name) = line.strip_prefix(b"You are ") {
                    me = Some(String::from_utf8_lossy(name).into_owned());
                }
            }
            show(&mut screen, &render::show(line, me.as_deref(), color)).await;
        }
    }
    if !pending.is_empty() {
        show(&mut screen, &render::show(&pending, me.as_deref(), color)).await;
    }
    show(&mut screen, "(the server closed the connection)").await;
    Ok(())
}

/// Prints one line above the prompt.
async fn show(screen: &mut SharedWriter, text: &str) {
    let _ = AsyncWriteExt::write_all(screen, format!("{text}\n").as_bytes()).await;
}

/// Sends each line the user enters; Ctrl-D half-closes, Ctrl-C quits.
async fn read_input(readline: &mut Readline, mut stream: TcpStream) -> Result<(), String> {
    let mut input_open = true;
    loop {
        let event = readline
            .readline()
            .await
            .map_err(|error| format!("cannot read the terminal: {error}"))?;
        match event {
            // After Ctrl-D there is nowhere to send lines to.
            ReadlineEvent::Line(_) | ReadlineEvent::Eof if !input_open => {}
            ReadlineEvent::Line(line) => {
                readline.add_history_entry(line.clone());
                let mut bytes = line.into_bytes();
                bytes.push(b'\n');
                if stream.write_all(&bytes).await.is_err() {
                    // The connection is going away: the output side says so.
                    future::pending::<()>().await;
                }
            }
            ReadlineEvent::Eof => {
                input_open = false;
                let _ = stream.shutdown(Shutdown::Write);
                readline
                    .update_prompt("(input closed; Ctrl-C quits) ")
                    .map_err(|error| error.to_string())?;
            }
            ReadlineEvent::Interrupted => return Ok(()),
        }
    }
}
