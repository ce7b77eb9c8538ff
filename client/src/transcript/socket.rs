//! A client's socket, as every transport of the runner opens it (TCP,
//! TLS, the page's WebSocket): a small receive buffer, so that a client
//! that stops reading fills up after little traffic, no Nagle delay, and
//! reads that wait at most the patience they were given; and a failed
//! read said plainly.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Small receive buffers make a client that stops reading fill up sooner.
const CLIENT_RECV_BUFFER: usize = 32 * 1024;

/// A failed read or write, said plainly: a timeout is the wait for a line
/// that never came.
pub fn io_failure(error: &std::io::Error, patience: Duration) -> String {
    match error.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            format!("nothing within {patience:?} ({error})")
        }
        _ => error.to_string(),
    }
}

/// A client socket with a small receive buffer, so that a client that stops
/// reading fills up after little traffic.
pub fn connect_socket(addr: SocketAddr, patience: Duration) -> Result<TcpStream, String> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .map_err(|e| e.to_string())?;
    socket
        .set_recv_buffer_size(CLIENT_RECV_BUFFER)
        .map_err(|e| e.to_string())?;
    socket.set_tcp_nodelay(true).map_err(|e| e.to_string())?;
    socket
        .connect(&addr.into())
        .map_err(|e| format!("cannot connect: {e}"))?;
    let stream = TcpStream::from(socket);
    stream
        .set_read_timeout(Some(patience))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}
