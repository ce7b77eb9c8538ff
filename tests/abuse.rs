//! Abuse: whatever one client (or a crowd) does, the others keep chatting,
//! nothing already accepted is lost, the server's memory stays bounded and it
//! still shuts down cleanly. Each test runs the built `chat` binary, reads
//! its peak RSS from /proc, and ends it with a real SIGTERM.

mod common;

#[path = "common/bins.rs"]
mod bins;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use bins::{finish, ChatProcess};
use common::{raise_own_fd_limit, Peer, PATIENCE};

/// A stderr nobody reads never stalls the server: log lines are dropped
/// once the pipe is full, and everyone is still served.
#[test]
fn a_stderr_nobody_reads_never_stalls_the_server() {
    // Its log is piped to this test, which never reads it after the first
    // line: 64 KiB of log lines fill the pipe.
    let chat = ChatProcess::start(&["--verbose", "--max-line", "1"]);
    let mut observer = Peer::connect(chat.addr);
    for _ in 0..1_000 {
        let mut client = Peer::connect(chat.addr);
        client.send(b"too long\n");
        client.expect("error: line too long (the limit is 1 byte)");
        client.expect_end();
    }
    let mut count = 0;
    while count < 1_000 {
        let line = observer.text();
        if line.ends_with(" has left") {
            count += 1;
        }
    }
    observer.send(b"x\n");
    observer.expect(&format!("{}: x", observer.name));
    finish(chat, 16);
}

/// Reads `reader`'s lines on a thread, calling `on_line` with each (without
/// its `\n`) until it returns false or the connection ends or stays silent
/// for [`PATIENCE`]; the thread returns the state.
fn read_until<T: Send + 'static>(
    mut reader: BufReader<TcpStream>,
    mut state: T,
    mut on_line: impl FnMut(&mut T, &[u8]) -> bool + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::spawn(move || {
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(_) if line.ends_with(b"\n") => {}
                // The caller checks, from the state, that all it needed came.
                _ => return state,
            }
            if !on_line(&mut state, &line[..line.len() - 1]) {
                return state;
            }
        }
    })
}

/// The index in a line `NAME: N xxxx...`, if it is from `name`.
fn index_from(line: &[u8], name: &str) -> Option<usize> {
    let rest = line.strip_prefix(name.as_bytes())?.strip_prefix(b": ")?;
    let digits = rest.split(|&b| b == b' ').next()?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A 1,000-byte line numbered `index`.
fn numbered_line(index: usize) -> Vec<u8> {
    let mut line = format!("{index} ").into_bytes();
    line.resize(999, b'x');
    line.push(b'\n');
    line
}

fn connect_all(addr: SocketAddr, count: usize) -> Vec<Peer> {
    let mut peers: Vec<Peer> = Vec::new();
    for _ in 0..count {
        let peer = Peer::connect(addr);
        for earlier in &mut peers {
            earlier.expect(&format!("{} has arrived", peer.name));
        }
        peers.push(peer);
    }
    peers
}

/// Tricklers: 2,000 connections that each start a line and never finish it
/// cost what they sent, not a read buffer each (a partial line used to
/// hold 4 to 8 KiB), and the line timeout ends them all. In names mode, so
/// that they are invisible and nothing else is queued meanwhile.
#[test]
fn tricklers_cost_their_bytes_and_time_out() {
    const TRICKLERS: usize = 2_000;
    raise_own_fd_limit(2 * TRICKLERS + 100);
    let chat = ChatProcess::start(&["--names", "--line-timeout", "3s"]);
    let mut tricklers: Vec<Peer> = (0..TRICKLERS)
        .map(|_| {
            let mut peer = Peer::connect_quiet(chat.addr);
            peer.expect("What is your name?");
            peer
        })
        .collect();
    let before = chat.rss_kib();
    for trickler in &mut tricklers {
        trickler.send(b"tri");
    }
    for trickler in &mut tricklers {
        trickler.send(b"ckle");
    }
    for trickler in &mut tricklers {
        trickler.expect("error: line not finished within 3s");
    }
    let peak = chat.peak_rss_kib();
    eprintln!("{TRICKLERS} tricklers: RSS {before} KiB before, peak {peak} KiB");
    assert!(
        peak.saturating_sub(before) < TRICKLERS as u64,
        "{TRICKLERS} unfinished lines took {} KiB, over 1 KiB each",
        peak.saturating_sub(before)
    );
    drop(tricklers);
    finish(chat, 64);
}

/// Two senders push 50 MB through while one client never reads: it is cut
/// off, the readers get every line in order, and memory stays bounded (the
/// lines the silent one had not read, 16 MiB at most, are shared). The
/// senders go at 20,000 lines (20 MB) a second each, the most this test's
/// readers are sure to keep up with on a loaded machine: a reader slower
/// than the flood by its whole send queue would be cut off too.
#[test]
fn a_client_that_stops_reading_never_stalls_the_others() {
    const LINES: usize = 25_000; // x 1,000 bytes x 2 senders = 50 MB
    let chat = ChatProcess::start(&["--rate", "20000/1s", "--burst", "1000"]);
    let mut peers = connect_all(chat.addr, 4);
    let silent = peers.pop().unwrap();
    let silent_name = silent.name.clone();
    let names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for peer in peers {
        let (writer, reader) = peer.into_parts();
        let senders = [names[0].clone(), names[1].clone()];
        let left = format!("{silent_name} has left").into_bytes();
        // (next index expected from each sender, times the silent one left)
        readers.push(read_until(
            reader,
            ([0usize; 2], 0usize),
            move |state, line| {
                if line == left.as_slice() {
                    state.1 += 1;
                }
                for (which, sender) in senders.iter().enumerate() {
                    if let Some(index) = index_from(line, sender) {
                        assert_eq!(
                            index, state.0[which],
                            "a line of {sender} lost or out of order"
                        );
                        state.0[which] += 1;
                    }
                }
                state.0 != [LINES, LINES] || state.1 == 0
            },
        ));
        writers.push(writer);
    }
    let sending: Vec<_> = writers
        .into_iter()
        .take(2)
        .map(|mut writer| {
            thread::spawn(move || {
                for index in 0..LINES {
                    writer.write_all(&numbered_line(index)).unwrap();
                }
                writer
            })
        })
        .collect();
    let _writers: Vec<TcpStream> = sending.into_iter().map(|t| t.join().unwrap()).collect();
    for reader in readers {
        let (counts, leaves) = reader.join().unwrap();
        assert_eq!(counts, [LINES, LINES]);
        assert_eq!(leaves, 1, "the silent client must leave exactly once");
    }
    drop(silent);
    finish(chat, 48);
}

/// A 100 MB line without a newline: the sender gets an error and leaves, no
/// part of it is broadcast, and the server's memory does not grow with it.
#[test]
fn a_hundred_megabyte_line_costs_no_memory() {
    let chat = ChatProcess::start(&[]);
    let mut peers = connect_all(chat.addr, 2);
    let long = peers.pop().unwrap();
    let mut observer = peers.pop().unwrap();
    let long_name = long.name.clone();
    let (mut writer, mut reader) = long.into_parts();
    let sender = thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        while sent < 100 * 1024 * 1024 {
            if writer.write_all(&chunk).is_err() {
                break; // the server closed on us, as it should
            }
            sent += chunk.len();
        }
    });
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "error: line too long (the limit is 65535 bytes)\n");
    observer.expect(&format!("{long_name} has left"));
    observer.say("still chatting");
    observer.expect(&format!("{}: still chatting", observer.name));
    sender.join().unwrap();
    finish(chat, 16);
}

/// 5,000 clients connect at once; each is greeted, hears a roll call, and
/// nobody is turned away or cut off by the arrival storm (12.5 M lines).
#[test]
fn five_thousand_connections_at_once() {
    const CLIENTS: usize = 5_000;
    raise_own_fd_limit(CLIENTS + 100);
    let chat = ChatProcess::start(&[]);
    let addr = chat.addr;
    let executor = smol::LocalExecutor::new();
    let outcomes = smol::block_on(executor.run(async {
        let mut tasks = Vec::new();
        let (greeted, greetings) = async_channel::unbounded::<()>();
        for _ in 0..CLIENTS {
            let stream = async_net::TcpStream::connect(addr).await.expect("connect");
            let greeted = greeted.clone();
            tasks.push(executor.spawn(async move {
                use futures_lite::AsyncBufReadExt;
                let mut reader = futures_lite::io::BufReader::new(stream);
                let mut line = Vec::new();
                let mut first = None;
                loop {
                    line.clear();
                    let read = futures_lite::future::or(
                        async { reader.read_until(b'\n', &mut line).await.ok() },
                        async {
                            smol::Timer::after(PATIENCE * 3).await;
                            None
                        },
                    )
                    .await;
                    match read {
                        Some(1..) => {}
                        _ => return (first, false),
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    if first.is_none() {
                        first = Some(text.clone());
                        let _ = greeted.send(()).await;
                    }
                    if text.ends_with(": roll call\n") {
                        return (first, true);
                    }
                }
            }));
        }
        // Everyone greeted is in line to join before the host: accepting
        // need not follow the order of connecting.
        for _ in 0..CLIENTS {
            let greeting = futures_lite::future::or(async { greetings.recv().await.ok() }, async {
                smol::Timer::after(PATIENCE * 3).await;
                None
            });
            assert!(greeting.await.is_some(), "a client was not greeted");
        }
        let mut host = Peer::connect(addr);
        host.say("roll call");
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await);
        }
        outcomes
    }));
    for (first, heard) in &outcomes {
        let first = first.as_deref().unwrap_or("nothing");
        assert!(
            first.starts_with("You are "),
            "a client got {first:?} first"
        );
        assert!(heard, "a client never heard the roll call");
    }
    finish(chat, 160);
}

/// Clients that reset in the middle of a line leave like any other, their
/// unfinished line broadcast first, as at a close.
#[test]
fn resets_in_the_middle_of_a_line_are_leaves() {
    let chat = ChatProcess::start(&[]);
    let mut observer = Peer::connect(chat.addr);
    for _ in 0..100 {
        let mut client = Peer::connect(chat.addr);
        observer.expect(&format!("{} has arrived", client.name));
        client.send(b"half a li");
        let name = client.name.clone();
        client.reset_once_received();
        observer.expect(&format!("{name}: half a li"));
        observer.expect(&format!("{name} has left"));
    }
    observer.say("all gone");
    observer.expect(&format!("{}: all gone", observer.name));
    finish(chat, 16);
}

/// One client floods as fast as it can; another still gets each line through
/// while the flood goes on.
#[test]
fn a_flooding_client_does_not_keep_others_out() {
    let chat = ChatProcess::start(&[]);
    let mut peers = connect_all(chat.addr, 2);
    let talker = peers.pop().unwrap();
    let flooder = peers.pop().unwrap();
    let talker_name = talker.name.clone();
    let (mut flood_writer, flood_reader) = flooder.into_parts();
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut sent = 0usize;
            while !stop.load(Ordering::Relaxed) && sent < 50_000_000 {
                if flood_writer
                    .write_all(b"flood flood flood flood\n")
                    .is_err()
                {
                    break;
                }
                sent += 1;
            }
            (sent, flood_writer)
        })
    };
    // The flooder reads everything, so it is never cut off for not reading,
    // but through a tiny buffer: its own reading, which paces its flood, is
    // slower than the talker's, who must keep up with the flood or be cut
    // off as a slow consumer.
    let stop_reading = stop.clone();
    let flood_reader = BufReader::with_capacity(64, flood_reader.into_inner());
    let _drain = read_until(flood_reader, (), move |_, _| {
        !stop_reading.load(Ordering::Relaxed)
    });
    let (mut talker_writer, talker_reader) = talker.into_parts();
    let (echoes, echoed) = mpsc::channel();
    let prefix = format!("{talker_name}: ").into_bytes();
    let _talker_reads = read_until(talker_reader, echoes, move |echoes, line| {
        if line.starts_with(&prefix) {
            echoes.send(line.to_vec()).is_ok()
        } else {
            true
        }
    });
    for index in 0..20 {
        talker_writer
            .write_all(format!("line {index}\n").as_bytes())
            .unwrap();
        let echo = echoed
            .recv_timeout(PATIENCE)
            .expect("the talker's line got through");
        assert_eq!(echo, format!("{talker_name}: line {index}").into_bytes());
    }
    stop.store(true, Ordering::Relaxed);
    let (sent, _writer) = flooding.join().unwrap();
    assert!(
        sent < 50_000_000,
        "the flood ended before the talker was done"
    );
    finish(chat, 16);
}

/// A client that talks without ever reading is cut off once others' traffic
/// fills its queue; its `has left` still comes after every line of it that
/// was broadcast, and they arrive in order with no gap. (Lines come at most
/// 500 a second from each client, so that the observer, a reader with the
/// same small queue, keeps up even on a machine busy with other tests: it
/// would have to stop reading for seconds to be cut off too.)
#[test]
fn a_cut_off_clients_lines_all_come_before_its_leave() {
    let chat = ChatProcess::start(&["--send-queue", "256K", "--rate", "500/1s", "--burst", "100"]);
    let mut peers = connect_all(chat.addr, 3);
    let busy = peers.pop().unwrap();
    let rude = peers.pop().unwrap();
    let observer = peers.pop().unwrap();
    let rude_name = rude.name.clone();
    let (mut rude_writer, _rude_reader) = rude.into_parts();
    rude_writer
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let rude_talk = thread::spawn(move || {
        for index in 0..100_000 {
            if rude_writer.write_all(&numbered_line(index)).is_err() {
                break; // blocked by TCP, or cut off
            }
        }
        rude_writer
    });
    let (_observer_writer, observer_reader) = observer.into_parts();
    let left = format!("{rude_name} has left").into_bytes();
    let (first_seen, first_line) = mpsc::channel();
    let watching = read_until(observer_reader, (0usize, false), move |state, line| {
        if line == left.as_slice() {
            state.1 = true;
            return false;
        }
        if let Some(index) = index_from(line, &rude_name) {
            assert_eq!(
                index, state.0,
                "the rude client's lines lost or out of order"
            );
            if index == 0 {
                let _ = first_seen.send(());
            }
            state.0 += 1;
        }
        true
    });
    first_line
        .recv_timeout(PATIENCE)
        .expect("the rude client's first line");
    // Now the busy client's traffic fills the rude client's queue.
    let (mut busy_writer, busy_reader) = busy.into_parts();
    let _busy_drain = read_until(busy_reader, (), |_, _| true);
    let stop = Arc::new(AtomicBool::new(false));
    let busy_flood = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut index = 0;
            while !stop.load(Ordering::Relaxed) && index < 200_000 {
                if busy_writer.write_all(&numbered_line(index)).is_err() {
                    break;
                }
                index += 1;
            }
        })
    };
    let (rude_lines, left) = watching.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    busy_flood.join().unwrap();
    assert!(left, "the rude client never left");
    assert!(rude_lines > 0);
    drop(rude_talk.join().unwrap());
    finish(chat, 16);
}

/// Clients that half-close at once and never read are still served and
/// closed: each arrives and leaves once.
#[test]
fn half_closed_clients_that_never_read_are_closed() {
    let chat = ChatProcess::start(&[]);
    let mut observer = Peer::connect(chat.addr);
    let mut quiet = Vec::new();
    for _ in 0..100 {
        let client = Peer::connect_quiet(chat.addr);
        client.half_close();
        observer.expect(&format!("{} has arrived", client.name));
        observer.expect(&format!("{} has left", client.name));
        quiet.push(client);
    }
    for mut client in quiet {
        let name = client.name.clone();
        client.expect(&format!("You are {name}"));
        client.expect_end();
    }
    finish(chat, 16);
}

/// Connections reset as soon as they are made are announced as leaving,
/// however quickly the reset comes.
#[test]
fn immediate_resets_are_announced_as_leaves() {
    let chat = ChatProcess::start(&[]);
    let mut observer = Peer::connect(chat.addr);
    for _ in 0..40 {
        Peer::connect_quiet(chat.addr).reset();
    }
    let mut sentinel = Peer::connect(chat.addr);
    sentinel.say("done");
    let mut arrivals = 0;
    let mut leaves = 0;
    loop {
        let line = observer.text();
        if line == format!("{}: done", sentinel.name) {
            break;
        }
        if line.ends_with(" has arrived") && !line.starts_with(&sentinel.name) {
            arrivals += 1;
        }
        if line.ends_with(" has left") {
            leaves += 1;
        }
    }
    while leaves < arrivals {
        let line = observer.text();
        assert!(line.ends_with(" has left"), "unexpected {line:?}");
        leaves += 1;
    }
    sentinel.half_close();
    observer.expect(&format!("{} has left", sentinel.name));
    finish(chat, 16);
}

/// Out of file descriptors, the accept loop backs off and logs once instead
/// of spinning; connections waiting meanwhile are served once descriptors
/// free up. (The connection cap keeps descriptors for the server's own use,
/// but a crowd turned away while it is full takes them too: each newcomer
/// turned away holds its descriptor for a moment while it is told why.)
#[test]
fn running_out_of_file_descriptors_never_spins() {
    // 64 descriptors: a cap of 32 clients, and room for fewer than 32 more.
    let mut chat = ChatProcess::start_with_fd_limit(64, &[]);
    let _members: Vec<Peer> = (0..32).map(|_| Peer::connect(chat.addr)).collect();
    // Quiet: they neither read nor close, so each turn-away waits for them.
    let crowd: Vec<Peer> = (0..40).map(|_| Peer::connect_quiet(chat.addr)).collect();
    let mut log = Vec::new();
    loop {
        let mut line = String::new();
        let read = chat.stderr.read_line(&mut line).expect("read chat's log");
        assert!(read > 0, "chat's log ended");
        let failed = line.contains("accept failed");
        log.push(line);
        if failed {
            break;
        }
    }
    for mut waiting in crowd {
        assert_eq!(waiting.text(), "error: server full");
    }
    let pid = chat.child.id();
    let status = chat.terminate_keep_log();
    assert!(status.success(), "chat {pid} exited with {status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut chat.stderr, &mut rest).unwrap();
    let failures = log
        .iter()
        .map(String::as_str)
        .chain(rest.lines())
        .filter(|line| line.contains("accept failed"))
        .count();
    assert!(
        failures <= 3,
        "accept failures logged {failures} times:\n{rest}"
    );
}

/// A complete line, then 30 KB of an unfinished one, then a reset, 200
/// times in each mode: the bytes reached the server, so the complete line
/// and the unfinished one are both broadcast, before the leave, every time
/// (as Go's scanner does: what came before a reset is the last line). Half
/// the clients reset before reading their greeting, so that the server's
/// write fails first; that once changed what the reader made of the reset.
#[test]
fn a_reset_loses_no_line_that_arrived() {
    let tail = "x".repeat(30 * 1024);
    for names in [false, true] {
        let chat = ChatProcess::start(if names { &["--names"] } else { &[] });
        let mut observer = Peer::connect_quiet(chat.addr);
        if names {
            observer.expect("What is your name?");
            observer.say("observer");
            observer.expect("You are observer");
            observer.expect("Nobody else is here");
        } else {
            let name = observer.name.clone();
            observer.expect(&format!("You are {name}"));
        }
        let mut wrong = Vec::new();
        for index in 0..200 {
            let mut client = Peer::connect_quiet(chat.addr);
            let (name, mut bytes) = if names {
                let name = format!("r{index}");
                (name.clone(), format!("{name}\n"))
            } else {
                (client.name.clone(), String::new())
            };
            if index % 2 == 0 {
                if names {
                    client.expect("What is your name?");
                    client.send(bytes.as_bytes());
                    bytes.clear();
                    client.expect(&format!("You are {name}"));
                } else {
                    client.expect(&format!("You are {name}"));
                }
            }
            bytes.push_str(&format!("line {index}\n{tail}"));
            client.send(bytes.as_bytes());
            client.reset_once_received();
            observer.expect(&format!("{name} has arrived"));
            let mut got = Vec::new();
            loop {
                let line = observer.text();
                if line == format!("{name} has left") {
                    break;
                }
                got.push(line);
            }
            let want = [format!("{name}: line {index}"), format!("{name}: {tail}")];
            if got != want {
                let short: Vec<String> = got.iter().map(|l| l.chars().take(30).collect()).collect();
                wrong.push(format!("{index}: {short:?}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "names: {names}: {} of 200 tries lost lines: {wrong:?}",
            wrong.len()
        );
        finish(chat, 64);
    }
}
