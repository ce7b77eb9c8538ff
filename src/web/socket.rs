//! The WebSocket transport: a page's connection, once its handshake is
//! done, is a client like any other, whose lines are frames.
//!
//! Each text frame the page sends is a line (several, if it holds
//! newlines); each line queued for it goes out as one binary frame with the
//! line's exact bytes, without its `\n`: binary, because the room's lines
//! are bytes and may not be UTF-8, which a text frame must be.
//!
//! The framing is tungstenite's, driven without a runtime of its own: its
//! `WebSocketContext` reads frames through the non-blocking socket whenever
//! the reactor says it is ready. Lines go out as a TCP client's do: the
//! writer frames a whole batch (tungstenite's `FrameHeader` before each
//! line) into one buffer, writes it with one call, and lets it go. So a
//! WebSocket keeps no write buffer between batches, where the context's own
//! would keep the largest batch it ever sent, for each client.
//!
//! The writer is the only code that writes to the socket, so frames never
//! interleave: the replies the protocol makes (a pong, the answer to a
//! close), which the context queues while reading, go out in the
//! writer's next write, after its lines. So does the handshake's answer,
//! before anything, with the greeting; and the close frame with the last
//! lines and the end of the connection: a quick visit costs a packet for
//! each thing the page waits for, not one for each thing said. The reader
//! and the writer share the context in a `RefCell`: the server runs on
//! one thread, and neither holds it across an `.await`.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::task::{Context, Poll};
use std::time::Instant;

use async_channel::{Receiver, Sender};
use futures_lite::future;
use tungstenite::error::{CapacityError, Error};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::{Role, WebSocketConfig, WebSocketContext};
use tungstenite::{Bytes, Message};

use super::wire::{self, Wire};
use crate::lines::Source;
use crate::queue::QueueReceiver;
use crate::transport::Socket;
use crate::transport::{SendBuffer, Transport, WRITE_BATCH};

/// What tungstenite reads from the socket at a time, and keeps as its
/// read buffer for the connection's life: a chat line in one read, a long
/// one in several.
const READ_BUFFER: usize = 1024;

/// A page's connection, after the handshake.
pub struct WebSocket<W> {
    /// The connection under it: TCP, or TLS over TCP.
    wire: W,
    /// The handshake's answer, until the writer sends it, before anything
    /// else and with what is queued by then.
    answer: Cell<Option<Box<[u8]>>>,
    /// The protocol's state: partial frames read, replies not yet written.
    context: RefCell<WebSocketContext>,
    /// Rings when the reader has had the context queue a reply (a pong),
    /// so that the writer sends it even while the room is quiet.
    reply_due: (Sender<()>, Receiver<()>),
}

impl<W: Wire> WebSocket<W> {
    /// Takes over `socket` after a successful handshake, to be answered
    /// with `answer`; `early` is what the client sent after its request
    /// head, and `max_line` the longest line: a frame may hold one such
    /// line and its `\n`, no more.
    pub fn new(wire: W, answer: Box<[u8]>, early: Vec<u8>, max_line: usize) -> Self {
        let largest = max_line.saturating_add(1);
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(largest))
            .max_frame_size(Some(largest));
        let context = WebSocketContext::from_partially_read(early, Role::Server, Some(config));
        WebSocket {
            wire,
            answer: Cell::new(Some(answer)),
            context: RefCell::new(context),
            reply_due: async_channel::bounded(1),
        }
    }

    /// Appends to `out` the replies the context has queued (a pong, the
    /// answer to a close) and, when `close`, its own close frame, so that
    /// they go out in the writer's next write.
    fn replies(&self, out: &mut Vec<u8>, close: bool) -> io::Result<()> {
        let mut context = self.context.borrow_mut();
        let mut gather = Gather(out);
        let done = match close {
            true => context.close(&mut gather, None),
            false => context.flush(&mut gather),
        };
        match done {
            Ok(()) | Err(Error::ConnectionClosed | Error::AlreadyClosed | Error::Protocol(_)) => {
                Ok(())
            }
            Err(error) => Err(into_io(error)),
        }
    }
}

/// What the writer wakes up for.
enum Next {
    /// Lines to send, framed, and the bytes of the lines.
    Lines((Vec<u8>, usize)),
    /// A reply the context queued.
    Reply,
    /// The queue is closed and empty.
    End,
}

/// Appends `line`, which ends with `\n`, to `frames` as a binary frame of
/// the line without it.
fn frame(line: &[u8], frames: &mut Vec<u8>) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Binary),
        ..FrameHeader::default()
    };
    // Writing to a Vec cannot fail.
    let _ = header.format(line.len() as u64, frames);
    frames.extend_from_slice(line);
}

/// What a frame's header adds to a line under 126 bytes: 2 bytes, in
/// place of its `\n`. (A longer line's buffer grows.)
const FRAME_SLACK: usize = 1;

impl<W: Wire> Transport for WebSocket<W> {
    type Source<'a>
        = Frames<'a, W>
    where
        W: 'a;

    fn socket(&self) -> &Socket {
        self.wire.socket()
    }

    fn source(&self) -> Frames<'_, W> {
        Frames {
            websocket: self,
            message: Bytes::new(),
            newline_due: false,
            ended: false,
            begun: None,
            first: true,
        }
    }

    async fn write_queue(&self, queue: QueueReceiver) -> io::Result<()> {
        let mut send_buffer = SendBuffer::default();
        // What goes out before the next lines: at first, the handshake's
        // answer, which waits for nothing: it takes what is queued by
        // then (the greeting) or goes alone.
        let mut out = self.answer.take().map(Vec::from).unwrap_or_default();
        loop {
            let next = match out.is_empty() {
                true => self.next(&queue).await,
                false => match future::poll_once(self.next(&queue)).await {
                    Some(next) => next,
                    None => {
                        wire::write_all(&self.wire, &std::mem::take(&mut out)).await?;
                        continue;
                    }
                },
            };
            let (frames, lines) = match next {
                Next::Lines(batch) => batch,
                Next::Reply => {
                    self.replies(&mut out, false)?;
                    wire::write_all(&self.wire, &std::mem::take(&mut out)).await?;
                    continue;
                }
                Next::End => break,
            };
            // The page has closed: after its close frame, no more lines.
            if !self.context.borrow().can_write() {
                break;
            }
            let mut frames = match out.is_empty() {
                true => frames,
                false => {
                    out.extend_from_slice(&frames);
                    std::mem::take(&mut out)
                }
            };
            // The last lines take the close frame and the end with them.
            if queue.is_finished() {
                out = frames;
                break;
            }
            self.replies(&mut frames, false)?;
            wire::write_all(&self.wire, &frames).await?;
            drop(frames);
            send_buffer.wrote(lines, self.wire.socket());
        }
        // Everything is out: say goodbye as WebSockets do, then half-close
        // as a TCP connection does; the peer's answering close frame is
        // read and dropped while the connection lingers.
        self.replies(&mut out, false)?;
        self.replies(&mut out, true)?;
        wire::write_last(&self.wire, &out).await?;
        self.wire.shutdown_write().await
    }
}

impl<W: Wire> WebSocket<W> {
    /// Waits for lines to send, or a reply to make.
    async fn next(&self, queue: &QueueReceiver) -> Next {
        let batch = async {
            queue
                .next_frames(WRITE_BATCH, FRAME_SLACK, frame)
                .await
                .map_or(Next::End, Next::Lines)
        };
        let reply = async {
            let _ = self.reply_due.1.recv().await;
            Next::Reply
        };
        // (Taking a batch is done in the poll that returns it: a reply
        // that wins, or a poll that finds nothing, loses no line.)
        future::or(batch, reply).await
    }
}

/// The page's frames as a stream of bytes for a line reader: each frame's
/// payload, then a `\n` unless the payload ends with one.
pub struct Frames<'a, W> {
    /// The connection.
    websocket: &'a WebSocket<W>,
    /// The part of the last frame not yet handed over.
    message: Bytes,
    /// The last frame's `\n` is yet to be handed over.
    newline_due: bool,
    /// The page closed (a close frame) or the connection did.
    ended: bool,
    /// When a frame not yet complete was first seen arriving: the line
    /// reader's line timeout counts from here.
    begun: Option<Instant>,
    /// No frame has been asked for yet.
    first: bool,
}

impl<W: Wire> Frames<'_, W> {
    /// Nothing is left of the last frame.
    fn drained(&self) -> bool {
        self.message.is_empty() && !self.newline_due
    }

    /// Takes the next frame holding a line, if one has arrived whole.
    fn next_frame(&mut self) -> io::Result<()> {
        loop {
            let mut socket = Counted {
                wire: &self.websocket.wire,
                read: 0,
                skip: std::mem::take(&mut self.first) && !W::HOLDS_INPUT,
            };
            let read = self.websocket.context.borrow_mut().read(&mut socket);
            let payload = match read {
                Ok(Message::Text(text)) => Bytes::from(text),
                Ok(Message::Binary(bytes)) => bytes,
                // A ping is answered (tungstenite queues the pong, the
                // writer sends it); a pong says nothing.
                Ok(Message::Ping(_)) => {
                    let _ = self.websocket.reply_due.0.try_send(());
                    continue;
                }
                Ok(Message::Pong(_) | Message::Frame(_)) => continue,
                Ok(Message::Close(_)) | Err(Error::ConnectionClosed | Error::AlreadyClosed) => {
                    self.ended = true;
                    return Ok(());
                }
                Err(Error::Io(error)) => {
                    if error.kind() == io::ErrorKind::WouldBlock && socket.read > 0 {
                        self.begun.get_or_insert_with(Instant::now);
                    }
                    return Err(error);
                }
                // A frame over the line limit: a line over the limit.
                Err(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
                    return Err(io::ErrorKind::FileTooLarge.into())
                }
                Err(error) => return Err(into_io(error)),
            };
            self.begun = None;
            self.newline_due = payload.last() != Some(&b'\n');
            self.message = payload;
            return Ok(());
        }
    }
}

impl<W: Wire> Source for Frames<'_, W> {
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.drained() && !self.ended {
            self.next_frame()?;
        }
        if self.drained() {
            return Ok(0);
        }
        let taken = buf.len().min(self.message.len());
        buf[..taken].copy_from_slice(&self.message.split_to(taken));
        if self.message.is_empty() {
            // Even empty, it would keep the frame's buffer alive.
            self.message = Bytes::new();
        }
        if self.message.is_empty() && self.newline_due && taken < buf.len() {
            buf[taken] = b'\n';
            self.newline_due = false;
            return Ok(taken + 1);
        }
        Ok(taken)
    }

    fn poll_readable(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.websocket.wire.poll_readable(context)
    }

    fn line_begun(&self) -> Option<Instant> {
        self.begun
    }
}

/// The socket as the reader sees it: it counts what is read through it
/// (bytes read without a whole frame to show for them are the start of a
/// frame), and cannot be written to, so that the context's replies wait
/// for the writer.
///
/// The reader's first attempt does not try a TCP socket at all: a client
/// sends nothing more until it has the handshake's answer (RFC 6455,
/// 4.1), a round trip away, so that attempt would be a system call for
/// nothing; the reader waits for the reactor's word instead.
struct Counted<'a, W> {
    /// The connection.
    wire: &'a W,
    /// Bytes read so far.
    read: usize,
    /// Reads nothing from the socket: the reader's first attempt.
    skip: bool,
}

impl<W: Wire> Read for Counted<'_, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.skip {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let read = self.wire.try_read(buf)?;
        self.read += read;
        Ok(read)
    }
}

impl<W> Write for Counted<'_, W> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The writer's buffer as the context writes its replies: they join the
/// lines going out (it is never written to the socket itself, so never
/// full), and nothing is read through it.
struct Gather<'a>(&'a mut Vec<u8>);

impl Read for Gather<'_> {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Gather<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A WebSocket failure as the I/O error it ends the connection with.
fn into_io(error: Error) -> io::Error {
    match error {
        Error::Io(error) => error,
        error => io::Error::new(io::ErrorKind::InvalidData, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_a_binary_frame_without_its_newline() {
        let mut frames = Vec::new();
        frame(b"one\n", &mut frames);
        frame(b"\n", &mut frames);
        assert_eq!(frames, b"\x82\x03one\x82\x00");
        let long = [b"x".repeat(200), b"\n".to_vec()].concat();
        let mut frames = Vec::new();
        frame(&long, &mut frames);
        assert_eq!(frames[..4], *b"\x82\x7e\x00\xc8");
        assert_eq!(frames.len(), 4 + 200);
    }
}
