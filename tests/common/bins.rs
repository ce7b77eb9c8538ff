//! The built `chat` and `client` binaries, run as processes.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::OnceLock;

/// The `chat` binary cargo built for these tests.
pub fn chat_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chat"))
}

/// The `client` binary of the workspace, next to `chat`. `cargo test
/// --workspace` has built it already; a narrower `cargo test` builds it here.
pub fn client_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = chat_bin().with_file_name("client");
            if !path.exists() {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let mut build = Command::new(cargo);
                build.args(["build", "--package", "client", "--bin", "client"]);
                if !cfg!(debug_assertions) {
                    build.arg("--release");
                }
                let status = build.status().expect("run cargo build");
                assert!(status.success(), "cargo build --package client failed");
            }
            path
        })
        .clone()
}

/// The `chat` binary serving on a free loopback port, killed when dropped.
pub struct ChatProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The process.
    pub child: Child,
    /// Its log before the `listening on` line.
    pub early_log: Vec<String>,
    /// Its log, after the `listening on` line.
    pub stderr: BufReader<ChildStderr>,
}

impl ChatProcess {
    /// Starts `chat 127.0.0.1:0` with `extra` flags, and learns its port
    /// from its first log line.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", extra)
    }

    /// Starts `chat ADDR` with `extra` flags; ADDR's port should be 0.
    pub fn start_on(addr: &str, extra: &[&str]) -> Self {
        Self::spawn(Command::new(chat_bin()), extra, addr)
    }

    /// Starts `chat ADDR` in a network namespace of its own, where the only
    /// interface is loopback: `chat :0` listens on every interface, and
    /// there every interface is loopback. Needs root (or user namespaces)
    /// for `unshare`; `ip` brings the namespace's loopback up.
    pub fn start_in_own_network(addr: &str, extra: &[&str]) -> Self {
        let mut command = Command::new("unshare");
        command
            .args([
                "--net",
                "--",
                "sh",
                "-c",
                r#"ip link set lo up && exec "$@""#,
                "sh",
            ])
            .arg(chat_bin());
        Self::spawn(command, extra, addr)
    }

    /// `program`, run in the server's network namespace (see
    /// [`start_in_own_network`](Self::start_in_own_network)).
    pub fn in_its_network(&self, program: &str) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net=/proc/{}/ns/net", self.child.id()))
            .arg("--")
            .arg(program);
        command
    }

    /// Starts `chat` under `prlimit`, with at most `files` file descriptors.
    pub fn start_with_fd_limit(files: u32, extra: &[&str]) -> Self {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={files}:{files}"))
            .arg(chat_bin());
        Self::spawn(command, extra, "127.0.0.1:0")
    }

    fn spawn(mut command: Command, extra: &[&str], addr: &str) -> Self {
        let mut child = command
            .args(extra)
            .arg(addr)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut early_log = Vec::new();
        let addr = loop {
            let mut line = String::new();
            stderr.read_line(&mut line).expect("read chat's log");
            if let Some(addr) = line.trim_end().strip_prefix("chat: listening on ") {
                break addr.parse().expect("an address in the log line");
            }
            assert!(
                !line.is_empty(),
                "chat ended without listening; its log: {early_log:?}"
            );
            early_log.push(line);
        };
        ChatProcess {
            addr,
            child,
            early_log,
            stderr,
        }
    }
}

impl ChatProcess {
    /// The most memory the server has held so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// Starts the server's peak memory (VmHWM) again from what it holds
    /// now, so that a later peak is that of what follows.
    pub fn reset_peak_rss(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("reset the server's peak RSS (needs /proc/PID/clear_refs)");
    }

    /// The memory the server holds now (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// A `kB` figure of the server's /proc status.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("a {field} line"))
    }

    /// Sends SIGTERM and waits, for a bounded time, for the server to exit;
    /// returns its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.terminate_keep_log()
    }

    /// As [`terminate`](Self::terminate), keeping the process's log readable.
    pub fn terminate_keep_log(&mut self) -> std::process::ExitStatus {
        self.signal_with(rustix::process::Signal::TERM)
    }

    /// Sends `signal` and waits, for a bounded time, for the server to exit.
    pub fn signal_with(&mut self, signal: rustix::process::Signal) -> std::process::ExitStatus {
        self.send(signal);
        self.wait_for_exit()
    }

    /// Sends SIGTERM twice: the second must stop the server at once.
    pub fn terminate_twice(mut self) -> std::process::ExitStatus {
        self.send(rustix::process::Signal::TERM);
        // The first signal is being handled once the server says so.
        let mut line = String::new();
        while !line.contains("shutting down") {
            line.clear();
            let read = self.stderr.read_line(&mut line).expect("read chat's log");
            assert!(
                read > 0,
                "chat's log ended before it said it was shutting down"
            );
        }
        self.send(rustix::process::Signal::TERM);
        self.wait_for_exit()
    }

    /// Sends `signal` to the server, and returns at once (SIGSTOP and
    /// SIGCONT, say).
    pub fn send(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a pid");
        rustix::process::kill_process(pid, signal).expect("send the signal");
    }

    /// Waits, for a bounded time, for the server to exit: a process's exit
    /// says nothing on its way, so it is polled.
    fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        crate::common::eventually(
            "chat to exit after the signal",
            std::time::Duration::from_secs(20),
            || self.child.try_wait().expect("wait for chat"),
        )
    }
}

impl Drop for ChatProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The system's netcat, OpenBSD's (the tests need its `-N`, which ends the
/// connection at the end of input), or a panic that says what to install.
pub fn netcat() -> PathBuf {
    netcat_in(&std::env::var_os("PATH").unwrap_or_default())
}

/// [`netcat`], looked up in the directories of `path`.
pub fn netcat_in(path: &std::ffi::OsStr) -> PathBuf {
    let missing = "these tests talk to the server with OpenBSD's netcat: \
                   install netcat-openbsd (apt-get install netcat-openbsd)";
    let found = std::env::split_paths(path)
        .map(|dir| dir.join("nc"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("no nc in PATH; {missing}"));
    let help = Command::new(&found)
        .arg("-h")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}; {missing}", found.display()));
    let text = String::from_utf8_lossy(&help.stderr) + String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("-N"),
        "{} has no -N option; {missing}",
        found.display()
    );
    found
}

/// Ends the server with SIGTERM and checks that it exits cleanly, after
/// checking its peak memory against `max_mib`.
pub fn finish(chat: ChatProcess, max_mib: u64) {
    let peak = chat.peak_rss_kib();
    eprintln!("peak RSS of chat: {} KiB (bound {max_mib} MiB)", peak);
    assert!(
        peak < max_mib * 1024,
        "the server's peak RSS was {} MiB, over the {max_mib} MiB bound",
        peak / 1024
    );
    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status} after SIGTERM");
}
