//! rustls's state for one connection, with the bytes in flight around it:
//! the ciphertext that came in short of a record, the ciphertext still to
//! go out, and plaintext decrypted before the reader asked for it. Each is
//! empty, and holds no memory, while the connection is quiet, so an idle
//! TLS connection keeps only its keys and its state, as an idle TCP one
//! keeps no buffer at all.
//!
//! That is why this drives rustls's unbuffered API: its buffered one keeps
//! a 4 KiB receive buffer for the life of every connection, the most of an
//! idle connection's memory. Here rustls never holds bytes across calls;
//! the session hands it what came in and takes what it makes.
//!
//! Nothing here waits: the calls move bytes between the socket and the
//! session as far as they go now, and say when they could not, so the
//! reader and the writer, which share one session, each wait as they
//! would on a TCP socket.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, UnbufferedStatus, WriteTraffic,
};
use rustls::ServerConfig;

/// How much is asked of the socket per read: a line's worth, where a record
/// may be up to 16 KiB.
const READ_CHUNK: usize = 4096;

/// The most ciphertext kept short of a record: a handshake message may
/// span records up to 64 KiB (rustls's own bound), an application record
/// is at most 16 KiB and its overhead.
const MAX_INCOMING: usize = 0x1_0000 + 0x4800;

/// Room asked for beyond the plaintext, per record, when encrypting: a
/// record's header, its content type and its tag (22 bytes in TLS 1.3, 29
/// in TLS 1.2 with AES-GCM); rustls says the size if it needs more.
const RECORD_OVERHEAD: usize = 32;

/// The largest plaintext a record carries.
const MAX_FRAGMENT: usize = 16 * 1024;

/// A server session and its bytes in flight.
pub struct Session {
    /// rustls's state: the keys, and where the protocol stands.
    tls: UnbufferedServerConnection,
    /// Ciphertext received and not yet taken by rustls: the start of a
    /// record (or of a handshake message) whose rest has not arrived.
    incoming: Vec<u8>,
    /// Ciphertext made and not yet sent; `outgoing[sent..]` is pending.
    outgoing: Vec<u8>,
    /// How much of `outgoing` the socket has taken.
    sent: usize,
    /// Plaintext decrypted and not yet read; `plain[read..]` is pending.
    plain: Vec<u8>,
    /// How much of `plain` has been read.
    read: usize,
    /// The peer sent `close_notify`: its input has ended.
    peer_closed: bool,
}

impl Session {
    /// A session that shakes hands as `config` says.
    pub fn new(config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(Session {
            tls: UnbufferedServerConnection::new(config)?,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            sent: 0,
            plain: Vec::new(),
            read: 0,
            peer_closed: false,
        })
    }

    /// Whether the handshake is still under way.
    pub fn is_handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    /// Whether ciphertext waits to be sent.
    pub fn wants_write(&self) -> bool {
        self.sent < self.outgoing.len()
    }

    /// Whether ciphertext short of a record is held: a record trickling in.
    pub fn has_partial(&self) -> bool {
        !self.incoming.is_empty()
    }

    /// Whether the peer's input has ended with `close_notify`, all of it
    /// read.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed && self.read == self.plain.len()
    }

    /// Reads what the socket has into the session: `WouldBlock` when it has
    /// nothing, 0 at its end.
    pub fn read_socket(&mut self, socket: &TcpStream) -> io::Result<usize> {
        let held = self.incoming.len();
        if held >= MAX_INCOMING {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "too much TLS input short of a record",
            ));
        }
        self.incoming.resize(held + READ_CHUNK, 0);
        let read = (&mut &*socket).read(&mut self.incoming[held..]);
        self.incoming.truncate(held + *read.as_ref().unwrap_or(&0));
        self.release_incoming();
        read
    }

    /// Sends what is pending as far as the socket takes it now; `Ok` once
    /// all of it is sent, `WouldBlock` while some waits.
    pub fn write_socket(&mut self, socket: &TcpStream) -> io::Result<()> {
        while self.wants_write() {
            let written = (&mut &*socket).write(&self.outgoing[self.sent..])?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.sent += written;
        }
        // All sent: let go of the buffer, as an idle connection holds none.
        self.outgoing = Vec::new();
        self.sent = 0;
        Ok(())
    }

    /// Moves decrypted plaintext into `buf`: 0 when there is none.
    pub fn read_plain(&mut self, buf: &mut [u8]) -> usize {
        let pending = &self.plain[self.read..];
        let count = pending.len().min(buf.len());
        buf[..count].copy_from_slice(&pending[..count]);
        self.read += count;
        if self.read == self.plain.len() {
            self.plain = Vec::new();
            self.read = 0;
        }
        count
    }

    /// Has rustls take every whole record received (keeping their
    /// plaintext, queueing its answers to send) until it needs more input.
    pub fn process(&mut self) -> io::Result<()> {
        self.drive(|_, _| Ok(())).map(|_| ())
    }

    /// Encrypts `plaintext` to send, all of it.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> io::Result<()> {
        let written = self.drive(|write, outgoing| {
            let records = plaintext.len().div_ceil(MAX_FRAGMENT).max(1);
            let room = plaintext.len() + records * RECORD_OVERHEAD;
            made(outgoing, room, |out| write.encrypt(plaintext, out))
        })?;
        written.ok_or_else(closed)
    }

    /// Queues `close_notify` to send, after what is pending.
    pub fn close_notify(&mut self) -> io::Result<()> {
        let written = self.drive(|write, outgoing| {
            made(outgoing, RECORD_OVERHEAD, |out| {
                write.queue_close_notify(out)
            })
        })?;
        written.ok_or_else(closed)
    }

    /// Runs rustls over the input until it rests; if it can then take
    /// application data, `then` writes some into the outgoing buffer (and
    /// its result is `Some`). After an error, the alert rustls made for it
    /// is queued to send.
    fn drive<T>(
        &mut self,
        then: impl FnOnce(&mut WriteTraffic<'_, ServerConnectionData>, &mut Vec<u8>) -> io::Result<T>,
    ) -> io::Result<Option<T>> {
        let mut then = Some(then);
        loop {
            let UnbufferedStatus { mut discard, state } =
                self.tls.process_tls_records(&mut self.incoming);
            let done = match state {
                Err(error) => Some(Err(invalid(error))),
                Ok(ConnectionState::ReadTraffic(mut records)) => loop {
                    match records.next_record() {
                        None => break None,
                        Some(Err(error)) => break Some(Err(invalid(error))),
                        Some(Ok(record)) => {
                            discard += record.discard;
                            self.plain.extend_from_slice(record.payload);
                        }
                    }
                },
                Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                    encode_into(&mut self.outgoing, |out| encode.encode(out))
                        .err()
                        .map(Err)
                }
                // Queued, it is sent in order with the rest.
                Ok(ConnectionState::TransmitTlsData(transmit)) => {
                    transmit.done();
                    None
                }
                Ok(ConnectionState::PeerClosed) => {
                    self.peer_closed = true;
                    None
                }
                Ok(ConnectionState::WriteTraffic(mut write)) => {
                    let then = then.take().expect("a session rests once a drive");
                    Some(then(&mut write, &mut self.outgoing).map(Some))
                }
                Ok(ConnectionState::Closed) => {
                    self.peer_closed = true;
                    Some(Ok(None))
                }
                // The handshake waits for input (or early data, which is
                // off).
                Ok(_) => Some(Ok(None)),
            };
            self.discard(discard);
            match done {
                None => {}
                Some(Err(error)) => {
                    self.queue_alert();
                    return Err(error);
                }
                Some(done) => return done,
            }
        }
    }

    /// Drops what rustls took from the front of the input.
    fn discard(&mut self, taken: usize) {
        self.incoming.drain(..taken.min(self.incoming.len()));
        self.release_incoming();
    }

    /// Lets go of the input buffer once it holds nothing.
    fn release_incoming(&mut self) {
        if self.incoming.is_empty() {
            self.incoming = Vec::new();
        }
    }

    /// Queues the alert rustls made for its error, if it made one.
    fn queue_alert(&mut self) {
        let UnbufferedStatus { state, .. } = self.tls.process_tls_records(&mut []);
        if let Ok(ConnectionState::EncodeTlsData(mut encode)) = state {
            let _ = encode_into(&mut self.outgoing, |out| encode.encode(out));
        }
    }
}

/// Appends a handshake record (or an alert) to `outgoing`: asked with no
/// room first, rustls says the size it needs.
fn encode_into(
    outgoing: &mut Vec<u8>,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
) -> io::Result<()> {
    made(outgoing, 0, |out| {
        encode(out).map_err(|error| match error {
            EncodeError::InsufficientSize(size) => EncryptError::InsufficientSize(size),
            EncodeError::AlreadyEncoded => EncryptError::EncryptExhausted,
        })
    })
}

/// Appends to `outgoing` what `make` writes, given `room` bytes (or as
/// many as it says it needs).
fn made(
    outgoing: &mut Vec<u8>,
    room: usize,
    mut make: impl FnMut(&mut [u8]) -> Result<usize, EncryptError>,
) -> io::Result<()> {
    let start = outgoing.len();
    outgoing.resize(start + room, 0);
    let mut result = make(&mut outgoing[start..]);
    if let Err(EncryptError::InsufficientSize(size)) = result {
        outgoing.resize(start + size.required_size, 0);
        result = make(&mut outgoing[start..]);
    }
    let written = *result.as_ref().unwrap_or(&0);
    outgoing.truncate(start + written);
    result.map(|_| ()).map_err(invalid)
}

/// A protocol error as an I/O error, for the connection it ends.
fn invalid(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// The error of a write to a session that is over.
fn closed() -> io::Error {
    io::ErrorKind::WriteZero.into()
}
