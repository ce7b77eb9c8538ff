//! `transcript` as its users run it: real scripts, real snapshots in a
//! folder of the test's own, the real `chat` binary started per script
//! (or one running in this process, for `--addr`); its verdicts, summary
//! line, exit status and the files it writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A book-mode session: what any book server plays.
const BOOK: &str = "connect alice\nconnect bob\nalice: Hi!\nbob: Hi yourself.\n";

/// The `chat` binary beside `transcript`, built if it is not there yet.
fn chat_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = PathBuf::from(env!("CARGO_BIN_EXE_transcript")).with_file_name("chat");
            if !path.exists() {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let mut build = Command::new(cargo);
                build.args(["build", "--package", "chat", "--bin", "chat"]);
                if !cfg!(debug_assertions) {
                    build.arg("--release");
                }
                assert!(
                    build.status().expect("run cargo").success(),
                    "cargo build chat"
                );
            }
            path
        })
        .clone()
}

/// A fresh folder of scripts (`scripts/NAME.chat`, each with `text`) and
/// their snapshots (`snapshots/`, empty).
fn folder(test: &str, scripts: &[(&str, &str)]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("transcript-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    std::fs::create_dir_all(root.join("snapshots")).unwrap();
    for (name, text) in scripts {
        std::fs::write(root.join("scripts").join(name), text).unwrap();
    }
    root
}

/// Runs `transcript` in `root` with `args`, without `CI` or colours from
/// the environment.
fn transcript(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_transcript"))
        .args(args)
        .current_dir(root)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .output()
        .expect("run transcript")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `--server` for the built `chat`, without `{flags}`: a book server with
/// nothing to set.
fn book_server() -> String {
    format!("{} {{addr}}", chat_bin().display())
}

#[test]
fn each_script_has_a_verdict_then_one_summary_line() {
    let root = folder(
        "verdicts",
        &[
            ("a.chat", BOOK),
            ("b.chat", BOOK),
            ("c.chat", "set mode names\nconnect alice\n"),
        ],
    );
    let server = book_server();
    let scripts = ["scripts/a.chat", "scripts/b.chat", "scripts/c.chat"];
    let run = |extra: &[&str]| {
        let mut args = vec!["--server", &server];
        args.extend_from_slice(extra);
        args.extend_from_slice(&scripts);
        transcript(&root, &args)
    };
    // No snapshots yet, out of CI: written, passed.
    let first = run(&[]);
    let out = stdout(&first);
    assert_eq!(first.status.code(), Some(0), "{out}");
    assert!(
        out.starts_with("PASS scripts/a.chat (new snapshot "),
        "{out}"
    );
    assert!(
        out.contains("SKIP scripts/c.chat: it needs --names and the server command has no {flags}"),
        "{out}"
    );
    assert!(out.ends_with("\n2 passed, 0 failed, 1 skipped\n"), "{out}");
    let snap = root.join("snapshots/scripts@b.chat.snap");
    let good = std::fs::read_to_string(&snap).expect("b's snapshot");
    assert!(good.contains("\n  bob   < alice: Hi!\n"), "{good}");

    // A wrong snapshot: FAIL with the difference, a .snap.new, exit 1,
    // and the scripts after it still played.
    let wrong = good.replace("  bob   < alice: Hi!", "  bob   < alice: Hello!");
    std::fs::write(&snap, wrong).unwrap();
    let second = run(&["--ci"]);
    let out = stdout(&second);
    assert_eq!(second.status.code(), Some(1), "{out}");
    assert!(out.contains("\nFAIL scripts/b.chat\n"), "{out}");
    assert!(out.contains("wanted: \"alice: Hello!\"\n"), "{out}");
    assert!(out.contains("got:    \"alice: Hi!\"\n"), "{out}");
    assert!(
        out.contains("\n  -  bob   < alice: Hello!\n  +  bob   < alice: Hi!\n"),
        "{out}"
    );
    assert!(out.ends_with("\n1 passed, 1 failed, 1 skipped\n"), "{out}");
    let new = root.join("snapshots/scripts@b.chat.snap.new");
    assert_eq!(std::fs::read_to_string(&new).expect("a .snap.new"), good);

    // --update accepts it, and the .snap.new goes.
    let third = run(&["--update"]);
    assert_eq!(third.status.code(), Some(0), "{}", stdout(&third));
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), good);
    assert!(!new.exists());

    // In CI a missing snapshot is a failure.
    std::fs::remove_file(root.join("snapshots/scripts@a.chat.snap")).unwrap();
    let fourth = run(&["--ci"]);
    let out = stdout(&fourth);
    assert_eq!(fourth.status.code(), Some(1), "{out}");
    assert!(
        out.starts_with("FAIL scripts/a.chat\n  no snapshot "),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_script_that_does_not_parse_is_a_usage_error_and_nothing_is_played() {
    let root = folder(
        "parse",
        &[("ok.chat", BOOK), ("bad.chat", "connect a\nfrob a\n")],
    );
    let output = transcript(
        &root,
        &[
            "--server",
            &book_server(),
            "scripts/ok.chat",
            "scripts/bad.chat",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("scripts/bad.chat:2: unknown step \"frob\""),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn only_a_loopback_address_is_played_against() {
    let root = folder(
        "addr",
        &[("a.chat", BOOK), ("n.chat", "set mode names\nconnect a\n")],
    );
    let refused = transcript(&root, &["--addr", "192.0.2.1:8000", "scripts/a.chat"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not a loopback address"), "{stderr}");

    let addr = common::start_server(false).to_string();
    let played = transcript(
        &root,
        &["--addr", &addr, "scripts/a.chat", "scripts/n.chat"],
    );
    let out = stdout(&played);
    assert_eq!(played.status.code(), Some(0), "{out}");
    assert!(
        out.contains("SKIP scripts/n.chat: it needs --names"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 0 failed, 1 skipped\n"), "{out}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_server_that_dies_fails_its_script_and_the_next_still_runs() {
    // The server kills itself soon after it starts; the idle timeout
    // keeps the script waiting far longer.
    let idle = "set idle-timeout 2s\nconnect alice\nwait-closed alice\n";
    let root = folder("dies", &[("a.chat", idle), ("b.chat", BOOK)]);
    let dying = format!(
        "sh -c '(sleep 0.2; kill -9 $$) & exec {} {{flags}} $0' {{addr}}",
        chat_bin().display()
    );
    let died = transcript(&root, &["--server", &dying, "scripts/a.chat"]);
    let out = stdout(&died);
    assert_eq!(died.status.code(), Some(1), "{out}");
    assert!(out.starts_with("FAIL scripts/a.chat\n"), "{out}");
    assert!(out.contains("exited with signal: 9"), "{out}");
    let next = transcript(
        &root,
        &[
            "--server",
            &book_server(),
            "--jobs",
            "1",
            "scripts/a.chat",
            "scripts/b.chat",
        ],
    );
    let out = stdout(&next);
    assert!(
        out.contains("SKIP scripts/a.chat: it needs --idle-timeout=2000ms"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 0 failed, 1 skipped\n"), "{out}");

    let failing = transcript(
        &root,
        &[
            "--server",
            "sh -c 'echo no such port >&2; exit 3' {addr}",
            "scripts/b.chat",
        ],
    );
    let out = stdout(&failing);
    assert_eq!(failing.status.code(), Some(1), "{out}");
    assert!(
        out.contains("exited with exit status: 3 before listening"),
        "{out}"
    );
    assert!(out.contains("\n      no such port\n"), "{out}");
    let _ = std::fs::remove_dir_all(&root);
}
