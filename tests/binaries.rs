//! The built binaries as a user runs them: `chat` serving, `client` and the
//! system's `nc` talking to it through pipes, and their command lines.

mod common;

#[path = "common/bins.rs"]
mod bins;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

use bins::{chat_bin, client_bin, ChatProcess};

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
        let output = run("nc", &["-N", "127.0.0.1", &port], b"hello from nc\r\n");
        assert!(
            output.status.success(),
            "nc failed (is netcat-openbsd installed?): {output:?}"
        );
        let name = greeted_name(&output.stdout);
        let want = format!("You are {name}\n{name}: hello from nc\n");
        assert_eq!(String::from_utf8_lossy(&output.stdout), want);
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
