//! `transcript`: snapshot tests of any line-based chat server. It plays
//! scripts of multi-client sessions (SCRIPTS.md) against the server, a
//! fresh one per script from `--server 'COMMAND {flags} {addr}'` or one
//! running at `--addr`, and compares what every client received with the
//! script's snapshot, as `hurl --test` does for HTTP and `trycmd` for
//! command lines. The engine is the `transcript` library of this package,
//! the one this repository's tests use.
//!
//! It goes on past failures: one verdict a script (`report`), judged
//! against its snapshot (`judge`), then one summary line. Exit status 0 if
//! nothing failed, 1 if something did, 2 for a usage error or a script
//! that does not parse: then nothing is played.

#![forbid(unsafe_code)]

mod args;
mod judge;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use transcript::launch::{AtAddress, FromCommand};
use transcript::script::{Script, Step};
use transcript::{Play, Servers};

use args::{Args, Asked, Target};
use judge::{Judging, Verdict};

fn main() -> ExitCode {
    match args::parse(std::env::args_os()) {
        Ok(Asked::Say(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Asked::Run(args)) => ExitCode::from(run(*args)),
        Err(why) => {
            eprintln!("transcript: {why}\n(transcript --help for the usage)");
            ExitCode::from(2)
        }
    }
}

/// Reads every script, then plays them; the exit status.
fn run(args: Args) -> u8 {
    let Some(scripts) = read_scripts(&args) else {
        return 2;
    };
    if args.list {
        for (path, script) in &scripts {
            println!("{}: {}", path.display(), transcript::flags::needs(script));
        }
        return 0;
    }
    let (servers, jobs): (Box<dyn Servers>, usize) = match args.target {
        Some(Target::Command(template)) => (Box::new(FromCommand { template }), args.jobs),
        // One server for all: its scripts must not meet.
        Some(Target::Address(addr)) => (Box::new(AtAddress { addr }), 1),
        None => return 2,
    };
    let judging = Judging {
        snapshots: args.snapshots,
        update: args.update,
        ci: args.ci,
    };
    let mut report = report::Report::new(args.color);
    let how = Playing {
        servers: servers.as_ref(),
        judging: &judging,
        timeout: args.timeout,
        verbose: args.verbose,
    };
    play_all(&scripts, jobs, &how, |path, verdict| {
        report.verdict(path, &verdict)
    });
    if report.summary() {
        0
    } else {
        1
    }
}

/// The scripts named (those `--filter` keeps), parsed; `None` once every
/// script that cannot be read or parsed has been said, on stderr, as
/// `FILE:LINE: what was expected`.
fn read_scripts(args: &Args) -> Option<Vec<(PathBuf, Script)>> {
    let mut scripts = Vec::new();
    let mut good = true;
    for path in &args.scripts {
        let name = path.file_name().map(|name| name.to_string_lossy());
        if let Some(pattern) = &args.filter {
            if !name.is_some_and(|name| name.contains(pattern.as_str())) {
                continue;
            }
        }
        let parsed = std::fs::read_to_string(path)
            .map_err(|error| format!("{}: {error}", path.display()))
            .and_then(|text| transcript::script::parse(&text).map_err(|why| located(path, &why)));
        match parsed {
            Ok(script) => scripts.push((path.clone(), script)),
            Err(why) => {
                eprintln!("transcript: {why}");
                good = false;
            }
        }
    }
    good.then_some(scripts)
}

/// A parse error, `line N: why`, as `FILE:N: why`.
fn located(path: &Path, why: &str) -> String {
    match why
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((line, rest)) => format!("{}:{line}: {rest}", path.display()),
        None => format!("{}: {why}", path.display()),
    }
}

/// What every script is played with.
struct Playing<'a> {
    servers: &'a dyn Servers,
    judging: &'a Judging,
    timeout: std::time::Duration,
    verbose: bool,
}

/// Plays the scripts, `jobs` at a time, and hands each verdict to `report`
/// in the scripts' order, as soon as those before it are in.
fn play_all(
    scripts: &[(PathBuf, Script)],
    jobs: usize,
    how: &Playing,
    mut report: impl FnMut(&Path, Verdict),
) {
    let next = AtomicUsize::new(0);
    let (done, verdicts) = mpsc::channel::<(usize, Verdict)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, scripts.len().max(1)) {
            let done = done.clone();
            let next = &next;
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, script)) = scripts.get(index) else {
                    break;
                };
                if done.send((index, play_one(path, script, how))).is_err() {
                    break;
                }
            });
        }
        drop(done);
        let mut waiting: Vec<Option<Verdict>> = scripts.iter().map(|_| None).collect();
        let mut shown = 0;
        for (index, verdict) in verdicts {
            waiting[index] = Some(verdict);
            while let Some(verdict) = waiting.get_mut(shown).and_then(Option::take) {
                report(&scripts[shown].0, verdict);
                shown += 1;
            }
        }
    });
}

/// One script, played and judged.
fn play_one(path: &Path, script: &Script, how: &Playing) -> Verdict {
    let name = path.display().to_string();
    let trace = |step: &Step| eprintln!("{name}:{}: {}", step.line, step.source);
    let play = Play {
        patience: how.timeout,
        trace: how.verbose.then_some(&trace as &(dyn Fn(&Step) + Sync)),
    };
    let outcome = transcript::play(script, how.servers, &play);
    judge::judge(path, outcome, how.judging)
}
