//! The chat listener over TLS (`--tls-cert`, `--tls-key`, the `tls`
//! feature), with clients nobody here wrote, `openssl s_client` and
//! `ncat --ssl`, and our own `client --tls`, in one room; and what must go
//! wrong harmlessly: plaintext on the TLS port, a stalled handshake, a
//! certificate the client does not trust, bad files, a failed reload.
#![cfg(feature = "tls")]

mod common;

#[path = "common/bins.rs"]
mod bins;
#[path = "common/tls.rs"]
mod tls;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::Command;

use bins::{chat_bin, ChatProcess};
use common::PATIENCE;
use tls::{certificate, flags, scratch, tls_client, Talker};

/// `chat` over TLS with the pair, and `extra` flags.
fn start(pair: &(std::path::PathBuf, std::path::PathBuf), extra: &[&str]) -> ChatProcess {
    let mut all = flags(pair);
    all.extend(extra.iter().map(|flag| flag.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    ChatProcess::start(&all)
}

/// Reads the server's log until a line containing `want`, and returns it.
fn log_line(chat: &mut ChatProcess, want: &str) -> String {
    loop {
        let mut line = String::new();
        let read = chat.stderr.read_line(&mut line).expect("read chat's log");
        assert!(read > 0, "chat's log ended before {want:?}");
        if line.contains(want) {
            return line;
        }
    }
}

#[test]
fn openssl_ncat_and_client_talk_in_one_tls_room() {
    let dir = scratch("room");
    let pair = certificate(&dir, "server");
    let chat = start(&pair, &[]);
    let mut openssl = Talker::s_client(chat.addr, &pair.0);
    let first = openssl.greeted();
    let mut ncat = Talker::ncat(chat.addr, &pair.0);
    let second = ncat.greeted();
    openssl.expect(&format!("{second} has arrived"));
    let mut client = Talker::client(chat.addr, &pair.0);
    let third = client.greeted();
    openssl.expect(&format!("{third} has arrived"));
    ncat.expect(&format!("{third} has arrived"));

    openssl.say("hello from openssl");
    ncat.say("hello from ncat");
    client.say("hello from client");
    for (who, talker) in [
        (&first, &mut openssl),
        (&second, &mut ncat),
        (&third, &mut client),
    ] {
        let mut heard: Vec<String> = (0..3).map(|_| talker.line()).collect();
        heard.sort();
        let mut want = vec![
            format!("{first}: hello from openssl"),
            format!("{second}: hello from ncat"),
            format!("{third}: hello from client"),
        ];
        want.sort();
        assert_eq!(heard, want, "what {who} heard");
    }
    // The end of the client's input ends its session, as over TCP.
    client.end_input();
    assert_eq!(client.rest(), Vec::<String>::new());
    assert!(client.child.wait().expect("wait for client").success());
    openssl.expect(&format!("{third} has left"));
    ncat.expect(&format!("{third} has left"));
}

#[test]
fn plaintext_on_the_tls_port_gets_nothing_and_announces_nothing() {
    let dir = scratch("plain");
    let pair = certificate(&dir, "server");
    let mut chat = start(&pair, &["--verbose"]);
    let mut watcher = Talker::client(chat.addr, &pair.0);
    watcher.greeted();
    log_line(&mut chat, "connected");

    let mut plain = TcpStream::connect(chat.addr).expect("connect");
    plain.set_read_timeout(Some(PATIENCE)).unwrap();
    plain.write_all(b"hello, is this chat?\n").unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !String::from_utf8_lossy(&got).contains("You are"),
        "a plaintext client was served: {got:?}"
    );
    let failed = log_line(&mut chat, "TLS handshake failed");
    assert!(failed.starts_with("chat: 127.0.0.1:"), "{failed:?}");

    // The server still serves, and announced nobody but the newcomer.
    let mut newcomer = Talker::client(chat.addr, &pair.0);
    let name = newcomer.greeted();
    watcher.expect(&format!("{name} has arrived"));
}

#[test]
fn a_stalled_handshake_is_cut_off_within_the_line_timeout() {
    let dir = scratch("stall");
    let pair = certificate(&dir, "server");
    let mut chat = start(&pair, &["--verbose", "--line-timeout", "1s"]);
    let mut trickler = TcpStream::connect(chat.addr).expect("connect");
    // The first bytes of a ClientHello, one at a time, then nothing more.
    for byte in [0x16u8, 0x03, 0x01] {
        trickler.write_all(&[byte]).unwrap();
    }
    trickler.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    let _ = trickler.read_to_end(&mut got);
    assert!(got.is_empty(), "{got:?}");
    let line = log_line(&mut chat, "TLS handshake failed");
    assert!(
        line.ends_with("TLS handshake failed: not finished within 1s\n"),
        "{line:?}"
    );
}

#[test]
fn a_handshake_holds_its_place_under_the_cap() {
    let dir = scratch("cap");
    let pair = certificate(&dir, "server");
    let chat = start(&pair, &["--max-connections", "1"]);
    // Connected, and not shaking hands: its place is taken all the same.
    let _silent = TcpStream::connect(chat.addr).expect("connect");
    let mut late = Talker::client(chat.addr, &pair.0);
    late.expect("error: server full");
    assert_eq!(late.rest(), Vec::<String>::new());
}

#[test]
fn a_certificate_the_client_does_not_trust_is_exit_1_and_nothing_sent() {
    let dir = scratch("untrusted");
    let pair = certificate(&dir, "server");
    let other = certificate(&dir, "other");
    let chat = start(&pair, &[]);
    let mut watcher = Talker::client(chat.addr, &pair.0);
    watcher.greeted();
    let output = Command::new(tls_client())
        .args(["--tls", "--tls-ca"])
        .arg(&other.0)
        .arg(format!("localhost:{}", chat.addr.port()))
        .output()
        .expect("run client");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("client: TLS: certificate not trusted for localhost: "),
        "{stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    // A name the certificate is not for is refused too.
    let output = Command::new(tls_client())
        .args(["--tls", "--tls-name", "example.com", "--tls-ca"])
        .arg(&pair.0)
        .arg(chat.addr.to_string())
        .output()
        .expect("run client");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr.starts_with("client: TLS: certificate not trusted for example.com: "));
    // Nobody arrived: the next line the watcher gets is a newcomer's.
    let mut newcomer = Talker::client(chat.addr, &pair.0);
    let name = newcomer.greeted();
    watcher.expect(&format!("{name} has arrived"));
}

#[test]
fn bad_certificate_or_key_files_are_one_line_and_exit_1() {
    let dir = scratch("files");
    let (cert, key) = certificate(&dir, "server");
    let (_, other_key) = certificate(&dir, "other");
    let missing = dir.join("missing.pem");
    // PEM whose body is base64 but not a certificate or key, and PEM whose
    // body is not base64 at all.
    let corrupt = dir.join("corrupt.crt");
    let pem = |label: &str, body: &str| {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    };
    std::fs::write(&corrupt, pem("CERTIFICATE", "AAAABBBBCCCC")).unwrap();
    let base64 = dir.join("base64.crt");
    std::fs::write(&base64, pem("CERTIFICATE", "AAA!BBBBCCCC")).unwrap();
    let corrupt_key = dir.join("corrupt.key");
    std::fs::write(&corrupt_key, pem("PRIVATE KEY", "AAAABBBBCCCC")).unwrap();
    let cases = [
        (
            &corrupt,
            &key,
            format!(
                "certificate {}: not a valid certificate (bad encoding)\n",
                corrupt.display()
            ),
        ),
        (
            &base64,
            &key,
            format!(
                "certificate {}: not valid PEM (bad base64)\n",
                base64.display()
            ),
        ),
        (
            &cert,
            &base64,
            format!("key {}: not valid PEM (bad base64)\n", base64.display()),
        ),
        (
            &cert,
            &corrupt_key,
            format!("key {}: not a valid private key\n", corrupt_key.display()),
        ),
        (
            &missing,
            &key,
            format!("cannot read certificate {}: ", missing.display()),
        ),
        (
            &key,
            &key,
            format!("certificate {}: no PEM certificate", key.display()),
        ),
        (
            &cert,
            &cert,
            format!("key {}: no PEM private key", cert.display()),
        ),
        (
            &cert,
            &other_key,
            format!(
                "key {} does not match the certificate {}",
                other_key.display(),
                cert.display()
            ),
        ),
    ];
    for (cert, key, want) in cases {
        let output = Command::new(chat_bin())
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .arg("127.0.0.1:0")
            .output()
            .expect("run chat");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("chat: {want}")), "{stderr:?}");
    }
}

#[test]
fn sigusr1_reloads_the_certificate_and_keeps_everyone() {
    let dir = scratch("reload");
    let old = certificate(&dir, "old");
    let live = (dir.join("live.crt"), dir.join("live.key"));
    std::fs::copy(&old.0, &live.0).unwrap();
    std::fs::copy(&old.1, &live.1).unwrap();
    let mut chat = start(&live, &[]);
    let mut staying = Talker::client(chat.addr, &old.0);
    let name = staying.greeted();

    let new = certificate(&dir, "new");
    std::fs::copy(&new.0, &live.0).unwrap();
    std::fs::copy(&new.1, &live.1).unwrap();
    chat.send(rustix::process::Signal::USR1);
    log_line(&mut chat, "TLS: reloaded the certificate and key");
    staying.say("still here");
    staying.expect(&format!("{name}: still here"));
    let mut newcomer = Talker::client(chat.addr, &new.0);
    let newcomer_name = newcomer.greeted();
    staying.expect(&format!("{newcomer_name} has arrived"));
    let refused = Command::new(tls_client())
        .args(["--tls", "--tls-ca"])
        .arg(&old.0)
        .arg(format!("localhost:{}", chat.addr.port()))
        .output()
        .expect("run client");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");

    // A reload that fails keeps the pair in use.
    std::fs::write(&live.1, "not a key\n").unwrap();
    chat.send(rustix::process::Signal::USR1);
    let line = log_line(&mut chat, "TLS: reload failed");
    assert!(
        line.contains("keeping the certificate and key in use"),
        "{line:?}"
    );
    let mut third = Talker::client(chat.addr, &new.0);
    let third_name = third.greeted();
    staying.expect(&format!("{third_name} has arrived"));
}

#[test]
fn shutdown_flushes_then_closes_over_tls() {
    let dir = scratch("shutdown");
    let pair = certificate(&dir, "server");
    let chat = start(&pair, &[]);
    let mut client = Talker::client(chat.addr, &pair.0);
    let name = client.greeted();
    client.say("last words");
    client.expect(&format!("{name}: last words"));
    let status = chat.terminate();
    assert!(status.success(), "{status}");
    // The server's close_notify ends the client's output cleanly.
    assert_eq!(client.rest(), Vec::<String>::new());
    assert!(client.child.wait().expect("wait for client").success());
}

/// `chat --http ADDR` with `--tls-cert`, and the page's address, from its
/// log.
#[cfg(feature = "web")]
fn start_with_page(
    pair: &(std::path::PathBuf, std::path::PathBuf),
    extra: &[&str],
) -> (ChatProcess, std::net::SocketAddr) {
    let mut flags = vec!["--http", "127.0.0.1:0"];
    flags.extend_from_slice(extra);
    let mut chat = start(pair, &flags);
    let line = log_line(&mut chat, "the page is at ");
    let page = line
        .trim_end()
        .strip_prefix("chat: the page is at https://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("the page over HTTPS: {line:?}"));
    (chat, page.parse().expect("the page's address"))
}

#[cfg(feature = "web")]
#[test]
fn the_page_is_served_over_https_and_past_a_cap_told_why() {
    let dir = scratch("page");
    let pair = certificate(&dir, "server");
    let (_chat, page) = start_with_page(&pair, &[]);
    let mut https = Talker::s_client(page, &pair.0);
    https.say("GET / HTTP/1.1\r\nHost: localhost\r");
    https.say("\r");
    assert_eq!(https.line(), "HTTP/1.1 200 OK");
    // With its one place taken by a TCP connection shaking no hands, the
    // next is told why over HTTPS.
    let (full, page) = start_with_page(&pair, &["--max-connections", "1"]);
    let _silent = TcpStream::connect(full.addr).expect("connect");
    let mut late = Talker::s_client(page, &pair.0);
    late.say("GET / HTTP/1.1\r\nHost: localhost\r");
    late.say("\r");
    assert_eq!(late.line(), "HTTP/1.1 503 Service Unavailable");
    let rest = late.rest();
    assert!(
        rest.iter().any(|line| line == "error: server full"),
        "{rest:?}"
    );
}

/// A `redis-server` speaking only TLS on a free port, with the pair;
/// killed when dropped. `None` (skipped) without `redis-server`, unless
/// `CHAT_REQUIRE_REDIS=1`.
#[cfg(feature = "redis")]
struct TlsRedis {
    /// Its TLS port.
    port: u16,
    /// The process.
    child: std::process::Child,
}

#[cfg(feature = "redis")]
impl TlsRedis {
    fn start(
        pair: &(std::path::PathBuf, std::path::PathBuf),
        dir: &std::path::Path,
    ) -> Option<Self> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok();
        if !installed {
            let required = std::env::var("CHAT_REQUIRE_REDIS").is_ok_and(|value| value == "1");
            assert!(
                !required,
                "CHAT_REQUIRE_REDIS=1 but there is no redis-server"
            );
            common::skips::skipped(
                "Redis over TLS",
                "no redis-server (apt-get install redis-server)",
            );
            return None;
        }
        let port = common::redis::free_port();
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
            ])
            .arg("--tls-cert-file")
            .arg(&pair.0)
            .arg("--tls-key-file")
            .arg(&pair.1)
            .arg("--tls-ca-cert-file")
            .arg(&pair.0)
            .args([
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        common::eventually("redis-server to listen", PATIENCE, || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Some(TlsRedis { port, child })
    }
}

#[cfg(feature = "redis")]
impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two servers meet in one room through a Redis that speaks only TLS
/// (`--redis rediss://`), trusting its certificate through
/// `SSL_CERT_FILE`, as the system's roots are overridden.
#[cfg(feature = "redis")]
#[test]
fn two_servers_share_a_room_over_rediss() {
    let dir = scratch("rediss");
    let pair = certificate(&dir, "redis");
    let Some(redis) = TlsRedis::start(&pair, &dir) else {
        return;
    };
    // Only this test's servers read it (every client here names its CA).
    std::env::set_var("SSL_CERT_FILE", &pair.0);
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let one = ChatProcess::start(&["--redis", &url]);
    let two = ChatProcess::start(&["--redis", &url]);
    let mut first = common::Peer::connect(one.addr);
    let mut second = common::Peer::connect(two.addr);
    first.expect(&format!("{} has arrived", second.name));
    second.say("over rediss");
    let said = format!("{}: over rediss", second.name);
    first.expect(&said);
    second.expect(&said);
}

/// A TLS client that stops reading is cut off as over TCP, and the room
/// goes on: the send queue's bound holds over TLS.
#[test]
fn a_tls_client_that_stops_reading_is_cut_off() {
    let dir = scratch("slow");
    let pair = certificate(&dir, "server");
    let chat = start(&pair, &["--max-line", "1K", "--send-queue", "64K"]);
    let mut talker = Talker::client(chat.addr, &pair.0);
    let me = talker.greeted();
    // `openssl s_client` whose output nobody reads: once its pipe is
    // full it reads no more from the server.
    let mut stalled = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &chat.addr.to_string()])
        .arg("-CAfile")
        .arg(&pair.0)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start openssl s_client");
    let arrived = talker.line();
    let stalled_name = arrived
        .strip_suffix(" has arrived")
        .unwrap_or_else(|| panic!("an arrival: {arrived:?}"))
        .to_string();
    let line = "x".repeat(1000);
    let gone = format!("{stalled_name} has left");
    let mut left = false;
    // Far more than its pipe, its socket and its queue hold together.
    for _ in 0..4_000 {
        talker.say(&line);
        loop {
            match talker.line() {
                heard if heard == gone => left = true,
                heard if heard == format!("{me}: {line}") => break,
                heard => panic!("unexpected: {heard:?}"),
            }
        }
        if left {
            break;
        }
    }
    assert!(left, "the client that stopped reading was never cut off");
    talker.say("still here");
    talker.expect(&format!("{me}: still here"));
    let _ = stalled.kill();
    let _ = stalled.wait();
}

#[test]
fn a_bad_ca_file_is_an_error_before_connecting() {
    let dir = scratch("bad-ca");
    let corrupt = dir.join("corrupt.crt");
    std::fs::write(
        &corrupt,
        "-----BEGIN CERTIFICATE-----\nAAA!BBBBCCCC\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    let output = Command::new(tls_client())
        .args(["--tls", "--tls-ca"])
        .arg(&corrupt)
        .arg(format!("localhost:{}", addr.port()))
        .output()
        .expect("run client");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "client: TLS: certificates {}: not valid PEM (bad base64)\n",
            corrupt.display()
        )
    );
    // Connections queue in order: the first the listener accepts after the
    // client has exited is ours, so the client never connected.
    let ours = TcpStream::connect(addr).expect("connect");
    let (_, from) = listener.accept().expect("accept");
    assert_eq!(from, ours.local_addr().unwrap(), "the client connected");
}

#[test]
fn client_tls_to_a_plaintext_server_asks_whether_it_is_one() {
    let chat = ChatProcess::start(&[]);
    let dir = scratch("plain-server");
    let pair = certificate(&dir, "server");
    let output = Command::new(tls_client())
        .args(["--tls", "--tls-ca"])
        .arg(&pair.0)
        .arg(format!("localhost:{}", chat.addr.port()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run client");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        "client: TLS: handshake with localhost failed: the answer is not TLS \
         (is it a TLS server?)\n"
    );
    assert!(output.stdout.is_empty(), "{output:?}");
}
