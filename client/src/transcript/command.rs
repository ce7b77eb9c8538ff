//! Any chat server under test, started from a command:
//! `transcript --server 'COMMAND {addr}'` (or the tests' `CHAT_SERVER`).
//!
//! The scripts are a specification: anyone's server, the book's Go server
//! or an exercise solution, can be played against them. `{addr}` becomes a
//! free loopback address to listen on; `{flags}`, if the command has it,
//! becomes `chat`'s flags for the script's settings (`--names`,
//! `--max-line=10`, ...). A command without `{flags}` is taken to be a
//! book-mode server with no limits to set, and a script that needs a
//! setting is skipped, not played: reported, never counted as passed.
//!
//! A script with a client via web needs the server to serve the page, on
//! a second free loopback address: `{http}`, if the command has it,
//! becomes that address (for a server whose flag is not `chat`'s); else
//! `{flags}` carries `--http=ADDR`, as it carries `chat`'s other flags, so
//! that `chat {flags} {addr}` plays them all. A command with neither cannot
//! serve the page, and those scripts are skipped.
//!
//! A script of several servers (`set servers N`) starts the command N
//! times, each on its own address, with `--redis=URL` of a Redis of its
//! own in `{flags}`: `chat --redis`'s flag, as `{flags}` carries `chat`'s
//! others. A command without `{flags}` cannot join them, and those scripts
//! are skipped.
//!
//! A script that speaks TLS (`set tls on`) gives the command a certificate
//! made for it: `{flags}` carries `--tls-cert=FILE --tls-key=FILE`, and a
//! command without `{flags}` cannot be given them: those scripts are
//! skipped, as are those of a server that exits at once when given them
//! (a `chat` built without `--features tls`).

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::cert::Certificate;
use crate::log::Log;
use crate::script::Settings;
use crate::wait::try_eventually;

/// How long the server may take to start listening, and to stop.
const PATIENCE: Duration = Duration::from_secs(20);

/// The server under test, in a process group of its own (a `go run`
/// starts the server as its child), stopped with SIGTERM.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves the page, if it was given an address for it.
    pub page: Option<SocketAddr>,
    child: Child,
    /// The last lines of its standard error, for a report.
    log: Log,
}

impl Server {
    /// Starts the command for a script's `settings`, serving the page too
    /// if `web`, joined to the room of the Redis at `redis`, if given:
    /// `Ok(Err(why))` when the command cannot serve them, `Err` when it
    /// fails to start.
    pub fn start(
        template: &str,
        settings: &Settings,
        web: bool,
        redis: Option<&str>,
        tls: Option<&Certificate>,
    ) -> Result<Result<Self, String>, String> {
        let Planned {
            command,
            addr,
            page,
        } = match plan(template, settings, web, redis, tls)? {
            Ok(planned) => planned,
            Err(why) => return Ok(Err(why)),
        };
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {command}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|error| format!("cannot run {command:?}: {error}"))?;
        let log = Log::follow(child.stderr.take());
        let mut server = Server {
            addr,
            page: None,
            child,
            log,
        };
        if let Err(why) = server.wait_until_ready(&command, addr) {
            // A server that exits at once when given `chat`'s `--http` or
            // `--redis` cannot serve what the script needs (a `chat` built
            // without the feature says so, and exits): the script is
            // skipped, saying what the server said last.
            let exited = server.child.try_wait().ok().flatten().is_some();
            let needed = match (web && !template.contains("{http}"), redis.is_some()) {
                (true, true) => {
                    Some("--http and --redis for its clients via web on several servers")
                }
                (true, false) => Some("--http for its client via web"),
                (false, true) => Some("--redis for its several servers"),
                // A `chat` built without operators and manners refuses
                // their flags, and exits.
                _ if settings.operator_password.is_some() || settings.motd.is_some() => {
                    Some("--operator-password-file or --motd")
                }
                (false, false) => None,
            };
            let needed = match (needed, tls.is_some()) {
                (Some(needed), true) => Some(format!("{needed}, or --tls-cert for TLS")),
                (None, true) => Some("--tls-cert for its clients over TLS".to_string()),
                (needed, false) => needed.map(str::to_string),
            };
            return match (exited, needed) {
                (true, Some(needed)) => Ok(Err(format!(
                    "the server exited at once when given {needed}: {}",
                    why.lines().last().unwrap_or_default().trim()
                ))),
                _ => Err(why),
            };
        }
        if web {
            // Only a script that uses the page waits for it: a command
            // given `{http}` may ignore it.
            server.wait_until_ready(&command, page.expect("an address for the page"))?;
            server.page = page;
        }
        Ok(Ok(server))
    }

    /// Waits until the server accepts a connection at `addr`, then takes
    /// that connection out again completely (to its close), so that the
    /// script starts with nobody there. (The page's address gets no
    /// request, and so closes as the chat's does.)
    fn wait_until_ready(&mut self, command: &str, addr: SocketAddr) -> Result<(), String> {
        // A bounded wait for another program to start: nothing it sends
        // could tell us sooner.
        let what = format!("{command} to listen on {addr}");
        let probe = try_eventually(&what, PATIENCE, || {
            if let Ok(probe) = TcpStream::connect(addr) {
                return Some(Ok(probe));
            }
            match self.child.try_wait() {
                Ok(Some(status)) => Some(Err(format!(
                    "{command} exited with {status} before listening{}",
                    self.log.last_lines()
                ))),
                _ => None,
            }
        })
        .map_err(|why| format!("{why}{}", self.log.last_lines()))??;
        close_probe(probe)
            .map_err(|error| format!("{command}: the first connection never closed: {error}"))
    }

    /// Stops the server with SIGTERM and waits for it, for a bounded time.
    /// A server that had already exited is a failure: it died during the
    /// script. So is one that ends by another signal than the SIGTERM
    /// (a SIGKILL, a crash), which may have come just before it: its
    /// connections close before its exit can be seen.
    pub fn stop(mut self) -> Result<(), String> {
        if let Some(death) = self.death() {
            return Err(death);
        }
        self.signal(Signal::SIGTERM);
        let status = try_eventually("the server to stop after SIGTERM", PATIENCE, || {
            self.child.try_wait().ok().flatten()
        })?;
        use std::os::unix::process::ExitStatusExt;
        match status.signal() {
            Some(signal) if signal != Signal::SIGTERM as i32 => Err(format!(
                "the server exited with {status}{}",
                self.log.last_lines()
            )),
            _ => Ok(()),
        }
    }

    /// If the server has exited: its exit status and its last lines.
    pub fn death(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok().flatten()?;
        Some(format!(
            "the server exited with {status}{}",
            self.log.last_lines()
        ))
    }

    /// Sends `signal` to the server's process group.
    fn signal(&self, signal: Signal) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, signal);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A command line to run, and the addresses it was given.
struct Planned {
    command: String,
    addr: SocketAddr,
    page: Option<SocketAddr>,
}

/// The command line for a script's `settings` (see [`Server::start`]):
/// `Ok(Err(why))` when the command cannot serve them.
fn plan(
    template: &str,
    settings: &Settings,
    web: bool,
    redis: Option<&str>,
    tls: Option<&Certificate>,
) -> Result<Result<Planned, String>, String> {
    let mut flags = crate::flags::flags(settings);
    if let Some(pair) = tls {
        flags.extend(pair.flags());
    }
    if let Some(url) = redis {
        if !template.contains("{flags}") {
            return Ok(Err(format!(
                "it has {} servers joined through Redis, and the server command \
                 has no {{flags}} for --redis",
                settings.servers()
            )));
        }
        flags.push(format!("--redis={url}"));
    }
    let addr = free_address(None)?;
    // A command with `{http}` always gets an address there; `chat`'s
    // `--http` goes into `{flags}` only for a script that needs it.
    let page = if template.contains("{http}") {
        Some(free_address(Some(addr))?)
    } else if web && template.contains("{flags}") {
        let page = free_address(Some(addr))?;
        flags.push(format!("--http={page}"));
        Some(page)
    } else if web {
        return Ok(Err(
            "it has a client via web, and the server command has neither {http} nor \
             {flags} to say where to serve the page"
                .into(),
        ));
    } else {
        None
    };
    let flags = if template.contains("{flags}") {
        flags.join(" ")
    } else if flags.is_empty() {
        String::new()
    } else {
        return Ok(Err(format!(
            "it needs {} and the server command has no {{flags}}",
            flags.join(" ")
        )));
    };
    let mut command = template
        .replace("{addr}", &addr.to_string())
        .replace("{flags}", &flags);
    if let Some(page) = page {
        command = command.replace("{http}", &page.to_string());
    }
    Ok(Ok(Planned {
        command,
        addr,
        page,
    }))
}

/// Ends a connection made only to see the server listen: our side
/// half-closed, then read to the server's close.
fn close_probe(mut probe: TcpStream) -> std::io::Result<()> {
    probe.set_read_timeout(Some(PATIENCE))?;
    probe.shutdown(Shutdown::Write)?;
    probe.read_to_end(&mut Vec::new()).map(drop)
}

/// A loopback address nothing listens on right now, other than `taken`
/// (the chat's, when this one is for the page).
fn free_address(taken: Option<SocketAddr>) -> Result<SocketAddr, String> {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        if Some(addr) != taken {
            return Ok(addr);
        }
    }
}
