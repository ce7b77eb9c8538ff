//! The transcript tester's engine: scripts of multi-client sessions
//! (`tests/scripts/*.chat`, the language of SCRIPTS.md) played against
//! real servers over loopback, the protocol's invariants checked, and
//! what every client received rendered as a transcript to compare with a
//! snapshot.
//!
//! One engine for two callers: the `transcript` binary, which anyone runs
//! against any line-based chat server, and this repository's own tests
//! (`tests/transcripts.rs`), which start servers of their own through
//! [`Servers`]. So what CI checks is what users run. The `client` binary
//! does not use this library, and so does not link it.

#![forbid(unsafe_code)]

#[path = "transcript/cert.rs"]
pub mod cert;
#[path = "transcript/command.rs"]
pub mod command;
#[path = "transcript/diff.rs"]
pub mod diff;
#[path = "transcript/flags.rs"]
pub mod flags;
#[path = "transcript/launch.rs"]
pub mod launch;
#[path = "transcript/log.rs"]
mod log;
#[path = "transcript/redis.rs"]
pub mod redis;
#[path = "transcript/render.rs"]
pub mod render;
#[path = "transcript/run/mod.rs"]
pub mod run;
#[path = "transcript/script/mod.rs"]
pub mod script;
#[path = "transcript/snapshot.rs"]
pub mod snapshot;
#[path = "transcript/socket.rs"]
mod socket;
#[path = "transcript/tls.rs"]
mod tls;
#[path = "transcript/wait.rs"]
pub mod wait;
#[path = "transcript/web.rs"]
mod web;
#[path = "transcript/wire.rs"]
pub mod wire;

use std::time::Duration;

use script::{Script, Step};

/// Why a script that speaks TLS is skipped by a build without it.
pub const NO_TLS: &str = "it connects over TLS (set tls on), and this transcript was built \
                          without TLS (cargo build -p client --features tls)";

/// What became of a script that did not fail.
pub enum Outcome {
    /// Played, its invariants held: its transcript.
    Played(String),
    /// Not played: the servers cannot serve what it needs (why).
    Skipped(String),
}

/// A script that failed: why (the step and what went wrong), and the
/// transcript of what happened until then, if it got that far.
pub struct Failure {
    /// The step and what went wrong, or why the servers did not start.
    pub why: String,
    /// What every client had received when it failed.
    pub partial: Option<String>,
}

/// Starts, for each script, the servers it asks for.
pub trait Servers: Sync {
    /// The servers for `script`, started: `Ok(Err(why))` when they cannot
    /// serve it (the script is skipped), `Err` when they fail to start.
    fn start(&self, script: &Script) -> Result<Result<Box<dyn Running>, String>, String>;
}

/// A script's servers, running.
pub trait Running {
    /// Where each listens, `@1` first.
    fn addresses(&self) -> Vec<run::Server>;
    /// Stops them all; an error if one had died, or will not stop.
    fn stop(self: Box<Self>) -> Result<(), String>;
    /// If one has died: its exit status and last words, for a report.
    fn death(&mut self) -> Option<String> {
        None
    }
}

/// How scripts are played, beyond their servers.
pub struct Play<'a> {
    /// How long a client waits for a line it is owed (and a server to
    /// close): past it, the step fails.
    pub patience: Duration,
    /// Told each step as it is played.
    pub trace: Option<&'a (dyn Fn(&Step) + Sync)>,
}

impl Default for Play<'_> {
    fn default() -> Self {
        Play {
            patience: wire::DEFAULT_PATIENCE,
            trace: None,
        }
    }
}

/// Plays `script` against fresh servers from `servers` and returns its
/// transcript, after checking the protocol's invariants.
pub fn play(script: &Script, servers: &dyn Servers, how: &Play) -> Result<Outcome, Failure> {
    let failure = |why: String, partial: Option<String>| Failure { why, partial };
    if script.settings.tls && !cfg!(feature = "tls") {
        return Ok(Outcome::Skipped(NO_TLS.into()));
    }
    let mut running = match servers.start(script) {
        Ok(Ok(running)) => running,
        Ok(Err(why)) => return Ok(Outcome::Skipped(why)),
        Err(why) => return Err(failure(why, None)),
    };
    let options = run::Options {
        max_line: script
            .settings
            .max_line
            .unwrap_or(chat::config::DEFAULT_MAX_LINE_BYTES),
        patience: how.patience,
        trace: how.trace,
    };
    match run::play(script, running.addresses(), &options) {
        Ok(played) => {
            let transcript = render::render(&played);
            if let Err(why) = running.stop() {
                return Err(failure(why, Some(transcript)));
            }
            match render::check(&played) {
                Ok(()) => Ok(Outcome::Played(transcript)),
                Err(why) => Err(failure(why, Some(transcript))),
            }
        }
        Err(broken) => {
            let mut why = broken.why;
            if let Some(death) = running.death() {
                why = format!("{why}\n{death}");
            }
            Err(failure(why, Some(render::render(&broken.played))))
        }
    }
}
