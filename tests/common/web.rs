//! A blocking WebSocket client of the page's `/ws`, as the page is: a
//! client whose lines are frames. Built on tungstenite's client side, so
//! the server's framing is checked against another implementation's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Response;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Bytes, Message, WebSocket};

use super::PATIENCE;

/// A page's connection: lines in and out as frames.
pub struct WebPeer {
    /// The address the server sees for us: `ADDR` in book mode.
    pub name: String,
    /// The connection.
    socket: WebSocket<TcpStream>,
}

/// How a handshake went: a WebSocket, or the server's refusal.
pub enum Handshake {
    /// Upgraded.
    Open(Box<WebPeer>),
    /// Refused: the status code and the body.
    Refused(u16, String),
}

impl WebPeer {
    /// Opens `/ws` as the page at `page` does (with its Origin), and checks
    /// the book's greeting.
    pub fn connect(page: SocketAddr) -> Self {
        let mut peer = Self::connect_quiet(page);
        peer.expect(&format!("You are {}", peer.name));
        peer
    }

    /// Opens `/ws` as the page does, reading nothing.
    pub fn connect_quiet(page: SocketAddr) -> Self {
        let origin = format!("http://{page}");
        match Self::handshake(
            TcpStream::connect(page).expect("connect"),
            page,
            Some(&origin),
        ) {
            Handshake::Open(peer) => *peer,
            Handshake::Refused(status, body) => panic!("handshake refused: {status} {body}"),
        }
    }

    /// Opens `/ws` on `stream`, sending `origin` as the Origin.
    pub fn handshake(stream: TcpStream, page: SocketAddr, origin: Option<&str>) -> Handshake {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let name = stream.local_addr().unwrap().to_string();
        let mut request = format!("ws://{page}/ws").into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        match tungstenite::client::client(request, stream) {
            Ok((socket, _)) => Handshake::Open(Box::new(WebPeer { name, socket })),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                refused(&response)
            }
            Err(error) => panic!("handshake failed: {error}"),
        }
    }

    /// Sends `text` as one text frame, as the page sends a line.
    pub fn say(&mut self, text: &str) {
        self.send(Message::text(text));
    }

    /// Sends one frame.
    pub fn send(&mut self, message: Message) {
        self.socket.send(message).expect("send a frame");
    }

    /// The next line: the payload of the next binary frame; fails on any
    /// other frame, at the close, or after [`PATIENCE`].
    pub fn line(&mut self) -> Vec<u8> {
        loop {
            match self.socket.read() {
                Ok(Message::Binary(bytes)) => return bytes.to_vec(),
                Ok(Message::Ping(_) | Message::Pong(_)) => {}
                Ok(other) => panic!("{}: expected a binary frame, got {other:?}", self.name),
                Err(error) => panic!("{}: no frame within {PATIENCE:?}: {error}", self.name),
            }
        }
    }

    /// Checks that the next frame is a pong holding `payload`.
    pub fn expect_pong(&mut self, payload: &[u8]) {
        match self.socket.read() {
            Ok(Message::Pong(got)) => assert_eq!(&got[..], payload, "{}: the pong", self.name),
            Ok(other) => panic!("{}: expected a pong, got {other:?}", self.name),
            Err(error) => panic!("{}: no pong within {PATIENCE:?}: {error}", self.name),
        }
    }

    /// Checks that the next line is exactly `text`.
    pub fn expect(&mut self, text: &str) {
        self.expect_bytes(text.as_bytes());
    }

    /// Checks that the next line is exactly `bytes`.
    pub fn expect_bytes(&mut self, bytes: &[u8]) {
        let line = self.line();
        assert_eq!(
            line.escape_ascii().to_string(),
            bytes.escape_ascii().to_string(),
            "{}: unexpected line",
            self.name
        );
    }

    /// Checks that the server closes with a close frame, nothing before
    /// it, and then ends the TCP connection.
    pub fn expect_close(&mut self) -> Option<CloseFrame> {
        let close = match self.socket.read() {
            Ok(Message::Close(close)) => close,
            Ok(other) => panic!("{}: expected a close frame, got {other:?}", self.name),
            Err(error) => panic!("{}: expected a close frame: {error}", self.name),
        };
        // Our answering close is sent, and the server then ends it all.
        loop {
            match self.socket.read() {
                Ok(Message::Ping(_) | Message::Pong(_)) => {}
                Ok(other) => panic!("{}: a frame after the close: {other:?}", self.name),
                Err(tungstenite::Error::ConnectionClosed) => return close,
                Err(error) => panic!("{}: expected the end: {error}", self.name),
            }
        }
    }

    /// Closes from our side, as a tab that goes away does.
    pub fn close(&mut self) {
        self.socket.close(None).expect("send a close frame");
        let _ = self.socket.flush();
    }

    /// Sends raw bytes on the TCP connection under the WebSocket: a frame
    /// of our own making, or part of one.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.socket
            .get_mut()
            .write_all(bytes)
            .expect("send raw bytes");
    }

    /// The TCP connection under the WebSocket.
    pub fn stream(&mut self) -> &mut TcpStream {
        self.socket.get_mut()
    }

    /// The WebSocket itself, for a caller that reports what goes wrong
    /// instead of panicking: the transcript runner, whose failures name
    /// the script's line.
    pub fn websocket(&mut self) -> &mut WebSocket<TcpStream> {
        &mut self.socket
    }
}

/// A masked client frame, as a browser sends one: `opcode` and `payload`,
/// `fin` set. For tests that send frames whole or in pieces.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        length @ 0..=125 => frame.push(0x80 | length as u8),
        length @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(length as u16).to_be_bytes());
        }
        length => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(length as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ mask[i % 4]),
    );
    frame
}

/// A refusal's status and body.
fn refused(response: &Response) -> Handshake {
    let body = response.body().clone().unwrap_or_default();
    Handshake::Refused(
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// One plain HTTP request to the page's address: the status line's code,
/// and the whole response.
pub fn http_get(page: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(page).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(request.as_bytes())
        .expect("send a request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("the whole response, then the close");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (status, response)
}

/// A binary frame holding `bytes`: a line that is not UTF-8, which a
/// text frame cannot carry.
pub fn binary(bytes: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(bytes))
}
