//! The client at a terminal: a prompt line you edit at the bottom, and what
//! the server sends printed above it, so arrivals never break the line you
//! are typing. Peers' bytes are shown escaped (see `render`), never obeyed.
//!
//! One task does everything, keys and network alike, and it alone writes to
//! the terminal: a line can never be printed while the prompt line is half
//! drawn, and leaving is always orderly. Ctrl-D on an empty line ends your
//! input as the end of a pipe does (a half-close: you still see what the
//! server sends until it closes); on a line it deletes, as in readline.
//! Ctrl-C quits. Whatever you typed stays on the screen when the client
//! leaves, and the terminal gets its settings back on every way out,
//! SIGTERM, SIGHUP and a SIGINT sent with `kill` included.
//!
//! With `--name`, the server's first `What is your name?` is answered
//! unseen; if the name is refused, the reason and the next question are
//! shown, and the line the user types next is the answer, as any line is.

use std::io;
use std::net::Shutdown;

use async_net::TcpStream;
use async_signal::{Signal, Signals};
use futures_lite::{future, AsyncWriteExt, StreamExt};

use crate::editor::{Action, Editor};
use crate::incoming::{Incoming, SERVER_CLOSED};
use crate::input::Input;
use crate::keys::Decoder;
use crate::reader::ServerReader;
use crate::screen::{RawMode, Screen};

const PROMPT: &str = "> ";
const CLOSED_PROMPT: &str = "(input closed; Ctrl-C quits) ";

/// How a session at the terminal ended, when nothing failed.
pub enum Ending {
    /// The server closed the connection.
    ServerClosed,
    /// The user quit with Ctrl-C.
    Interrupted,
    /// A signal asked the client to stop: the exit status to report, 128
    /// plus its number, as a shell would.
    Signaled(u8),
}

/// What woke the session up.
enum Event<'a> {
    Network(Result<&'a [u8], String>),
    Keyboard(io::Result<Vec<u8>>),
    Signal(Option<io::Result<Signal>>),
}

/// Talks to the server through `stream` until it closes or the user quits;
/// `name` answers the server's question.
pub async fn run(stream: TcpStream, color: bool, name: Option<String>) -> Result<Ending, String> {
    let raw = RawMode::enable().map_err(|error| format!("cannot use the terminal: {error}"))?;
    let mut editor = Editor::default();
    let mut screen = Screen::new(PROMPT);
    let incoming = Incoming::new(color, name);
    let ending = session(stream, incoming, &mut editor, &mut screen).await;
    // Leave the prompt line as it is, below what arrived, whatever happened.
    let finished = screen.finish(&editor);
    drop(raw);
    let ending = ending?;
    finished.map_err(cannot_write)?;
    Ok(ending)
}

/// The session proper: keys to the editor and the server, the server's
/// lines to the screen.
async fn session(
    stream: TcpStream,
    mut incoming: Incoming,
    editor: &mut Editor,
    screen: &mut Screen,
) -> Result<Ending, String> {
    let mut server = ServerReader::new(stream.clone());
    let mut writer = stream;
    let keyboard = Input::spawn().map_err(|error| format!("cannot read the terminal: {error}"))?;
    let mut keyboard_open = true;
    let mut decoder = Decoder::default();
    let mut keys = Vec::new();
    // In raw mode no key makes a signal, but `kill` still can.
    let mut signals = Signals::new([Signal::Int, Signal::Term, Signal::Hup])
        .map_err(|error| format!("cannot watch for signals: {error}"))?;
    screen.draw(editor).map_err(cannot_write)?;
    loop {
        // `race` picks a ready side at random: a flood from the server
        // cannot keep Ctrl-C waiting.
        let event = future::race(
            future::race(async { Event::Network(server.next().await) }, async {
                if !keyboard_open {
                    return future::pending().await;
                }
                Event::Keyboard(keyboard.next().await)
            }),
            async { Event::Signal(signals.next().await) },
        )
        .await;
        match event {
            Event::Signal(Some(Ok(Signal::Int))) => return Ok(Ending::Interrupted),
            Event::Signal(Some(Ok(Signal::Hup))) => return Ok(Ending::Signaled(128 + 1)),
            Event::Signal(Some(Ok(_))) => return Ok(Ending::Signaled(128 + 15)),
            Event::Signal(Some(Err(error))) => {
                return Err(format!("cannot watch for signals: {error}"))
            }
            Event::Signal(None) => return Err("cannot watch for signals".to_string()),
            Event::Network(Ok([])) => {
                let mut lines: Vec<String> = incoming.finish().into_iter().collect();
                lines.push(SERVER_CLOSED.to_string());
                screen.print_above(&lines, editor).map_err(cannot_write)?;
                return Ok(Ending::ServerClosed);
            }
            Event::Network(Ok(chunk)) => {
                let lines = incoming.feed(chunk);
                if let Some(name) = incoming.take_answer() {
                    // A failed send: the network side reports it.
                    let _ = writer.write_all(format!("{name}\n").as_bytes()).await;
                }
                if !lines.is_empty() {
                    screen.print_above(&lines, editor).map_err(cannot_write)?;
                }
            }
            Event::Network(Err(error)) => return Err(error),
            Event::Keyboard(Ok(chunk)) if chunk.is_empty() => {
                // The terminal is gone: as Ctrl-D, without the key.
                keyboard_open = false;
                let _ = writer.shutdown(Shutdown::Write);
            }
            Event::Keyboard(Ok(chunk)) => {
                decoder.feed(&chunk, &mut keys);
                let mut redraw = false;
                for key in keys.drain(..) {
                    match editor.key(key) {
                        Action::None => {}
                        Action::Redraw => redraw = true,
                        Action::ClearScreen => {
                            screen.clear();
                            redraw = true;
                        }
                        Action::Send(line) => {
                            redraw = true;
                            // A failed send means the connection is going
                            // away: the network side reports it.
                            let _ = writer.write_all(format!("{line}\n").as_bytes()).await;
                        }
                        Action::EndOfInput => {
                            redraw = true;
                            let _ = writer.shutdown(Shutdown::Write);
                            screen.set_prompt(CLOSED_PROMPT);
                        }
                        Action::Interrupt => return Ok(Ending::Interrupted),
                    }
                }
                if redraw {
                    screen.draw(editor).map_err(cannot_write)?;
                }
            }
            Event::Keyboard(Err(error)) => {
                return Err(format!("cannot read the terminal: {error}"))
            }
        }
    }
}

fn cannot_write(error: io::Error) -> String {
    format!("cannot write to the terminal: {error}")
}
