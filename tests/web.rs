//! PROTOCOL.md's "A page in the browser", over real sockets: a page's
//! WebSocket is a client like any other (the same lines, order, limits and
//! shutdown), its frames are lines, and only the page's own origin may
//! open one. The page itself, in a real browser, is `tests/browser.rs`.
#![cfg(feature = "web")]

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use common::web::{binary, client_frame, http_get, Handshake, WebPeer};
use common::{Peer, TestServer};
use tungstenite::Message;

fn server() -> TestServer {
    TestServer::start_with_page(chat::Config::default())
}

/// A page client and TCP clients are one room: the same greeting, arrival,
/// messages and leave, named by their TCP addresses, in one order.
#[test]
fn a_page_and_terminals_share_one_room_and_one_order() {
    let server = server();
    let mut alice = Peer::connect(server.addr);
    let mut page = WebPeer::connect(server.page.unwrap());
    alice.expect(&format!("{} has arrived", page.name));
    let mut bob = Peer::connect(server.addr);
    alice.expect(&format!("{} has arrived", bob.name));
    page.expect(&format!("{} has arrived", bob.name));

    // Each speaks at once; every client sees one order.
    page.say("from the page");
    alice.say("from a terminal");
    bob.say("from another");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(alice.text());
    }
    for line in &seen {
        bob.expect(line);
        page.expect(line);
    }
    assert!(seen.contains(&format!("{}: from the page", page.name)));

    page.close();
    alice.expect(&format!("{} has left", page.name));
    bob.expect(&format!("{} has left", page.name));
    drop((alice, bob));
    server.stop();
}

/// Frames are lines: a frame with newlines is several, one `\r` before a
/// newline goes, an empty frame is an empty line, a binary frame carries
/// any bytes, and each line comes back as one binary frame of its exact
/// bytes.
#[test]
fn frames_are_lines() {
    let server = server();
    let mut page = WebPeer::connect(server.page.unwrap());
    let me = page.name.clone();
    page.say("one\ntwo\r\nthree");
    page.expect(&format!("{me}: one"));
    page.expect(&format!("{me}: two"));
    page.expect(&format!("{me}: three"));
    page.say("a trailing newline ends the line\n");
    page.expect(&format!("{me}: a trailing newline ends the line"));
    page.say("");
    page.expect(&format!("{me}: "));
    page.send(binary(b"\xff\xfe not UTF-8 \x1b[2J"));
    page.expect_bytes(&[me.as_bytes(), b": \xff\xfe not UTF-8 \x1b[2J"].concat());
    page.say("héllo ✓");
    page.expect(&format!("{me}: héllo ✓"));
    drop(page);
    server.stop();
}

/// Names mode from a page: asked its name, answered in a frame.
#[test]
fn names_mode_from_a_page() {
    let server = TestServer::start_with_page(chat::Config {
        names: true,
        rate: None,
        ..chat::Config::default()
    });
    let mut terminal = Peer::connect_quiet(server.addr);
    terminal.expect("What is your name?");
    terminal.say("alice");
    terminal.expect("You are alice");
    terminal.expect("Nobody else is here");

    let mut page = WebPeer::connect_quiet(server.page.unwrap());
    page.expect("What is your name?");
    page.say("alice");
    page.expect("error: alice is taken");
    page.expect("What is your name?");
    page.say("bob");
    page.expect("You are bob");
    page.expect("Also here: alice");
    terminal.expect("bob has arrived");

    page.say("/msg alice psst");
    page.expect("bob -> alice: psst");
    terminal.expect("bob -> alice: psst");
    terminal.say("<b>hi</b>");
    page.expect("alice: <b>hi</b>");
    terminal.expect("alice: <b>hi</b>");
    page.say("/quit");
    page.expect_close();
    terminal.expect("bob has left");
    drop(terminal);
    server.stop();
}

/// A frame over the line limit is a line over the limit: the client is
/// told, then closed with a close frame, and leaves.
#[test]
fn a_frame_over_the_line_limit_ends_its_sender() {
    let server = TestServer::start_with_page(chat::Config {
        max_line_bytes: 100,
        ..chat::Config::default()
    });
    let mut observer = Peer::connect(server.addr);
    let mut page = WebPeer::connect(server.page.unwrap());
    observer.expect(&format!("{} has arrived", page.name));
    // A line of exactly the limit passes.
    let most = "x".repeat(100);
    page.say(&most);
    observer.expect(&format!("{}: {most}", page.name));
    page.expect(&format!("{}: {most}", page.name));
    page.say(&"y".repeat(101));
    page.expect("error: line too long (the limit is 100 bytes)");
    page.expect_close();
    observer.expect(&format!("{} has left", page.name));

    // So is a frame far over it, which the server refuses by its header.
    let mut page = WebPeer::connect(server.page.unwrap());
    observer.expect(&format!("{} has arrived", page.name));
    page.say(&"z".repeat(100_000));
    page.expect("error: line too long (the limit is 100 bytes)");
    page.expect_close();
    observer.expect(&format!("{} has left", page.name));
    drop(observer);
    server.stop();
}

/// A page client that stops reading is cut off when its queue is full,
/// and the others see it leave.
#[test]
fn a_page_that_stops_reading_is_cut_off() {
    let server = TestServer::start_with_page(chat::Config {
        max_line_bytes: 4000,
        send_queue_bytes: 16 * 1024,
        ..chat::Config::default()
    });
    let page_addr = server.page.unwrap();
    let mut observer = Peer::connect(server.addr);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&page_addr.into()).unwrap();
    let origin = format!("http://{page_addr}");
    let Handshake::Open(mut rude) = WebPeer::handshake(socket.into(), page_addr, Some(&origin))
    else {
        panic!("handshake refused");
    };
    rude.expect(&format!("You are {}", rude.name));
    observer.expect(&format!("{} has arrived", rude.name));
    let left = format!("{} has left", rude.name);
    let long = "x".repeat(3000);
    let mut announced = false;
    for _ in 0..2000 {
        observer.say(&long);
        let line = observer.text();
        if line == left {
            announced = true;
            break;
        }
        assert!(line.starts_with(&observer.name), "unexpected {line:?}");
    }
    assert!(announced, "the page that stopped reading was never cut off");
    drop((rude, observer));
    server.stop();
}

/// At shutdown a page client gets every line queued for it, then a close
/// frame, then the end.
#[test]
fn shutdown_flushes_a_page_then_closes_it() {
    let server = server();
    let mut page = WebPeer::connect(server.page.unwrap());
    let mut terminal = Peer::connect(server.addr);
    for n in 0..100 {
        terminal.say(&format!("line {n}"));
    }
    // Everything is in the room's order before the shutdown starts.
    for n in 0..100 {
        terminal.expect(&format!("{}: line {n}", terminal.name));
    }
    server.stop();
    page.expect(&format!("{} has arrived", terminal.name));
    for n in 0..100 {
        page.expect(&format!("{}: line {n}", terminal.name));
    }
    page.expect_close();
}

/// A page client silent for the idle timeout is told and closed.
#[test]
fn an_idle_page_is_disconnected() {
    let server = TestServer::start_with_page(chat::Config {
        idle_timeout: Some(Duration::from_millis(300)),
        ..chat::Config::default()
    });
    let mut page = WebPeer::connect(server.page.unwrap());
    page.expect("error: idle for too long (nothing received for 300ms)");
    page.expect_close();
    server.stop();
}

/// A frame trickled a byte at a time is a line not finished: the line
/// timeout ends it as it ends a TCP trickler.
#[test]
fn a_trickled_frame_meets_the_line_timeout() {
    let server = TestServer::start_with_page(chat::Config {
        line_timeout: Some(Duration::from_millis(500)),
        ..chat::Config::default()
    });
    let mut page = WebPeer::connect(server.page.unwrap());
    let frame = client_frame(0x1, b"slowly");
    // The header and part of the payload, then nothing more.
    page.send_raw(&frame[..8]);
    page.expect("error: line not finished within 500ms");
    page.expect_close();
    server.stop();
}

/// The caps count TCP and page clients together.
#[test]
fn the_caps_count_pages_and_terminals_together() {
    let server = TestServer::start_with_page(chat::Config {
        max_connections: 1,
        ..chat::Config::default()
    });
    let page = WebPeer::connect(server.page.unwrap());
    let mut terminal = Peer::connect_quiet(server.addr);
    terminal.expect("error: server full");
    terminal.expect_end();
    drop(page);
    server.stop();

    let server = TestServer::start_with_page(chat::Config {
        max_per_address: Some(1),
        ..chat::Config::default()
    });
    let terminal = Peer::connect(server.addr);
    let (status, response) = http_get(
        server.page.unwrap(),
        "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_eq!(status, 503, "{response}");
    assert!(response.ends_with("\r\n\r\nerror: too many connections from your address\n"));
    drop(terminal);
    server.stop();
}

/// A connection that never finishes its request head is answered `408`
/// after the line timeout (at most 10 s) and gives its place back.
#[test]
fn a_handshake_that_never_completes_gives_its_place_back() {
    let server = TestServer::start_with_page(chat::Config {
        max_connections: 1,
        line_timeout: Some(Duration::from_millis(300)),
        ..chat::Config::default()
    });
    let mut stuck = TcpStream::connect(server.page.unwrap()).unwrap();
    stuck.set_read_timeout(Some(common::PATIENCE)).unwrap();
    std::io::Write::write_all(&mut stuck, b"GET /ws HTTP/1.1\r\nHost: loc").unwrap();
    let mut answer = String::new();
    stuck.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("error: request not sent within 300ms\n"),
        "{answer}"
    );
    drop(stuck);
    // Its place is free again: once its task has ended, a newcomer gets in.
    let what = "the stuck handshake to give up its place";
    common::eventually(what, common::PATIENCE, || {
        let mut peer = Peer::connect_quiet(server.addr);
        let line = peer.text();
        if line.starts_with("You are ") {
            return Some(());
        }
        assert_eq!(line, "error: server full");
        None
    });
    server.stop();
}

/// Only the page's own origin may open a WebSocket: another site's, none,
/// or a rebinding site's own name on a loopback server get 403.
#[test]
fn the_origin_check_refuses_cross_site_handshakes() {
    let server = server();
    let page = server.page.unwrap();
    let refusal = |origin: Option<&str>| match WebPeer::handshake(
        TcpStream::connect(page).unwrap(),
        page,
        origin,
    ) {
        Handshake::Open(_) => panic!("{origin:?} was let in"),
        Handshake::Refused(status, body) => (status, body),
    };
    let (status, body) = refusal(Some("http://evil.example"));
    assert_eq!(status, 403);
    assert_eq!(
        body,
        "error: cross-site WebSocket refused (only the page's own origin may connect)\n"
    );
    assert_eq!(refusal(None).0, 403);
    assert_eq!(refusal(Some(&format!("http://{page}.evil.example"))).0, 403);

    // DNS rebinding: the Host and Origin of a site whose name points here.
    let request = "GET /ws HTTP/1.1\r\nHost: evil.example:80\r\nOrigin: http://evil.example:80\r\n\
                   Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let (status, response) = http_get(page, request);
    assert_eq!(status, 403, "{response}");
    assert!(response.ends_with("error: this server answers to localhost only\n"));

    // The page's own origin by name is let in.
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://localhost:{port}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        port = page.port()
    );
    let mut stream = TcpStream::connect(page).unwrap();
    stream.set_read_timeout(Some(common::PATIENCE)).unwrap();
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    let mut head = [0u8; 129];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&head),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    drop(stream);
    server.stop();
}

/// `GET /` is the page, with a policy that lets only its own script run;
/// anything else is 404, or 405 for another method.
#[test]
fn the_page_and_nothing_else() {
    let server = server();
    let page = server.page.unwrap();
    let (status, response) = http_get(page, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(status, 200);
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"));
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
    assert!(head.contains("\r\nContent-Security-Policy: default-src 'none'; script-src 'sha256-"));
    assert!(body.starts_with("<!doctype html>"));
    assert!(body.contains("/ws"));

    let (status, response) = http_get(page, "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(status, 200);
    assert!(response.ends_with("\r\n\r\n"), "a HEAD answer has no body");

    for path in ["/index.html", "/favicon.ico", "/ws/", "/../etc/passwd"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let (status, response) = http_get(page, &request);
        assert_eq!(status, 404, "{path}: {response}");
    }
    let (status, response) = http_get(page, "POST / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(status, 405);
    assert!(response.contains("\r\nAllow: GET, HEAD\r\n"));
    let (status, _) = http_get(page, "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(status, 426);
    let (status, _) = http_get(page, "hello\r\n\r\n");
    assert_eq!(status, 400);
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(10_000));
    let (status, _) = http_get(page, &huge);
    assert_eq!(status, 431);
    server.stop();
}

/// A page that pings gets its pong at once, even in a quiet room, and
/// stays; a page that closes leaves.
#[test]
fn pings_are_answered_and_a_close_is_a_leave() {
    let server = server();
    let mut observer = Peer::connect(server.addr);
    let mut page = WebPeer::connect(server.page.unwrap());
    observer.expect(&format!("{} has arrived", page.name));
    page.send(Message::Ping(b"are you there".to_vec().into()));
    page.expect_pong(b"are you there");
    page.say("still here");
    page.expect(&format!("{}: still here", page.name));
    observer.expect(&format!("{}: still here", page.name));
    page.close();
    observer.expect(&format!("{} has left", page.name));
    drop(observer);
    server.stop();
}

/// A request names its host exactly once (RFC 9112, 3.2): two `Host`
/// headers (the same twice, or two hosts) or none are `400`, for the page
/// and for the WebSocket alike, before any other check.
#[test]
fn a_request_with_two_hosts_or_none_is_refused() {
    let server = server();
    let page = server.page.unwrap();
    let upgrade = "Origin: http://localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    for request in [
        "GET / HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n".to_string(),
        "GET / HTTP/1.1\r\nHost: localhost\r\nhost: evil.example\r\n\r\n".to_string(),
        "HEAD / HTTP/1.1\r\n\r\n".to_string(),
        format!("GET /ws HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n{upgrade}\r\n"),
    ] {
        let (status, response) = http_get(page, &request);
        assert_eq!(status, 400, "{request:?}: {response}");
        assert!(
            response.ends_with("\r\n\r\nerror: a request needs exactly one Host header\n"),
            "{request:?}: {response}"
        );
    }
    // One Host is a request like any other.
    let (status, _) = http_get(page, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(status, 200);
    server.stop();
}

/// A terminal and a page connect to two ports, and the kernel may give
/// both one address and port: two members would then share a book-mode
/// name. The later is told and turned back, and nobody hears of it.
#[test]
fn a_page_and_a_terminal_with_one_address_are_never_both_in() {
    let server = server();
    let bound = |to: std::net::SocketAddr, port: u16| {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_reuse_address(true).unwrap();
        let local: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        socket.bind(&local.into()).expect("bind the shared port");
        socket.connect(&to.into()).expect("connect");
        TcpStream::from(socket)
    };
    let mut alice = Peer::connect(server.addr);
    let first = bound(server.addr, 0);
    let port = first.local_addr().unwrap().port();
    let mut terminal = Peer::from_stream_expecting_greeting(first);
    alice.expect(&format!("{} has arrived", terminal.name));

    let page = server.page.unwrap();
    let Handshake::Open(mut twin) =
        WebPeer::handshake(bound(page, port), page, Some(&format!("http://{page}")))
    else {
        panic!("the twin's handshake was refused");
    };
    assert_eq!(twin.name, terminal.name, "one address for both");
    twin.expect(&format!("You are {}", twin.name));
    twin.expect(&format!(
        "error: {} is already here (another connection has this address); connect again",
        twin.name
    ));
    twin.expect_close();
    // Nobody heard of the twin: the next line alice gets is bob's arrival.
    let bob = Peer::connect(server.addr);
    alice.expect(&format!("{} has arrived", bob.name));
    terminal.say("still here");
    alice.expect(&format!("{}: still here", terminal.name));
    drop((alice, bob, terminal));
    server.stop();
}

/// A page that speaks before it has the handshake's answer (which RFC
/// 6455 tells it not to do) is still heard, whether its frames came with
/// its request (read with it) or after it, still in the kernel when the
/// request is read: the server's first attempt to read frames does not
/// try the socket (the client should be waiting for the answer), and
/// must not miss what is there. The answer, the greeting and the echoes
/// come in that order.
#[test]
fn a_page_that_speaks_before_the_answer_is_heard() {
    let server = server();
    let page = server.page.unwrap();
    let mut stream = TcpStream::connect(page).unwrap();
    stream.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let me = stream.local_addr().unwrap().to_string();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {page}\r\nOrigin: http://{page}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    // Longer than what the server reads with the request (1 KiB at a
    // time): the rest of the frame waits in the kernel.
    let long = "x".repeat(1500);
    let first = [request.as_bytes(), &client_frame(0x1, long.as_bytes())].concat();
    std::io::Write::write_all(&mut stream, &first).unwrap();
    std::io::Write::write_all(&mut stream, &client_frame(0x1, b"after it")).unwrap();
    let mut got = Vec::new();
    let expected: Vec<Vec<u8>> = [
        format!("You are {me}"),
        format!("{me}: {long}"),
        format!("{me}: after it"),
    ]
    .map(String::into_bytes)
    .into();
    let mut frames = Vec::new();
    while frames.len() < expected.len() {
        let mut buf = [0u8; 4096];
        let read = stream.read(&mut buf).expect("the answer and three frames");
        assert!(read > 0, "closed early: {}", got.escape_ascii());
        got.extend_from_slice(&buf[..read]);
        let Some(head) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        assert!(
            got.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"),
            "{}",
            got.escape_ascii()
        );
        frames = server_frames(&got[head + 4..]);
    }
    assert_eq!(frames, expected);
    drop(stream);
    server.stop();
}

/// The payloads of the whole binary frames at the start of `bytes`, as
/// the server sends them: unmasked, under 64 KiB.
fn server_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while let [0x82, length, ..] = *bytes {
        let (start, length) = match length {
            126 if bytes.len() >= 4 => (4, usize::from(u16::from_be_bytes([bytes[2], bytes[3]]))),
            126 => break,
            length => (2, usize::from(length)),
        };
        let Some(payload) = bytes.get(start..start + length) else {
            break;
        };
        frames.push(payload.to_vec());
        bytes = &bytes[start + length..];
    }
    frames
}
