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
use std::ops::ControlFlow;

use async_net::TcpStream;
use futures_lite::{future, AsyncWriteExt};

use crate::editor::{Action, Editor};
use crate::incoming::{Incoming, SERVER_CLOSED};
use crate::input::Input;
use crate::keys::{Decoder, Key};
use crate::reader::ServerReader;
use crate::screen::{RawMode, Screen};
use crate::signals::{Caught, Signals};

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

/// Talks to the server through `stream` until it closes, the user quits
/// or one of `signals` comes; `name` answers the server's question.
pub async fn run(
    stream: TcpStream,
    color: bool,
    name: Option<String>,
    signals: Signals,
) -> Result<Ending, String> {
    // Armed first: a signal from now on is the session's to handle, and
    // the terminal's settings are given back whenever it comes.
    signals.arm();
    let raw = RawMode::enable().map_err(|error| format!("cannot use the terminal: {error}"))?;
    let mut session = Session::new(stream.clone(), Incoming::new(color, name));
    let ending = session.talk(stream, signals).await;
    // Leave the prompt line as it is, below what arrived, whatever happened.
    let finished = session.screen.finish(&session.editor);
    drop(raw);
    let ending = ending?;
    finished.map_err(cannot_write)?;
    Ok(ending)
}

/// What woke the session up.
enum Event<'a> {
    Network(Result<&'a [u8], String>),
    Keyboard(io::Result<Vec<u8>>),
    Signal(Option<Caught>),
}

/// What the session waits on, kept apart from what it changes, so that a
/// chunk from the server can be handled while it is still in the reader's
/// buffer.
struct Sources {
    server: ServerReader,
    keyboard: Input,
    signals: Signals,
}

impl Sources {
    /// Starts reading the keyboard, besides the server on `stream` and the
    /// `signals`.
    fn open(stream: TcpStream, signals: Signals) -> Result<Self, String> {
        let keyboard =
            Input::spawn().map_err(|error| format!("cannot read the terminal: {error}"))?;
        Ok(Sources {
            server: ServerReader::new(stream),
            keyboard,
            signals,
        })
    }

    /// Whichever comes first; the keyboard only while it is open.
    async fn next(&mut self, keyboard_open: bool) -> Event<'_> {
        let Sources {
            server,
            keyboard,
            signals,
        } = self;
        // `race` picks a ready side at random: a flood from the server
        // cannot keep Ctrl-C waiting.
        future::race(
            future::race(async move { Event::Network(server.next().await) }, async {
                if !keyboard_open {
                    return future::pending().await;
                }
                Event::Keyboard(keyboard.next().await)
            }),
            async { Event::Signal(signals.next().await) },
        )
        .await
    }
}

/// Everything one task owns at the terminal: keys go to the editor and the
/// server, the server's lines to the screen.
struct Session {
    editor: Editor,
    screen: Screen,
    incoming: Incoming,
    /// The connection's sending side: lines typed, the name, the half-close.
    writer: TcpStream,
    decoder: Decoder,
    /// The keys of one chunk, kept to reuse the allocation.
    keys: Vec<Key>,
    /// Until the terminal's input ends.
    keyboard_open: bool,
}

impl Session {
    /// A session that sends on `writer` and shows what `incoming` makes of
    /// the server's bytes.
    fn new(writer: TcpStream, incoming: Incoming) -> Self {
        Session {
            editor: Editor::default(),
            screen: Screen::new(PROMPT),
            incoming,
            writer,
            decoder: Decoder::default(),
            keys: Vec::new(),
            keyboard_open: true,
        }
    }

    /// The session proper, reading the server on `stream`: each event
    /// handled in turn, until one ends it.
    async fn talk(&mut self, stream: TcpStream, signals: Signals) -> Result<Ending, String> {
        let mut sources = Sources::open(stream, signals)?;
        self.screen.draw(&self.editor).map_err(cannot_write)?;
        loop {
            let flow = match sources.next(self.keyboard_open).await {
                Event::Network(chunk) => self.on_network(chunk?).await?,
                Event::Keyboard(chunk) => self.on_keys(chunk).await?,
                Event::Signal(signal) => return on_signal(signal),
            };
            if let ControlFlow::Break(ending) = flow {
                return Ok(ending);
            }
        }
    }

    /// A chunk from the server: its lines above the prompt line, and the
    /// name sent once the server asks; an empty chunk, the end.
    async fn on_network(&mut self, chunk: &[u8]) -> Result<ControlFlow<Ending>, String> {
        if chunk.is_empty() {
            let mut lines: Vec<String> = self.incoming.finish().into_iter().collect();
            lines.push(SERVER_CLOSED.to_string());
            self.screen
                .print_above(&lines, &self.editor)
                .map_err(cannot_write)?;
            return Ok(ControlFlow::Break(Ending::ServerClosed));
        }
        let lines = self.incoming.feed(chunk);
        if let Some(name) = self.incoming.take_answer() {
            // A failed send: the network side reports it.
            let _ = self.writer.write_all(format!("{name}\n").as_bytes()).await;
        }
        if !lines.is_empty() {
            self.screen
                .print_above(&lines, &self.editor)
                .map_err(cannot_write)?;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// A chunk from the terminal: every key in it applied, then the prompt
    /// line drawn once, if any changed it.
    async fn on_keys(&mut self, chunk: io::Result<Vec<u8>>) -> Result<ControlFlow<Ending>, String> {
        let chunk = chunk.map_err(|error| format!("cannot read the terminal: {error}"))?;
        if chunk.is_empty() {
            // The terminal is gone: as Ctrl-D, without the key.
            self.keyboard_open = false;
            let _ = self.writer.shutdown(Shutdown::Write);
            return Ok(ControlFlow::Continue(()));
        }
        let mut keys = std::mem::take(&mut self.keys);
        self.decoder.feed(&chunk, &mut keys);
        let mut redraw = false;
        for key in keys.drain(..) {
            let action = self.editor.key(key);
            match self.on_action(action).await {
                ControlFlow::Continue(changed) => redraw |= changed,
                ControlFlow::Break(ending) => return Ok(ControlFlow::Break(ending)),
            }
        }
        self.keys = keys;
        if redraw {
            self.screen.draw(&self.editor).map_err(cannot_write)?;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Does what a key asked of the editor; `Continue(true)` when the
    /// prompt line must be drawn again.
    async fn on_action(&mut self, action: Action) -> ControlFlow<Ending, bool> {
        match action {
            Action::None => ControlFlow::Continue(false),
            Action::Redraw => ControlFlow::Continue(true),
            Action::ClearScreen => {
                self.screen.clear();
                ControlFlow::Continue(true)
            }
            Action::Send(line) => {
                // A failed send means the connection is going away: the
                // network side reports it.
                let _ = self.writer.write_all(format!("{line}\n").as_bytes()).await;
                ControlFlow::Continue(true)
            }
            Action::EndOfInput => {
                let _ = self.writer.shutdown(Shutdown::Write);
                self.screen.set_prompt(CLOSED_PROMPT);
                ControlFlow::Continue(true)
            }
            Action::Interrupt => ControlFlow::Break(Ending::Interrupted),
        }
    }
}

/// A signal always ends the session, with the status a shell would report;
/// SIGINT counts as Ctrl-C.
fn on_signal(signal: Option<Caught>) -> Result<Ending, String> {
    match signal {
        Some(Caught::Interrupt) => Ok(Ending::Interrupted),
        Some(caught) => Ok(Ending::Signaled(caught.status())),
        None => Err("cannot watch for signals".to_string()),
    }
}

fn cannot_write(error: io::Error) -> String {
    format!("cannot write to the terminal: {error}")
}
