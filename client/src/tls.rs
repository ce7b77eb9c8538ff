//! `client --tls` (the `tls` feature): the connection to the server over
//! TLS, as netcat's users get it from `ncat --ssl`.
//!
//! Every mode of the client (the pipe, the terminal, `--name`) talks to a
//! `TcpStream`. Rather than teach each of them TLS, the TLS session runs on
//! a thread of its own between the server and one end of a loopback
//! connection, and the client gets the other end: every mode is then the
//! same code over TLS as over TCP, half-close included (the end of input
//! becomes `close_notify`, then the TCP half-close).
//!
//! The handshake happens before anything is read from standard input: a
//! certificate that does not verify is one line, exit status 1, and nothing
//! sent.

use std::net::{Ipv4Addr, Shutdown};
use std::sync::Arc;

use async_net::{TcpListener, TcpStream};
use futures_lite::{future, io, AsyncWriteExt};
use futures_rustls::rustls::pki_types::pem::{self, PemObject};
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName};
use futures_rustls::rustls::{self, ClientConfig, RootCertStore};
use futures_rustls::TlsConnector;

/// The system's trusted roots, Debian's bundle, unless `SSL_CERT_FILE`
/// names another (as OpenSSL reads it).
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What `--tls`, `--tls-ca` and `--tls-name` asked for.
pub struct Options {
    /// The certificates to trust (PEM), instead of the system's.
    pub ca: Option<String>,
    /// The name the certificate must be for, instead of ADDR's host.
    pub name: Option<String>,
}

/// What the handshake needs, made before connecting: a CA file that
/// cannot be used is an error before the server sees anything.
pub struct Prepared {
    /// The trust and the protocol versions.
    connector: TlsConnector,
    /// The name the certificate must be for.
    server_name: ServerName<'static>,
}

/// Reads the trusted certificates and checks the name to shake hands with
/// `host` (ADDR's host) as `options` ask.
pub fn prepare(host: &str, options: &Options) -> Result<Prepared, String> {
    let name = options.name.as_deref().unwrap_or(match host {
        "" => "localhost",
        host => host,
    });
    let server_name = ServerName::try_from(name.to_string())
        .map_err(|error| format!("TLS: bad name {name:?}: {error}"))?;
    let config = client_config(options.ca.as_deref())?;
    Ok(Prepared {
        connector: TlsConnector::from(Arc::new(config)),
        server_name,
    })
}

/// Shakes hands over `stream` as `prepared`, and returns the plain end of
/// a loopback connection whose other end a thread relays over TLS.
pub async fn connect(stream: TcpStream, prepared: Prepared) -> Result<TcpStream, String> {
    let name = prepared.server_name.to_str().into_owned();
    let tls = prepared
        .connector
        .connect(prepared.server_name, stream)
        .await
        .map_err(|error| refused(&name, error))?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|error| format!("TLS: cannot make the loopback relay: {error}"))?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("TLS: cannot make the loopback relay: {error}"))?;
    let ours = TcpStream::connect(local)
        .await
        .map_err(|error| format!("TLS: cannot make the loopback relay: {error}"))?;
    let mine = ours.local_addr().ok();
    // Only our own end: another program on this machine could connect too.
    let theirs = loop {
        let (theirs, from) = listener
            .accept()
            .await
            .map_err(|error| format!("TLS: cannot make the loopback relay: {error}"))?;
        if Some(from) == mine {
            break theirs;
        }
    };
    std::thread::spawn(move || smol::block_on(relay(theirs, tls)));
    Ok(ours)
}

/// The trust for the handshake: `ca`'s certificates, or the system's.
fn client_config(ca: Option<&str>) -> Result<ClientConfig, String> {
    let env = std::env::var("SSL_CERT_FILE").ok();
    let file = ca.or(env.as_deref()).unwrap_or(SYSTEM_ROOTS);
    let pem = std::fs::read(file)
        .map_err(|error| format!("TLS: cannot read certificates {file}: {error}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|error| match error {
            pem::Error::Base64Decode(_) => {
                format!("TLS: certificates {file}: not valid PEM (bad base64)")
            }
            error => format!("TLS: certificates {file}: not valid PEM ({error})"),
        })?;
        roots.add(cert).map_err(|error| match error {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding) => {
                format!("TLS: certificates {file}: not a valid certificate (bad encoding)")
            }
            error => format!("TLS: certificates {file}: {error}"),
        })?;
    }
    if roots.is_empty() {
        return Err(format!("TLS: no certificate in {file}"));
    }
    // Deprecated for want of post-quantum key exchange, which only the
    // larger provider has; the server uses ring too.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    // X25519 first, as the server prefers it (the provider puts P-384
    // first, which ring computes much more slowly).
    use rustls::crypto::ring::kx_group;
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    let provider = Arc::new(provider);
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| format!("TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Why the handshake with `name` failed, as one line.
fn refused(name: &str, error: std::io::Error) -> String {
    let certificate = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|error| matches!(error, rustls::Error::InvalidCertificate(_)));
    let not_tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|error| {
            matches!(
                error,
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
            )
        });
    if certificate {
        format!("TLS: certificate not trusted for {name}: {error}")
    } else if not_tls {
        format!("TLS: handshake with {name} failed: the answer is not TLS (is it a TLS server?)")
    } else {
        format!("TLS: handshake with {name} failed: {error}")
    }
}

/// Copies between the plain end and the TLS session both ways until both
/// are done: the end of our input is `close_notify` and a half-close, the
/// end of the server's output a half-close of the plain end.
async fn relay(plain: TcpStream, tls: futures_rustls::client::TlsStream<TcpStream>) {
    let (from_server, mut to_server) = io::split(tls);
    let upload = async {
        let _ = io::copy(plain.clone(), &mut to_server).await;
        let _ = to_server.close().await;
    };
    let download = async {
        let _ = io::copy(from_server, &mut plain.clone()).await;
        let _ = plain.shutdown(Shutdown::Write);
    };
    future::zip(upload, download).await;
}
