//! The TLS scenarios (`cargo bench --features tls`): `tls`, `fanout`'s
//! load over TLS, judged against `fanout` in the same session;
//! `churn-tls`, the cost of a connection's life with its handshake; and
//! `idle-tls`, what a quiet TLS connection costs in memory.
//!
//! The clients are rustls's, sans-I/O as the server's: each holds its
//! session beside its socket, its reader task feeds the session what
//! arrives and reads lines out as TCP readers do, and its sender encrypts
//! and writes. The certificate is made once with the `openssl` command.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use futures_lite::future;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use smol::{Async, LocalExecutor};

use crate::clients::{connect_readers, wait_until, Client, Mode, SeenRef};
use crate::fanout::fan_out;
use crate::server::Server;

/// Where the benchmark's certificate and key are written.
const CERT: &str = "/tmp/chat-bench-tls.crt";
/// Its key.
const KEY: &str = "/tmp/chat-bench-tls.key";

/// `fanout`'s load over TLS.
pub fn fanout() -> String {
    config();
    fan_out::<Tls>(100, 10, 1_000, 32, Mode::Book)
}

/// Connect, shake hands, say a line, leave, over and over, 8 at a time,
/// with 3 observers: `churn` over TLS.
pub fn churn() -> String {
    const OBSERVERS: usize = 3;
    const WORKERS: usize = 8;
    const CYCLES: usize = 4_000;
    let config = config();
    let server = Server::start(Tls::FLAGS);
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    smol::block_on(executor.run(async {
        let observers = connect_readers::<Tls>(
            &executor,
            &[server.addr],
            OBSERVERS,
            epoch,
            false,
            64 * 1024,
            Mode::Book,
        )
        .await;
        let done = Rc::new(RefCell::new(0usize));
        let cpu_before = server.cpu_ns();
        let started = Instant::now();
        for _ in 0..WORKERS {
            let (done, config, addr) = (done.clone(), config.clone(), server.addr);
            executor
                .spawn(async move {
                    for _ in 0..CYCLES / WORKERS {
                        if cycle(addr, config.clone()).await.is_err() {
                            return;
                        }
                        *done.borrow_mut() += 1;
                    }
                })
                .detach();
        }
        let complete = wait_until(started, || *done.borrow() >= CYCLES).await;
        let elapsed = started.elapsed();
        let server_cpu = server.cpu_ns() - cpu_before;
        let cycles = *done.borrow();
        drop(observers);
        future::yield_now().await;
        format!(
            "{WORKERS} clients at a time, {cycles} connect-handshake-say-leave cycles over TLS, \
             {OBSERVERS} observers: {:.0} cycles/s, server {:.1} µs CPU/cycle{}",
            cycles as f64 / elapsed.as_secs_f64(),
            server_cpu as f64 / 1e3 / cycles.max(1) as f64,
            if complete { "" } else { " (TIMED OUT)" },
        )
    }))
}

/// 2,000 TLS connections held open and quiet: the server's memory per
/// connection, as `idle` measures it. Fewer than `idle`'s 10,000: the
/// arrival storm is every arrival encrypted for everyone there, and the
/// benchmark's one thread decrypts all of it (50 M records for 10,000).
pub fn idle() -> String {
    const CLIENTS: usize = 2_000;
    config();
    let server = Server::start(Tls::FLAGS);
    let executor = LocalExecutor::new();
    let epoch = Instant::now();
    let baseline = server.rss_kib();
    smol::block_on(executor.run(async {
        let started = Instant::now();
        let readers = connect_readers::<Tls>(
            &executor,
            &[server.addr],
            CLIENTS,
            epoch,
            false,
            1024,
            Mode::Book,
        )
        .await;
        let storm = started.elapsed();
        let rss = server.rss_kib();
        let per_connection = (rss.saturating_sub(baseline)) as f64 * 1024.0 / CLIENTS as f64;
        drop(readers);
        format!(
            "{CLIENTS} idle TLS connections: server RSS {rss} KiB (baseline {baseline} KiB), \
             {per_connection:.0} B per connection; arrival storm {:.1} s",
            storm.as_secs_f64(),
        )
    }))
}

/// The client's configuration, trusting the benchmark's certificate,
/// which is made the first time.
fn config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let made = std::process::Command::new("openssl")
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
                .args(["-subj", "/CN=localhost"])
                .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .args(["-keyout", KEY, "-out", CERT])
                .stderr(std::process::Stdio::null())
                .status()
                .expect("run openssl");
            assert!(made.success(), "openssl req failed");
            let mut roots = RootCertStore::empty();
            let pem = std::fs::read(CERT).expect("read the certificate");
            for cert in CertificateDer::pem_slice_iter(&pem) {
                roots.add(cert.expect("a certificate")).expect("a root");
            }
            #[allow(deprecated)]
            let mut provider = rustls::crypto::ring::default_provider();
            // X25519 first, as browsers and the server prefer it.
            use rustls::crypto::ring::kx_group;
            provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
            let provider = Arc::new(provider);
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// One churn cycle over TLS.
async fn cycle(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<()> {
    let tls = Tls::handshake(addr, config).await?;
    tls.session
        .borrow_mut()
        .writer()
        .write_all(b"hello, and goodbye\n")?;
    tls.session.borrow_mut().send_close_notify();
    tls.flush().await?;
    let _ = tls.socket.get_ref().shutdown(std::net::Shutdown::Write);
    // The greeting, the echo, up to the close.
    let mut buf = vec![0u8; 4096];
    while tls.read(&mut buf).await? > 0 {}
    Ok(())
}

/// A TLS client: its socket and its session, shared by its reader task
/// and its sender.
#[derive(Clone)]
pub struct Tls {
    /// The socket.
    socket: Rc<Async<TcpStream>>,
    /// rustls's state.
    session: Rc<RefCell<ClientConnection>>,
}

impl Tls {
    /// Connects and shakes hands.
    async fn handshake(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<Self> {
        let socket = Rc::new(Async::<TcpStream>::connect(addr).await?);
        let _ = socket.get_ref().set_nodelay(true);
        let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
        let session = ClientConnection::new(config, name).map_err(io::Error::other)?;
        let tls = Tls {
            socket,
            session: Rc::new(RefCell::new(session)),
        };
        while tls.session.borrow().is_handshaking() {
            tls.flush().await?;
            if !tls.session.borrow().is_handshaking() {
                break;
            }
            tls.feed().await?;
        }
        tls.flush().await?;
        Ok(tls)
    }

    /// Writes every record the session has ready.
    async fn flush(&self) -> io::Result<()> {
        while self.session.borrow().wants_write() {
            self.socket
                .write_with(|mut stream| self.session.borrow_mut().write_tls(&mut stream))
                .await?;
        }
        Ok(())
    }

    /// Reads what the socket has into the session; 0 at its end.
    async fn feed(&self) -> io::Result<usize> {
        let read = self
            .socket
            .read_with(|mut stream| self.session.borrow_mut().read_tls(&mut stream))
            .await?;
        let processed = self.session.borrow_mut().process_new_packets();
        processed.map_err(io::Error::other)?;
        Ok(read)
    }

    /// Reads plaintext into `buf`: 0 at the end of the server's output.
    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let read = self.session.borrow_mut().reader().read(buf);
            match read {
                Ok(count) => return Ok(count),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(error) => return Err(error),
            }
            if self.feed().await? == 0 {
                return Ok(0);
            }
        }
    }
}

impl Client for Tls {
    const NOUN: &'static str = "TLS clients";

    const FLAGS: &'static [&'static str] = &["--tls-cert", CERT, "--tls-key", KEY];

    fn addr(server: &Server) -> SocketAddr {
        server.addr
    }

    async fn connect(
        executor: &LocalExecutor<'_>,
        addr: SocketAddr,
        epoch: Instant,
        seen: SeenRef,
        record: bool,
        buffer: usize,
    ) -> Self {
        let tls = Tls::handshake(addr, config()).await.expect("handshake");
        let reader = tls.clone();
        executor
            .spawn(async move {
                let mut buf = vec![0u8; buffer];
                let mut partial: Vec<u8> = Vec::new();
                loop {
                    let count = match reader.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(count) => count,
                    };
                    let now = Instant::now();
                    let now_ns = (now - epoch).as_nanos() as u64;
                    {
                        let mut seen = seen.borrow_mut();
                        let mut rest = &buf[..count];
                        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
                            partial.extend_from_slice(&rest[..end]);
                            seen.line(&partial, now, now_ns, record);
                            partial.clear();
                            rest = &rest[end + 1..];
                        }
                        partial.extend_from_slice(rest);
                    }
                    if count == buf.len() {
                        future::yield_now().await;
                    }
                }
                seen.borrow_mut().ended = true;
            })
            .detach();
        tls
    }

    async fn send(&mut self, lines: &[u8]) -> io::Result<()> {
        self.session.borrow_mut().writer().write_all(lines)?;
        self.flush().await
    }
}
