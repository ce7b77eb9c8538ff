//! What the page's bytes travel over: the TCP socket itself, or (with the
//! `tls` feature and `--tls-cert`) a TLS session over it. The page's HTTP
//! and its WebSocket are written once, over a [`Wire`].
//!
//! The calls are the socket's own, non-blocking: tungstenite reads
//! through them as through a non-blocking socket, and the page's writer
//! waits, when told `WouldBlock`, for what [`Wire::poll_readable`] or
//! [`Wire::writable`] says.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::task::{Context, Poll};

use smol::Async;

use crate::transport::Socket;

/// A page's connection, under HTTP.
pub trait Wire {
    /// Whether input may wait above the socket, where the reactor cannot
    /// see it (TLS's decrypted bytes): if not, a read may wait for the
    /// reactor's word without trying the socket first.
    const HOLDS_INPUT: bool = true;

    /// The TCP socket underneath: the caps, the room's cut-off and the
    /// linger work on it.
    fn socket(&self) -> &Socket;

    /// Reads what has arrived; `WouldBlock` when nothing has.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes what it can now; `WouldBlock` when it can take nothing.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;

    /// Writes as [`try_write`](Self::try_write) does the connection's last
    /// bytes, which [`shutdown_write`](Self::shutdown_write) follows at
    /// once: TCP holds them back to send them and the end in one segment.
    fn try_write_last(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_write(buf)
    }

    /// Sends on what was written; `WouldBlock` while some still waits.
    fn try_flush(&self) -> io::Result<()>;

    /// Ready when a read that would block may not any more.
    fn poll_readable(&self, context: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Done when a write or flush that would block may not any more.
    fn writable(&self) -> impl Future<Output = io::Result<()>>;

    /// Ends the output, after what was written (for TLS, `close_notify`
    /// first).
    fn shutdown_write(&self) -> impl Future<Output = io::Result<()>>;
}

impl Wire for Socket {
    const HOLDS_INPUT: bool = false;

    fn socket(&self) -> &Socket {
        self
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.get_ref().read(buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.get_ref().write(buf)
    }

    fn try_write_last(&self, buf: &[u8]) -> io::Result<usize> {
        use rustix::net::SendFlags;
        let flags = SendFlags::MORE | SendFlags::NOSIGNAL;
        Ok(rustix::net::send(self.get_ref(), buf, flags)?)
    }

    fn try_flush(&self) -> io::Result<()> {
        Ok(())
    }

    fn poll_readable(&self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Async::poll_readable(self, context)
    }

    async fn writable(&self) -> io::Result<()> {
        Async::writable(self).await
    }

    async fn shutdown_write(&self) -> io::Result<()> {
        self.get_ref().shutdown(Shutdown::Write)
    }
}

/// Reads once something has arrived: 0 at the end of input.
pub async fn read(wire: &impl Wire, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match wire.try_read(buf) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                std::future::poll_fn(|context| wire.poll_readable(context)).await?
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            read => return read,
        }
    }
}

/// Writes all of `bytes` and sends them on.
pub async fn write_all(wire: &impl Wire, bytes: &[u8]) -> io::Result<()> {
    write_with(wire, bytes, Wire::try_write).await
}

/// Writes all of the connection's last `bytes`, to be followed by
/// [`Wire::shutdown_write`]: a quick visit's last frames and its end then
/// cost the two ends one packet, not two.
pub async fn write_last(wire: &impl Wire, bytes: &[u8]) -> io::Result<()> {
    write_with(wire, bytes, Wire::try_write_last).await
}

/// Writes all of `bytes` by `write`, waiting while the wire is full, and
/// sends them on.
async fn write_with<W: Wire>(
    wire: &W,
    mut bytes: &[u8],
    write: impl Fn(&W, &[u8]) -> io::Result<usize>,
) -> io::Result<()> {
    while !bytes.is_empty() {
        match write(wire, bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => wire.writable().await?,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    loop {
        match wire.try_flush() {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => wire.writable().await?,
            flushed => return flushed,
        }
    }
}
