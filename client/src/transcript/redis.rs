//! A `redis-server` of a script's own, for the scripts of several servers
//! (`set servers N`): on a free loopback port, nothing saved to disk,
//! killed when dropped. The servers under test join it with `--redis=URL`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait::try_eventually;

/// How long Redis may take to answer its first PING.
const STARTUP: Duration = Duration::from_secs(10);

/// Why a script of several servers is skipped when there is no Redis.
pub const MISSING: &str = "there is no redis-server in PATH (apt-get install redis-server)";

/// A running `redis-server`.
pub struct Redis {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl Redis {
    /// A fresh `redis-server`, answering: `Ok(None)` when there is none to
    /// run, `Err` when it would not start.
    pub fn start() -> Result<Option<Self>, String> {
        // A free port can be taken by someone else before Redis binds it:
        // then try another.
        for _ in 0..5 {
            let port = free_port()?;
            let dir = std::env::temp_dir().join(format!("transcript-redis-{port}"));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let spawned = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(format!("cannot run redis-server: {error}")),
            };
            let mut redis = Redis { port, dir, child };
            if redis.answers()? {
                return Ok(Some(redis));
            }
        }
        Err("redis-server did not start on any of 5 free ports".into())
    }

    /// `redis://127.0.0.1:PORT`, for `--redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Waits until Redis answers PING: false if it exited first (its port
    /// was taken).
    fn answers(&mut self) -> Result<bool, String> {
        let port = self.port;
        let child = &mut self.child;
        try_eventually("redis-server to answer PING", STARTUP, || {
            if let Ok(Some(_)) = child.try_wait() {
                return Some(false);
            }
            ping(port).then_some(true)
        })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether Redis at `port` answers `+PONG`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(STARTUP));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}
