//! What the client's tests share: a chat server to talk to.

use std::net::SocketAddr;
use std::thread;

/// The chat server on a free port of 127.0.0.1, in this process, in names
/// mode (`chat --names`) or the book's; it runs until the test ends.
pub fn start_server(names: bool) -> SocketAddr {
    let listener = chat::listen("127.0.0.1:0".parse().unwrap()).expect("listen");
    let addr = listener.local_addr().unwrap();
    let config = chat::Config {
        names,
        ..chat::Config::default()
    };
    thread::spawn(move || smol::block_on(chat::serve(listener, config, std::future::pending())));
    addr
}
