//! The flow of a connection's lines under load: its permits (the lines it
//! may have in the room at once) live in its queue and share the reader's
//! one waker with its wait for replies, so these tests press on what that
//! sharing could get wrong. Names-mode floods that mix lines and commands
//! (each command waits for every permit back), a throttled flood, a client
//! that leaves its answers unread, leavers with lines in flight, and a
//! client cut off while it waits. Real sockets, synchronised on what
//! arrives.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::thread;
use std::time::Duration;

use common::{Peer, TestServer};

/// A names-mode client named `name`, past its `Also here` line.
fn named(server: &TestServer, name: &str) -> Peer {
    let mut peer = Peer::connect_quiet(server.addr);
    peer.expect("What is your name?");
    peer.say(name);
    peer.expect(&format!("You are {name}"));
    let _also_here = peer.text();
    peer
}

/// `count` named clients, each having seen every later one arrive.
fn room(server: &TestServer, count: usize) -> Vec<(String, Peer)> {
    let mut peers: Vec<(String, Peer)> = Vec::new();
    for index in 0..count {
        let name = format!("p{index}");
        let peer = named(server, &name);
        for (_, earlier) in &mut peers {
            earlier.expect(&format!("{name} has arrived"));
        }
        peers.push((name, peer));
    }
    peers
}

/// Every client floods `lines` lines, a `/who` (and a `/me`) among them
/// every few lines, each in one write; reads until it has every client's
/// `done`. Checks that all saw one order, nothing lost, each sender's lines
/// in its order, and each asker got its every answer.
fn flood_with_commands(config: chat::Config, clients: usize, lines: usize) {
    let server = TestServer::start_with(config);
    let peers = room(&server, clients);
    let threads: Vec<_> = peers
        .into_iter()
        .map(|(name, peer)| {
            thread::spawn(move || {
                let (mut stream, mut reader) = peer.into_parts();
                let mut whos = 0;
                let mut out = Vec::new();
                for line in 0..lines {
                    out.extend_from_slice(format!("line {line}\n").as_bytes());
                    if line % 7 == 3 {
                        out.extend_from_slice(b"/who\n");
                        whos += 1;
                    }
                    if line % 11 == 5 {
                        out.extend_from_slice(format!("/me waves {line}\n").as_bytes());
                    }
                }
                out.extend_from_slice(b"done\n");
                let writer = thread::spawn(move || {
                    stream.write_all(&out).expect("send the flood");
                    stream
                });
                let mut seen = Vec::new();
                let mut answers = 0;
                let mut done = 0;
                while done < clients {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(n) if n > 0 && line.ends_with('\n') => {}
                        other => panic!("{name}: no line ({other:?}) after {} lines", seen.len()),
                    }
                    let line = line.trim_end_matches('\n').to_string();
                    if line.starts_with("Here: ") {
                        answers += 1;
                        continue;
                    }
                    if line.ends_with(": done") {
                        done += 1;
                    }
                    seen.push(line);
                }
                let stream = writer.join().unwrap();
                (name, seen, answers, whos, stream, reader)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let first = &results[0].1;
    for (name, seen, answers, whos, _, _) in &results {
        assert_eq!(seen.len(), first.len(), "{name} saw another count");
        assert!(seen == first, "{name} saw another order");
        assert_eq!(answers, whos, "{name}: every /who answered once");
    }
    let mut next: HashMap<String, usize> = HashMap::new();
    for line in first {
        if let Some((who, text)) = line.split_once(": ") {
            if let Some(number) = text.strip_prefix("line ") {
                let count = next.entry(who.to_string()).or_default();
                assert_eq!(number, count.to_string(), "{who}'s lines out of order");
                *count += 1;
            }
        }
    }
    assert_eq!(next.len(), clients);
    assert!(next.values().all(|&count| count == lines), "{next:?}");
    drop(results);
    server.stop();
}

/// Eight named clients flood at once, without flood control: one order
/// for all, every line, every answer.
#[test]
fn names_flood_with_commands_keeps_one_order_and_loses_nothing() {
    let config = chat::Config {
        names: true,
        ..chat::Config::default()
    };
    flood_with_commands(config, 8, 600);
}

/// The same under flood control: a flooder is held back, never dropped.
#[test]
fn a_throttled_names_flood_with_commands_loses_nothing() {
    let config = chat::Config {
        names: true,
        rate: Some(chat::config::Rate {
            lines: 400,
            per: Duration::from_secs(1),
            burst: 20,
        }),
        ..chat::Config::default()
    };
    flood_with_commands(config, 4, 150);
}

/// A client that asks `/who` again and again and leaves the answers unread
/// is held back (its reader waits for its replies to be taken), is not cut
/// off, and holds nobody else back; once it reads, it gets every answer,
/// and its next line comes after them.
#[test]
fn unread_answers_hold_back_their_asker_alone_and_none_is_lost() {
    let server = TestServer::start_with(chat::Config {
        names: true,
        ..chat::Config::default()
    });
    let mut peers = room(&server, 40);
    let (asker_name, mut asker) = peers.remove(0);
    let (other_name, mut other) = peers.remove(0);
    // 2,000 questions, ~200 bytes each answer: far past the reply backlog.
    const ASKS: usize = 2000;
    asker.send(&b"/who\n".repeat(ASKS));
    asker.say("after the questions");
    // Others still talk and hear each other meanwhile.
    for round in 0..50 {
        other.say(&format!("still here {round}"));
        other.expect(&format!("{other_name}: still here {round}"));
    }
    let mut answers = 0;
    let mut heard = 0;
    loop {
        let line = asker.text();
        if line.starts_with("Here: ") {
            answers += 1;
        } else if line.starts_with(&format!("{other_name}: still here")) {
            heard += 1;
        } else if line == format!("{asker_name}: after the questions") {
            break;
        } else {
            panic!("unexpected {line:?}");
        }
    }
    assert_eq!(heard, 50, "the asker got every broadcast");
    // 40 names fit on one `Here:` line or a few: count the questions.
    assert!(
        answers >= ASKS,
        "{answers} answer lines for {ASKS} questions"
    );
    other.expect(&format!("{asker_name}: after the questions"));
    drop(peers);
    server.stop();
}

/// A leaver with many lines (and commands) in flight: all of them reach
/// the others before its leave, whether it closes, half-closes, or resets
/// once the server has its bytes; and the server takes newcomers after.
#[test]
fn leavers_with_lines_in_flight_lose_none() {
    let server = TestServer::start_with(chat::Config {
        names: true,
        max_connections: 8,
        ..chat::Config::default()
    });
    let mut observer = named(&server, "observer");
    for round in 0..30 {
        let name = format!("leaver{round}");
        let mut leaver = named(&server, &name);
        observer.expect(&format!("{name} has arrived"));
        let mut out = Vec::new();
        for line in 0..200 {
            out.extend_from_slice(format!("l{line}\n").as_bytes());
            if line % 10 == 0 {
                out.extend_from_slice(b"/who\n");
            }
        }
        out.extend_from_slice(b"unfinished");
        leaver.send(&out);
        match round % 3 {
            0 => drop(leaver),
            1 => leaver.half_close(),
            _ => leaver.reset_once_received(),
        }
        for line in 0..200 {
            observer.expect(&format!("{name}: l{line}"));
        }
        observer.expect(&format!("{name}: unfinished"));
        observer.expect(&format!("{name} has left"));
    }
    observer.say("/who");
    observer.expect("Here: observer");
    server.stop();
}

/// A client cut off for not reading while its reader waits on its queue
/// (for its replies to be taken, or for its permits back after a command)
/// ends, and frees its place under the connection cap: a newcomer gets in.
#[test]
fn a_cut_off_asker_frees_its_place() {
    let server = TestServer::start_with(chat::Config {
        names: true,
        max_connections: 3,
        max_line_bytes: 4000,
        send_queue_bytes: 24 * 1024,
        ..chat::Config::default()
    });
    let mut talker = named(&server, "talker");
    for round in 0..10 {
        let name = format!("rude{round}");
        let mut rude = {
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            socket.connect(&server.addr.into()).unwrap();
            let stream: std::net::TcpStream = socket.into();
            stream.set_read_timeout(Some(common::PATIENCE)).unwrap();
            stream
        };
        rude.write_all(format!("{name}\n").as_bytes()).unwrap();
        talker.expect(&format!("{name} has arrived"));
        // Questions and lines, never reading: its reader ends up waiting
        // on its queue, whichever wait.
        let mut out = Vec::new();
        for line in 0..300 {
            out.extend_from_slice(b"/who\n");
            out.extend_from_slice(format!("r{line}\n").as_bytes());
        }
        rude.write_all(&out).unwrap();
        let long = "y".repeat(3000);
        let mut left = false;
        let mut sent = 0;
        while !left {
            talker.say(&long);
            sent += 1;
            loop {
                let line = talker.text();
                if line == format!("{name} has left") {
                    left = true;
                } else if line == format!("talker: {long}") {
                    break;
                } else if !line.starts_with(&format!("{name}: r")) {
                    panic!("unexpected {line:?}");
                }
            }
            assert!(sent < 10_000, "{name} never cut off");
        }
        drop(rude);
        // Its place is free: two newcomers fit under the cap of 3.
        let first = named(&server, &format!("new{round}a"));
        let second = named(&server, &format!("new{round}b"));
        talker.expect(&format!("new{round}a has arrived"));
        talker.expect(&format!("new{round}b has arrived"));
        // One at a time: two closes at once may be seen in either order.
        drop(first);
        talker.expect(&format!("new{round}a has left"));
        drop(second);
        talker.expect(&format!("new{round}b has left"));
    }
    server.stop();
}
