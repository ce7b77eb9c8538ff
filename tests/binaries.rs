//! The built binaries as a user runs them: `chat` serving, `client` and the
//! system's `nc` talking to it through pipes, and their command lines.

mod common;

#[path = "common/bins.rs"]
mod bins;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

use bins::{chat_bin, client_bin, netcat, netcat_in, ChatProcess};

/// Runs `program` with `args` and `input` on stdin to completion.
fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// The address in a `You are ADDR` greeting.
fn greeted_name(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("You are ")
        .unwrap_or_else(|| panic!("no greeting in {text:?}"))
        .to_string()
}

#[test]
fn piping_a_line_into_client_always_shows_its_echo() {
    let chat = ChatProcess::start(&[]);
    let addr = chat.addr.to_string();
    for _ in 0..20 {
        let output = run(client_bin(), &[&addr], b"hi\n");
        assert!(output.status.success(), "{output:?}");
        let name = greeted_name(&output.stdout);
        let want = format!("You are {name}\n{name}: hi\n");
        assert_eq!(String::from_utf8_lossy(&output.stdout), want);
        assert!(output.stderr.is_empty(), "{output:?}");
    }
}

#[test]
fn client_passes_bytes_through_unchanged() {
    let chat = ChatProcess::start(&[]);
    let output = run(
        client_bin(),
        &[&chat.addr.to_string()],
        b"\xff\0\r\n\x1b[2J\r",
    );
    assert!(output.status.success(), "{output:?}");
    let name = greeted_name(&output.stdout);
    let want = [
        format!("You are {name}\n{name}: ").as_bytes(),
        b"\xff\0\n",
        format!("{name}: ").as_bytes(),
        b"\x1b[2J\n",
    ]
    .concat();
    assert_eq!(
        output.stdout.escape_ascii().to_string(),
        want.escape_ascii().to_string()
    );
}

/// Two `client` processes chat through the `chat` process.
#[test]
fn two_clients_chat_through_the_server() {
    let chat = ChatProcess::start(&["--verbose"]);
    let addr = chat.addr.to_string();
    let spawn = || {
        Command::new(client_bin())
            .arg(&addr)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start client")
    };
    let mut alice = spawn();
    let mut alice_out = BufReader::new(alice.stdout.take().unwrap());
    let mut line = String::new();
    alice_out.read_line(&mut line).unwrap();
    let alice_name = line
        .trim_end()
        .strip_prefix("You are ")
        .unwrap()
        .to_string();

    let mut bob = spawn();
    let mut bob_out = BufReader::new(bob.stdout.take().unwrap());
    line.clear();
    bob_out.read_line(&mut line).unwrap();
    let bob_name = line
        .trim_end()
        .strip_prefix("You are ")
        .unwrap()
        .to_string();
    line.clear();
    alice_out.read_line(&mut line).unwrap();
    assert_eq!(line, format!("{bob_name} has arrived\n"));

    let mut alice_in = alice.stdin.take().unwrap();
    alice_in.write_all(b"Hi!\n").unwrap();
    alice_in.flush().unwrap();
    line.clear();
    bob_out.read_line(&mut line).unwrap();
    assert_eq!(line, format!("{alice_name}: Hi!\n"));

    let mut bob_in = bob.stdin.take().unwrap();
    bob_in.write_all(b"Hi yourself.\n").unwrap();
    drop(bob_in);
    let mut bob_rest = String::new();
    bob_out.read_to_string(&mut bob_rest).unwrap();
    assert_eq!(bob_rest, format!("{bob_name}: Hi yourself.\n"));
    assert!(bob.wait().unwrap().success());

    drop(alice_in);
    let mut alice_rest = String::new();
    alice_out.read_to_string(&mut alice_rest).unwrap();
    assert_eq!(
        alice_rest,
        format!("{alice_name}: Hi!\n{bob_name}: Hi yourself.\n{bob_name} has left\n")
    );
    assert!(alice.wait().unwrap().success());
}

/// The system's netcat is a client like any other.
#[test]
fn netcat_talks_to_the_server() {
    let chat = ChatProcess::start(&[]);
    let port = chat.addr.port().to_string();
    for _ in 0..5 {
        let output = run(netcat(), &["-N", "127.0.0.1", &port], b"hello from nc\r\n");
        assert!(output.status.success(), "nc failed: {output:?}");
        let name = greeted_name(&output.stdout);
        let want = format!("You are {name}\n{name}: hello from nc\n");
        assert_eq!(String::from_utf8_lossy(&output.stdout), want);
    }
}

/// An IPv4 client of a dual-stack listener counts against its IPv4
/// address, however it is written: `::ffff:127.0.0.1` is 127.0.0.1.
#[test]
fn the_cap_per_address_counts_ipv4_mapped_addresses_as_ipv4() {
    let chat = ChatProcess::start_in_own_network(":0", &["--max-per-address", "1"]);
    let port = chat.addr.port().to_string();
    let mut first = chat
        .in_its_network(netcat().to_str().expect("a UTF-8 path"))
        .args(["-N", "127.0.0.1", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run nc with nsenter");
    let mut greeting = String::new();
    BufReader::new(first.stdout.take().unwrap())
        .read_line(&mut greeting)
        .unwrap();
    assert!(greeting.starts_with("You are 127.0.0.1:"), "{greeting:?}");
    let second = chat
        .in_its_network(netcat().to_str().expect("a UTF-8 path"))
        .args(["-N", "::ffff:127.0.0.1", &port])
        .stdin(Stdio::null())
        .output()
        .expect("run nc with nsenter");
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "error: too many connections from your address\n"
    );
    drop(first.stdin.take());
    assert!(first.wait().unwrap().success());
}

/// Without netcat, the tests that need it say what to install.
#[test]
#[should_panic(expected = "install netcat-openbsd")]
fn a_missing_netcat_says_what_to_install() {
    netcat_in(std::ffi::OsStr::new("/nonexistent"));
}

/// `chat :PORT` listens on every interface, IPv4 and IPv6, as Go's
/// `net.Listen` does; played in a network namespace whose only interface
/// is loopback.
#[test]
fn colon_port_listens_on_every_interface() {
    let chat = ChatProcess::start_in_own_network(":0", &[]);
    assert_eq!(chat.addr.ip().to_string(), "::", "{:?}", chat.addr);
    let port = chat.addr.port().to_string();
    for (host, greeting) in [
        ("127.0.0.1", "You are 127.0.0.1:"),
        ("::1", "You are [::1]:"),
    ] {
        let output = chat
            .in_its_network(netcat().to_str().expect("a UTF-8 path"))
            .args(["-N", host, &port])
            .stdin(Stdio::null())
            .output()
            .expect("run nc with nsenter");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.starts_with(greeting), "{host}: {output:?}");
    }
}

#[test]
fn chat_logs_connects_and_leaves_when_verbose() {
    let mut chat = ChatProcess::start(&["-v"]);
    let output = run(client_bin(), &[&chat.addr.to_string()], b"");
    let name = greeted_name(&output.stdout);
    let mut line = String::new();
    chat.stderr.read_line(&mut line).unwrap();
    assert_eq!(line, format!("chat: {name} connected\n"));
    line.clear();
    chat.stderr.read_line(&mut line).unwrap();
    assert_eq!(line, format!("chat: {name} left: end of input\n"));
}

#[test]
fn client_reports_a_refused_connection() {
    // Bind then free a port, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = run(client_bin(), &[&format!("127.0.0.1:{port}")], b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("client: cannot connect to 127.0.0.1:"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn bad_addresses_are_one_clear_line_and_exit_1() {
    for program in [chat_bin(), client_bin()] {
        for addr in ["no-port-here", "127.0.0.1:99999", "[::1"] {
            let output = run(&program, &[addr], b"");
            assert_eq!(
                output.status.code(),
                Some(1),
                "{program:?} {addr}: {output:?}"
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("bad address"), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
        let output = run(&program, &["--no-such-flag"], b"");
        assert_eq!(output.status.code(), Some(1), "{output:?}");
    }
}

/// `--verbose` says it is shutting down once, not once per layer.
#[test]
fn verbose_logs_the_shutdown_once() {
    let mut chat = ChatProcess::start(&["--verbose"]);
    assert!(chat.terminate_keep_log().success());
    let mut log = String::new();
    chat.stderr.read_to_string(&mut log).unwrap();
    assert_eq!(log.matches("shutting down").count(), 1, "{log}");
}

/// Limits that cannot work are refused at start with one line naming the
/// flag: zero, past a ceiling, or a send queue too small for one line.
#[test]
fn impossible_limits_are_refused_at_start() {
    for (flags, error) in [
        (
            &["--max-line", "0"][..],
            "chat: --max-line must be more than 0",
        ),
        (
            &["--max-line", "17M"],
            "chat: --max-line must be at most 16M",
        ),
        (
            &["--send-queue", "0"],
            "chat: --send-queue must be more than 0",
        ),
        (
            &["--send-queue", "1G"],
            "chat: --send-queue must be at most 256M",
        ),
        (
            &["--max-line", "abc"],
            "chat: --max-line: bad size \"abc\" (a number with an optional K, M or G)",
        ),
        (
            &["--rate", "0/1s"],
            "chat: --rate: bad rate \"0/1s\": the count must be at least 1",
        ),
        (
            &["--idle-timeout", "1.5s"],
            "chat: --idle-timeout: bad duration \"1.5s\" \
             (a whole number, then ms, s, m or h: 250ms, 30s)",
        ),
        (
            &["--send-queue", "257M"],
            "chat: --send-queue must be at most 256M",
        ),
        (
            &["--send-queue", "1K"],
            "chat: --send-queue 1K cannot hold a greeting and one line of --max-line 65535: \
             it must be at least 65899 bytes",
        ),
        (
            &["--send-queue", "1", "--max-line", "10"],
            "chat: --send-queue 1 cannot hold a greeting and one line of --max-line 10: \
             it must be at least 374 bytes",
        ),
        (
            &["--max-connections", "0"],
            "chat: --max-connections must be more than 0",
        ),
        (
            &["--idle-timeout", "0"],
            "chat: --idle-timeout must be more than 0",
        ),
        (
            &["--idle-timeout", "25h"],
            "chat: --idle-timeout must be at most 24h",
        ),
        (
            &["--shutdown-grace", "86401"],
            "chat: --shutdown-grace must be at most 24h",
        ),
    ] {
        let output = run(chat_bin(), &[flags, &["127.0.0.1:0"]].concat(), b"");
        assert_eq!(output.status.code(), Some(1), "{flags:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr, format!("{error}\n"), "{flags:?}");
    }
    // Seconds when no unit is given, as --help says.
    let chat = ChatProcess::start(&[
        "--idle-timeout",
        "86400",
        "--send-queue",
        "374",
        "--max-line",
        "10",
    ]);
    assert!(chat.early_log.is_empty(), "{:?}", chat.early_log);
    // The longest line allowed needs no --send-queue: the default holds
    // it; and `off` is a duration wherever a timeout can be off.
    let chat = ChatProcess::start(&["--max-line", "16M", "--idle-timeout", "off"]);
    assert!(chat.early_log.is_empty(), "{:?}", chat.early_log);
}

/// `chat 8000`, a port without its colon, is the likeliest slip.
#[test]
fn a_bare_port_asks_whether_colon_port_was_meant() {
    let output = run(chat_bin(), &["8000"], b"");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr, "chat: bad address \"8000\": did you mean :8000?\n");
}

/// A connection cap past what the descriptor limit allows is lowered to
/// it, with one log line.
#[test]
fn too_many_connections_are_lowered_to_the_descriptor_limit() {
    let chat = ChatProcess::start_with_fd_limit(100, &["--max-connections", "5000"]);
    assert_eq!(
        chat.early_log,
        ["chat: --max-connections 5000 is more than the file descriptor limit allows; using 68\n"]
    );
}

/// The log says `1 connection`, not `1 connections`.
#[test]
fn a_full_server_logs_its_cap() {
    let mut chat = ChatProcess::start(&["--max-connections", "1"]);
    let _inside = common::Peer::connect(chat.addr);
    let mut turned_away = common::Peer::connect_quiet(chat.addr);
    turned_away.expect("error: server full");
    let mut line = String::new();
    chat.stderr.read_line(&mut line).unwrap();
    assert!(
        line.ends_with(
            " turned away: server full (1 connection); more are counted, in a line a minute\n"
        ),
        "{line}"
    );
}

/// A newcomer turned away by the cap per address is logged without
/// `--verbose`, as every turn-away is.
#[test]
fn a_cap_per_address_logs_its_turn_aways() {
    let mut chat = ChatProcess::start(&["--max-per-address", "1"]);
    let _inside = common::Peer::connect(chat.addr);
    let mut turned_away = common::Peer::connect_quiet(chat.addr);
    turned_away.expect("error: too many connections from your address");
    let mut line = String::new();
    chat.stderr.read_line(&mut line).unwrap();
    assert!(
        line.ends_with(
            " turned away: too many connections from its address (1); \
             more are counted, in a line a minute\n"
        ),
        "{line}"
    );
}

#[test]
fn chat_reports_a_port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(chat_bin(), &[&addr], b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("chat: cannot listen on {addr}: ")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn help_and_version() {
    for program in [chat_bin(), client_bin()] {
        let help = run(&program, &["--help"], b"");
        assert!(help.status.success());
        assert!(String::from_utf8_lossy(&help.stdout).contains("Usage:"));
        let version = run(&program, &["--version"], b"");
        assert!(version.status.success());
        assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    }
}

/// `chat --help` fits 79 columns and breaks a sentence only where a line
/// is full: no line of a paragraph stops while the next one's first word
/// would still fit well within it (a `[default: ...]` or a flag starts a
/// line of its own).
#[test]
fn help_is_filled_and_never_breaks_a_sentence_early() {
    let help = run(chat_bin(), &["--help"], b"");
    let text = String::from_utf8_lossy(&help.stdout);
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.windows(2) {
        let (line, next) = (pair[0], pair[1]);
        assert!(line.chars().count() <= 79, "too long: {line:?}");
        let Some(word) = next.split_whitespace().next() else {
            continue;
        };
        if line.trim().is_empty() || word.starts_with(['-', '[']) {
            continue;
        }
        assert!(
            line.chars().count() + 1 + word.chars().count() > 66,
            "{line:?} ends early: {word:?} fits on it"
        );
    }
}

/// A paste of long lines comes back in full: a client reading its echoes as
/// it sends is never taken for a slow consumer.
#[test]
fn a_paste_of_long_lines_is_echoed_in_full() {
    let chat = ChatProcess::start(&[]);
    let mut paste = Vec::new();
    for index in 0..40 {
        let mut line = format!("{index:02} ").into_bytes();
        line.resize(60_000, b'p');
        line.push(b'\n');
        paste.extend_from_slice(&line);
    }
    for _ in 0..3 {
        let output = run(client_bin(), &[&chat.addr.to_string()], &paste);
        assert!(output.status.success(), "{:?}", output.status);
        let name = greeted_name(&output.stdout);
        let echoes = output
            .stdout
            .split(|&b| b == b'\n')
            .filter(|line| line.starts_with(format!("{name}: ").as_bytes()))
            .count();
        assert_eq!(echoes, 40, "every line of the paste comes back");
    }
}

#[test]
fn client_reports_unreadable_input() {
    let chat = ChatProcess::start(&[]);
    let output = Command::new(client_bin())
        .arg(chat.addr.to_string())
        .stdin(std::fs::File::open("/").unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("client: cannot read input: "),
        "{stderr}"
    );
    assert!(greeted_name(&output.stdout).starts_with("127.0.0.1:"));
}

/// SIGTERM: clients get what was queued, then the close, and chat exits 0;
/// its log says it is shutting down.
#[test]
fn sigterm_flushes_closes_and_exits_zero() {
    signal_flushes_closes_and_exits_zero(rustix::process::Signal::TERM);
}

/// SIGHUP (the terminal the server ran in went away) is a graceful
/// shutdown too, not a kill.
#[test]
fn sighup_flushes_closes_and_exits_zero() {
    signal_flushes_closes_and_exits_zero(rustix::process::Signal::HUP);
}

fn signal_flushes_closes_and_exits_zero(signal: rustix::process::Signal) {
    let mut chat = ChatProcess::start(&[]);
    let mut alice = common::Peer::connect(chat.addr);
    let mut bob = common::Peer::connect(chat.addr);
    alice.expect(&format!("{} has arrived", bob.name));
    bob.say("goodnight");
    alice.expect(&format!("{}: goodnight", bob.name));
    let mut log = String::new();
    let pid = chat.child.id();
    let status = {
        let terminate = std::thread::spawn(move || {
            let status = chat.signal_with(signal);
            (status, chat)
        });
        bob.expect(&format!("{}: goodnight", bob.name));
        alice.expect_end();
        bob.expect_end();
        let (status, returned) = terminate.join().unwrap();
        chat = returned;
        status
    };
    assert!(status.success(), "chat {pid} exited with {status}");
    chat.stderr.read_to_string(&mut log).unwrap();
    assert!(log.contains("chat: shutting down"), "{log}");
}

/// Names mode shuts down as gracefully: named clients get what was queued
/// for them, one still choosing its name is closed too, and the server
/// exits 0 at once, not a minute later.
#[test]
fn sigterm_in_names_mode_closes_the_unnamed_too() {
    let chat = ChatProcess::start(&["--names"]);
    let mut alice = common::Peer::connect_quiet(chat.addr);
    alice.expect("What is your name?");
    alice.say("alice");
    alice.expect("You are alice");
    alice.expect("Nobody else is here");
    let mut shy = common::Peer::connect_quiet(chat.addr);
    shy.expect("What is your name?");
    alice.say("goodnight");
    alice.expect("alice: goodnight");
    let terminate = std::thread::spawn(move || chat.terminate());
    alice.expect_end();
    shy.expect_end();
    let status = terminate.join().unwrap();
    assert!(status.success(), "chat exited with {status}");
}

/// A second signal stops the server at once, even while a client that does
/// not read holds up the graceful shutdown.
#[test]
fn a_second_signal_stops_at_once() {
    let chat = ChatProcess::start(&["--shutdown-grace", "1h", "--send-queue", "64M"]);
    let mut talker = common::Peer::connect(chat.addr);
    let stuck = common::Peer::connect(chat.addr);
    talker.expect(&format!("{} has arrived", stuck.name));
    // Fill the stuck client's socket buffers: it never reads.
    let (mut writer, reader) = talker.into_parts();
    let reading = std::thread::spawn(move || {
        let mut reader = reader;
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    // More than the kernel buffers toward it hold; the rest stays queued.
    let line = format!("{}\n", "z".repeat(999));
    for _ in 0..12_000 {
        writer.write_all(line.as_bytes()).unwrap();
    }
    let status = chat.terminate_twice();
    assert_eq!(status.code(), Some(1), "{status}");
    drop(writer);
    drop(stuck);
    reading.join().unwrap();
}

/// With its stderr closed, chat loses its log lines but keeps serving.
#[test]
fn a_closed_stderr_never_stops_the_server() {
    let mut chat = ChatProcess::start(&["--verbose", "--max-line", "4"]);
    // Close our end of chat's stderr: its writes now fail with EPIPE.
    let stderr = std::mem::replace(
        &mut chat.stderr,
        BufReader::new(
            Command::new("true")
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
                .stderr
                .take()
                .unwrap(),
        ),
    );
    drop(stderr);
    for _ in 0..3 {
        // Each logs a connect, a line-too-long and a leave.
        let output = run(client_bin(), &[&chat.addr.to_string()], b"too long\n");
        assert!(output
            .stdout
            .ends_with(b"error: line too long (the limit is 4 bytes)\n"));
    }
    let output = run(client_bin(), &[&chat.addr.to_string()], b"ok\n");
    let name = greeted_name(&output.stdout);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("You are {name}\n{name}: ok\n")
    );
}

/// A server that serves no TLS has nothing to reload on `SIGUSR1` (a TLS
/// server's reload): a renewal hook that signals every `chat` does not end
/// it. It says so, and serves on.
#[test]
fn sigusr1_without_tls_is_logged_and_ignored() {
    let mut chat = ChatProcess::start(&[]);
    for _ in 0..2 {
        chat.send(rustix::process::Signal::USR1);
        let mut line = String::new();
        chat.stderr.read_line(&mut line).unwrap();
        assert_eq!(
            line,
            "chat: SIGUSR1: nothing to reload (no --tls-cert), so ignored\n"
        );
    }
    let stream = std::net::TcpStream::connect(chat.addr).expect("still listening");
    let mut greeting = String::new();
    BufReader::new(stream).read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("You are "), "{greeting:?}");
}
