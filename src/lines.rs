//! Bounded line framing: bytes in, lines out.
//!
//! Go's `bufio.Scanner` (the book's reader) splits at `\n`, drops one `\r`
//! before it, delivers a last line that has no `\n`, passes any bytes through
//! and gives up on a line longer than its buffer. [`LineReader`] does the same
//! but says *why* it stopped, and never holds more than the limit plus one
//! byte of a line. Between lines it holds no buffer at all, so an idle
//! connection costs next to nothing.

use std::future::{poll_fn, Future};
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use smol::{Async, Timer};

/// A non-blocking byte source, read into the reader's scratch space
/// first: a connection idle for hours then holds no read buffer.
///
/// Its operations are attempts and a poll function, not futures: an idle
/// connection's task holds no waiting future, only the reader's state, and
/// a wake-up meant for the connection's writer costs the reader no system
/// call (it tries again only once the reactor reports input).
pub trait Source {
    /// Reads what is there now, or fails with `WouldBlock`.
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Ready once the source has had input since an attempt would block.
    fn poll_readable(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// When the source itself started holding an unfinished line, if it
    /// does: a WebSocket frame arriving slowly, which it hands over only
    /// whole. The line timeout counts from then, as for bytes pending here.
    fn line_begun(&self) -> Option<Instant> {
        None
    }
}

impl Source for &Async<std::net::TcpStream> {
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.get_ref().read(buf)
    }

    fn poll_readable(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Async::poll_readable(self, context)
    }
}

impl Source for &[u8] {
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }

    fn poll_readable(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
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
    /// The peer started a line and did not finish it within the line
    /// timeout.
    Unfinished,
    /// The connection failed (a reset, for example).
    Io(io::Error),
}

impl From<io::Error> for LineError {
    /// `FileTooLarge` is how a source that hands over lines in units of its
    /// own (a WebSocket's frames) says one is over the limit.
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::FileTooLarge => LineError::TooLong,
            _ => LineError::Io(error),
        }
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
    /// The source failed (a reset, say): the input ended there, with this
    /// error, once the bytes that came before it are delivered.
    failed: Option<io::Error>,
    /// The last attempt found nothing: try again only once the reactor
    /// reports input.
    would_block: bool,
    /// A read for more bytes is under way: the buffer is trimmed and the
    /// deadlines set, until the bytes come or a deadline passes.
    filling: bool,
    /// The longest line accepted, `\r` included, `\n` excluded.
    max_line: usize,
    /// How long a read may wait for the peer's next bytes, if bounded.
    idle_timeout: Option<Duration>,
    /// How long a line may take from its first byte to its end, if bounded:
    /// a peer trickling a byte now and then is never idle, yet must not
    /// hold its connection forever.
    line_timeout: Option<Duration>,
    /// When the unfinished line at `buf[start..]` was first seen pending.
    line_started: Option<Instant>,
    /// When the read under way gives up on a silent peer, if it does.
    idle_at: Option<Instant>,
    /// The read's timers, made only once the source has nothing: boxed,
    /// as a timer is 56 bytes of every idle connection's state. The idle
    /// timeout's, then the unfinished line's.
    timers: [Option<Box<Timer>>; 2],
}

impl<R: Source> LineReader<R> {
    /// Reads lines from `source`, refusing any longer than `max_line` bytes,
    /// giving up on a peer silent for `idle_timeout`, or one whose line is
    /// not finished `line_timeout` after it began.
    pub fn new(
        source: R,
        max_line: usize,
        idle_timeout: Option<Duration>,
        line_timeout: Option<Duration>,
    ) -> Self {
        LineReader {
            source,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            eof: false,
            failed: None,
            would_block: false,
            filling: false,
            max_line,
            idle_timeout,
            line_timeout,
            line_started: None,
            idle_at: None,
            timers: [None, None],
        }
    }

    /// The next line without its `\n` and one `\r` before it, or `None` at
    /// the end of input. A last line with no `\n` is still returned, however
    /// the input ended: a close, or a reset (as Go's `bufio.Scanner` does:
    /// the bytes arrived, and a reset is how many clients close). A failed
    /// source's error comes after that line.
    ///
    /// The reading's state is the reader's own, and this future only
    /// borrows it: the wait for an idle peer's next bytes is a few bytes
    /// of the connection's state, not a future's. So a caller that drops
    /// this future mid-read must not read on: the next call would keep
    /// the dropped wait's idle deadline and skip its trimming. (The one
    /// caller that drops it, the naming's race with its deadline, ends
    /// the connection.)
    pub async fn next_line(&mut self) -> Result<Option<&[u8]>, LineError> {
        let (start, end) = match poll_fn(|context| self.poll_line(context)).await? {
            Some(line) => line,
            None => return Ok(None),
        };
        Ok(Some(strip_cr(&self.buf[start..end])))
    }

    /// [`next_line`](Self::next_line) as a poll: the line's place in the
    /// buffer.
    #[allow(clippy::type_complexity)]
    fn poll_line(
        &mut self,
        context: &mut Context<'_>,
    ) -> Poll<Result<Option<(usize, usize)>, LineError>> {
        loop {
            if let Some(offset) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let line_start = self.start;
                let line_end = self.scanned + offset;
                self.start = line_end + 1;
                self.scanned = self.start;
                // The next line's clock starts when it is seen unfinished,
                // after any pause the server takes between lines.
                self.line_started = None;
                if line_end - line_start > self.max_line {
                    return Poll::Ready(Err(LineError::TooLong));
                }
                return Poll::Ready(Ok(Some((line_start, line_end))));
            }
            self.scanned = self.buf.len();
            let pending = self.buf.len() - self.start;
            if pending > self.max_line {
                return Poll::Ready(Err(LineError::TooLong));
            }
            if self.eof {
                if pending == 0 {
                    return Poll::Ready(match self.failed.take() {
                        Some(error) => Err(LineError::Io(error)),
                        None => Ok(None),
                    });
                }
                let line_start = self.start;
                self.start = self.buf.len();
                return Poll::Ready(Ok(Some((line_start, self.buf.len()))));
            }
            // The clock starts when an unfinished line is first seen: within
            // one read of its first byte, and no clock at all between lines.
            if pending == 0 {
                self.line_started = None;
            } else if self.line_timeout.is_some() && self.line_started.is_none() {
                self.line_started = Some(Instant::now());
            }
            match ready!(self.poll_fill(context, pending)) {
                // The bytes before a failure are the input's last line.
                Err(LineError::Io(error)) => {
                    self.failed = Some(error);
                    self.eof = true;
                }
                result => result?,
            }
        }
    }

    /// Reads more bytes after dropping the lines already returned, or fails
    /// if the peer stays silent for the idle timeout.
    fn poll_fill(
        &mut self,
        context: &mut Context<'_>,
        pending: usize,
    ) -> Poll<Result<(), LineError>> {
        if !self.filling {
            self.filling = true;
            if pending == 0 {
                // Nothing pending: let go of the buffer and wait for input
                // without one, so an idle peer costs nothing. A chatty
                // peer pays one allocation per read.
                self.buf = Vec::new();
                self.start = 0;
                self.scanned = 0;
            } else if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
                self.scanned = self.buf.len();
            }
            self.idle_at = self.idle_timeout.map(|timeout| Instant::now() + timeout);
        }
        let result = match self.poll_read(context, pending) {
            Poll::Ready(result) => result.map_err(LineError::from),
            Poll::Pending => match self.expired(context) {
                Some(error) => Err(error),
                None => return Poll::Pending,
            },
        };
        self.filling = false;
        self.idle_at = None;
        self.timers = [None, None];
        Poll::Ready(result)
    }

    /// Which deadline of the read under way has passed, if one has; else
    /// the wake-ups of both are registered with `context`. The unfinished
    /// line's counts from when it was first seen, here or in the source.
    fn expired(&mut self, context: &mut Context<'_>) -> Option<LineError> {
        let unfinished_at = || {
            self.line_started
                .or_else(|| self.source.line_begun())
                .zip(self.line_timeout)
                .map(|(started, timeout)| started + timeout)
        };
        let [idle, unfinished] = &mut self.timers;
        if expired(unfinished, unfinished_at, context) {
            return Some(LineError::Unfinished);
        }
        let idle_at = self.idle_at;
        expired(idle, || idle_at, context).then_some(LineError::Idle)
    }

    /// Reads once the source has input, retrying only when the reactor
    /// says so.
    fn poll_read(&mut self, context: &mut Context<'_>, pending: usize) -> Poll<io::Result<()>> {
        loop {
            if self.would_block {
                ready!(self.source.poll_readable(context))?;
                self.would_block = false;
            }
            match self.try_fill(pending) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.would_block = true,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// One attempt: reads at most one byte past the limit, enough to tell a
    /// line is too long.
    ///
    /// It reads into a scratch buffer on the stack and keeps only what
    /// arrived: a peer trickling a line a byte at a time holds its bytes,
    /// not a chunk's worth of buffer, and an attempt that finds nothing
    /// takes no buffer at all (so it needs no look first: that was a
    /// system call more for every read). The buffer grows by at least half
    /// again when it must grow, so a long line still costs few copies.
    fn try_fill(&mut self, pending: usize) -> io::Result<()> {
        let want = READ_CHUNK.min(self.max_line.saturating_add(1) - pending);
        let mut scratch = [0u8; READ_CHUNK];
        let read = self.source.try_read(&mut scratch[..want])?;
        if read == 0 {
            self.eof = true;
            return Ok(());
        }
        let room = self.buf.capacity() - self.buf.len();
        if room < read {
            self.buf.reserve_exact(read.max(self.buf.len() / 2));
        }
        self.buf.extend_from_slice(&scratch[..read]);
        Ok(())
    }
}

/// Whether the deadline `at` says, if any, has passed, as `timer` (made
/// for it once there is one) says; else its wake-up is registered with
/// `context`.
fn expired(
    timer: &mut Option<Box<Timer>>,
    at: impl FnOnce() -> Option<Instant>,
    context: &mut Context<'_>,
) -> bool {
    if timer.is_none() {
        *timer = at().map(|at| Box::new(Timer::at(at)));
    }
    match timer {
        Some(timer) => Pin::new(&mut **timer).poll(context).is_ready(),
        None => false,
    }
}

/// Drops one trailing `\r`, as Go's `bufio.ScanLines` does.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::rc::Rc;

    use futures_lite::future;
    use proptest::prelude::*;

    use super::*;

    /// All lines of `input`, and how the reading ended.
    fn lines(input: &[u8], max_line: usize) -> (Vec<Vec<u8>>, Option<String>) {
        lines_from(input, max_line)
    }

    /// All lines `source` gives, and how the reading ended: `None` at the
    /// end of input, else the error.
    fn lines_from(source: impl Source, max_line: usize) -> (Vec<Vec<u8>>, Option<String>) {
        smol::block_on(async {
            let mut reader = LineReader::new(source, max_line, None, None);
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

    /// Input that ends in a failure, as a reset does: its bytes, then
    /// `ConnectionReset`.
    struct ResetAfter<'a>(&'a [u8]);

    impl Source for ResetAfter<'_> {
        fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::ErrorKind::ConnectionReset.into());
            }
            Read::read(&mut self.0, buf)
        }

        fn poll_readable(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_reset_delivers_the_last_line_then_fails() {
        let (got, end) = lines_from(ResetAfter(b"a\nunfinished\r"), 100);
        assert_eq!(got, owned(&[b"a", b"unfinished"]));
        assert!(end.is_some_and(|end| end.contains("ConnectionReset")));
        let (got, end) = lines_from(ResetAfter(b"a\n"), 100);
        assert_eq!(got, owned(&[b"a"]));
        assert!(end.is_some_and(|end| end.contains("ConnectionReset")));
        // Past the limit, a reset changes nothing: the line was too long.
        let (got, end) = lines_from(ResetAfter(b"a\nabcdef"), 4);
        assert_eq!((got, end.as_deref()), (owned(&[b"a"]), Some("TooLong")));
    }

    #[test]
    fn a_silent_peer_times_out_and_a_talking_one_does_not() {
        smol::block_on(async {
            let silent = Scripted::new(b"hi\n");
            let mut lines = LineReader::new(silent, 100, Some(Duration::from_millis(50)), None);
            assert_eq!(lines.next_line().await.unwrap(), Some(&b"hi"[..]));
            assert!(matches!(lines.next_line().await, Err(LineError::Idle)));
        });
    }

    #[test]
    fn a_wake_up_without_input_costs_no_attempt() {
        let source = Scripted::new(b"");
        let (input, attempts) = (source.input.clone(), source.attempts.clone());
        let mut lines = LineReader::new(source, 100, None, None);
        let mut next = std::pin::pin!(lines.next_line());
        let mut poll = || future::block_on(future::poll_once(next.as_mut()));
        assert!(poll().is_none());
        assert_eq!(attempts.get(), 1, "one try, then wait for the reactor");
        for _ in 0..3 {
            assert!(poll().is_none());
        }
        assert_eq!(attempts.get(), 1, "woken for nothing: no new attempt");
        input.borrow_mut().extend_from_slice(b"hi\n");
        let line = poll().map(|line| line.unwrap().map(<[u8]>::to_vec));
        assert_eq!(line, Some(Some(b"hi".to_vec())));
    }

    #[test]
    fn a_line_costs_one_attempt_not_a_look_and_a_read() {
        let source = Scripted::new(b"hi\n");
        let attempts = source.attempts.clone();
        let mut lines = LineReader::new(source, 100, None, None);
        let line = future::block_on(lines.next_line()).unwrap();
        assert_eq!(line, Some(&b"hi"[..]));
        assert_eq!(attempts.get(), 1, "one read");
        assert!(lines.buf.capacity() > 0);
        let mut idle = LineReader::new(Scripted::new(b""), 100, None, None);
        {
            let mut next = std::pin::pin!(idle.next_line());
            assert!(future::block_on(future::poll_once(next.as_mut())).is_none());
        }
        assert_eq!(idle.buf.capacity(), 0, "nothing read: no buffer");
    }

    /// Input a test controls: it has what `input` holds, and is readable
    /// exactly when that is not empty.
    struct Scripted {
        input: Rc<RefCell<Vec<u8>>>,
        attempts: Rc<Cell<usize>>,
    }

    impl Scripted {
        fn new(input: &[u8]) -> Self {
            Scripted {
                input: Rc::new(RefCell::new(input.to_vec())),
                attempts: Rc::default(),
            }
        }

        fn attempt(&self) -> io::Result<()> {
            self.attempts.set(self.attempts.get() + 1);
            if self.input.borrow().is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(())
        }
    }

    impl Source for Scripted {
        fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.attempt()?;
            let mut input = self.input.borrow_mut();
            let count = input.len().min(buf.len());
            buf[..count].copy_from_slice(&input[..count]);
            input.drain(..count);
            Ok(count)
        }

        fn poll_readable(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            if self.input.borrow().is_empty() {
                return Poll::Pending;
            }
            Poll::Ready(Ok(()))
        }
    }

    /// Input handed out as a peer's packets bring it: one chunk at a
    /// time, a read taking at most what is left of the current chunk
    /// (never running into the next), and nothing to read between two
    /// chunks until the reader waits for input again.
    struct Chunked {
        /// The chunks not yet read, or not all read; none empty.
        chunks: VecDeque<Vec<u8>>,
        /// A chunk has just been used up: an attempt would block until
        /// the reader polls for input (the next chunk "arrives").
        between: bool,
    }

    impl Chunked {
        /// `input` cut after each byte whose `cut` is set (and at its end).
        fn new(input: &[u8], cut: &[bool]) -> Self {
            let mut chunks = VecDeque::new();
            let mut chunk = Vec::new();
            for (&byte, &cut) in input.iter().zip(cut) {
                chunk.push(byte);
                if cut {
                    chunks.push_back(std::mem::take(&mut chunk));
                }
            }
            if !chunk.is_empty() {
                chunks.push_back(chunk);
            }
            Chunked {
                chunks,
                between: false,
            }
        }

        fn attempt(&self) -> io::Result<()> {
            if self.between {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(())
        }
    }

    impl Source for Chunked {
        fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.attempt()?;
            let Some(chunk) = self.chunks.front_mut() else {
                return Ok(0);
            };
            let count = chunk.len().min(buf.len());
            buf[..count].copy_from_slice(&chunk[..count]);
            chunk.drain(..count);
            if chunk.is_empty() {
                self.chunks.pop_front();
                self.between = true;
            }
            Ok(count)
        }

        fn poll_readable(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.between = false;
            Poll::Ready(Ok(()))
        }
    }

    /// What the lines of `input` must be, said as simply as possible: split
    /// at `\n`, one trailing `\r` dropped, a last line without `\n`
    /// delivered; the reading ends in `TooLong` at the first line (`\r`
    /// included, `\n` not) over `max_line`, after the lines before it.
    fn model(input: &[u8], max_line: usize) -> (Vec<Vec<u8>>, Option<String>) {
        let mut pieces: Vec<&[u8]> = input.split(|&byte| byte == b'\n').collect();
        // After the last `\n` (or in empty input): a line only if not empty.
        if pieces.last().is_some_and(|last| last.is_empty()) {
            pieces.pop();
        }
        let mut lines = Vec::new();
        for piece in pieces {
            if piece.len() > max_line {
                return (lines, Some("TooLong".into()));
            }
            lines.push(piece.strip_suffix(b"\r").unwrap_or(piece).to_vec());
        }
        (lines, None)
    }

    /// Bytes with many line ends and `\r`s among them, and any others.
    fn line_bytes() -> impl Strategy<Value = u8> {
        prop_oneof![
            3 => b'a'..=b'c',
            1 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => any::<u8>(),
        ]
    }

    proptest! {
        /// Any byte stream, cut into reads anywhere, framed under any
        /// limit, gives the model's lines and the model's end: however
        /// the bytes arrive, the lines are the same.
        #[test]
        fn any_stream_in_any_reads_gives_the_models_lines(
            (input, cut) in proptest::collection::vec(line_bytes(), 0..400)
                .prop_flat_map(|input| {
                    let cut = proptest::collection::vec(any::<bool>(), input.len());
                    (Just(input), cut)
                }),
            max_line in prop_oneof![0usize..=8, 0usize..=64, 0usize..=500],
        ) {
            let got = lines_from(Chunked::new(&input, &cut), max_line);
            prop_assert_eq!(got, model(&input, max_line));
        }
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
