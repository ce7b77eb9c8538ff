//! Bounded line framing: bytes in, lines out.
//!
//! Go's `bufio.Scanner` (the book's reader) splits at `\n`, drops one `\r`
//! before it, delivers a last line that has no `\n`, passes any bytes through
//! and gives up on a line longer than its buffer. [`LineReader`] does the same
//! but says *why* it stopped, and never holds more than the limit plus one
//! byte of a line. Between lines it holds no buffer at all, so an idle
//! connection costs next to nothing.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_lite::AsyncRead;
use smol::{Async, Timer};

/// A byte source that can wait for input before the reader commits a
/// buffer to it: a connection idle for hours then holds no read buffer.
///
/// Waiting is a poll function, not a future: an idle connection's task
/// holds no waiting future at all, only the reader's state.
pub trait Source: AsyncRead + Unpin {
    /// Ready when a read would not wait (data, end of input or error).
    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl Source for &Async<std::net::TcpStream> {
    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match self.get_ref().peek(&mut [0u8; 1]) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.poll_readable(context))?;
                }
                result => return Poll::Ready(result.map(|_| ())),
            }
        }
    }
}

impl Source for &[u8] {
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// How much is asked of the socket per read while a line is incomplete.
const READ_CHUNK: usize = 4096;

/// Why [`LineReader::next_line`] could not return a line.
#[derive(Debug)]
pub enum LineError {
    /// The peer sent more than the limit without a `\n`.
    TooLong,
    /// The peer sent nothing for the idle timeout.
    Idle,
    /// The connection failed (a reset, for example).
    Io(io::Error),
}

impl From<io::Error> for LineError {
    fn from(error: io::Error) -> Self {
        LineError::Io(error)
    }
}

/// Splits a byte stream into lines of at most `max_line` bytes.
pub struct LineReader<R> {
    /// Where the bytes come from.
    source: R,
    /// Bytes read but not yet returned; `buf[start..]` is pending.
    buf: Vec<u8>,
    /// Start of the first byte not yet returned as part of a line.
    start: usize,
    /// `buf[start..scanned]` is known to hold no `\n`: never scan it twice.
    scanned: usize,
    /// The source reported end of input.
    eof: bool,
    /// The longest line accepted, `\r` included, `\n` excluded.
    max_line: usize,
    /// How long a read may wait for the peer's next bytes, if bounded.
    idle_timeout: Option<Duration>,
}

impl<R: Source> LineReader<R> {
    /// Reads lines from `source`, refusing any longer than `max_line` bytes,
    /// and giving up on a peer silent for `idle_timeout`.
    pub fn new(source: R, max_line: usize, idle_timeout: Option<Duration>) -> Self {
        LineReader {
            source,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            eof: false,
            max_line,
            idle_timeout,
        }
    }

    /// The next line without its `\n` and one `\r` before it, or `None` at
    /// the end of input. A last line with no `\n` is still returned.
    pub async fn next_line(&mut self) -> Result<Option<&[u8]>, LineError> {
        loop {
            if let Some(offset) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let line_start = self.start;
                let line_end = self.scanned + offset;
                self.start = line_end + 1;
                self.scanned = self.start;
                if line_end - line_start > self.max_line {
                    return Err(LineError::TooLong);
                }
                return Ok(Some(strip_cr(&self.buf[line_start..line_end])));
            }
            self.scanned = self.buf.len();
            let pending = self.buf.len() - self.start;
            if pending > self.max_line {
                return Err(LineError::TooLong);
            }
            if self.eof {
                if pending == 0 {
                    return Ok(None);
                }
                let line_start = self.start;
                self.start = self.buf.len();
                return Ok(Some(strip_cr(&self.buf[line_start..])));
            }
            self.fill(pending).await?;
        }
    }

    /// Reads more bytes after dropping the lines already returned, or fails
    /// if the peer stays silent for the idle timeout.
    async fn fill(&mut self, pending: usize) -> Result<(), LineError> {
        if pending == 0 {
            // Nothing pending: let go of the buffer and wait for input
            // without one, so an idle peer costs nothing. A chatty peer pays
            // one allocation per read.
            self.buf = Vec::new();
            self.start = 0;
            self.scanned = 0;
        } else if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
            self.scanned = self.buf.len();
        }
        let mut idle = self.idle_timeout.map(Timer::after);
        poll_fn(|context| {
            if let Poll::Ready(result) = self.poll_fill(context, pending) {
                return Poll::Ready(result.map_err(LineError::Io));
            }
            match idle.as_mut().map(|timer| Pin::new(timer).poll(context)) {
                Some(Poll::Ready(_)) => Poll::Ready(Err(LineError::Idle)),
                _ => Poll::Pending,
            }
        })
        .await
    }

    /// One attempt at reading: waits for input without a buffer when no
    /// line is pending, then reads at most one byte past the limit, enough
    /// to tell a line is too long.
    fn poll_fill(&mut self, context: &mut Context<'_>, pending: usize) -> Poll<io::Result<()>> {
        if pending == 0 {
            ready!(self.source.poll_ready(context))?;
        }
        let want = READ_CHUNK.min(self.max_line.saturating_add(1) - pending);
        let filled = self.buf.len();
        self.buf.resize(filled + want, 0);
        let read = Pin::new(&mut self.source).poll_read(context, &mut self.buf[filled..]);
        let count = match &read {
            Poll::Ready(Ok(count)) => *count,
            _ => 0,
        };
        self.buf.truncate(filled + count);
        let result = ready!(read);
        if count == 0 && result.is_ok() {
            self.eof = true;
        }
        Poll::Ready(result.map(|_| ()))
    }
}

/// Drops one trailing `\r`, as Go's `bufio.ScanLines` does.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All lines of `input`, and how the reading ended.
    fn lines(input: &[u8], max_line: usize) -> (Vec<Vec<u8>>, Option<String>) {
        smol::block_on(async {
            let mut reader = LineReader::new(input, max_line, None);
            let mut out = Vec::new();
            loop {
                match reader.next_line().await {
                    Ok(Some(line)) => out.push(line.to_vec()),
                    Ok(None) => return (out, None),
                    Err(error) => return (out, Some(format!("{error:?}"))),
                }
            }
        })
    }

    fn owned(lines: &[&[u8]]) -> Vec<Vec<u8>> {
        lines.iter().map(|line| line.to_vec()).collect()
    }

    #[test]
    fn splits_at_newline_and_strips_one_cr() {
        let (got, end) = lines(b"a\r\nb\n\r\r\n\nc\rd\n", 100);
        assert_eq!(got, owned(&[b"a", b"b", b"\r", b"", b"c\rd"]));
        assert!(end.is_none());
    }

    #[test]
    fn last_line_without_newline_is_delivered_without_cr() {
        assert_eq!(lines(b"a\nlast", 100).0, owned(&[b"a", b"last"]));
        assert_eq!(lines(b"last\r", 100).0, owned(&[b"last"]));
        assert_eq!(lines(b"", 100).0, owned(&[]));
    }

    #[test]
    fn bytes_pass_through() {
        assert_eq!(lines(b"\xff\0\t\x1b\n", 100).0, owned(&[b"\xff\0\t\x1b"]));
    }

    #[test]
    fn limit_counts_cr_and_not_newline() {
        assert_eq!(lines(b"abcd\n", 4).0, owned(&[b"abcd"]));
        assert_eq!(lines(b"abc\r\n", 4).0, owned(&[b"abc"]));
        let (got, end) = lines(b"ok\nabcde\nnever\n", 4);
        assert_eq!(got, owned(&[b"ok"]));
        assert_eq!(end.as_deref(), Some("TooLong"));
        assert_eq!(lines(b"abcde", 4).1.as_deref(), Some("TooLong"));
    }

    #[test]
    fn a_silent_peer_times_out_and_a_talking_one_does_not() {
        /// Says one line, then nothing, ever.
        struct ThenSilence(&'static [u8]);
        impl Source for ThenSilence {
            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                if self.0.is_empty() {
                    return Poll::Pending;
                }
                Poll::Ready(Ok(()))
            }
        }
        impl AsyncRead for ThenSilence {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<io::Result<usize>> {
                if self.0.is_empty() {
                    return std::task::Poll::Pending;
                }
                let count = self.0.len().min(buf.len());
                buf[..count].copy_from_slice(&self.0[..count]);
                self.0 = &self.0[count..];
                std::task::Poll::Ready(Ok(count))
            }
        }
        smol::block_on(async {
            let silent = ThenSilence(b"hi\n");
            let mut lines = LineReader::new(silent, 100, Some(Duration::from_millis(50)));
            assert_eq!(lines.next_line().await.unwrap(), Some(&b"hi"[..]));
            assert!(matches!(lines.next_line().await, Err(LineError::Idle)));
        });
    }

    #[test]
    fn long_lines_across_many_reads() {
        let long = vec![b'x'; 3 * READ_CHUNK + 7];
        let mut input = long.clone();
        input.extend_from_slice(b"\r\nshort\n");
        // The `\r` counts against the limit.
        let (got, end) = lines(&input, long.len() + 1);
        assert!(end.is_none());
        assert_eq!(got.len(), 2);
        assert!(got[0] == long, "the long line came back changed");
        assert_eq!(got[1], b"short");
        assert_eq!(lines(&input, long.len()).1.as_deref(), Some("TooLong"));
    }
}
