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
#[cfg(feature = "tls")]
#[path = "common/tls.rs"]
mod tls;

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
        Self::launch_trusting(None)
    }

    /// [`launch`](Self::launch), trusting the certificate whose key has
    /// the SHA-256 `spki` (base64), if given.
    fn launch_trusting(spki: Option<&str>) -> Option<Self> {
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
        let mut driver = Command::new("node");
        if let Some(spki) = spki {
            driver.env("CHAT_TRUST_SPKI", spki);
        }
        let mut child = driver
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
    /// exception) since it opened, but the browser's own word on each try
    /// to reach a server that is down.
    fn no_errors(&mut self) {
        let mut errors = self.ask(&["errors"]);
        errors.retain(|error| !error.ends_with("net::ERR_CONNECTION_REFUSED"));
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
    start_chat_on("127.0.0.1:0", flags)
}

/// `chat --http HTTP` with `flags`, and its page's URL.
fn start_chat_on(http: &str, flags: &[&str]) -> (ChatProcess, String) {
    let mut args = vec!["--http", http];
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
    ended_by_the_server(&mut browser);
    a_crowd(&mut browser);
    names_mode(&mut browser);
    #[cfg(feature = "manners")]
    operators(&mut browser);
    let _ = writeln!(
        std::io::stderr(),
        "the browser test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Operators and manners (the feature `manners`): an operator's acts are
/// lines of their own style, and the list of who is here follows a kick,
/// `/who`'s `@`, and an away.
#[cfg(feature = "manners")]
fn operators(browser: &mut Browser) {
    use std::os::unix::fs::PermissionsExt;
    let password = std::env::temp_dir().join(format!("chat-browser-op-{}", std::process::id()));
    std::fs::write(&password, "s3cret\n").expect("write the password");
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let flag = format!("--operator-password-file={}", password.display());
    let (chat, url) = start_chat(&["--names", &flag]);
    let mut bob = Peer::connect_quiet(chat.addr);
    bob.expect("What is your name?");
    bob.say("bob");
    bob.expect("You are bob");
    bob.expect("Nobody else is here");
    browser.open(&url);
    browser.expect("notice", "What is your name?");
    browser.type_line("alice");
    browser.expect("notice", "You are alice");
    browser.expect("notice", "Also here: bob");
    bob.expect("alice has arrived");
    browser.type_line("/op s3cret");
    browser.expect("notice", "You are an operator");
    assert_eq!(browser.ask(&["style"]), ["400", "solid"], "a notice");
    // Away, and `/who`'s marks: the list keeps the names alone.
    browser.type_line("/away lunch");
    browser.expect("notice", "You are away: lunch");
    browser.type_line("/who");
    browser.expect("notice", "Here: bob, @alice (away: lunch)");
    assert_eq!(browser.ask(&["who"]), ["bob", "alice"]);
    browser.type_line("/back");
    browser.expect("notice", "You are back");
    // The operator's acts, in their own style.
    browser.type_line("/topic be kind");
    browser.expect("operator", "alice set the topic: be kind");
    assert_eq!(
        browser.ask(&["style"]),
        ["600", "double"],
        "an operator's act"
    );
    bob.expect("alice set the topic: be kind");
    browser.type_line("/topic");
    browser.expect("notice", "Topic: be kind");
    browser.type_line("/mute bob");
    browser.expect("operator", "bob was muted by alice");
    bob.expect("bob was muted by alice");
    bob.say("hello?");
    bob.expect("error: you are muted for another 9m");
    browser.type_line("/kick bob enough");
    browser.expect("operator", "bob was kicked by alice: enough");
    bob.expect("error: kicked by alice: enough");
    bob.expect_end();
    assert_eq!(browser.ask(&["who"]), ["alice"]);
    browser.no_errors();
    assert!(chat.terminate().success());
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
    assert_eq!(browser.word(&["me"]), format!("You are {me}"));
    // Who is here is unknown in the book's room: no list.
    assert!(browser.ask(&["who"]).is_empty(), "no list in book mode");

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

/// A session the server ends saying why is over: the page says why and
/// waits to be asked to connect again, rather than come back by itself.
fn ended_by_the_server(browser: &mut Browser) {
    let (chat, url) = start_chat(&["--idle-timeout", "1s"]);
    browser.open(&url);
    let (_, greeting) = browser.line();
    assert!(greeting.starts_with("You are "), "{greeting}");
    browser.expect(
        "error",
        "error: idle for too long (nothing received for 1s)",
    );
    browser.expect("client", "(the server closed the connection)");
    assert_eq!(
        browser.word(&["wait-closed"]),
        "Disconnected: idle for too long (nothing received for 1s)"
    );
    assert_eq!(browser.word(&["title"]), "chat (disconnected)");
    let statuses = browser.ask(&["statuses"]);
    assert!(
        !statuses
            .iter()
            .any(|status| status.starts_with("Reconnecting")),
        "{statuses:?}"
    );
    browser.no_errors();
    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status}");
}

/// A room fuller than the greeting names: the list counts the rest, and
/// `/who` names everyone.
fn a_crowd(browser: &mut Browser) {
    let (chat, url) = start_chat(&["--names"]);
    let names: Vec<String> = (0..21).map(|n| format!("p{n:02}")).collect();
    let mut crowd: Vec<Peer> = names
        .iter()
        .map(|name| {
            let mut peer = Peer::connect_quiet(chat.addr);
            peer.expect("What is your name?");
            peer.say(name);
            peer.expect(&format!("You are {name}"));
            peer
        })
        .collect();
    browser.open(&url);
    browser.expect("notice", "What is your name?");
    browser.type_line("alice");
    browser.expect("notice", "You are alice");
    browser.expect(
        "notice",
        &format!("Also here: {} and 1 more", names[..20].join(", ")),
    );
    let mut listed: Vec<String> = names[..20].to_vec();
    listed.push("alice".into());
    let mut shown = listed.clone();
    shown.push("and 1 more".into());
    assert_eq!(browser.ask(&["who"]), shown);
    // One not named goes: one fewer to count.
    drop(crowd.pop());
    browser.expect("notice", "p20 has left");
    assert_eq!(browser.ask(&["who"]), listed);
    // One named goes; /who names everyone, the list is those.
    drop(crowd.remove(0));
    browser.expect("notice", "p00 has left");
    listed.remove(0);
    assert_eq!(browser.ask(&["who"]), listed);
    browser.type_line("/who");
    browser.expect("notice", &format!("Here: {}", listed.join(", ")));
    assert_eq!(browser.ask(&["who"]), listed);
    browser.no_errors();
    drop(crowd);
    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status}");
}

/// The first number of each countdown in `statuses` (`Reconnecting in N
/// s...`, counting down): the wait chosen before each try.
fn waits(statuses: &[String]) -> Vec<u32> {
    let mut waits = Vec::new();
    let mut counting = false;
    for status in statuses {
        let n = status
            .strip_prefix("Reconnecting in ")
            .and_then(|rest| rest.strip_suffix(" s..."))
            .map(|n| n.parse().expect("a number of seconds"));
        if let (Some(n), false) = (n, counting) {
            waits.push(n);
        }
        counting = n.is_some();
    }
    waits
}

/// Names mode: the page is asked its name, keeps who is here and who you
/// are in view, talks with a TCP client, shows every kind of line (the
/// sender's name in its own style, mentions marked, times on request),
/// counts what came while hidden, refuses a line over the limit, and
/// reconnects, by itself after a drop.
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
    assert_eq!(browser.word(&["value"]), "", "no name to offer yet");
    assert!(browser.ask(&["who"]).is_empty(), "not in the room yet");
    browser.type_line("alice");
    browser.expect("notice", "You are alice");
    browser.expect("notice", "Also here: bob");
    bob.expect("alice has arrived");
    assert_eq!(browser.word(&["me"]), "You are alice");
    assert_eq!(browser.ask(&["who"]), ["bob", "alice"]);
    assert_eq!(browser.word(&["placeholder"]), "A line, then Enter");
    browser.type_line("/help");
    for help in chat::command::HELP {
        browser.expect("notice", help);
    }

    // A line each way, byte for byte, the sender's name in its own style.
    browser.type_line("héllo ✓");
    bob.expect_bytes("alice: héllo ✓\n".as_bytes());
    browser.expect("own", "alice: héllo ✓");
    assert_eq!(browser.ask(&["sender"]), ["alice", "bold"]);
    bob.say("hi alice");
    bob.expect("bob: hi alice");
    browser.expect("other mention", "bob: hi alice");
    assert_eq!(browser.ask(&["sender"]), ["bob", "bold"]);
    bob.say("malice aforethought");
    bob.expect("bob: malice aforethought");
    browser.expect("other", "bob: malice aforethought");

    every_kind(browser, &mut bob);
    list_and_times(browser, &mut bob, chat.addr);
    reading(browser, &mut bob);
    leaving_and_coming_back(browser, bob, chat, &url);
}

/// Every kind of line, each shown as text in its style, the sender's name
/// in a style of its own; and your renames followed.
fn every_kind(browser: &mut Browser, bob: &mut Peer) {
    // A peer's markup and escape sequences are shown, never obeyed.
    let markup = "<img src=x onerror=window.__pwned=1>";
    bob.say(markup);
    bob.expect(&format!("bob: {markup}"));
    browser.expect("other", &format!("bob: {markup}"));
    bob.send(b"\x1b[2J\x07 \xc2\x9b31m \xff<b>bold</b>\n");
    bob.expect_bytes(b"bob: \x1b[2J\x07 \xc2\x9b31m \xff<b>bold</b>\n");
    browser.expect("other", "bob: ^[[2J^G \\u{9b}31m \u{fffd}<b>bold</b>");
    browser.ask(&["safe"]);
    // Nor can a line pose as another's: what would move text (bidi
    // controls), hide it (zero widths) or break it (separators) is shown
    // for what it is; the bytes on the wire stay the same.
    let hidden =
        "\u{202e}drow\u{202a}\u{2066}\u{2069}\u{200b}\u{200d}\u{2060}\u{feff}\u{2028}\u{2029}\u{61c}\u{200f}.";
    bob.say(hidden);
    bob.expect_bytes(format!("bob: {hidden}\n").as_bytes());
    browser.expect(
        "other",
        "bob: <U+202E>drow<U+202A><U+2066><U+2069><U+200B><U+200D><U+2060><U+FEFF><U+2028><U+2029><U+061C><U+200F>.",
    );
    // A row that wraps to read `alice: ...` is not in a name's style.
    let posing = format!("x{}alice: send me your password", " ".repeat(60));
    bob.say(&posing);
    bob.expect(&format!("bob: {posing}"));
    // (It names alice, so it is marked as a mention.)
    browser.expect("other mention", &format!("bob: {posing}"));
    assert_eq!(browser.ask(&["sender"]), ["bob", "bold"]);

    // Every kind, from commands typed as at a terminal.
    browser.type_line("/me waves");
    browser.expect("action", "* alice waves");
    bob.expect("* alice waves");
    bob.say("/msg alice psst");
    bob.expect("bob -> alice: psst");
    browser.expect("private", "bob -> alice: psst");
    assert_eq!(browser.ask(&["sender"]), ["bob", "bold"]);
    browser.type_line("/msg bob hush");
    browser.expect("private", "alice -> bob: hush");
    bob.expect("alice -> bob: hush");
    browser.type_line("/frob");
    browser.expect("error", "error: unknown command /frob (try /help)");
    // Renamed, your lines are still yours; someone else's saying so is not.
    browser.type_line("/nick alicia");
    browser.expect("notice", "alice is now alicia");
    bob.expect("alice is now alicia");
    assert_eq!(browser.word(&["me"]), "You are alicia");
    assert_eq!(browser.ask(&["who"]), ["bob", "alicia"]);
    bob.say("You are bob now");
    bob.expect("bob: You are bob now");
    browser.expect("other", "bob: You are bob now");
    browser.type_line("still me");
    browser.expect("own", "alicia: still me");
    bob.expect("alicia: still me");
    browser.type_line("/who");
    browser.expect("notice", "Here: bob, alicia");
    bob.say("/me waves back at Alicia");
    bob.expect("* bob waves back at Alicia");
    browser.expect("action mention", "* bob waves back at Alicia");
    assert_eq!(browser.ask(&["sender"]), ["bob", "bold"]);
}

/// Who is here follows arrivals and leaves; times come on request.
fn list_and_times(browser: &mut Browser, bob: &mut Peer, chat: std::net::SocketAddr) {
    // Someone comes and goes: the list follows.
    let mut carol = Peer::connect_quiet(chat);
    carol.expect("What is your name?");
    carol.say("carol");
    carol.expect("You are carol");
    carol.expect("Also here: bob, alicia");
    browser.expect("notice", "carol has arrived");
    bob.expect("carol has arrived");
    assert_eq!(browser.ask(&["who"]), ["bob", "alicia", "carol"]);
    carol.say("/quit");
    carol.expect_end();
    browser.expect("notice", "carol has left");
    bob.expect("carol has left");
    assert_eq!(browser.ask(&["who"]), ["bob", "alicia"]);

    // Times, on request: `HH:MM` before every line; off again, the room's
    // bytes alone.
    let shown = browser.word(&["times"]);
    let time = shown
        .strip_suffix(" carol has left")
        .unwrap_or_else(|| panic!("a time, then the line: {shown:?}"));
    let shape: String = time
        .chars()
        .map(|c| if c.is_ascii_digit() { 'D' } else { c })
        .collect();
    assert_eq!(shape, "DD:DD", "HH:MM before the line: {shown:?}");
    assert_eq!(browser.word(&["times"]), "carol has left");

    // Mid-conversation, every kind of line in view, in both schemes.
    // snapshots/browser-page.png, the README's picture, is a copy of one;
    // the test writes only under target/.
    let dir = screenshot_dir();
    let light = dir.join("page.png");
    let dark = dir.join("page-dark.png");
    browser.ask(&["screenshot", &light.to_string_lossy(), "light"]);
    browser.ask(&["screenshot", &dark.to_string_lossy(), "dark"]);
}

/// Reading: long words wrap, a reader scrolled up stays, the title counts
/// what came while hidden, and a line over the limit is kept, not sent.
fn reading(browser: &mut Browser, bob: &mut Peer) {
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

    // In the background, the title counts what came; back, it is read.
    browser.ask(&["hide"]);
    for n in 1..=3 {
        bob.say(&format!("unread {n}"));
        bob.expect(&format!("bob: unread {n}"));
        browser.expect("other", &format!("bob: unread {n}"));
    }
    assert_eq!(browser.word(&["title"]), "(3) chat");
    browser.ask(&["show"]);
    assert_eq!(browser.word(&["title"]), "chat");
    browser.no_errors();

    // A line over the limit (the page was told it: 200 bytes) is not
    // sent, and stays to be shortened; bytes count, not characters.
    let over = format!("{}x", "é".repeat(100));
    browser.ask(&["paste", &over]);
    browser.expect(
        "client",
        "(not sent: the line is 201 bytes, and the server takes at most 200)",
    );
    assert_eq!(browser.word(&["value"]), over);
    browser.ask(&["clear"]);
    let most = "é".repeat(100);
    browser.ask(&["paste", &most]);
    bob.expect(&format!("alicia: {most}"));
    browser.expect("own", &format!("alicia: {most}"));
}

/// Leaving, coming back when asked, and being brought back by the page
/// itself when the server goes and returns.
fn leaving_and_coming_back(browser: &mut Browser, mut bob: Peer, chat: ChatProcess, url: &str) {
    // Leaving is leaving: the page waits to be asked back, and then
    // offers the name last used.
    browser.type_line("/quit");
    browser.expect("client", "(you left)");
    assert_eq!(browser.word(&["wait-closed"]), "Disconnected: you left.");
    assert_eq!(browser.word(&["placeholder"]), "Enter reconnects");
    assert!(browser.ask(&["who"]).is_empty(), "not in the room");
    assert_eq!(browser.word(&["me"]), "", "nobody, out of the room");
    bob.expect("alicia has left");
    browser.ask(&["keyboard-reconnect"]);
    browser.expect("notice", "What is your name?");
    browser.ask(&["wait-open"]);
    assert_eq!(browser.word(&["value"]), "alicia", "the last name, offered");
    browser.ask(&["enter"]);
    browser.expect("notice", "You are alicia");
    browser.expect("notice", "Also here: bob");
    bob.expect("alicia has arrived");

    // Bob goes, all the way, so that the shutdown has no TCP client to
    // wait for (it gives one 2 s to end its input).
    bob.say("/quit");
    bob.expect_end();
    drop(bob);
    browser.expect("notice", "bob has left");
    assert_eq!(browser.ask(&["who"]), ["alicia"]);

    // The server goes: the page tries again by itself, waiting 1 s, then
    // twice as long after each failed try, up to 30 s (Try now skips a
    // wait, and the next is still doubled).
    let http = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status}");
    browser.expect("client", "(the server closed the connection)");
    assert_eq!(browser.word(&["title"]), "chat (disconnected)");
    browser.ask(&["wait-status", "Reconnecting in 1 s..."]);
    for wait in [2, 4, 8, 16, 30, 30] {
        browser.ask(&["try-now"]);
        browser.ask(&["wait-status", &format!("Reconnecting in {wait} s...")]);
    }
    let statuses = browser.ask(&["statuses"]);
    assert_eq!(
        waits(&statuses)[..7],
        [1, 2, 4, 8, 16, 30, 30],
        "{statuses:?}"
    );

    // Back on the same address, the page is asked its name again, offered
    // the last one; and the next drop waits 1 s again.
    let (chat, _) = start_chat_on(&http, &["--names"]);
    browser.ask(&["try-now"]);
    browser.expect("notice", "What is your name?");
    browser.ask(&["wait-open"]);
    assert_eq!(browser.word(&["value"]), "alicia");
    browser.ask(&["enter"]);
    browser.expect("notice", "You are alicia");
    browser.expect("notice", "Nobody else is here");
    assert_eq!(browser.word(&["title"]), "chat");
    browser.no_errors();
    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status}");
    browser.expect("client", "(the server closed the connection)");
    browser.ask(&["wait-status", "Reconnecting in 1 s..."]);
    let statuses = browser.ask(&["statuses"]);
    let back = statuses.iter().rposition(|status| status == "Connected");
    let after = &statuses[back.expect("connected again")..];
    assert_eq!(waits(after).first(), Some(&1), "{statuses:?}");
}

/// The page over HTTPS (`--http` with `--tls-cert`), its socket `wss://`,
/// in a Chromium that trusts the test's certificate, talking both ways
/// with a `client --tls` in the same room.
#[cfg(feature = "tls")]
#[test]
fn the_page_over_https_in_a_browser() {
    let dir = tls::scratch("browser");
    let pair = tls::certificate(&dir, "server");
    let spki = Command::new("sh")
        .arg("-c")
        .arg(
            "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | base64",
        )
        .arg("sh")
        .arg(&pair.0)
        .output()
        .expect("hash the certificate's key with openssl");
    let spki = String::from_utf8_lossy(&spki.stdout).trim().to_string();
    let Some(mut browser) = Browser::launch_trusting(Some(&spki)) else {
        return;
    };
    let flags = tls::flags(&pair);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (chat, url) = start_chat(&flags);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let mut client = tls::Talker::client(chat.addr, &pair.0);
    let name = client.greeted();
    browser.open(&url);
    let (kind, greeting) = browser.line();
    assert_eq!(kind, "notice", "{greeting}");
    let me = greeting
        .strip_prefix("You are ")
        .unwrap_or_else(|| panic!("the page's first line is a greeting: {greeting:?}"))
        .to_string();
    client.expect(&format!("{me} has arrived"));
    browser.type_line("hello over https");
    client.expect(&format!("{me}: hello over https"));
    browser.expect("own", &format!("{me}: hello over https"));
    client.say("hello over tls");
    client.expect(&format!("{name}: hello over tls"));
    browser.expect("other", &format!("{name}: hello over tls"));
    client.end_input();
    browser.expect("notice", &format!("{name} has left"));
    browser.no_errors();
    let status = chat.terminate();
    assert!(status.success(), "chat exited with {status}");
}
