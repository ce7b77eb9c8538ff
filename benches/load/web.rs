//! The page's clients, for the `web` scenario. tungstenite opens each
//! WebSocket (the request with its `Origin`, the check of the answer) and
//! frames and masks what it sends, as a browser would. The frames that come
//! back are read as the TCP readers read lines: up to `buffer` bytes a
//! read, every frame the read completed counted at that read's time, and a
//! yield after a read that filled the buffer. Finding a server's frame (2
//! bytes of header, unmasked) costs less than finding a `\n`, so the
//! benchmark's own cost per delivery is no higher than for TCP, and the two
//! rows differ by the server's cost. tungstenite's reading did not allow
//! that: it zeroes its whole free buffer before every read, an eighth of
//! the benchmark's time in a profile.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Instant;

use futures_lite::{future, AsyncReadExt};
use smol::{Async, LocalExecutor};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Error, HandshakeError, Message, WebSocket};

use crate::churn::churn_on;
use crate::clients::{Client, Mode, SeenRef};
use crate::fanout::fan_out;
use crate::server::Server;

/// `fanout`'s load from the page: the same 100 clients, 10 of them
/// sending, all over WebSockets, so that its row differs from
/// `fanout`'s by the transport alone. Each line goes out as the page
/// sends it, a text frame, 16 frames a write as `fanout` writes 16
/// lines; every client gets each as a binary frame.
pub fn fanout() -> String {
    fan_out::<Page>(100, 10, 1_000, 32, Mode::Book)
}

/// One page's WebSocket: its reader task reads the socket, its sender
/// writes through tungstenite.
#[derive(Clone)]
pub struct Page {
    /// The socket, to wait on.
    socket: Rc<Async<TcpStream>>,
    /// tungstenite's side of it, for sending; borrowed only between
    /// awaits.
    websocket: Rc<RefCell<WebSocket<Tapped>>>,
}

/// The socket as tungstenite sees it: non-blocking, and, during the
/// handshake, keeping a copy of what tungstenite read, whose part past
/// the answer's head is the first frames.
struct Tapped {
    /// The socket.
    socket: Rc<Async<TcpStream>>,
    /// What was read, while the handshake lasts.
    tap: Option<Vec<u8>>,
}

impl Read for Tapped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.socket.get_ref().read(buf)?;
        if let Some(tap) = &mut self.tap {
            tap.extend_from_slice(&buf[..read]);
        }
        Ok(read)
    }
}

impl Write for Tapped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.get_ref().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Client for Page {
    const NOUN: &'static str = "WebSocket clients";

    const FLAGS: &'static [&'static str] = &["--http", "127.0.0.1:0"];

    fn addr(server: &Server) -> SocketAddr {
        server.page.expect("the page's address")
    }

    async fn connect(
        executor: &LocalExecutor<'_>,
        addr: SocketAddr,
        epoch: Instant,
        seen: SeenRef,
        record: bool,
        buffer: usize,
    ) -> Self {
        let (socket, websocket, early) = open(addr).await.expect("open a WebSocket");
        executor
            .spawn(read_frames(
                socket.clone(),
                early,
                epoch,
                seen,
                record,
                buffer,
            ))
            .detach();
        Page {
            socket,
            websocket: Rc::new(RefCell::new(websocket)),
        }
    }

    /// Each line as a text frame, as the page sends it, all in one
    /// write.
    async fn send(&mut self, lines: &[u8]) -> io::Result<()> {
        {
            let mut websocket = self.websocket.borrow_mut();
            let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
            for line in lines.split(|&byte| byte == b'\n') {
                let text = std::str::from_utf8(line).map_err(io::Error::other)?;
                // Kept in tungstenite's buffer until the flush.
                match websocket.write(Message::text(text)) {
                    Ok(()) => {}
                    Err(Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => return Err(io::Error::other(error)),
                }
            }
        }
        loop {
            let flushed = self.websocket.borrow_mut().flush();
            match flushed {
                Ok(()) => return Ok(()),
                Err(Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.socket.writable().await?
                }
                Err(error) => return Err(io::Error::other(error)),
            }
        }
    }
}

/// What a page does to open its WebSocket at `addr`: the socket, the
/// WebSocket over it, and the bytes that came after the answer's head
/// (the first frames).
async fn open(addr: SocketAddr) -> io::Result<(Rc<Async<TcpStream>>, WebSocket<Tapped>, Vec<u8>)> {
    let socket = Rc::new(Async::<TcpStream>::connect(addr).await?);
    let _ = socket.get_ref().set_nodelay(true);
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .map_err(io::Error::other)?;
    // As the page does: its Origin is the Host it was served from.
    let origin = format!("http://{addr}").parse().map_err(io::Error::other)?;
    request.headers_mut().insert("Origin", origin);
    let tapped = Tapped {
        socket: socket.clone(),
        tap: Some(Vec::new()),
    };
    let mut handshake = tungstenite::client::client(request, tapped);
    let mut websocket = loop {
        match handshake {
            Ok((websocket, _)) => break websocket,
            // The request fits an empty socket's buffer: only the
            // answer is ever waited for.
            Err(HandshakeError::Interrupted(midway)) => {
                socket.readable().await?;
                handshake = midway.handshake();
            }
            Err(HandshakeError::Failure(error)) => return Err(io::Error::other(error)),
        }
    };
    let tap = websocket.get_mut().tap.take().unwrap_or_default();
    let head = tap
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("no head"))?
        + 4;
    let early = tap[head..].to_vec();
    Ok((socket, websocket, early))
}

/// `churn` over the page: each visit opens a WebSocket, says a line in a
/// text frame, closes (a close frame, as a page that goes away), and
/// reads until the server closes the connection.
pub fn churn() -> String {
    let server = Server::start(Page::FLAGS);
    let page = Page::addr(&server);
    churn_on(&server, page, |addr| Box::pin(visit(addr)))
}

/// One visit over the page's WebSocket.
async fn visit(addr: SocketAddr) -> bool {
    let Ok((socket, mut websocket, _)) = open(addr).await else {
        return false;
    };
    let said = websocket
        .write(Message::text("hello, and goodbye"))
        .and_then(|()| websocket.close(None));
    if !matches!(said, Ok(()) | Err(Error::Io(_))) {
        return false;
    }
    // The socket's buffer is empty: what tungstenite keeps goes now.
    while let Err(Error::Io(error)) = websocket.flush() {
        if error.kind() != io::ErrorKind::WouldBlock || socket.writable().await.is_err() {
            return false;
        }
    }
    let mut stream = &*socket;
    let mut buf = [0u8; 4096];
    while let Ok(1..) = stream.read(&mut buf).await {}
    true
}

/// Reads a page's frames until the connection ends or the server
/// closes it, beginning with `early`; each data frame is a line,
/// counted as [`crate::clients::read_lines`] counts lines.
async fn read_frames(
    socket: Rc<Async<TcpStream>>,
    early: Vec<u8>,
    epoch: Instant,
    seen: SeenRef,
    record: bool,
    buffer: usize,
) {
    let mut buf = vec![0u8; buffer.max(early.len())];
    buf[..early.len()].copy_from_slice(&early);
    // `buf[..end]` is read and not yet taken as frames.
    let mut end = early.len();
    let mut full = false;
    let mut now = Instant::now();
    let mut stream = &*socket;
    'reading: loop {
        let now_ns = (now - epoch).as_nanos() as u64;
        let mut taken = 0;
        {
            let mut seen = seen.borrow_mut();
            while let Some((opcode, payload)) = frame(&buf[taken..end]) {
                let line = &buf[taken + payload.start..taken + payload.end];
                match opcode {
                    OP_TEXT | OP_BINARY => seen.line(line, now, now_ns, record),
                    OP_CLOSE => break 'reading,
                    // Pings and pongs: the server sends neither.
                    _ => {}
                }
                taken += payload.end;
            }
        }
        // The start of a frame waits at the front for the rest; one
        // longer than the buffer (a line near --max-line) gets room.
        buf.copy_within(taken..end, 0);
        end -= taken;
        if end == buf.len() {
            buf.resize(2 * buf.len(), 0);
        }
        // As a TCP reader does: after a full read, the others first.
        if full {
            future::yield_now().await;
        }
        let count = match stream.read(&mut buf[end..]).await {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        full = end + count == buf.len();
        end += count;
        now = Instant::now();
    }
    seen.borrow_mut().ended = true;
}

/// A text frame: a line as the page sends it.
const OP_TEXT: u8 = 0x1;
/// A binary frame: a line as the server sends it.
const OP_BINARY: u8 = 0x2;
/// A close frame: the server is done with this client.
const OP_CLOSE: u8 = 0x8;

/// The first frame of `bytes`, if it is all there: its opcode and where
/// its payload lies in `bytes`. A server's frames are unmasked and
/// whole (FIN set): RFC 6455, section 5.2.
fn frame(bytes: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
    let [first, second, ..] = *bytes else {
        return None;
    };
    let (header, len): (usize, usize) = match second & 0x7f {
        126 => (
            4,
            u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize,
        ),
        127 => (
            10,
            u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize,
        ),
        len => (2, usize::from(len)),
    };
    let payload = header..header.checked_add(len)?;
    (payload.end <= bytes.len()).then_some((first & 0x0f, payload))
}
