//! The command line of `transcript`, read into [`Args`]; a usage error is
//! one line, and exit status 2.

use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// The usage, for `--help` and after a usage error.
pub const USAGE: &str = "\
usage: transcript [OPTIONS] SCRIPT...

Plays each script against a chat server and compares what every client
received with the script's snapshot. One line per script, PASS, FAIL or
SKIP, then 'N passed, M failed, K skipped'. Exit status 0 if nothing
failed, 1 if something did, 2 for a usage error or a script that does
not parse.

  --server 'COMMAND {flags} {addr}'
                      a fresh server per script, from this command: {addr}
                      becomes a free loopback address to listen on, {flags}
                      the chat flags the script asks for (--names, ...),
                      {http} an address for the page
  --addr HOST:PORT    or one server already running there (loopback only;
                      scripts one at a time, those that ask nothing of it)
  --snapshots DIR     where the snapshots are (default: the snapshots/
                      folder nearest the scripts' folder)
  --update            a transcript that differs becomes the snapshot
  --ci                a missing snapshot is a failure (also with CI=true)
  --filter PATTERN    only the scripts whose file name contains PATTERN
  --jobs N            scripts played at once (default: the number of CPUs)
  --timeout DURATION  how long a client waits for a line it is owed
                      (default 20s; 500ms, 5s)
  --verbose           each step on stderr as it is played
  --list              the scripts and what each needs, not played
  --color WHEN        auto, always or never (NO_COLOR: never)
  -h, --help          this help
  -V, --version       the version";

/// What to play the scripts against.
pub enum Target {
    /// A fresh server per script, from this command template.
    Command(String),
    /// A server already running here.
    Address(SocketAddr),
}

/// Whether verdicts are coloured.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// The command line, read.
pub struct Args {
    pub scripts: Vec<PathBuf>,
    /// `None` only with `--list`.
    pub target: Option<Target>,
    pub snapshots: Option<PathBuf>,
    pub update: bool,
    pub ci: bool,
    pub filter: Option<String>,
    pub jobs: usize,
    pub timeout: Duration,
    pub verbose: bool,
    pub list: bool,
    pub color: Color,
}

/// What the command line asks for: a run, or something said at once.
pub enum Asked {
    Run(Box<Args>),
    /// `--help` or `--version`: this, on stdout, and exit 0.
    Say(String),
}

/// Reads the command line (`args`, the program's name first).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Asked, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_iter(args);
    let mut args = Args {
        scripts: Vec::new(),
        target: None,
        snapshots: None,
        update: false,
        ci: std::env::var("CI").is_ok_and(|value| value == "true" || value == "1"),
        filter: None,
        jobs: std::thread::available_parallelism().map_or(1, |count| count.get()),
        timeout: transcript::wire::DEFAULT_PATIENCE,
        verbose: false,
        list: false,
        color: Color::Auto,
    };
    let error = |error: lexopt::Error| error.to_string();
    while let Some(arg) = parser.next().map_err(error)? {
        match arg {
            Short('h') | Long("help") => return Ok(Asked::Say(USAGE.into())),
            Short('V') | Long("version") => {
                return Ok(Asked::Say(format!(
                    "transcript {}",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            Long("server") => {
                let template = value(&mut parser)?;
                if !template.contains("{addr}") {
                    return Err(format!(
                        "--server {template:?} has no {{addr}}, where the server is to listen"
                    ));
                }
                set_target(&mut args.target, Target::Command(template))?;
            }
            Long("addr") => set_target(
                &mut args.target,
                Target::Address(loopback(&value(&mut parser)?)?),
            )?,
            Long("snapshots") => args.snapshots = Some(value(&mut parser)?.into()),
            Long("update") => args.update = true,
            Long("ci") => args.ci = true,
            Long("filter") => args.filter = Some(value(&mut parser)?),
            Long("jobs") => {
                let text = value(&mut parser)?;
                args.jobs = text
                    .parse()
                    .ok()
                    .filter(|&jobs| jobs >= 1)
                    .ok_or_else(|| format!("bad --jobs {text:?}: a number, 1 or more"))?;
            }
            Long("timeout") => {
                let text = value(&mut parser)?;
                args.timeout = transcript::script::parse_duration(&text)
                    .ok()
                    .filter(|timeout| !timeout.is_zero())
                    .ok_or_else(|| format!("bad --timeout {text:?}: 500ms, 5s, ..."))?;
            }
            Long("verbose") => args.verbose = true,
            Long("list") => args.list = true,
            Long("color") => {
                args.color = match value(&mut parser)?.as_str() {
                    "auto" => Color::Auto,
                    "always" => Color::Always,
                    "never" => Color::Never,
                    other => return Err(format!("bad --color {other:?}: auto, always or never")),
                }
            }
            Value(script) => args.scripts.push(script.into()),
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    if args.scripts.is_empty() {
        return Err("no SCRIPT given".into());
    }
    if args.target.is_none() && !args.list {
        return Err("no server: --server 'COMMAND {flags} {addr}' or --addr HOST:PORT".into());
    }
    Ok(Asked::Run(Box::new(args)))
}

/// An option's value, as text.
fn value(parser: &mut lexopt::Parser) -> Result<String, String> {
    let value = parser.value().map_err(|error| error.to_string())?;
    value
        .into_string()
        .map_err(|value| format!("not UTF-8: {value:?}"))
}

/// Only one of `--server` and `--addr`.
fn set_target(target: &mut Option<Target>, new: Target) -> Result<(), String> {
    if target.replace(new).is_some() {
        return Err("one server only: --server or --addr, once".into());
    }
    Ok(())
}

/// `HOST:PORT`, which must be this machine: the tool connects to
/// loopback only.
fn loopback(text: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|error| format!("bad --addr {text:?}: {error}; expected HOST:PORT"))?
        .collect();
    match addrs.first() {
        Some(addr) if addrs.iter().all(|addr| addr.ip().is_loopback()) => Ok(*addr),
        _ => Err(format!(
            "--addr {text:?} is not a loopback address: only a server on this machine \
             (127.0.0.1, ::1, localhost) is played against"
        )),
    }
}
