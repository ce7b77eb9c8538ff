//! What a quiet TLS connection costs the server (the README's `idle-tls`
//! row, its target 8 KB): once its handshake is done, an idle connection
//! holds its keys and its state, and no buffer. A bound to hold, not a
//! timing; in a test binary of its own, as tests/memory.rs's, so that no
//! other test's connections count against it.
#![cfg(feature = "tls")]

mod common;

#[path = "common/bins.rs"]
mod bins;
#[path = "common/tls.rs"]
mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use bins::ChatProcess;
use common::{raise_own_fd_limit, PATIENCE};
use tls::{certificate, flags, scratch};

/// A TLS client that has shaken hands and reads nothing more.
type Quiet = StreamOwned<ClientConnection, TcpStream>;

/// A client configuration trusting only `cert`.
fn trusting(cert: &std::path::Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert).expect("read the certificate") {
        roots.add(cert.expect("a certificate")).expect("a root");
    }
    #[allow(deprecated)] // for want of post-quantum key exchange
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Connects over TLS and reads up to the greeting's end: the server has
/// then shaken hands and seated the connection.
fn arrive(chat: &ChatProcess, config: &Arc<ClientConfig>) -> Quiet {
    let socket = TcpStream::connect(chat.addr).expect("connect");
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let session = ClientConnection::new(config.clone(), name).expect("a client session");
    let mut stream = StreamOwned::new(session, socket);
    let mut byte = [0u8];
    loop {
        stream.read_exact(&mut byte).expect("the greeting");
        if byte[0] == b'\n' {
            return stream;
        }
    }
}

/// 1,000 idle TLS connections cost the server at most 8 KB each (11.9 KB
/// with rustls's buffered connection, which keeps a 4 KiB receive buffer
/// for each one's life, and the handshake's state kept in each task).
#[test]
fn an_idle_tls_connection_costs_at_most_8_kb() {
    const CLIENTS: usize = 1_000;
    raise_own_fd_limit(2 * CLIENTS + 100);
    let dir = scratch("idle");
    let pair = certificate(&dir, "chat");
    let all = flags(&pair);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let chat = ChatProcess::start(&all);
    let config = trusting(&pair.0);
    // The first connection's one-time costs (the executor's and the
    // allocator's growth, rustls's caches) are not any connection's.
    let mut observer = BufReader::new(arrive(&chat, &config));
    let before = chat.rss_kib();
    let clients: Vec<Quiet> = (0..CLIENTS).map(|_| arrive(&chat, &config)).collect();
    // Every arrival announced: the last one is the observer's last line.
    let last = clients[CLIENTS - 1].sock.local_addr().unwrap();
    let mut line = String::new();
    while !line.starts_with(&format!("{last} has arrived")) {
        line.clear();
        let read = observer.read_line(&mut line).expect("an arrival");
        assert!(read > 0, "the observer's connection ended");
    }
    let after = chat.rss_kib();
    let per_connection = after.saturating_sub(before) * 1024 / CLIENTS as u64;
    eprintln!("server RSS {before} KiB, then {after} KiB: {per_connection} B per connection");
    assert!(
        per_connection <= 8 * 1024,
        "{per_connection} B per idle TLS connection, over 8 KiB"
    );
    let mut observer = observer.into_inner();
    observer.conn.send_close_notify();
    let _ = observer.flush();
    drop(clients);
}
