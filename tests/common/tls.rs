//! What the TLS tests share: certificates made at test time with the
//! `openssl` command, and programs nobody here wrote (`openssl s_client`,
//! `ncat --ssl`) or our own `client --tls`, talked to through pipes.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::OnceLock;

use crate::common::PATIENCE;

/// A folder of a test's own, for its certificates.
pub fn scratch(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "chat-tls-{}-{}-{what}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("make a scratch folder");
    dir
}

/// A self-signed certificate for `localhost` and 127.0.0.1, and its key,
/// written to `dir/NAME.crt` and `dir/NAME.key`: its own trust anchor, as
/// a certificate made for a LAN is.
pub fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("run openssl (install the openssl package)");
    assert!(made.success(), "openssl req failed");
    (cert, key)
}

/// The `--tls-cert` and `--tls-key` flags for `pair`.
pub fn flags(pair: &(PathBuf, PathBuf)) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        pair.0.display().to_string(),
        "--tls-key".into(),
        pair.1.display().to_string(),
    ]
}

/// The `client` binary with `--tls`: built here with the `tls` feature if
/// the one beside `chat` lacks it (a `cargo test` of this package alone).
pub fn tls_client() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = crate::bins::client_bin();
            let probe = Command::new(&path)
                .args(["--tls", "--tls-ca"])
                .output()
                .expect("run client");
            if String::from_utf8_lossy(&probe.stderr).contains("built without TLS") {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let status = Command::new(cargo)
                    .args(["build", "--package", "client", "--bin", "client"])
                    .args(["--features", "tls"])
                    .status()
                    .expect("run cargo build");
                assert!(status.success(), "cargo build --package client failed");
            }
            path
        })
        .clone()
}

/// A program talking to the server through pipes: what it prints comes
/// line by line, waited for with patience.
pub struct Talker {
    /// The program.
    pub child: Child,
    /// Its standard input, until closed.
    stdin: Option<ChildStdin>,
    /// The lines it prints.
    lines: Receiver<String>,
}

impl Talker {
    /// Starts `command` with its standard input and output piped.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the program");
        let stdout = child.stdout.take().expect("its stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Talker {
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    /// `openssl s_client` trusting `ca`, to `addr` as `localhost`.
    pub fn s_client(addr: std::net::SocketAddr, ca: &Path) -> Self {
        let mut command = Command::new("openssl");
        command
            .args(["s_client", "-quiet", "-verify_return_error"])
            .args(["-connect", &addr.to_string(), "-servername", "localhost"])
            .arg("-CAfile")
            .arg(ca);
        Self::start(command)
    }

    /// `ncat --ssl` trusting `ca`, to localhost at `addr`'s port.
    pub fn ncat(addr: std::net::SocketAddr, ca: &Path) -> Self {
        let mut command = Command::new("ncat");
        command
            .args(["--ssl", "--ssl-verify", "--ssl-trustfile"])
            .arg(ca)
            .args(["localhost", &addr.port().to_string()]);
        Self::start(command)
    }

    /// `client --tls` trusting `ca`, to `localhost` at `addr`'s port.
    pub fn client(addr: std::net::SocketAddr, ca: &Path) -> Self {
        let mut command = Command::new(tls_client());
        command
            .args(["--tls", "--tls-ca"])
            .arg(ca)
            .arg(format!("localhost:{}", addr.port()));
        Self::start(command)
    }

    /// Sends one line.
    pub fn say(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("standard input still open");
        writeln!(stdin, "{text}").expect("write to the program");
        stdin.flush().expect("flush to the program");
    }

    /// Closes its standard input.
    pub fn end_input(&mut self) {
        self.stdin = None;
    }

    /// The next line it prints.
    pub fn line(&mut self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("a line from the program in time")
    }

    /// Its greeting's name (`You are NAME`).
    pub fn greeted(&mut self) -> String {
        let line = self.line();
        line.strip_prefix("You are ")
            .unwrap_or_else(|| panic!("not a greeting: {line:?}"))
            .to_string()
    }

    /// Waits for `want`, the next line.
    pub fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want);
    }

    /// Waits for its output to end: `None` if it printed nothing more.
    pub fn rest(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => rest.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => return rest,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("output did not end in time"),
            }
        }
    }
}

impl Drop for Talker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
