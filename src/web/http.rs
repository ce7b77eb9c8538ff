//! Just enough HTTP/1.1 for the page: one request head read and checked,
//! one response written, then the connection closes (or becomes a
//! WebSocket).
//!
//! The head is parsed by `httparse`, from a buffer that is bounded, so a
//! client cannot make the server hold more than [`MAX_HEAD`] bytes of it,
//! and the caller bounds the time it may take.

use std::io;

use super::wire::{self, Wire};

/// The longest request head accepted: a browser's is well under 2 KiB.
const MAX_HEAD: usize = 8 * 1024;

/// The most headers accepted in a head.
const MAX_HEADERS: usize = 32;

/// What the server needs of a request head.
#[derive(Debug, Default)]
pub struct Head {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The path, without its query.
    pub path: String,
    /// `Host`: the address the browser used, `host[:port]`.
    pub host: Option<String>,
    /// How many `Host` headers came: HTTP/1.1 wants exactly one (RFC 9112,
    /// 3.2), since two could name two hosts to two readers of the head.
    pub hosts: usize,
    /// `Origin`: the site whose page made the request (browsers send it on
    /// every WebSocket handshake).
    pub origin: Option<String>,
    /// `Upgrade` names `websocket`.
    pub upgrade_websocket: bool,
    /// `Connection` names `upgrade`.
    pub connection_upgrade: bool,
    /// `Sec-WebSocket-Key`.
    pub websocket_key: Option<Vec<u8>>,
    /// `Sec-WebSocket-Version`.
    pub websocket_version: Option<String>,
}

/// Why no head could be read.
#[derive(Debug)]
pub enum HeadError {
    /// The socket failed or closed first: nobody to answer.
    Gone,
    /// Not HTTP, or not HTTP/1.1.
    Malformed,
    /// Longer than [`MAX_HEAD`], or too many headers.
    TooLarge,
}

/// Reads one request head; also returns the bytes that came after it (a
/// WebSocket client may send its first frame without waiting).
pub async fn read_head(wire: &impl Wire) -> Result<(Head, Vec<u8>), HeadError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let read = wire::read(wire, &mut chunk)
            .await
            .map_err(|_| HeadError::Gone)?;
        if read == 0 {
            return Err(HeadError::Gone);
        }
        buf.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(length)) => {
                if request.version != Some(1) {
                    return Err(HeadError::Malformed);
                }
                let head = Head::from(&request);
                return Ok((head, buf[length..].to_vec()));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Err(HeadError::TooLarge)
            }
            Err(_) => return Err(HeadError::Malformed),
        }
    }
}

impl From<&httparse::Request<'_, '_>> for Head {
    fn from(request: &httparse::Request<'_, '_>) -> Self {
        let path = request.path.unwrap_or_default();
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let mut head = Head {
            method: request.method.unwrap_or_default().to_string(),
            path: path.to_string(),
            ..Head::default()
        };
        let text = |value: &[u8]| String::from_utf8_lossy(value).trim().to_string();
        let names = |value: &[u8], token: &str| {
            String::from_utf8_lossy(value)
                .split(',')
                .any(|word| word.trim().eq_ignore_ascii_case(token))
        };
        for header in request.headers.iter() {
            let name = header.name;
            if name.eq_ignore_ascii_case("host") {
                head.host = Some(text(header.value));
                head.hosts += 1;
            } else if name.eq_ignore_ascii_case("origin") {
                head.origin = Some(text(header.value));
            } else if name.eq_ignore_ascii_case("upgrade") {
                head.upgrade_websocket |= names(header.value, "websocket");
            } else if name.eq_ignore_ascii_case("connection") {
                head.connection_upgrade |= names(header.value, "upgrade");
            } else if name.eq_ignore_ascii_case("sec-websocket-key") {
                head.websocket_key = Some(header.value.trim_ascii().to_vec());
            } else if name.eq_ignore_ascii_case("sec-websocket-version") {
                head.websocket_version = Some(text(header.value));
            }
        }
        head
    }
}

/// A whole response: status line, headers, body.
pub struct Response {
    /// `200 OK`, `404 Not Found`, ...
    pub status: &'static str,
    /// Headers beyond the ones every response has, each `Name: value`.
    pub headers: Vec<String>,
    /// The body's type.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Send the headers only (a `HEAD` request).
    pub head_only: bool,
}

impl Response {
    /// A short plain-text answer: an error, said in one line.
    pub fn text(status: &'static str, line: &str) -> Self {
        Response {
            status,
            headers: Vec::new(),
            content_type: "text/plain; charset=utf-8",
            body: format!("{line}\n").into_bytes(),
            head_only: false,
        }
    }

    /// The response's bytes: every response closes its connection.
    pub fn bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             X-Content-Type-Options: nosniff\r\nConnection: close\r\n",
            self.status,
            self.content_type,
            self.body.len()
        );
        for header in &self.headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if !self.head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }

    /// Writes the response.
    pub async fn write(&self, wire: &impl Wire) -> io::Result<()> {
        wire::write_all(wire, &self.bytes()).await
    }
}

/// The answer to a WebSocket handshake, after which the connection speaks
/// WebSocket. The socket's writer sends it, with the first lines queued
/// (a greeting) when there are some: one packet, not two.
pub fn websocket_answer(key: &[u8]) -> Box<[u8]> {
    let accept = tungstenite::handshake::derive_accept_key(key);
    let answer = [
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: ",
        &accept,
        "\r\n\r\n",
    ]
    .concat();
    answer.into_bytes().into_boxed_slice()
}
