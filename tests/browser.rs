#![cfg(feature = "web")]
//! The page of `chat --http` in a real browser: Debian's Chromium, headless,
//! driven by Playwright (tests/browser/run.mjs), against the real `chat`
//! binary, with TCP clients in the same room. What a person does, the
//! browser does: it types into the input and presses Enter; what it sees,
//! the test checks, line by line and kind by kind, as render.rs would show
//! them at a terminal.
//!
//! It needs `node`, Chromium and `npm ci --prefix tests/browser`. Without
//! them it is skipped, saying so, unless `CHAT_REQUIRE_BROWSER=1` (CI's
//! setting), where it fails saying what to install.

mod common;

#[path = "common/bins.rs"]
mod bins;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bins::ChatProcess;
use common::{Peer, PATIENCE};

/// How long the driver may take to answer a command: its own waits are
/// bounded by [`PATIENCE`]; this adds room for Playwright's own work.
const ANSWER: Duration = Duration::from_secs(PATIENCE.as_secs() + 20);

/// Starting Chromium takes longer on a cold, loaded machine.
const LAUNCH: Duration = Duration::from_secs(90);

/// The directory of the Node side.
fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The Chromium to drive: `CHAT_CHROMIUM`, or Debian's.
fn chromium() -> PathBuf {
    std::env::var_os("CHAT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// What is missing to run the browser, if anything.
fn missing() -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Some("no `node` in PATH (Node.js 20 or later, and npm)".into());
    }
    if !driver_dir().join("node_modules/playwright-core").is_dir() {
        return Some("no tests/browser/node_modules (npm ci --prefix tests/browser)".into());
    }
    let chromium = chromium();
    if !chromium.is_file() {
        return Some(format!(
            "no Chromium at {} (apt-get install chromium, or set CHAT_CHROMIUM)",
            chromium.display()
        ));
    }
    None
}

/// The browser, through its driver: one Node process, one Chromium.
struct Browser {
    child: Child,
    input: ChildStdin,
    /// The driver's answers, a line each, read by a thread so that a wait
    /// can time out.
    answers: mpsc::Receiver<String>,
}

impl Browser {
    /// The browser, or `None` (the test skipped) when something it needs
    /// is missing and `CHAT_REQUIRE_BROWSER` is not `1`.
    fn launch() -> Option<Self> {
        if let Some(what) = missing() {
            let required = std::env::var("CHAT_REQUIRE_BROWSER").is_ok_and(|value| value == "1");
            assert!(
                !required,
                "CHAT_REQUIRE_BROWSER=1 but the browser test cannot run: {what}"
            );
            common::skips::skipped(
                "the browser test",
                &format!("{what}; set CHAT_REQUIRE_BROWSER=1 to make this a failure"),
            );
            return None;
        }
        let mut child = Command::new("node")
            .arg(driver_dir().join("run.mjs"))
            .env("CHAT_CHROMIUM", chromium())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node tests/browser/run.mjs");
        let input = child.stdin.take().expect("the driver's input");
        let output = BufReader::new(child.stdout.take().expect("the driver's output"));
        let (send, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in output.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut browser = Browser {
            child,
            input,
            answers,
        };
        browser.ask_within(LAUNCH, &["launch"]);
        Some(browser)
    }

    /// Has the driver do `command` (its words); its result's words.
    fn ask(&mut self, command: &[&str]) -> Vec<String> {
        self.ask_within(ANSWER, command)
    }

    fn ask_within(&mut self, patience: Duration, command: &[&str]) -> Vec<String> {
        for word in command {
            assert!(
                !word.contains(['\t', '\n']),
                "a command's words have no tab or newline: {word:?}"
            );
        }
        writeln!(self.input, "{}", command.join("\t"))
            .and_then(|()| self.input.flush())
            .expect("send a command to the browser's driver");
        let answer = match self.answers.recv_timeout(patience) {
            Ok(answer) => answer,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("the browser's driver did not answer {command:?} within {patience:?}")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the browser's driver ended (its stderr is above) at {command:?}")
            }
        };
        let mut words = answer.split('\t').map(String::from);
        match words.next().as_deref() {
            Some("ok") => words.collect(),
            Some("fail") => panic!(
                "browser, at {command:?}: {}",
                words.collect::<Vec<_>>().join(" ")
            ),
            _ => panic!("the browser's driver answered {command:?} with {answer:?}"),
        }
    }

    /// Opens a fresh page at `url`, checking it came with its policy.
    fn open(&mut self, url: &str) {
        let csp = self.ask(&["open", url]).join(" ");
        assert!(
            csp.starts_with("default-src 'none'"),
            "the page's Content-Security-Policy: {csp}"
        );
    }

    /// Checks that the page's next line has `kind` (its class) and shows
    /// exactly `text`.
    fn expect(&mut self, kind: &str, text: &str) {
        let (got_kind, got_text) = self.line();
        assert_eq!(
            (got_kind.as_str(), got_text.as_str()),
            (kind, text),
            "the page's next line (kind, text)"
        );
    }

    /// The page's next line: its kind and its text.
    fn line(&mut self) -> (String, String) {
        match &self.ask(&["line"])[..] {
            [kind, text] => (kind.clone(), text.clone()),
            other => panic!("a line as kind and text: {other:?}"),
        }
    }

    /// Types `text` into the page's input, and presses Enter.
    fn type_line(&mut self, text: &str) {
        self.ask(&["type", text]);
    }

    /// One word of an answer.
    fn word(&mut self, command: &[&str]) -> String {
        self.ask(command).concat()
    }

    /// Checks that the page logged no error (a policy violation, an
    /// exception) since it opened.
    fn no_errors(&mut self) {
        let errors = self.ask(&["errors"]);
        assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `chat --http 127.0.0.1:0` on a free loopback port, with `flags`; and
/// its page's URL, from its log.
fn start_chat(flags: &[&str]) -> (ChatProcess, String) {
    let mut args = vec!["--http", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    let mut chat = ChatProcess::start(&args);
    // Logged right after the chat's own address.
    let mut line = String::new();
    chat.stderr.read_line(&mut line).expect("read chat's log");
    let url = line
        .trim_end()
        .strip_prefix("chat: the page is at ")
        .unwrap_or_else(|| panic!("chat's log names the page's URL next: {line:?}"))
        .to_string();
    (chat, url)
}

/// Where the test's screenshots go: under target/, never into the repo.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).expect("create target/browser");
    dir
}

#[test]
fn the_page_in_a_browser() {
    let started = Instant::now();
    let Some(mut browser) = Browser::launch() else {
        return;
    };
    book_mode(&mut browser);
    names_mode(&mut browser);
    let _ = writeln!(
        std::io::stderr(),
        "the browser test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The book's room: the page is a client like `nc`, named by its address.
fn book_mode(browser: &mut Browser) {
    let (chat, url) = start_chat(&[]);
    let mut peer = Peer::connect(chat.addr);
    browser.open(&url);
    let (kind, greeting) = browser.line();
    assert_eq!(kind, "notice", "{greeting}");
    let me = greeting
        .strip_prefix("You are 127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("the page's first line is a greeting: {greeting:?}"));
    peer.expect(&format!("{me} has arrived"));
    assert_eq!(browser.word(&["placeholder"]), "A line, then Enter");

    browser.type_line("hello from a browser");
    peer.expect(&format!("{me}: hello from a browser"));
    browser.expect("own", &format!("{me}: hello from a browser"));
    peer.say("hello, browser");
    peer.expect(&format!("{}: hello, browser", peer.name));
    browser.expect("other", &format!("{}: hello, browser", peer.name));
    // Gone first, so that the shutdown has no TCP client to wait for.
    let gone = peer.name.clone();
    drop(peer);
    browser.expect("notice", &format!("{gone} has left"));
    browser.no_errors();

    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status}");
}

/// Names mode: the page is asked its name, talks with a TCP client, shows
/// every kind of line, ends with an error, reconnects, and sees the server
/// go.
fn names_mode(browser: &mut Browser) {
    let (chat, url) = start_chat(&["--names", "--max-line", "200"]);
    let mut bob = Peer::connect_quiet(chat.addr);
    bob.expect("What is your name?");
    bob.say("bob");
    bob.expect("You are bob");
    bob.expect("Nobody else is here");

    // The page is asked its name, answered in its one input.
    browser.open(&url);
    browser.expect("notice", "What is your name?");
    assert_eq!(browser.word(&["placeholder"]), "Your name, then Enter");
    browser.type_line("alice");
    browser.expect("notice", "You are alice");
    browser.expect("notice", "Also here: bob");
    bob.expect("alice has arrived");
    assert_eq!(browser.word(&["placeholder"]), "A line, then Enter");
    browser.type_line("/help");
    for help in chat::command::HELP {
        browser.expect("notice", help);
    }

    // A line each way, byte for byte.
    browser.type_line("héllo ✓");
    bob.expect_bytes("alice: héllo ✓\n".as_bytes());
    browser.expect("own", "alice: héllo ✓");
    bob.say("hi alice");
    bob.expect("bob: hi alice");
    browser.expect("other", "bob: hi alice");

    // A peer's markup and escape sequences are shown, never obeyed.
    let markup = "<img src=x onerror=window.__pwned=1>";
    bob.say(markup);
    bob.expect(&format!("bob: {markup}"));
    browser.expect("other", &format!("bob: {markup}"));
    bob.send(b"\x1b[2J\x07 \xc2\x9b31m \xff<b>bold</b>\n");
    bob.expect_bytes(b"bob: \x1b[2J\x07 \xc2\x9b31m \xff<b>bold</b>\n");
    browser.expect("other", "bob: ^[[2J^G \\u{9b}31m \u{fffd}<b>bold</b>");
    browser.ask(&["safe"]);

    // Every kind, from commands typed as at a terminal.
    browser.type_line("/me waves");
    browser.expect("action", "* alice waves");
    bob.expect("* alice waves");
    bob.say("/msg alice psst");
    bob.expect("bob -> alice: psst");
    browser.expect("private", "bob -> alice: psst");
    browser.type_line("/msg bob hush");
    browser.expect("private", "alice -> bob: hush");
    bob.expect("alice -> bob: hush");
    browser.type_line("/frob");
    browser.expect("error", "error: unknown command /frob (try /help)");
    // Renamed, your lines are still yours; someone else's saying so is not.
    browser.type_line("/nick alicia");
    browser.expect("notice", "alice is now alicia");
    bob.expect("alice is now alicia");
    bob.say("You are bob now");
    bob.expect("bob: You are bob now");
    browser.expect("other", "bob: You are bob now");
    browser.type_line("still me");
    browser.expect("own", "alicia: still me");
    bob.expect("alicia: still me");
    browser.type_line("/who");
    browser.expect("notice", "Here: bob, alicia");
    bob.say("/me waves back");
    bob.expect("* bob waves back");
    browser.expect("action", "* bob waves back");

    // Mid-conversation, every kind of line in view, in both schemes.
    // snapshots/browser-page.png, the README's picture, is a copy of one;
    // the test writes only under target/.
    let dir = screenshot_dir();
    let light = dir.join("page.png");
    let dark = dir.join("page-dark.png");
    browser.ask(&["screenshot", &light.to_string_lossy(), "light"]);
    browser.ask(&["screenshot", &dark.to_string_lossy(), "dark"]);

    // A long word wraps: nothing gets wider than a phone.
    let long = format!("https://example.invalid/{}", "a".repeat(150));
    bob.say(&long);
    bob.expect(&format!("bob: {long}"));
    browser.expect("other", &format!("bob: {long}"));
    browser.ask(&["layout"]);
    assert_eq!(
        browser.word(&["at-end"]),
        "yes",
        "the log follows new lines"
    );

    // Scrolled up to read, the reader stays put; sending a line brings the
    // log back to its end.
    browser.ask(&["scroll-up"]);
    bob.say("while you read");
    bob.expect("bob: while you read");
    browser.expect("other", "bob: while you read");
    assert_eq!(
        browser.word(&["at-end"]),
        "no",
        "a reader scrolled up stays"
    );
    browser.type_line("back");
    browser.expect("own", "alicia: back");
    bob.expect("alicia: back");
    assert_eq!(browser.word(&["at-end"]), "yes", "your own line shown");
    browser.no_errors();

    // A line over the limit: the server says why and closes; the page says
    // so and offers to reconnect.
    browser.ask(&["paste", &"x".repeat(201)]);
    browser.expect("error", "error: line too long (the limit is 200 bytes)");
    browser.expect("client", "(the server closed the connection)");
    assert_eq!(
        browser.word(&["wait-closed"]),
        "Disconnected: line too long (the limit is 200 bytes)"
    );
    assert_eq!(browser.word(&["placeholder"]), "Enter reconnects");
    bob.expect("alicia has left");

    // Reconnecting, by keyboard alone: a new session, asked again.
    browser.ask(&["keyboard-reconnect"]);
    browser.expect("notice", "What is your name?");
    browser.ask(&["wait-open"]);
    browser.type_line("alice");
    browser.expect("notice", "You are alice");
    browser.expect("notice", "Also here: bob");
    bob.expect("alice has arrived");

    // Bob goes, all the way, so that the shutdown has no TCP client to
    // wait for (it gives one 2 s to end its input).
    bob.say("/quit");
    bob.expect_end();
    drop(bob);
    browser.expect("notice", "bob has left");

    // The server goes: the page says it is disconnected, and Enter tries
    // again, in vain.
    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status}");
    browser.expect("client", "(the server closed the connection)");
    assert_eq!(
        browser.word(&["wait-closed"]),
        "Disconnected: the server closed the connection."
    );
    browser.ask(&["enter"]);
    browser.expect("client", "(could not connect)");
    assert_eq!(
        browser.word(&["wait-closed"]),
        "Disconnected: could not reach the server."
    );
}
