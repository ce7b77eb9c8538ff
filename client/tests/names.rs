//! `client --name` in a pipe, against the chat server in names mode (and
//! once against the book's, which has none): the question answered
//! unseen, standard input held back until the name is accepted, and a
//! refusal that is one line on standard error and status 1.

mod common;

use common::start_server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

/// How long a peer waits for a line that must come.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `client ARGS ADDR` with `input` on its standard input.
fn client(args: &[&str], addr: SocketAddr, input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .arg(addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client");
    // The client may exit without reading it all: that is the point of
    // some tests, so a broken pipe here is fine.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

/// A peer in names mode, named `name`: its socket and its lines.
fn named_peer(addr: SocketAddr, name: &str) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    assert_eq!(next_line(&mut reader), "What is your name?");
    (&stream).write_all(format!("{name}\n").as_bytes()).unwrap();
    assert_eq!(next_line(&mut reader), format!("You are {name}"));
    (stream, reader)
}

fn next_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a line");
    assert!(line.ends_with('\n'), "a whole line, not {line:?}");
    line.trim_end_matches('\n').to_string()
}

#[test]
fn the_name_is_given_and_the_question_not_shown() {
    let addr = start_server(true);
    let output = client(&["--name", "alice"], addr, b"hi\n");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "You are alice\nNobody else is here\nalice: hi\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_refused_name_is_one_line_on_stderr_and_status_1() {
    let addr = start_server(true);
    let (mut ace, mut ace_lines) = named_peer(addr, "ace");
    assert_eq!(next_line(&mut ace_lines), "Nobody else is here");
    // Had standard input gone out with the name, `sneaky` would be the
    // next try, accepted, and ace would hear of it.
    let output = client(&["--name", "ace"], addr, b"sneaky\nshould not arrive\n");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "client: the server refused the name: ace is taken\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert_eq!(output.status.code(), Some(1));
    // (That the client sent nothing after the name is proven exactly
    // below, against a scripted server; here, ace has heard nothing.)
    ace.write_all(b"/who\n").unwrap();
    assert_eq!(next_line(&mut ace_lines), "Here: ace");
}

#[test]
fn a_refused_name_sends_nothing_of_standard_input() {
    // A server that asks, refuses (with an escape sequence in its reason,
    // to be shown, not obeyed, on the user's terminal), then records
    // everything the client ever sends, up to its end.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        (&stream).write_all(b"What is your name?\n").unwrap();
        let name = next_line(&mut reader);
        (&stream)
            .write_all(b"error: ace is \x1b[1mtaken\n")
            .unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).expect("the client's end");
        (name, rest)
    });
    let output = client(&["--name", "ace"], addr, b"should not arrive\n");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "client: the server refused the name: ace is ^[[1mtaken\n"
    );
    let (name, rest) = server.join().unwrap();
    assert_eq!(name, "ace");
    assert_eq!(String::from_utf8_lossy(&rest), "", "sent after the name");
}

#[test]
fn standard_input_flows_once_the_name_is_accepted() {
    let addr = start_server(true);
    let (_bob, mut bob_lines) = named_peer(addr, "bob");
    assert_eq!(next_line(&mut bob_lines), "Nobody else is here");
    let output = client(
        &["--name", "alice"],
        addr,
        b"hello\n/me waves\n/msg bob psst\n/nick alicia\nagain\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "You are alice\nAlso here: bob\nalice: hello\n* alice waves\n\
         alice -> bob: psst\nalice is now alicia\nalicia: again\n"
    );
    assert!(output.status.success(), "{output:?}");
    for line in [
        "alice has arrived",
        "alice: hello",
        "* alice waves",
        "alice -> bob: psst",
        "alice is now alicia",
        "alicia: again",
        "alicia has left",
    ] {
        assert_eq!(next_line(&mut bob_lines), line);
    }
}

#[test]
fn without_a_name_the_question_passes_through() {
    let addr = start_server(true);
    let output = client(&[], addr, b"carol\nhi\n");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "What is your name?\nYou are carol\nNobody else is here\ncarol: hi\n"
    );
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_server_without_names_mode_gets_a_warning_and_the_session_goes_on() {
    let addr = start_server(false);
    let output = client(&["--name", "alice"], addr, b"hi\n");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "client: the server has no names mode; --name ignored\n"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let me = stdout
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("You are "))
        .unwrap_or_else(|| panic!("no greeting: {stdout}"));
    assert_eq!(stdout, format!("You are {me}\n{me}: hi\n"));
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_name_with_a_line_break_is_refused_before_connecting() {
    let output = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["--name", "alice\nhello", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "client: bad --name \"alice\\nhello\": a name is one line\n"
    );
}
