//! The server's bytes, read the one way every mode reads them.
//!
//! The pipe, its wait for `--name` (`handshake`), the plain lines and the
//! line editor all take what the server sends in chunks, each into the one
//! buffer kept for the connection, and to all of them a failed read means
//! the same: the connection is lost. What each does with a chunk is its own.

use async_net::TcpStream;
use futures_lite::AsyncReadExt;

/// The most one read takes: enough for a burst of lines, small enough to
/// keep for the whole connection.
const CHUNK: usize = 16 * 1024;

/// The reading side of the connection, with the buffer its chunks land in.
pub struct ServerReader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl ServerReader {
    /// Reads what the server sends on `stream`.
    pub fn new(stream: TcpStream) -> Self {
        ServerReader {
            stream,
            buf: vec![0u8; CHUNK],
        }
    }

    /// The next chunk the server sent; empty once it has closed the
    /// connection. Cancelling the wait loses nothing, so the line editor
    /// can race it against the keyboard.
    pub async fn next(&mut self) -> Result<&[u8], String> {
        let count = self
            .stream
            .read(&mut self.buf)
            .await
            .map_err(|error| format!("connection lost: {error}"))?;
        Ok(&self.buf[..count])
    }
}
