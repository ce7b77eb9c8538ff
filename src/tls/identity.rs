//! The chat listener's certificate and key: read from their files at
//! start-up (an error stops the server) and on `SIGUSR1` (an error keeps
//! the pair in use), and the pair new handshakes take.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use futures_lite::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::log;

/// The chat listener's certificate chain and key, as the files named them
/// and as rustls serves them.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The certificate chain's file (PEM).
    cert: PathBuf,
    /// The private key's file (PEM: PKCS#8, RSA or EC).
    key: PathBuf,
    /// What handshakes are made with.
    config: Arc<ServerConfig>,
}

impl Identity {
    /// Reads the pair from `cert` and `key`; the error is one line naming
    /// the file at fault and why.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, String> {
        let config = server_config(cert, key)?;
        Ok(Identity {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            config: Arc::new(config),
        })
    }
}

/// The pair new handshakes use: replaced whole on a reload, while
/// connections already made keep the one they shook hands with.
#[derive(Clone)]
pub(crate) struct Current(Rc<RefCell<Identity>>);

impl Current {
    /// Starts with `identity`.
    pub fn new(identity: Identity) -> Self {
        Current(Rc::new(RefCell::new(identity)))
    }

    /// What the next handshake is made with.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.0.borrow().config.clone()
    }

    /// Reloads the pair from its files on every `SIGUSR1`, forever; a
    /// reload that fails keeps the old pair and logs why.
    pub async fn reload_on_signal(self) {
        use async_signal::{Signal, Signals};
        let mut signals = match Signals::new([Signal::Usr1]) {
            Ok(signals) => signals,
            Err(error) => {
                log::always(format_args!(
                    "cannot watch for SIGUSR1 (no TLS reloads): {error}"
                ));
                return;
            }
        };
        while signals.next().await.is_some() {
            let (cert, key) = {
                let identity = self.0.borrow();
                (identity.cert.clone(), identity.key.clone())
            };
            match Identity::load(&cert, &key) {
                Ok(identity) => {
                    *self.0.borrow_mut() = identity;
                    log::always(format_args!(
                        "TLS: reloaded the certificate and key ({}, {})",
                        cert.display(),
                        key.display()
                    ));
                }
                Err(why) => log::always(format_args!(
                    "TLS: reload failed, keeping the certificate and key in use: {why}"
                )),
            }
        }
    }
}

/// A server configuration for the pair in `cert` and `key`: TLS 1.2 and
/// 1.3, no client certificates.
fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let chain = read(cert, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("certificate {}: {}", cert.display(), not_pem(error)))?;
    if chain.is_empty() {
        return Err(format!(
            "certificate {}: no PEM certificate (BEGIN CERTIFICATE) in it",
            cert.display()
        ));
    }
    let private = read(key, "key")?;
    let private = PrivateKeyDer::from_pem_slice(&private).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => format!(
            "key {}: no PEM private key (PKCS#8, RSA or EC) in it",
            key.display()
        ),
        error => format!("key {}: {}", key.display(), not_pem(error)),
    })?;
    // Deprecated for want of post-quantum key exchange, which only the
    // larger provider (aws-lc-rs) has; X25519 and the NIST curves remain.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    // X25519 first: this provider puts P-384 first, which ring computes
    // with generic arithmetic (a handshake cost 3 times as much), and a
    // browser, which sends an X25519 share, would be asked for another.
    use rustls::crypto::ring::kx_group;
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    let provider = Arc::new(provider);
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| format!("TLS: {error}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|error| match error {
            rustls::Error::InconsistentKeys(_) => format!(
                "key {} does not match the certificate {}",
                key.display(),
                cert.display()
            ),
            rustls::Error::InvalidCertificate(why) => format!(
                "certificate {}: not a valid certificate ({})",
                cert.display(),
                match why {
                    rustls::CertificateError::BadEncoding => "bad encoding".to_string(),
                    why => format!("{why:?}"),
                }
            ),
            rustls::Error::General(_) => {
                format!("key {}: not a valid private key", key.display())
            }
            error => format!(
                "certificate {} or key {}: {error}",
                cert.display(),
                key.display()
            ),
        })
}

/// Why a file is not PEM, in words rather than the parser's: the PEM
/// of a file someone copied or edited by hand is what goes wrong.
fn not_pem(error: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Base64Decode(_) => "not valid PEM (bad base64)".to_string(),
        Error::MissingSectionEnd { .. } => "not valid PEM (no END line)".to_string(),
        Error::IllegalSectionStart { .. } => "not valid PEM (bad BEGIN line)".to_string(),
        error => format!("not valid PEM ({error})"),
    }
}

/// The bytes of `path`, the `what` of the pair.
fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read {what} {}: {error}", path.display()))
}
