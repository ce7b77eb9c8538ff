//! TLS for the chat listener (`--tls-cert FILE --tls-key FILE`, the `tls`
//! feature): another transport, not another chat. A connection to a TLS
//! listener shakes hands first, as part of arriving (under the caps, within
//! the line timeout), and is then a client like any other (see `stream`).
//!
//! The certificate and key are read here, once at start-up, where an error
//! stops the server with one line naming the file, and again on `SIGUSR1`
//! (a renewal), where an error keeps the pair in use: a server serving
//! people must not stop for a bad file it was asked to try.
//!
//! rustls on ring: TLS 1.2 and 1.3 only, and ring is the smaller of
//! rustls's two providers and builds with nothing but a C compiler.

pub mod identity;
mod session;
mod stream;

pub(crate) use identity::Current;
pub use identity::Identity;
pub(crate) use stream::{serve, turn_away};
