//! A client of a script that speaks TLS (`set tls on`), with the
//! client's `tls` feature: the TLS of `client --tls` itself, so that
//! what the scripts check is the TLS users run.
//!
//! `client --tls` relays the session between the server and one end of a
//! loopback connection, and gives its caller the other end (see its
//! module): here that end is the client's socket, read and written as a
//! TCP client's is, so that every step keeps its meaning. A half-close is
//! `close_notify` and the TCP half-close, as `client --tls` sends at the
//! end of its input; a `close` or a `reset` ends the relay, which closes
//! the TLS session (the server sees `close_notify` and a close, not the
//! RST: to the protocol both are a leave).

use std::net::TcpStream;
use std::path::Path;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "tls")]
use futures_lite::future;

#[cfg(feature = "tls")]
#[path = "../tls.rs"]
mod client_tls;

/// Shakes hands over `stream`, trusting only the certificate in `ca`
/// (made for `localhost`), and returns the plain end of the relay, where
/// a read waits at most `patience`, and the address the server sees.
#[cfg(feature = "tls")]
pub fn connect(
    stream: TcpStream,
    ca: &Path,
    patience: Duration,
) -> Result<(TcpStream, String), String> {
    let local = stream.local_addr().map_err(|e| e.to_string())?.to_string();
    let stream = async_net::TcpStream::try_from(stream).map_err(|e| e.to_string())?;
    let options = client_tls::Options {
        ca: Some(ca.display().to_string()),
        name: Some("localhost".into()),
    };
    let prepared = client_tls::prepare("localhost", &options)?;
    let handshake = client_tls::connect(stream, prepared);
    let late = async {
        smol::Timer::after(patience).await;
        Err(format!("TLS: no handshake within {patience:?}"))
    };
    let plain = smol::block_on(future::or(handshake, late))?;
    let plain: Arc<smol::Async<TcpStream>> = plain.into();
    let plain = Arc::try_unwrap(plain)
        .map_err(|_| "TLS: the relay's end is held elsewhere".to_string())?
        .into_inner()
        .map_err(|e| e.to_string())?;
    plain.set_nonblocking(false).map_err(|e| e.to_string())?;
    plain
        .set_read_timeout(Some(patience))
        .map_err(|e| e.to_string())?;
    plain.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok((plain, local))
}

/// Without the `tls` feature a script that speaks TLS is skipped before
/// its servers start (`crate::play`): this is never reached.
#[cfg(not(feature = "tls"))]
pub fn connect(
    _stream: TcpStream,
    _ca: &Path,
    _patience: Duration,
) -> Result<(TcpStream, String), String> {
    Err(crate::NO_TLS.into())
}
