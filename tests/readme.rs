//! The README's examples, played: its two-terminal sessions (`nc` in book
//! mode, `client --name` in names mode) and its example script. Each block
//! follows an HTML comment naming this file, and is read from README.md as
//! it stands, so the README cannot drift from what the server does. And
//! what a newcomer reads first, checked: the set-up builds what the README
//! runs, the usage line names the flags, one figure for the binary's size,
//! and PROTOCOL.md's table of contents.

mod common;

#[path = "common/bins.rs"]
mod bins;

mod transcript;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

use bins::{client_bin, netcat, ChatProcess};
use common::PATIENCE;

/// The README, as the test was built with it.
const README: &str = include_str!("../README.md");

/// The lines of the fenced block right after the line `marker`.
fn block_after(marker: &str) -> Vec<&'static str> {
    let mut lines = README.lines().skip_while(|line| *line != marker);
    assert!(lines.next().is_some(), "README.md has no line {marker:?}");
    let fence = lines.next().unwrap_or_default();
    assert!(fence.starts_with("```"), "no fenced block after {marker:?}");
    lines.take_while(|line| !line.starts_with("```")).collect()
}

#[test]
fn the_example_script_plays() {
    let script = block_after("<!-- tests/readme.rs plays this script: keep it true -->").join("\n");
    let outcome =
        transcript::transcript(&script).unwrap_or_else(|why| panic!("README's script: {why}"));
    let transcript = match outcome {
        transcript::Outcome::Played(transcript) => transcript,
        transcript::Outcome::Skipped(why) => {
            common::skips::skipped("the README's script", &why);
            return;
        }
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("readme-script", transcript));
}

/// One terminal of the session: `nc` with its input and output.
struct Terminal {
    child: Child,
    input: Option<ChildStdin>,
    /// Lines of its output, read by a thread so a wait can time out.
    output: mpsc::Receiver<String>,
}

impl Terminal {
    /// Runs the README's command line (`$ nc -N localhost 8000`, `$ client
    /// --name alice localhost:8000`) against the server's port.
    fn start(command: &str, port: u16) -> Self {
        let words: Vec<&str> = command.split_whitespace().collect();
        let program = match words.first() {
            Some(&"nc") => netcat(),
            Some(&"target/release/client") => client_bin(),
            _ => panic!("only nc and target/release/client sessions: {command}"),
        };
        let mut child = Command::new(program)
            .args(
                words[1..]
                    .iter()
                    .map(|word| word.replace("8000", &port.to_string())),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nc");
        let stdout = BufReader::new(child.stdout.take().expect("nc's output"));
        let (lines, output) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Terminal {
            input: child.stdin.take(),
            child,
            output,
        }
    }

    /// The next line it prints, or `None` once its output has ended.
    fn next_line(&self) -> Option<String> {
        match self.output.recv_timeout(PATIENCE) {
            Ok(line) => Some(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("nothing for {PATIENCE:?}"),
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` with each address shown in the README replaced by the real one,
/// in one pass (a real address may happen to be another's README one).
fn with_real_addresses(text: &str, addresses: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (shown, real) in addresses {
            if let Some(after) = rest.strip_prefix(shown.as_str()) {
                out.push_str(real);
                rest = after;
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        out.extend(chars.next());
        rest = chars.as_str();
    }
    out
}

/// Plays the session row by row: in each row, what is typed first (a
/// command starts `nc` or `client`, `^D` ends its input, other text is a
/// line typed), then what each terminal must print next, with the README's
/// addresses standing for the real ones. At the end each terminal must
/// print nothing more and exit by itself once its input has ended.
fn play_session(marker: &str, server_flags: &[&str]) {
    let rows = block_after(marker);
    let column = rows
        .iter()
        .filter_map(|row| row.rfind("$ "))
        .find(|&at| at > 0)
        .expect("a command in the right column");
    let server = ChatProcess::start_on("localhost:0", server_flags);
    let port = server.addr.port();
    // The names the session's clients give (`--name NAME`).
    let names: Vec<&str> = rows
        .iter()
        .flat_map(|row| {
            row.split_whitespace()
                .skip_while(|word| *word != "--name")
                .nth(1)
        })
        .collect();

    let mut terminals: [Option<Terminal>; 2] = [None, None];
    // The README's address of each client -> its real one.
    let mut addresses: HashMap<String, String> = HashMap::new();
    let is_printed = |text: &str| is_printed(text, &names);
    for row in &rows {
        // A command on the left may be longer than its column.
        let (left, right) = if row.starts_with("$ ") {
            (*row, "")
        } else {
            row.split_at(row.len().min(column))
        };
        let parts = [left.trim(), right.trim()];
        for (side, part) in parts.iter().enumerate() {
            if let Some(command) = part.strip_prefix("$ ") {
                terminals[side] = Some(Terminal::start(command, port));
            } else if *part == "^D" {
                let terminal = terminals[side].as_mut().expect("a started terminal");
                drop(terminal.input.take());
            } else if !part.is_empty() && !is_printed(part) {
                let terminal = terminals[side].as_mut().expect("a started terminal");
                let input = terminal.input.as_mut().expect("input still open");
                input.write_all(format!("{part}\n").as_bytes()).unwrap();
                input.flush().unwrap();
            }
        }
        let printed: Vec<(&str, String)> = (0..2)
            .filter(|&side| is_printed(parts[side]))
            .map(|side| {
                let terminal = terminals[side].as_ref().expect("a started terminal");
                let got = terminal
                    .next_line()
                    .unwrap_or_else(|| panic!("the client ended before {:?}", parts[side]));
                (parts[side], got)
            })
            .collect();
        for (part, got) in &printed {
            if let (Some(shown), Some(real)) =
                (part.strip_prefix("You are "), got.strip_prefix("You are "))
            {
                addresses.insert(shown.to_string(), real.to_string());
            }
        }
        for (part, got) in printed {
            assert_eq!(
                got,
                with_real_addresses(part, &addresses),
                "README row {row:?}"
            );
        }
    }
    assert_eq!(addresses.len(), 2, "both terminals greeted");
    for terminal in terminals.iter_mut().flatten() {
        drop(terminal.input.take());
        assert_eq!(terminal.next_line(), None, "nothing more");
        assert!(terminal.child.wait().expect("wait").success());
    }
}

/// Whether a line of the session is one the server sent (rather than one
/// typed): a greeting, a list of who is here, or a line that starts with
/// an address or one of the session's `names`.
fn is_printed(text: &str, names: &[&str]) -> bool {
    const SERVER_LINES: [&str; 5] = [
        "You are ",
        "Nobody else is here",
        "Also here: ",
        "Here: ",
        "* ",
    ];
    SERVER_LINES.iter().any(|start| text.starts_with(start))
        || text.starts_with(|c: char| c.is_ascii_digit())
        || names.iter().any(|name| {
            text.strip_prefix(name).is_some_and(|rest| {
                [": ", " has ", " -> ", " is now "]
                    .iter()
                    .any(|after| rest.starts_with(after))
            })
        })
}

/// The set-up is two commands, and the first builds everything the
/// README then runs: `cargo build --release` builds `chat` and `client`
/// (the workspace's default members), and every command of the README's
/// shell blocks and sessions runs them from `target/release/`, as built.
#[test]
fn the_set_up_builds_what_the_readme_runs() {
    let set_up = block_after("<!-- tests/readme.rs checks these two commands: keep them two -->");
    assert_eq!(set_up.len(), 2, "{set_up:?}");
    assert!(
        set_up[0].starts_with("cargo build --release && target/release/chat "),
        "{set_up:?}"
    );
    // In a shell block every line is commands; in a text block (a
    // session, the synopsis) only what follows a `$` prompt is.
    let mut shell = None;
    for line in README.lines() {
        if let Some(kind) = line.strip_prefix("```") {
            shell = shell.is_none().then_some(kind == "sh");
            continue;
        }
        let Some(shell) = shell else { continue };
        let words: Vec<&str> = line.split_whitespace().collect();
        for (at, word) in words.iter().enumerate() {
            let after = at.checked_sub(1).map(|before| words[before]);
            let runs = match after {
                None => shell,
                Some(before) => before == "$" || (shell && ["|", "&&"].contains(&before)),
            };
            assert!(
                !(runs && matches!(*word, "chat" | "client")),
                "README runs a bare {word:?}, not target/release/{word}: {line:?}"
            );
        }
    }
}

#[test]
fn the_session_with_nc_is_what_nc_shows() {
    play_session(
        "<!-- tests/readme.rs plays this session with nc: keep it true -->",
        &[],
    );
}

#[test]
fn the_names_session_is_what_client_shows() {
    play_session(
        "<!-- tests/readme.rs plays this session with client: keep it true -->",
        &["--names"],
    );
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, each
/// space a `-`.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// PROTOCOL.md opens with a table of contents that lists every section
/// (`## `), and whose every link leads to a heading.
#[test]
fn protocol_md_has_a_table_of_contents() {
    const PROTOCOL: &str = include_str!("../PROTOCOL.md");
    let headings: Vec<&str> = PROTOCOL
        .lines()
        .filter_map(|line| line.strip_prefix("## ").or(line.strip_prefix("### ")))
        .collect();
    let contents: Vec<(&str, &str)> = PROTOCOL
        .lines()
        .skip_while(|line| *line != "Contents:")
        .skip(2)
        .take_while(|line| line.trim_start().starts_with("- ["))
        .filter_map(|line| {
            let (title, link) = line.trim_start().strip_prefix("- [")?.split_once("](#")?;
            Some((title, link.strip_suffix(')')?))
        })
        .collect();
    for (title, link) in &contents {
        assert!(headings.contains(title), "no heading {title:?}");
        assert_eq!(*link, anchor(title), "the link of {title:?}");
    }
    for section in PROTOCOL.lines().filter_map(|line| line.strip_prefix("## ")) {
        assert!(
            contents.iter().any(|(title, _)| *title == section),
            "PROTOCOL.md's contents miss {section:?}"
        );
    }
}

/// The README's usage line names every flag of `chat --help` but the
/// limits (its OPTIONS, in their own table) and `--help` and `--version`
/// (which the text after it names).
#[test]
fn the_usage_line_names_every_flag_but_the_limits() {
    const HELP: &str = include_str!("../src/usage.txt");
    let usage = README
        .lines()
        .skip_while(|line| *line != "## Usage")
        .find(|line| line.starts_with("chat "))
        .expect("a usage line for chat");
    let mut limits = false;
    for line in HELP.lines() {
        if line.starts_with("Limits") || line == "Options:" {
            limits = line != "Options:";
        }
        let flag = line
            .split_whitespace()
            .find(|word| word.starts_with("--"))
            .filter(|_| line.trim_start().starts_with('-'));
        if let Some(flag) = flag.filter(|flag| !["--help", "--version"].contains(flag)) {
            if !limits {
                assert!(
                    usage.contains(flag),
                    "the usage line misses {flag}: {usage}"
                );
            }
        }
    }
}

/// The default binary's size is given in one form, the bytes measured in
/// the Performance table, wherever the README gives it: there, beside the
/// page's cost, and with the static binary.
#[test]
fn the_default_binarys_size_is_one_figure() {
    let row = README
        .lines()
        .find(|line| line.starts_with("| binary |"))
        .expect("the binary row of the Performance table");
    let figure = row
        .split("`chat` ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("`chat` N bytes in the binary row");
    let text = README.split_whitespace().collect::<Vec<_>>().join(" ");
    for place in [
        format!("stripped binary from {figure} bytes"),
        format!("gives a `chat` of {figure} bytes"),
    ] {
        assert!(text.contains(&place), "the README does not say {place:?}");
    }
}
