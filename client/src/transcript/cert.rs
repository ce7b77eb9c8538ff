//! A throwaway certificate for a script that speaks TLS (`set tls on`):
//! made with the `openssl` command when the script starts, given to its
//! servers (`--tls-cert`, `--tls-key`), trusted by its clients and by
//! nothing else, and deleted when the script is done. A certificate of
//! the script's own, so that no run depends on one kept in the repository
//! (which would expire) or on the machine's trust.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why a script that speaks TLS is skipped when there is no `openssl`.
pub const MISSING: &str = "there is no openssl in PATH (apt-get install openssl)";

/// A self-signed certificate for `localhost` and 127.0.0.1, and its key,
/// in a folder of their own, removed when dropped.
pub struct Certificate {
    dir: PathBuf,
    /// The certificate (PEM): the server's, and the clients' only trust.
    pub cert: PathBuf,
    /// Its key (PEM, PKCS#8).
    pub key: PathBuf,
}

impl Certificate {
    /// A fresh pair: `Ok(None)` when there is no `openssl` to make one,
    /// `Err` when it fails.
    pub fn make() -> Result<Option<Self>, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "transcript-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pair = Certificate {
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
            dir,
        };
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&pair.key)
            .arg("-out")
            .arg(&pair.cert)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match made {
            Ok(output) if output.status.success() => Ok(Some(pair)),
            Ok(output) => Err(format!(
                "openssl req could not make a certificate ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("cannot run openssl: {error}")),
        }
    }

    /// `chat`'s flags for the pair: `--tls-cert=FILE --tls-key=FILE`.
    pub fn flags(&self) -> [String; 2] {
        [
            format!("--tls-cert={}", self.cert.display()),
            format!("--tls-key={}", self.key.display()),
        ]
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
