//! What a connection's bytes travel over: the book's plain TCP, where a line
//! is bytes up to `\n`, or (with the `web` feature) a WebSocket, where it is
//! a frame.
//!
//! A connection is the same client whatever carries it: the same lines, the
//! same queue, the same limits. So the connection's life and its reading
//! side (`conn`) are written once, over a [`Transport`], and each kind says
//! only how bytes come in and how queued lines go out.
//!
//! The socket handle lives here, below both wings: the connection reads and
//! writes through it, and the room shuts it down to cut a client off.

use std::future::Future;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::task::{ready, Poll};

use smol::Async;

use crate::lines::Source;
use crate::queue::QueueReceiver;

/// A connection's socket, shared by its reader, its writer and the
/// broadcaster (which shuts it down to cut a client off). Eight bytes a
/// handle, where an `async_net::TcpStream` is 120: each of those carries
/// its own readiness futures, and a connection's task holds several.
pub type Socket = Arc<Async<TcpStream>>;

/// Largest batch a writer gathers from its queue for one write.
pub const WRITE_BATCH: usize = 64 * 1024;

/// The kernel's send buffer a connection starts with (the kernel doubles
/// what it is asked): a client that never reads pins 32 KiB of kernel
/// memory, not the megabytes autotuning would give it.
pub const SEND_BUFFER: usize = 16 * 1024;

/// The kernel's receive buffer of a connection: a few lines of the longest
/// kind in flight, however fast the client sends.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// The largest send buffer a connection earns by reading: slack for a
/// reader that takes a burst a little slower than it comes.
const MAX_SEND_BUFFER: usize = 1024 * 1024;

/// How many times its send buffer a connection must have taken in before
/// the buffer doubles: more than a peer that stopped reading can ever take
/// in (its receive buffer and what is in flight), so only readers earn it.
const EARN_SEND_BUFFER: usize = 16;

/// Sets a listener up for chat, so that every connection it accepts is
/// (the kernel copies these options from the listener to each connection
/// it accepts: three system calls fewer per connection, where a quick
/// visit costs about twenty).
pub fn tune(listener: BorrowedFd<'_>) {
    use rustix::net::sockopt;
    // As Go does for every TCP connection: a line goes out when written,
    // not when the peer's delayed acknowledgement lets Nagle's algorithm
    // send it (up to 40 ms later). The writer batches what piles up.
    let _ = sockopt::set_tcp_nodelay(listener, true);
    // The kernel's send buffer, bounded: left to autotune, a thousand
    // clients that never read pinned 1.5 GiB of the machine's TCP
    // memory (its pressure limit, which hurts every socket on the box).
    // It grows only as the client reads (see `SendBuffer`).
    let _ = sockopt::set_socket_send_buffer_size(listener, SEND_BUFFER);
    // And what a client sends waits in a bounded buffer too: a chat
    // client needs no window of megabytes, and a flooder then waits in
    // its own kernel, not in ours.
    let _ = sockopt::set_socket_recv_buffer_size(listener, RECEIVE_BUFFER);
}

/// One kind of connection: where its client's bytes come from and how the
/// lines queued for it are written.
pub trait Transport {
    /// The client's bytes, as a [`Source`] its line reader reads lines from.
    type Source<'a>: Source
    where
        Self: 'a;

    /// The TCP socket underneath: the broadcaster shuts it down to cut a
    /// client off, whatever runs over it.
    fn socket(&self) -> &Socket;

    /// Where the reader takes the client's bytes from.
    fn source(&self) -> Self::Source<'_>;

    /// Writes every line queued for the client, several per write when they
    /// pile up, until the queue is closed and empty; then ends the output
    /// as the transport does (a TCP half-close; a WebSocket close frame).
    fn write_queue(&self, queue: QueueReceiver) -> impl Future<Output = io::Result<()>>;
}

/// The book's transport: lines end at `\n` and go out as they are.
pub struct Tcp(pub Socket);

impl Transport for Tcp {
    type Source<'a> = &'a Async<TcpStream>;

    fn socket(&self) -> &Socket {
        &self.0
    }

    fn source(&self) -> Self::Source<'_> {
        &self.0
    }

    async fn write_queue(&self, queue: QueueReceiver) -> io::Result<()> {
        let mut send_buffer = SendBuffer::default();
        while let Some(batch) = queue.next_batch(WRITE_BATCH).await {
            write_bytes(&self.0, batch.bytes(), queue.is_finished()).await?;
            send_buffer.wrote(batch.bytes().len(), &self.0);
        }
        self.0.get_ref().shutdown(Shutdown::Write)
    }
}

/// Writes `bytes` to the socket, as `write_all` does (`send`, and no
/// `SIGPIPE`, as the standard library's own writes), in fewer bytes of
/// the connection's state. A connection's `last` bytes, to be followed at
/// once by its half-close, are held back (`MSG_MORE`) so that the kernel
/// sends them and the end in one segment, not two: a quick visit's last
/// line and its close then cost the two ends one packet, not two.
fn write_bytes<'a>(
    socket: &'a Async<TcpStream>,
    mut bytes: &'a [u8],
    last: bool,
) -> impl Future<Output = io::Result<()>> + 'a {
    use rustix::net::SendFlags;
    let flags = match last {
        true => SendFlags::MORE | SendFlags::NOSIGNAL,
        false => SendFlags::NOSIGNAL,
    };
    // A poll function, not `write_with`: its readiness future would take
    // room in every connection's state, idle or not.
    std::future::poll_fn(move |context| {
        while !bytes.is_empty() {
            match rustix::net::send(socket.get_ref(), bytes, flags) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(sent) => bytes = &bytes[sent..],
                Err(rustix::io::Errno::AGAIN) => ready!(socket.poll_writable(context))?,
                Err(rustix::io::Errno::INTR) => {}
                Err(error) => return Poll::Ready(Err(error.into())),
            }
        }
        Poll::Ready(Ok(()))
    })
}

/// A connection's kernel send buffer, which grows, up to
/// [`MAX_SEND_BUFFER`], as the client proves it reads: autotuning for
/// readers only.
pub struct SendBuffer {
    /// The size asked of the kernel last.
    size: usize,
    /// Bytes written in all.
    written: usize,
}

impl Default for SendBuffer {
    fn default() -> Self {
        SendBuffer {
            size: SEND_BUFFER,
            written: 0,
        }
    }
}

impl SendBuffer {
    /// Counts `bytes` the client took, and doubles the buffer once it has
    /// taken enough.
    pub fn wrote(&mut self, bytes: usize, socket: &Async<TcpStream>) {
        self.written += bytes;
        if self.size < MAX_SEND_BUFFER && self.written >= EARN_SEND_BUFFER * self.size {
            self.size *= 2;
            let _ = rustix::net::sockopt::set_socket_send_buffer_size(socket.get_ref(), self.size);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use rustix::net::sockopt;

    #[test]
    fn a_connection_gets_its_options_from_its_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        super::tune(listener.as_fd());
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(sockopt::tcp_nodelay(&accepted).unwrap());
        // The kernel doubles what it is asked.
        let sent = sockopt::socket_send_buffer_size(&accepted).unwrap();
        assert_eq!(sent, 2 * super::SEND_BUFFER);
        let received = sockopt::socket_recv_buffer_size(&accepted).unwrap();
        assert_eq!(received, 2 * super::RECEIVE_BUFFER);
    }
}
