//! A client's connection as the runner drives it: TCP (over TLS too, for
//! `set tls on`), or the page's WebSocket (`connect NAME via web`), both
//! read and written as lines, so that one model of the protocol and one
//! transcript serve both.
//!
//! On a WebSocket every step keeps the meaning the WebSocket can give it:
//!
//! - **Sending** (`NAME: TEXT`, `send`, `flood`): the step's bytes are cut
//!   after each `\n`, and each line, without its `\n`, is one frame, as the
//!   page sends it: a text frame if it is UTF-8, else a binary frame (which
//!   carries any bytes). A last piece without a `\n` is a frame too, and so
//!   a whole line: a frame cannot leave a line unfinished.
//! - **Receiving**: each binary frame is one line; the transcript shows it
//!   as it shows a TCP line. Any other frame but a ping or pong is an error.
//! - **`half-close`**: a close frame, as a page that goes away sends. The
//!   server answers with its own and ends the connection. After a close
//!   frame the server may send no line (RFC 6455), so the step needs the
//!   client to be owed none: settled, not chained with `&`.
//! - **`close`**: the TCP connection closed under the WebSocket, without a
//!   close frame (a tab killed, a laptop shut).
//! - **`reset`**: the TCP connection reset (RST) under the WebSocket.
//! - **`stop-reading`**: the socket is not read.
//! - **Closed by the server**: a close frame, then the end of the TCP
//!   connection; an end without a close frame is an error, except for a
//!   client cut off for not reading, whose connection is simply shut.
//! - **Turned away** (`connect-rejected`): the handshake's HTTP refusal,
//!   whose body is the error line.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::socket::connect_socket;
pub use crate::socket::io_failure;
use crate::web::{self, Handshake, WebPeer};

/// How long a client waits for a line it is owed, unless told otherwise.
pub const DEFAULT_PATIENCE: Duration = Duration::from_secs(20);

/// What a connection gave when read.
pub enum Got {
    /// A line, without its `\n`.
    Line(Vec<u8>),
    /// The end, cleanly (a WebSocket: after a close frame), with what came
    /// after the last `\n` (TCP only).
    End(Vec<u8>),
}

/// A client's connection.
pub struct Wire {
    /// The transport and what is left of it.
    kind: Kind,
    /// How long a read waits for what it is owed.
    patience: Duration,
}

/// The transports, each with the halves still open.
enum Kind {
    /// A TCP client of the chat's address.
    Tcp {
        /// Write side; `None` once closed or reset.
        writer: Option<TcpStream>,
        /// Read side; `None` once the connection ended.
        reader: Option<BufReader<TcpStream>>,
    },
    /// A client of the page's WebSocket.
    Web {
        /// The connection; `None` once closed or reset.
        peer: Option<Box<WebPeer>>,
        /// No close frame sent yet: frames may go out.
        sending: bool,
        /// The end not read yet.
        reading: bool,
    },
    /// A WebSocket handshake the server refused: the lines of the answer's
    /// body, then the end.
    Refused {
        /// Lines not read yet.
        lines: VecDeque<Vec<u8>>,
        /// The end not read yet.
        reading: bool,
    },
}

impl Wire {
    /// Connects to the chat's TCP address, where a read waits at most
    /// `patience`; also returns the address the server sees, `ADDR` in its
    /// lines.
    ///
    /// With `tls`, the certificate to trust (`set tls on`), the connection
    /// is TLS, read and written as a TCP one (see `tls`).
    pub fn tcp(
        addr: SocketAddr,
        tls: Option<&Path>,
        patience: Duration,
    ) -> Result<(Wire, String), String> {
        let stream = connect_socket(addr, patience)?;
        let (stream, local) = match tls {
            Some(ca) => crate::tls::connect(stream, ca, patience)?,
            None => {
                let local = stream.local_addr().map_err(|e| e.to_string())?.to_string();
                (stream, local)
            }
        };
        let reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let kind = Kind::Tcp {
            writer: Some(stream),
            reader: Some(reader),
        };
        Ok((Wire { kind, patience }, local))
    }

    /// Opens the page's WebSocket at `page` as the page does (its Origin);
    /// also returns the address the server sees. A refused handshake is a
    /// connection too, whose lines are the refusal's body, so that a client
    /// turned away reads as one on TCP does; its HTTP status is returned.
    pub fn web(
        page: SocketAddr,
        patience: Duration,
    ) -> Result<(Wire, String, Option<u16>), String> {
        let stream = connect_socket(page, patience)?;
        let (kind, addr, refusal) = match WebPeer::handshake(stream, page, patience)? {
            Handshake::Open(peer) => {
                let addr = peer.name.clone();
                let kind = Kind::Web {
                    peer: Some(peer),
                    sending: true,
                    reading: true,
                };
                (kind, addr, None)
            }
            Handshake::Refused(status, body) => {
                let mut lines: VecDeque<Vec<u8>> = body
                    .as_bytes()
                    .split(|&byte| byte == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                if lines.back().is_some_and(Vec::is_empty) {
                    lines.pop_back();
                }
                let kind = Kind::Refused {
                    lines,
                    reading: true,
                };
                (kind, String::new(), Some(status))
            }
        };
        Ok((Wire { kind, patience }, addr, refusal))
    }

    /// Whether this is a WebSocket (or a refused handshake for one).
    pub fn is_web(&self) -> bool {
        !matches!(self.kind, Kind::Tcp { .. })
    }

    /// Whether the connection may still be read: its end has not come.
    pub fn readable(&self) -> bool {
        match &self.kind {
            Kind::Tcp { reader, .. } => reader.is_some(),
            Kind::Web { peer, reading, .. } => peer.is_some() && *reading,
            Kind::Refused { reading, .. } => *reading,
        }
    }

    /// What the server reads from `bytes` sent on this connection, as the
    /// bytes of a TCP stream: on a WebSocket each frame is a whole line.
    pub fn as_read<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        if self.is_web() && !bytes.is_empty() && !bytes.ends_with(b"\n") {
            let mut whole = bytes.to_vec();
            whole.push(b'\n');
            Cow::Owned(whole)
        } else {
            Cow::Borrowed(bytes)
        }
    }

    /// Sends `bytes`: on TCP as they are, on a WebSocket a frame a line.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        match &mut self.kind {
            Kind::Tcp { writer, .. } => writer
                .as_mut()
                .ok_or("no longer connected")?
                .write_all(bytes)
                .map_err(|e| e.to_string()),
            Kind::Web { peer, sending, .. } => {
                let peer = peer
                    .as_mut()
                    .filter(|_| *sending)
                    .ok_or("no longer connected")?;
                if bytes.is_empty() {
                    return Ok(());
                }
                let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
                for line in bytes.split(|&byte| byte == b'\n') {
                    let frame = match std::str::from_utf8(line) {
                        Ok(text) => tungstenite::Message::text(text),
                        Err(_) => web::binary(line),
                    };
                    peer.websocket()
                        .send(frame)
                        .map_err(|error| format!("cannot send a frame: {error}"))?;
                }
                Ok(())
            }
            Kind::Refused { .. } => Err("never connected".into()),
        }
    }

    /// Ends the client's input and goes on reading: TCP's half-close, a
    /// WebSocket's close frame.
    pub fn half_close(&mut self) -> Result<(), String> {
        match &mut self.kind {
            Kind::Tcp { writer, .. } => writer
                .as_ref()
                .ok_or("no longer connected")?
                .shutdown(Shutdown::Write)
                .map_err(|e| e.to_string()),
            Kind::Web { peer, sending, .. } => {
                let peer = peer
                    .as_mut()
                    .filter(|_| *sending)
                    .ok_or("no longer connected")?;
                *sending = false;
                peer.websocket()
                    .close(None)
                    .map_err(|error| format!("cannot send a close frame: {error}"))
            }
            Kind::Refused { .. } => Err("never connected".into()),
        }
    }

    /// Closes the connection outright: on a WebSocket, without a close
    /// frame.
    pub fn close(&mut self) {
        match &mut self.kind {
            Kind::Tcp { writer, reader } => {
                *writer = None;
                *reader = None;
            }
            Kind::Web { peer, .. } => *peer = None,
            Kind::Refused { reading, .. } => *reading = false,
        }
    }

    /// Resets the connection (RST): no lingering, no close frame.
    pub fn reset(&mut self) -> Result<(), String> {
        let stream = match &mut self.kind {
            Kind::Tcp { writer, reader } => {
                *reader = None;
                writer.take().ok_or("no longer connected")?
            }
            Kind::Web { peer, .. } => {
                let mut peer = peer.take().ok_or("no longer connected")?;
                peer.stream().try_clone().map_err(|e| e.to_string())?
            }
            Kind::Refused { .. } => return Err("never connected".into()),
        };
        let socket = socket2::Socket::from(stream);
        socket
            .set_linger(Some(Duration::ZERO))
            .map_err(|e| e.to_string())
        // The last handle on the socket goes here: the RST goes out.
    }

    /// The next line, or the end; an error says what came instead, or
    /// that nothing did within the patience it was given.
    pub fn receive(&mut self) -> Result<Got, String> {
        let patience = self.patience;
        match &mut self.kind {
            Kind::Tcp { reader, .. } => {
                let reader = reader.as_mut().ok_or("not connected")?;
                let mut raw = Vec::new();
                match reader.read_until(b'\n', &mut raw) {
                    Ok(_) if raw.ends_with(b"\n") => {
                        raw.pop();
                        Ok(Got::Line(raw))
                    }
                    Ok(_) => Ok(Got::End(raw)),
                    Err(error) => Err(io_failure(&error, patience)),
                }
            }
            Kind::Web { peer, reading, .. } => {
                let open = peer.as_mut().filter(|_| *reading).ok_or("not connected")?;
                let got = web::next(open);
                if let Ok(Got::End(_)) = got {
                    // The closing handshake is done: as a browser does,
                    // the client closes its side too, and the server
                    // need not wait for it.
                    *reading = false;
                    *peer = None;
                }
                got
            }
            Kind::Refused { lines, reading } => match lines.pop_front() {
                Some(line) => Ok(Got::Line(line)),
                None => {
                    *reading = false;
                    Ok(Got::End(Vec::new()))
                }
            },
        }
    }

    /// Reads to the end, which the server must bring cleanly: what came
    /// before it (lines with their `\n`), which should be nothing.
    pub fn rest(&mut self) -> Result<Vec<u8>, String> {
        let patience = self.patience;
        match &mut self.kind {
            Kind::Tcp { reader, .. } => {
                let reader = reader.as_mut().ok_or("not connected")?;
                let mut rest = Vec::new();
                reader
                    .read_to_end(&mut rest)
                    .map_err(|error| io_failure(&error, patience))?;
                Ok(rest)
            }
            Kind::Web { .. } | Kind::Refused { .. } => {
                let mut rest = Vec::new();
                loop {
                    match self.receive()? {
                        Got::Line(line) => {
                            rest.extend_from_slice(&line);
                            rest.push(b'\n');
                        }
                        Got::End(_) => return Ok(rest),
                    }
                }
            }
        }
    }

    /// Reads and drops everything until the connection ends, however it
    /// ends: a client cut off is shut down, without ceremony.
    pub fn discard_to_end(&mut self) -> Result<(), String> {
        let patience = self.patience;
        match &mut self.kind {
            Kind::Tcp { reader, .. } => {
                if let Some(mut reader) = reader.take() {
                    let mut sink = Vec::new();
                    match reader.read_to_end(&mut sink) {
                        Ok(_) => {}
                        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
                        Err(error) => return Err(io_failure(&error, patience)),
                    }
                }
                Ok(())
            }
            Kind::Web { peer, reading, .. } => {
                *reading = false;
                match peer.take() {
                    Some(mut peer) => web::discard_to_end(&mut peer),
                    None => Ok(()),
                }
            }
            Kind::Refused { reading, .. } => {
                *reading = false;
                Ok(())
            }
        }
    }

    /// The end has been read: nothing more will be.
    pub fn stop_reading(&mut self) {
        match &mut self.kind {
            Kind::Tcp { reader, .. } => *reader = None,
            Kind::Web { reading, .. } | Kind::Refused { reading, .. } => *reading = false,
        }
    }
}
