//! A client of the page's WebSocket (`/ws` of `chat --http`), as the page
//! is: a client whose lines are binary frames, read as lines by `wire`.
//! Built on tungstenite's client side, so that the server's framing is
//! checked against another implementation's.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::error::ProtocolError;
use tungstenite::{Bytes, Error, Message, WebSocket};

use crate::socket::io_failure;
use crate::wire::Got;

/// A page's connection: lines in and out as frames.
pub struct WebPeer {
    /// The address the server sees for us: `ADDR` in book mode.
    pub name: String,
    /// The connection.
    socket: WebSocket<TcpStream>,
    /// How long a read may wait.
    patience: Duration,
}

/// How a handshake went: a WebSocket, or the server's refusal.
pub enum Handshake {
    /// Upgraded.
    Open(Box<WebPeer>),
    /// Refused: the status code and the body.
    Refused(u16, String),
}

impl WebPeer {
    /// Opens `/ws` at `page` on `stream`, with the page's own Origin, as
    /// the page does; a read waits at most `patience`.
    pub fn handshake(
        stream: TcpStream,
        page: SocketAddr,
        patience: Duration,
    ) -> Result<Handshake, String> {
        let fail = |error: &dyn std::fmt::Display| format!("the WebSocket handshake: {error}");
        stream
            .set_read_timeout(Some(patience))
            .map_err(|e| fail(&e))?;
        let name = stream.local_addr().map_err(|e| fail(&e))?.to_string();
        let mut request = format!("ws://{page}/ws")
            .into_client_request()
            .map_err(|e| fail(&e))?;
        let origin = format!("http://{page}").parse().map_err(|e| fail(&e))?;
        request.headers_mut().insert("Origin", origin);
        match tungstenite::client::client(request, stream) {
            Ok((socket, _)) => Ok(Handshake::Open(Box::new(WebPeer {
                name,
                socket,
                patience,
            }))),
            Err(tungstenite::HandshakeError::Failure(Error::Http(response))) => {
                let body = response.body().clone().unwrap_or_default();
                Ok(Handshake::Refused(
                    response.status().as_u16(),
                    String::from_utf8_lossy(&body).into_owned(),
                ))
            }
            Err(error) => Err(fail(&error)),
        }
    }

    /// The TCP connection under the WebSocket.
    pub fn stream(&mut self) -> &mut TcpStream {
        self.socket.get_mut()
    }

    /// The WebSocket itself.
    pub fn websocket(&mut self) -> &mut WebSocket<TcpStream> {
        &mut self.socket
    }
}

/// A binary frame holding `bytes`: a line that is not UTF-8, which a text
/// frame cannot carry.
pub fn binary(bytes: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(bytes))
}

/// The next line (a binary frame), or the end: the server's close
/// frame, or its answer to ours, and then the end of the connection.
pub fn next(peer: &mut WebPeer) -> Result<Got, String> {
    let patience = peer.patience;
    loop {
        match peer.websocket().read() {
            Ok(Message::Binary(bytes)) => return Ok(Got::Line(bytes.to_vec())),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Ok(Message::Text(text)) => {
                return Err(format!(
                    "a text frame {:?}, where each line is a binary frame",
                    text.as_str()
                ))
            }
            Ok(Message::Close(_)) => return after_close(peer).map(|()| Got::End(Vec::new())),
            Err(error) => return Err(failure(error, patience)),
        }
    }
}

/// After the close frame, the connection must end with nothing more.
fn after_close(peer: &mut WebPeer) -> Result<(), String> {
    let patience = peer.patience;
    loop {
        match peer.websocket().read() {
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(other) => return Err(format!("a frame after the close frame: {other:?}")),
            Err(Error::ConnectionClosed | Error::AlreadyClosed) => return Ok(()),
            // Our answer to its close may find the server already gone.
            Err(Error::Io(error))
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(())
            }
            Err(error) => return Err(failure(error, patience)),
        }
    }
}

/// Reads until the connection ends, in any way but a timeout.
pub fn discard_to_end(peer: &mut WebPeer) -> Result<(), String> {
    loop {
        match peer.websocket().read() {
            Ok(_) => {}
            Err(Error::Io(error))
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io_failure(&error, peer.patience))
            }
            Err(_) => return Ok(()),
        }
    }
}

/// A WebSocket failure, said plainly.
fn failure(error: Error, patience: Duration) -> String {
    match error {
        Error::Io(error) => io_failure(&error, patience),
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the connection ended without a close frame".into()
        }
        error => error.to_string(),
    }
}
