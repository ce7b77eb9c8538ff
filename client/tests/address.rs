//! `client` dials addresses as Go's `net.Dial` does: run in a pipe against
//! a real server on loopback.

mod common;

use common::start_server;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `client ADDR` with `input` on its standard input.
fn client(addr: &str, input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .arg(addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn an_empty_host_and_localhost_are_this_machine() {
    let port = start_server(false).port();
    for addr in [format!(":{port}"), format!("localhost:{port}")] {
        let output = client(&addr, b"hello\n");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{addr}: {output:?}");
        assert!(stdout.starts_with("You are 127.0.0.1:"), "{addr}: {stdout}");
        assert!(stdout.contains(": hello\n"), "{addr}: {stdout}");
    }
}

#[test]
fn a_bad_address_is_one_line_and_status_1() {
    let output = client("::1:8000", b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("client: bad address \"::1:8000\"") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
