//! The faithful part of PROTOCOL.md, rule by rule, over real sockets against
//! a server running in this process.

mod common;

use std::collections::HashMap;
use std::thread;

use common::{Peer, TestServer};

/// The book's session with three clients, byte for byte.
#[test]
fn the_books_session() {
    let server = TestServer::start();
    let mut a = Peer::connect(server.addr);
    let mut b = Peer::connect(server.addr);
    let (an, bn) = (a.name.clone(), b.name.clone());
    a.expect(&format!("{bn} has arrived"));

    a.say("Hi!");
    a.expect(&format!("{an}: Hi!"));
    b.expect(&format!("{an}: Hi!"));
    b.say("Hi yourself.");
    a.expect(&format!("{bn}: Hi yourself."));
    b.expect(&format!("{bn}: Hi yourself."));

    a.half_close();
    a.expect_end();
    b.expect(&format!("{an} has left"));

    let mut c = Peer::connect(server.addr);
    let cn = c.name.clone();
    b.expect(&format!("{cn} has arrived"));
    c.say("Welcome.");
    b.expect(&format!("{cn}: Welcome."));
    c.expect(&format!("{cn}: Welcome."));

    b.half_close();
    b.expect_end();
    c.expect(&format!("{bn} has left"));
    c.half_close();
    c.expect_end();
}

/// Sends `bytes` as one client, then half-closes, and returns every line the
/// other client received from it, up to its `has left`.
fn relay(bytes: &[u8]) -> Vec<Vec<u8>> {
    let server = TestServer::start();
    let mut observer = Peer::connect(server.addr);
    let mut sender = Peer::connect(server.addr);
    observer.expect(&format!("{} has arrived", sender.name));
    sender.send(bytes);
    sender.half_close();
    let left = format!("{} has left\n", sender.name).into_bytes();
    let mut lines = Vec::new();
    loop {
        let line = observer.line();
        if line == left {
            break;
        }
        lines.push(line);
    }
    // The sender got the same lines, and nothing after them.
    for line in &lines {
        sender.expect_bytes(line);
    }
    sender.expect_end();
    lines
}

/// `prefix` of `name` followed by each text, as the wire shows them.
fn messages(name: &str, texts: &[&[u8]]) -> Vec<Vec<u8>> {
    texts
        .iter()
        .map(|text| [format!("{name}: ").as_bytes(), text, b"\n"].concat())
        .collect()
}

#[test]
fn framing_crlf_lone_cr_empty_lines_and_a_last_line_without_newline() {
    let got = relay(b"crlf\r\nmid\rline\n\n\r\n\r\r\nlast");
    let name = {
        let first = String::from_utf8_lossy(&got[0]).into_owned();
        first.split(": ").next().unwrap().to_string()
    };
    let want: [&[u8]; 6] = [b"crlf", b"mid\rline", b"", b"", b"\r", b"last"];
    assert_eq!(got, messages(&name, &want));
}

#[test]
fn a_last_line_with_a_lone_cr_loses_it_as_in_go() {
    let got = relay(b"last\r");
    assert_eq!(got.len(), 1);
    assert!(
        got[0].ends_with(b": last\n"),
        "{:?}",
        got[0].escape_ascii().to_string()
    );
}

#[test]
fn bytes_are_relayed_unchanged() {
    let got = relay(b"\xff\xfe invalid \xc3\x28\n\0nul\0\n\ttab\x1b[31m\n");
    let tails: Vec<&[u8]> = got
        .iter()
        .map(|line| &line[line.iter().position(|&b| b == b' ').unwrap() + 1..])
        .collect();
    let want: [&[u8]; 3] = [
        b"\xff\xfe invalid \xc3\x28\n",
        b"\0nul\0\n",
        b"\ttab\x1b[31m\n",
    ];
    assert_eq!(tails, want);
}

/// The book's server loses the echo about a third of the time.
#[test]
fn a_half_closed_client_still_gets_its_own_echo() {
    let server = TestServer::start();
    for _ in 0..50 {
        let mut peer = Peer::connect_quiet(server.addr);
        peer.send(b"hi\n");
        peer.half_close();
        let name = peer.name.clone();
        peer.expect(&format!("You are {name}"));
        peer.expect(&format!("{name}: hi"));
        peer.expect_end();
    }
}

#[test]
fn a_reset_is_a_leave() {
    let server = TestServer::start();
    let mut a = Peer::connect(server.addr);
    let mut b = Peer::connect(server.addr);
    let bn = b.name.clone();
    a.expect(&format!("{bn} has arrived"));
    b.say("bye");
    a.expect(&format!("{bn}: bye"));
    b.expect(&format!("{bn}: bye"));
    b.reset();
    a.expect(&format!("{bn} has left"));
    // The server goes on serving.
    a.say("still here");
    a.expect(&format!("{}: still here", a.name));
}

/// A newcomer that speaks before reading anything gets the echo of its
/// first line, and never its own arrival.
#[test]
fn a_newcomer_speaking_at_once_gets_its_echo_and_not_its_arrival() {
    let server = TestServer::start();
    let mut observer = Peer::connect(server.addr);
    for _ in 0..50 {
        let mut newcomer = Peer::connect_quiet(server.addr);
        newcomer.say("first");
        let name = newcomer.name.clone();
        newcomer.expect(&format!("You are {name}"));
        newcomer.expect(&format!("{name}: first"));
        observer.expect(&format!("{name} has arrived"));
        observer.expect(&format!("{name}: first"));
        newcomer.half_close();
        newcomer.expect_end();
        observer.expect(&format!("{name} has left"));
    }
}

/// Lines sent right before leaving all come before the `has left`.
#[test]
fn a_leavers_last_lines_come_before_its_leave() {
    let server = TestServer::start();
    let mut observer = Peer::connect(server.addr);
    for _ in 0..50 {
        let mut leaver = Peer::connect(server.addr);
        let name = leaver.name.clone();
        observer.expect(&format!("{name} has arrived"));
        leaver.send(b"one\ntwo\nthree\n");
        leaver.half_close();
        for text in ["one", "two", "three"] {
            leaver.expect(&format!("{name}: {text}"));
            observer.expect(&format!("{name}: {text}"));
        }
        leaver.expect_end();
        observer.expect(&format!("{name} has left"));
    }
}

/// Five clients talking at once all see one and the same order, and each
/// client's lines in the order it sent them.
#[test]
fn clients_talking_at_once_see_one_order() {
    const CLIENTS: usize = 5;
    const LINES: usize = 200;
    let server = TestServer::start();
    let mut peers: Vec<Peer> = Vec::new();
    for _ in 0..CLIENTS {
        let peer = Peer::connect(server.addr);
        for earlier in &mut peers {
            earlier.expect(&format!("{} has arrived", peer.name));
        }
        peers.push(peer);
    }
    let threads: Vec<_> = peers
        .into_iter()
        .map(|mut peer| {
            thread::spawn(move || {
                for line in 0..LINES {
                    peer.say(&format!("line {line}"));
                }
                let seen: Vec<String> = (0..CLIENTS * LINES).map(|_| peer.text()).collect();
                (peer, seen)
            })
        })
        .collect();
    let results: Vec<(Peer, Vec<String>)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();

    let first = &results[0].1;
    for (peer, seen) in &results {
        assert_eq!(seen, first, "{} saw another order", peer.name);
    }
    let mut next_expected: HashMap<String, usize> = HashMap::new();
    for line in first {
        let (name, text) = line.split_once(": ").unwrap();
        let count = next_expected.entry(name.to_string()).or_default();
        assert_eq!(text, format!("line {count}"), "{name}'s lines out of order");
        *count += 1;
    }
    assert!(next_expected.values().all(|&count| count == LINES));
}

/// 200 clients come and go; an observer sees each arrive once and leave once.
#[test]
fn two_hundred_comings_and_goings() {
    let server = TestServer::start();
    let mut observer = Peer::connect(server.addr);
    for _ in 0..200 {
        let mut visitor = Peer::connect(server.addr);
        visitor.half_close();
        visitor.expect_end();
        observer.expect(&format!("{} has arrived", visitor.name));
        observer.expect(&format!("{} has left", visitor.name));
    }
    observer.half_close();
    observer.expect_end();
}

/// Shutting down closes every connection after flushing what was queued.
#[test]
fn shutdown_flushes_and_closes_every_connection() {
    let server = TestServer::start();
    let mut a = Peer::connect(server.addr);
    let mut b = Peer::connect(server.addr);
    a.expect(&format!("{} has arrived", b.name));
    b.say("last words");
    a.expect(&format!("{}: last words", b.name));
    server.stop();
    b.expect(&format!("{}: last words", b.name));
    a.expect_end();
    b.expect_end();
}

/// IPv6 addresses are written as Go writes them: `[::1]:PORT`.
#[test]
fn ipv6_clients_are_named_in_brackets() {
    let server = TestServer::start_on("[::1]:0", chat::Config::default());
    let mut a = Peer::connect(server.addr);
    assert!(a.name.starts_with("[::1]:"), "{}", a.name);
    a.say("over six");
    a.expect(&format!("{}: over six", a.name));
}

/// A line over the limit gets its sender an error line and a leave; no part
/// of it reaches anyone.
#[test]
fn a_line_over_the_limit_ends_its_sender_with_an_error() {
    let server = TestServer::start_with(chat::Config {
        max_line_bytes: 10,
        ..chat::Config::default()
    });
    let mut a = Peer::connect(server.addr);
    let mut b = Peer::connect(server.addr);
    let bn = b.name.clone();
    a.expect(&format!("{bn} has arrived"));
    b.send(b"0123456789\n0123456789X\nnever sent\n");
    b.expect(&format!("{bn}: 0123456789"));
    b.expect("error: line too long (the limit is 10 bytes)");
    b.expect_end();
    a.expect(&format!("{bn}: 0123456789"));
    a.expect(&format!("{bn} has left"));
    a.half_close();
    a.expect_end();
}

/// A client that stops reading and then leaves cannot hold its connection
/// (and its place under the cap) forever: its last flush has a deadline.
#[test]
fn a_leaver_that_never_reads_is_closed_after_the_flush_timeout() {
    use std::io::{Read, Write};
    use std::time::Duration;
    let server = TestServer::start_with(chat::Config {
        max_connections: 2,
        send_queue_bytes: 64 << 20,
        flush_timeout: Duration::from_millis(300),
        ..chat::Config::default()
    });
    let mut talker = Peer::connect(server.addr);
    let stuck = Peer::connect(server.addr);
    talker.expect(&format!("{} has arrived", stuck.name));
    let talker_name = talker.name.clone();
    let stuck_name = stuck.name.clone();
    let (mut writer, mut reader) = talker.into_parts();
    // More than the kernel buffers toward the stuck client can hold.
    let line = format!("{}\n", "s".repeat(999));
    for _ in 0..8_000 {
        writer.write_all(line.as_bytes()).unwrap();
    }
    stuck.half_close();
    // The talker reads everything up to the stuck client's leave.
    let left = format!("{stuck_name} has left\n");
    let mut text = String::new();
    loop {
        text.clear();
        std::io::BufRead::read_line(&mut reader, &mut text).unwrap();
        assert!(!text.is_empty(), "{talker_name}: connection ended");
        if text == left {
            break;
        }
    }
    // Its place frees up: a newcomer is eventually greeted, not turned away.
    let what = "the stuck client to give up its place";
    common::eventually(what, common::PATIENCE, || {
        let mut newcomer = std::net::TcpStream::connect(server.addr).unwrap();
        newcomer.set_read_timeout(Some(common::PATIENCE)).unwrap();
        let mut first = [0u8; 8];
        newcomer.read_exact(&mut first).unwrap();
        if &first == b"You are " {
            return Some(());
        }
        assert_eq!(&first, b"error: s", "unexpected answer");
        None
    });
    drop(stuck);
}
