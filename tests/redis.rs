#![cfg(feature = "redis")]
//! Several `chat` servers, one room, through a real Redis (`--redis`): the
//! built binary against a `redis-server` of each test's own, with clients
//! over TCP on every server. What PROTOCOL.md promises across servers, each
//! checked where a client sees it: one order, no own arrival, the echo as
//! the receipt, names unique in the whole room, `/who` and `/msg` across
//! servers, a dead server's clients leaving once, Redis lost and found
//! (by every server, or by one alone through a relay the test can cut),
//! and the start-up refusals.
//!
//! It needs `redis-server` (Debian's package). Without it every test that
//! needs one is skipped, saying so, unless `CHAT_REQUIRE_REDIS=1` (CI's
//! setting), where it fails saying what to install.

mod common;

#[path = "common/bins.rs"]
mod bins;

use std::io::{BufRead, Read};
use std::net::SocketAddr;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Barrier;
use std::time::Duration;

use bins::{chat_bin, ChatProcess};
use chat::room_keys::RoomKeys;
use common::redis::{free_port, Redis, Relay, ROOM};
use common::{try_eventually, Peer};
use rustix::process::Signal;

/// What every client of a server hears when Redis is lost.
const LOST: &str = "error: the room is unreachable (Redis); your lines wait until it is back";

/// What a client hears of its lines that were on their way when Redis
/// was lost.
const UNSURE: &str = "error: the room is unreachable: your last lines may not have gone out";

/// What every client of a server hears when Redis is back.
const BACK: &str = "the room is back";

/// What a newcomer hears when it comes while Redis is lost.
const NEWCOMER_WAITS: &str =
    "error: the room is unreachable (Redis); you will be greeted when it is back";

/// How long a test waits for a dead server's clients to be announced as
/// left, and for Redis to forget the server: far past the burial
/// PROTOCOL.md promises (about 12 seconds after a crash), so that only
/// leaves that never come fail a test. How soon they come is not for a
/// test to assert.
const BURIAL_PATIENCE: Duration = Duration::from_secs(60);

/// A `chat` serving `redis`'s room, with `extra` flags.
fn chat(redis: &Redis, extra: &[&str]) -> ChatProcess {
    let url = redis.url();
    let mut args = vec!["--redis", url.as_str()];
    args.extend_from_slice(extra);
    ChatProcess::start(&args)
}

/// `count` servers of one room, in names mode or not. Names mode reads
/// without flood control, so that a test can send many lines at once.
fn chats(redis: &Redis, count: usize, names: bool) -> Vec<ChatProcess> {
    let extra: &[&str] = if names {
        &["--names", "--rate", "off"]
    } else {
        &[]
    };
    (0..count).map(|_| chat(redis, extra)).collect()
}

/// A book-mode client on `addr`, returned once greeted and once everyone
/// in `present` has seen it arrive. Its greeting comes when its arrival is
/// back from Redis, and the others see the arrival in the room's order:
/// from then on any line sent, on any server, reaches it.
fn arrive(addr: SocketAddr, present: &mut [&mut Peer]) -> Peer {
    let peer = Peer::connect(addr);
    for other in present.iter_mut() {
        other.expect(&format!("{} has arrived", peer.name));
    }
    peer
}

/// A names-mode client on `addr` named `name`, told `also` (its `Also
/// here` line), returned once everyone in `present` has seen it arrive.
fn join(addr: SocketAddr, name: &str, also: &str, present: &mut [&mut Peer]) -> Peer {
    let mut peer = Peer::connect_quiet(addr);
    peer.expect("What is your name?");
    peer.say(name);
    peer.expect(&format!("You are {name}"));
    peer.expect(also);
    for other in present.iter_mut() {
        other.expect(&format!("{name} has arrived"));
    }
    peer
}

/// The next `count` lines of `peer`, as text.
fn texts(peer: &mut Peer, count: usize) -> Vec<String> {
    (0..count).map(|_| peer.text()).collect()
}

/// Runs `chat` with `args` until it exits by itself, for a bounded time:
/// its exit status and its stderr. A `chat` still running after 20 s has
/// not refused to start: it is killed and the test fails.
fn run_chat(args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(chat_bin())
        .args(args)
        .arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat");
    let status = try_eventually("chat to exit", Duration::from_secs(20), || {
        child.try_wait().expect("wait for chat")
    })
    .ok();
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .expect("read chat's stderr");
    let status = status
        .unwrap_or_else(|| panic!("chat {args:?} did not exit within 20 s; its log: {stderr:?}"));
    (status, stderr)
}

/// Waits, for a bounded time, until Redis lists `count` servers in the
/// room `chat`: a dead server is forgotten only after its clients'
/// leaves went out, so nothing more of it can come after.
fn wait_for_servers(redis: &Redis, count: usize) {
    redis
        .wait_for_servers(ROOM, count, BURIAL_PATIENCE)
        .unwrap_or_else(|why| panic!("{why}"));
}

/// Two clients on each of `servers` servers all send lines at once: each
/// receives every line, and all receive them in one order (each sender's
/// lines in the order sent). The order comes from Redis, not from any one
/// server, so this is what `--redis` is for.
fn everyone_sees_one_order(servers: usize, names: bool) {
    const LINES: usize = 100;
    let Some(redis) = Redis::start() else { return };
    let chats = chats(&redis, servers, names);
    let mut peers: Vec<Peer> = Vec::new();
    let mut labels = Vec::new();
    for i in 0..servers * 2 {
        let addr = chats[i % servers].addr;
        let mut present: Vec<&mut Peer> = peers.iter_mut().collect();
        let peer = if names {
            let name = format!("p{i}");
            let also = if labels.is_empty() {
                "Nobody else is here".to_string()
            } else {
                format!("Also here: {}", labels.join(", "))
            };
            let peer = join(addr, &name, &also, &mut present);
            labels.push(name);
            peer
        } else {
            let peer = arrive(addr, &mut present);
            labels.push(peer.name.clone());
            peer
        };
        peers.push(peer);
    }
    let total = LINES * peers.len();
    let start = Barrier::new(peers.len());
    let seen: Vec<Vec<String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = peers
            .iter_mut()
            .map(|peer| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    for k in 0..LINES {
                        peer.say(&format!("line {k}"));
                    }
                    texts(peer, total)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (label, lines) in labels.iter().zip(&seen) {
        assert_eq!(
            lines, &seen[0],
            "{label} saw another order than {}",
            labels[0]
        );
    }
    for label in &labels {
        let own: Vec<&String> = seen[0]
            .iter()
            .filter(|line| line.starts_with(&format!("{label}: ")))
            .collect();
        let sent: Vec<String> = (0..LINES).map(|k| format!("{label}: line {k}")).collect();
        assert_eq!(own, sent.iter().collect::<Vec<_>>(), "{label}'s lines");
    }
}

/// Two book-mode servers, two clients each, sending at once: one order.
#[test]
fn two_book_servers_give_everyone_one_order() {
    everyone_sees_one_order(2, false);
}

/// Three book-mode servers: one order still, whichever server a line
/// came in by.
#[test]
fn three_book_servers_give_everyone_one_order() {
    everyone_sees_one_order(3, false);
}

/// Three names-mode servers: names mode's lines go through Redis as
/// commands to apply, and still in one order.
#[test]
fn three_names_servers_give_everyone_one_order() {
    everyone_sees_one_order(3, true);
}

/// A newcomer on a second server never sees its own arrival, nor what was
/// said before it came; its lines (even those sent before its greeting)
/// come back to it through Redis as its echo, after its arrival on the
/// other server.
#[test]
fn a_newcomer_on_another_server_gets_its_echo_not_its_arrival() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, false);
    let mut a = Peer::connect(servers[0].addr);
    a.say("early");
    a.expect(&format!("{}: early", a.name));
    let mut b = Peer::connect_quiet(servers[1].addr);
    b.say("hi");
    b.expect(&format!("You are {}", b.name));
    b.expect(&format!("{}: hi", b.name));
    a.expect(&format!("{} has arrived", b.name));
    a.expect(&format!("{}: hi", b.name));
    a.say("welcome");
    let welcome = format!("{}: welcome", a.name);
    a.expect(&welcome);
    b.expect(&welcome);
}

/// A leaver's last lines precede its leave on every server, and it still
/// gets their echo (through Redis) before its connection is closed: a
/// half-close right after two lines.
#[test]
fn a_leavers_last_lines_precede_its_leave_on_the_other_server() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, false);
    let mut a = Peer::connect(servers[0].addr);
    let mut b = arrive(servers[1].addr, &mut [&mut a]);
    b.send(b"one\ntwo\n");
    b.half_close();
    for line in ["one", "two"] {
        b.expect(&format!("{}: {line}", b.name));
    }
    b.expect_end();
    for line in ["one", "two"] {
        a.expect(&format!("{}: {line}", b.name));
    }
    a.expect(&format!("{} has left", b.name));
}

/// In names mode too: the newcomer on the other server is told who is
/// there, and its first line back is its own message.
#[test]
fn a_named_newcomer_on_another_server_gets_its_echo_not_its_arrival() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, true);
    let mut alice = join(servers[0].addr, "alice", "Nobody else is here", &mut []);
    alice.say("early");
    alice.expect("alice: early");
    let mut bob = join(
        servers[1].addr,
        "bob",
        "Also here: alice",
        &mut [&mut alice],
    );
    bob.say("hi");
    bob.expect("bob: hi");
    alice.expect("bob: hi");
}

/// The same name (or two look-alikes) tried on two servers at the same
/// moment: Redis claims it for exactly one. The other is refused as if the
/// winner had been there first (the refusal, then the prompt again), and
/// nobody ever sees it arrive under that name. Many rounds, to catch a
/// race between the servers' checks.
#[test]
fn a_name_tried_on_two_servers_at_once_is_given_to_one() {
    const ROUNDS: usize = 40;
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, true);
    let mut watcher = join(servers[0].addr, "watcher", "Nobody else is here", &mut []);
    let mut winners = [0; 2];
    for round in 0..ROUNDS {
        // Even rounds: the very same name; odd rounds: look-alikes.
        let wanted = if round % 2 == 0 {
            [format!("racer{round}"), format!("racer{round}")]
        } else {
            [format!("bob{round}"), format!("b0b{round}")]
        };
        let start = Barrier::new(2);
        let outcomes: Vec<(Peer, String)> = std::thread::scope(|scope| {
            let threads: Vec<_> = servers
                .iter()
                .zip(&wanted)
                .map(|(server, name)| {
                    let start = &start;
                    scope.spawn(move || {
                        let mut peer = Peer::connect_quiet(server.addr);
                        peer.expect("What is your name?");
                        start.wait();
                        peer.say(name);
                        let first = peer.text();
                        (peer, first)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let won: Vec<usize> = (0..2)
            .filter(|&i| outcomes[i].1 == format!("You are {}", wanted[i]))
            .collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: {wanted:?} got {:?}",
            outcomes.iter().map(|(_, first)| first).collect::<Vec<_>>()
        );
        let (win, lose) = (won[0], 1 - won[0]);
        winners[win] += 1;
        let refusal = if wanted[0] == wanted[1] {
            format!("error: {} is taken", wanted[lose])
        } else {
            format!(
                "error: {} is too much like {}, who is here",
                wanted[lose], wanted[win]
            )
        };
        let mut outcomes = outcomes;
        let (mut loser, loser_first) = outcomes.remove(lose);
        let (mut winner, _) = outcomes.remove(0);
        assert_eq!(loser_first, refusal, "round {round}: the loser's line");
        loser.expect("What is your name?");
        winner.expect("Also here: watcher");
        watcher.expect(&format!("{} has arrived", wanted[win]));
        // The loser names itself again; the watcher's next line is that
        // arrival: the refused one was never seen.
        let other = format!("other{round}");
        loser.say(&other);
        loser.expect(&format!("You are {other}"));
        loser.expect(&format!("Also here: watcher, {}", wanted[win]));
        watcher.expect(&format!("{other} has arrived"));
        winner.expect(&format!("{other} has arrived"));
        winner.say("/quit");
        watcher.expect(&format!("{} has left", wanted[win]));
        loser.say("/quit");
        watcher.expect(&format!("{other} has left"));
    }
    eprintln!("winners by server over {ROUNDS} rounds: {winners:?}");
}

/// Two clients on two servers renaming themselves to the same name at the
/// same moment: Redis gives it to one. Everyone sees that one rename, the
/// other is refused (after it, alone), and no second rename is ever seen.
#[test]
fn a_name_two_renames_want_at_once_is_given_to_one() {
    const ROUNDS: usize = 20;
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, true);
    let mut watcher = join(servers[0].addr, "watcher", "Nobody else is here", &mut []);
    let mut first = join(
        servers[0].addr,
        "first",
        "Also here: watcher",
        &mut [&mut watcher],
    );
    let second = join(
        servers[1].addr,
        "second",
        "Also here: watcher, first",
        &mut [&mut watcher, &mut first],
    );
    let mut peers = [first, second];
    let mut names = ["first".to_string(), "second".to_string()];
    let mut winners = [0; 2];
    for round in 0..ROUNDS {
        let wanted = format!("zed{round}");
        let start = Barrier::new(2);
        let seen: Vec<String> = std::thread::scope(|scope| {
            let threads: Vec<_> = peers
                .iter_mut()
                .map(|peer| {
                    let (start, wanted) = (&start, &wanted);
                    scope.spawn(move || {
                        start.wait();
                        peer.say(&format!("/nick {wanted}"));
                        peer.text()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let winner = (0..2)
            .find(|&i| seen[0] == format!("{} is now {wanted}", names[i]))
            .unwrap_or_else(|| panic!("round {round}: {seen:?}"));
        assert_eq!(seen[1], seen[0], "round {round}: one rename for both");
        peers[1 - winner].expect(&format!("error: {wanted} is taken"));
        watcher.expect(&seen[0]);
        names[winner] = wanted;
        // A second rename would come before the answer.
        watcher.say("/who");
        watcher.expect(&format!("Here: watcher, {}, {}", names[0], names[1]));
        winners[winner] += 1;
    }
    eprintln!("winners by server over {ROUNDS} rounds: {winners:?}");
}

/// `Also here`, `/who`, `/msg` and `/nick` see the whole room, whichever
/// server each client is on: a private line reaches its one addressee on
/// another server and nobody else, and a name let go by a rename is free
/// on every server while the new one is taken on every server.
#[test]
fn who_msg_and_nick_work_across_servers() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, true);
    let (one, two) = (servers[0].addr, servers[1].addr);
    let mut alice = join(one, "alice", "Nobody else is here", &mut []);
    let mut bob = join(two, "bob", "Also here: alice", &mut [&mut alice]);
    let mut carol = join(
        one,
        "carol",
        "Also here: alice, bob",
        &mut [&mut alice, &mut bob],
    );

    bob.say("/who");
    bob.expect("Here: alice, bob, carol");

    carol.say("/msg BOB psst");
    carol.expect("carol -> bob: psst");
    bob.expect("carol -> bob: psst");
    // alice's next line is her own: the private line passed her by.
    alice.say("anyone?");
    for peer in [&mut alice, &mut bob, &mut carol] {
        peer.expect("alice: anyone?");
    }
    carol.say("/msg zed hi");
    carol.expect("error: nobody here is called zed");

    bob.say("/nick robert");
    for peer in [&mut alice, &mut bob, &mut carol] {
        peer.expect("bob is now robert");
    }
    alice.say("/msg robert hello");
    alice.expect("alice -> robert: hello");
    bob.expect("alice -> robert: hello");
    carol.say("/nick Robert");
    carol.expect("error: Robert is too much like robert, who is here");

    // On the other server than bob's: bob is free again, robert is not.
    let mut dave = join(
        one,
        "bob",
        "Also here: alice, robert, carol",
        &mut [&mut alice, &mut bob, &mut carol],
    );
    let mut erin = Peer::connect_quiet(one);
    erin.expect("What is your name?");
    erin.say("robert");
    erin.expect("error: robert is taken");
    erin.expect("What is your name?");
    dave.say("/who");
    dave.expect("Here: alice, robert, carol, bob");
}

/// A server killed outright (SIGKILL: no goodbye) is noticed by the
/// others when its heartbeat lapses: each of its clients is announced as
/// left on every other server, once, in one order. Once Redis has
/// forgotten the dead server nothing more of it can come, so a line sent
/// then must be the next line everyone sees: no leave twice, nothing
/// else.
#[test]
fn a_killed_servers_clients_leave_once_on_the_others() {
    let Some(redis) = Redis::start() else { return };
    let mut servers = chats(&redis, 3, false);
    let mut a = Peer::connect(servers[0].addr);
    let mut b1 = arrive(servers[1].addr, &mut [&mut a]);
    let mut b2 = arrive(servers[1].addr, &mut [&mut a, &mut b1]);
    let mut c = arrive(servers[2].addr, &mut [&mut a, &mut b1, &mut b2]);
    servers[1].signal_with(Signal::KILL);
    a.set_patience(BURIAL_PATIENCE);
    c.set_patience(BURIAL_PATIENCE);
    let seen = texts(&mut a, 2);
    assert_eq!(texts(&mut c, 2), seen, "the leaves in one order");
    let mut leaves = seen.clone();
    leaves.sort();
    let mut want = vec![
        format!("{} has left", b1.name),
        format!("{} has left", b2.name),
    ];
    want.sort();
    assert_eq!(leaves, want, "each leave once");
    wait_for_servers(&redis, 2);
    a.say("after");
    let after = format!("{}: after", a.name);
    a.expect(&after);
    c.expect(&after);
}

/// Names mode: a killed server's client is announced as left by name, and
/// its name is free again in the whole room (Redis let go of it when the
/// leave went out); the next line the others see is the newcomer who takes
/// it, not a second leave.
#[test]
fn a_killed_servers_names_are_free_again() {
    let Some(redis) = Redis::start() else { return };
    let mut servers = chats(&redis, 2, true);
    let mut alice = join(servers[0].addr, "alice", "Nobody else is here", &mut []);
    let _bob = join(
        servers[1].addr,
        "bob",
        "Also here: alice",
        &mut [&mut alice],
    );
    servers[1].signal_with(Signal::KILL);
    alice.set_patience(BURIAL_PATIENCE);
    alice.expect("bob has left");
    wait_for_servers(&redis, 1);
    let _bob = join(
        servers[0].addr,
        "bob",
        "Also here: alice",
        &mut [&mut alice],
    );
}

/// A server stopped cleanly (SIGTERM) says goodbye for its clients: the
/// server exits with success, and has already parted: Redis no longer
/// lists it (a server that only died would be listed until its heartbeat
/// lapsed, and its clients' leaves would come from its burial). The
/// others see each of its clients leave once, then nothing more of them,
/// and their names are free again.
#[test]
fn a_stopped_servers_clients_leave_on_the_others() {
    let Some(redis) = Redis::start() else { return };
    let mut servers = chats(&redis, 2, true);
    let (one, two) = (servers[0].addr, servers[1].addr);
    let mut alice = join(one, "alice", "Nobody else is here", &mut []);
    let mut bob = join(two, "bob", "Also here: alice", &mut [&mut alice]);
    let _carol = join(
        two,
        "carol",
        "Also here: alice, bob",
        &mut [&mut alice, &mut bob],
    );
    let status = servers.pop().unwrap().terminate();
    assert!(status.success(), "chat exited with {status} after SIGTERM");
    assert_eq!(
        redis.servers_in(ROOM),
        Some(1),
        "the stopped server is still listed: it did not part"
    );
    let mut leaves = texts(&mut alice, 2);
    leaves.sort();
    assert_eq!(
        leaves,
        ["bob has left", "carol has left"],
        "each leave once"
    );
    // The next line alice sees is bob's newcomer: nothing else came.
    let _bob = join(one, "bob", "Also here: alice", &mut [&mut alice]);
}

/// Redis killed and started again (empty, as Redis without persistence
/// restarts) under two running servers: every client is told the room is
/// unreachable; a line sent meanwhile is not echoed (the next line its
/// sender sees is that the room is back) and then goes to everyone, once;
/// and the room works again: a newcomer on the other server is seen.
#[test]
fn redis_lost_and_back_holds_lines_then_delivers_them() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let servers = chats(&redis, 2, false);
    let mut a = Peer::connect(servers[0].addr);
    let mut b = arrive(servers[1].addr, &mut [&mut a]);
    redis.kill();
    a.expect(LOST);
    b.expect(LOST);
    a.say("while down");
    redis.restart();
    let held = format!("{}: while down", a.name);
    a.expect(BACK);
    a.expect(&held);
    b.expect(BACK);
    b.expect(&held);
    b.say("after");
    let after = format!("{}: after", b.name);
    a.expect(&after);
    b.expect(&after);
    let mut c = arrive(servers[1].addr, &mut [&mut a, &mut b]);
    c.say("hi");
    let hi = format!("{}: hi", c.name);
    for peer in [&mut a, &mut b, &mut c] {
        peer.expect(&hi);
    }
}

/// Names mode through a Redis restart: a restarted Redis has forgotten
/// every name, so each server claims its clients' names again; a newcomer
/// on the other server still cannot take one, and `/who` still lists the
/// whole room in order of arrival.
#[test]
fn redis_lost_and_back_keeps_names_taken() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let servers = chats(&redis, 2, true);
    let (one, two) = (servers[0].addr, servers[1].addr);
    let mut alice = join(one, "alice", "Nobody else is here", &mut []);
    let mut bob = join(two, "bob", "Also here: alice", &mut [&mut alice]);
    redis.kill();
    alice.expect(LOST);
    bob.expect(LOST);
    redis.restart();
    alice.expect(BACK);
    bob.expect(BACK);
    let mut erin = Peer::connect_quiet(two);
    erin.expect("What is your name?");
    erin.say("alice");
    erin.expect("error: alice is taken");
    erin.expect("What is your name?");
    erin.say("erin");
    erin.expect("You are erin");
    erin.expect("Also here: alice, bob");
    alice.expect("erin has arrived");
    bob.expect("erin has arrived");
    bob.say("/who");
    bob.expect("Here: alice, bob, erin");
}

/// Redis unreachable at start (nothing listens on its port): one line on
/// stderr saying so, exit status 1, and no `listening on` before it.
#[test]
fn unreachable_redis_at_start_is_one_line_and_exit_1() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let (status, stderr) = run_chat(&["--redis", &url]);
    assert_eq!(status.code(), Some(1), "stderr: {stderr:?}");
    assert!(
        stderr.starts_with(&format!("chat: cannot reach Redis at {url}: "))
            && stderr.ends_with('\n')
            && stderr.lines().count() == 1,
        "stderr: {stderr:?}"
    );
}

/// A Redis that wants a password: servers whose URL gives it
/// (percent-encoded, as a URL's login must be) log in and share the room,
/// and no log line shows it; a wrong one is one line and exit status 1,
/// still without it.
#[test]
fn a_password_in_the_url_logs_in_and_is_never_shown() {
    let Some(redis) = Redis::start() else { return };
    let password = "s3cr@t:/x";
    let set = redis.query(&["CONFIG", "SET", "requirepass", password]);
    assert_eq!(set, "+OK\r\n");
    let url = format!("redis://:s3cr%40t%3A%2Fx@127.0.0.1:{}", redis.port);
    let one = ChatProcess::start(&["--redis", &url]);
    let two = ChatProcess::start(&["--redis", &url]);
    let shown = format!("on redis://…@127.0.0.1:{} as server", redis.port);
    for server in [&one, &two] {
        let log = server.early_log.join("\n");
        assert!(log.contains(&shown), "{log}");
        assert!(!log.contains("s3cr"), "{log}");
    }
    let mut a = Peer::connect(one.addr);
    let mut b = arrive(two.addr, &mut [&mut a]);
    b.say("through a password");
    let said = format!("{}: through a password", b.name);
    b.expect(&said);
    a.expect(&said);
    let wrong = format!("redis://:s3cr%40t@127.0.0.1:{}", redis.port);
    let (status, stderr) = run_chat(&["--redis", &wrong]);
    assert_eq!(status.code(), Some(1), "stderr: {stderr:?}");
    let refused = format!(
        "chat: cannot reach Redis at redis://…@127.0.0.1:{}: ",
        redis.port
    );
    assert!(stderr.starts_with(&refused), "stderr: {stderr:?}");
    assert!(
        !stderr.contains("s3cr") && stderr.lines().count() == 1,
        "{stderr:?}"
    );
}

/// A `--redis` that is not a Redis URL, or has a setting chat does not
/// know, is one line, `bad --redis URL: expected redis://HOST:PORT`, and
/// exit status 1, before any Redis is tried.
#[test]
fn a_bad_redis_url_is_one_line_and_exit_1() {
    for url in [
        "127.0.0.1:6379",
        "http://127.0.0.1:6379",
        "redis://:6379",
        "redis://127.0.0.1:port",
        "redis://127.0.0.1:6379?db=2",
    ] {
        let (status, stderr) = run_chat(&["--redis", url]);
        assert_eq!(status.code(), Some(1), "{url}: stderr: {stderr:?}");
        let want = format!("chat: bad --redis {url}: expected redis://HOST:PORT\n");
        assert_eq!(stderr, want, "{url}");
    }
}

/// A room is in one mode: a server of the other mode is refused with one
/// line saying how to start it, and exit status 1. Another room on the
/// same Redis is another room, in a mode of its own.
#[test]
fn a_server_of_the_other_mode_is_refused() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let _book = chat(&redis, &[]);
    let (status, stderr) = run_chat(&["--redis", &url, "--names"]);
    assert_eq!(status.code(), Some(1), "stderr: {stderr:?}");
    assert_eq!(
        stderr,
        "chat: the room \"chat\" is in book mode on its other servers; \
         start this one without --names\n"
    );
    let _names = chat(&redis, &["--room", "lobby", "--names"]);
    let (status, stderr) = run_chat(&["--redis", &url, "--room", "lobby"]);
    assert_eq!(status.code(), Some(1), "stderr: {stderr:?}");
    assert_eq!(
        stderr,
        "chat: the room \"lobby\" is in names mode on its other servers; \
         start this one with --names\n"
    );
}

/// One server cut off from Redis alone (the others keep it): its clients
/// are told, a line sent meanwhile waits unechoed, and when it is back the
/// line goes to everyone; the other server's clients see no leave and no
/// second arrival of the cut server's clients, just the line.
#[test]
fn a_server_cut_off_alone_comes_back_without_churn() {
    let Some(redis) = Redis::start() else { return };
    let relay = Relay::to(&redis);
    let one = chat(&redis, &[]);
    let two = ChatProcess::start(&["--redis", &relay.url()]);
    let mut a = Peer::connect(one.addr);
    let mut b = arrive(two.addr, &mut [&mut a]);
    relay.cut();
    b.expect(LOST);
    b.say("from b");
    relay.heal();
    b.expect(BACK);
    let line = format!("{}: from b", b.name);
    b.expect(&line);
    a.expect(&line);
}

/// Redis restarted, and one server finds it again later than the other
/// (its way to Redis cut a moment longer): the line that waited on the
/// first server goes out as soon as that server is back, and must still
/// reach the clients of the server that comes back after. This is the
/// restart test's race made certain.
#[test]
fn a_line_held_through_an_outage_reaches_the_server_back_last() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let relay = Relay::to(&redis);
    let one = chat(&redis, &[]);
    let two = ChatProcess::start(&["--redis", &relay.url()]);
    let mut a = Peer::connect(one.addr);
    let mut b = arrive(two.addr, &mut [&mut a]);
    redis.kill();
    a.expect(LOST);
    b.expect(LOST);
    relay.cut();
    a.say("held");
    redis.restart();
    let held = format!("{}: held", a.name);
    a.expect(BACK);
    a.expect(&held);
    relay.heal();
    b.expect(BACK);
    b.expect(&held);
}

/// A line whose way to Redis is cut while it is on its way: its sender
/// cannot know whether it went out, and is told so (before the room is
/// said to be unreachable); it is never echoed, nobody receives it, and
/// once the server is back its next line goes out as usual.
#[test]
fn a_line_cut_on_its_way_is_reported_unsure_and_never_echoed() {
    let Some(redis) = Redis::start() else { return };
    let relay = Relay::to(&redis);
    let one = chat(&redis, &[]);
    let two = ChatProcess::start(&["--redis", &relay.url()]);
    let mut a = Peer::connect(one.addr);
    let mut b = arrive(two.addr, &mut [&mut a]);
    relay.hold();
    b.say("maybe");
    relay.wait_until_held(b"maybe");
    relay.cut();
    b.expect(UNSURE);
    b.expect(LOST);
    relay.heal();
    b.expect(BACK);
    b.say("again");
    let again = format!("{}: again", b.name);
    b.expect(&again);
    a.expect(&again);
}

/// A server told to stop (SIGTERM) while Redis is away does not wait for
/// Redis: it stops, successfully, and its client's connection ends with
/// nothing more. Redis never comes back here, so a server that waited for
/// it would never exit, and `terminate`'s bounded wait fails the test.
#[test]
fn a_server_stops_while_redis_is_away() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let mut servers = chats(&redis, 1, false);
    let mut a = Peer::connect(servers[0].addr);
    redis.kill();
    a.expect(LOST);
    let status = servers.pop().unwrap().terminate();
    assert!(status.success(), "chat exited with {status} after SIGTERM");
    a.expect_end();
}

/// A server with no clients when Redis goes away comes back with the
/// rest: a newcomer on it, after Redis's restart, is greeted and seen.
#[test]
fn an_empty_server_comes_back_after_a_redis_restart() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let servers = chats(&redis, 2, false);
    let mut a = Peer::connect(servers[0].addr);
    redis.kill();
    a.expect(LOST);
    redis.restart();
    a.expect(BACK);
    wait_for_servers(&redis, 2);
    // Listed again, the other server may not be following the room yet:
    // then its newcomer hears it waits, and is greeted when it is.
    let mut b = Peer::connect_quiet(servers[1].addr);
    let mut first = b.text();
    if first == NEWCOMER_WAITS {
        first = b.text();
    }
    assert_eq!(first, format!("You are {}", b.name));
    a.expect(&format!("{} has arrived", b.name));
    b.say("here");
    let here = format!("{}: here", b.name);
    a.expect(&here);
    b.expect(&here);
}

/// A server started after a Redis restart is a server of its own, not one
/// that was there before it (Redis's counters start again from nothing):
/// names mode, so that two servers taken for one would give a name twice.
#[test]
fn a_server_started_after_a_redis_restart_is_one_more() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let one = chat(&redis, &["--names"]);
    let mut a = join(one.addr, "zed", "Nobody else is here", &mut []);
    redis.kill();
    a.expect(LOST);
    redis.restart();
    a.expect(BACK);
    let two = chat(&redis, &["--names"]);
    wait_for_servers(&redis, 2);
    let mut b = Peer::connect_quiet(two.addr);
    b.expect("What is your name?");
    b.say("zed");
    b.expect("error: zed is taken");
    b.expect("What is your name?");
    b.say("amy");
    b.expect("You are amy");
    b.expect("Also here: zed");
    a.expect("amy has arrived");
}

/// A server that cannot answer for longer than a heartbeat lasts (stopped,
/// as a machine that hangs) is buried: the others see its client leave,
/// once; when it answers again its client, whom the room saw go, is told
/// so and closed, and nobody sees it arrive or leave again.
#[test]
fn a_server_back_after_its_burial_lets_its_clients_go() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, false);
    let mut a = Peer::connect(servers[0].addr);
    let mut b = arrive(servers[1].addr, &mut [&mut a]);
    servers[1].send(Signal::STOP);
    a.set_patience(BURIAL_PATIENCE);
    a.expect(&format!("{} has left", b.name));
    wait_for_servers(&redis, 1);
    servers[1].send(Signal::CONT);
    // It may first have noticed Redis was slow to answer.
    let mut told = b.text();
    if told == LOST {
        told = b.text();
    }
    assert_eq!(
        told,
        "error: cut off from the room for too long (the others saw you leave); connect again"
    );
    b.expect_end();
    // Nothing more about b: the next line a sees is a newcomer's on the
    // server that came back.
    let mut c = arrive(servers[1].addr, &mut [&mut a]);
    c.say("hello");
    let hello = format!("{}: hello", c.name);
    a.expect(&hello);
    c.expect(&hello);
}

/// A test skipped for want of `redis-server` is told again at the end of
/// the run, after cargo's `test result:` that counted it as passed; with
/// `CHAT_REQUIRE_REDIS=1` it fails instead. This binary, run again on one
/// test with no `redis-server` in PATH.
#[test]
fn a_skip_is_told_at_the_end_of_the_run() {
    let run = |require: Option<&str>| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "two_book_servers_give_everyone_one_order"])
            .env("PATH", "/nonexistent")
            .env_remove("CHAT_REQUIRE_REDIS");
        if let Some(require) = require {
            command.env("CHAT_REQUIRE_REDIS", require);
        }
        command.output().expect("run this test binary again")
    };
    let output = run(None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
    let summary =
        "\nSKIPPED 1 of the tests in tests/redis.rs (cargo counted them as passed above):\n  \
                   1: there is no redis-server in PATH (apt-get install redis-server); \
                   set CHAT_REQUIRE_REDIS=1 to make this a failure\n\n";
    assert!(stderr.ends_with(summary), "{stderr}");
    let required = run(Some("1"));
    assert!(!required.status.success(), "{required:?}");
}

/// A newcomer while Redis is lost is told at once that it waits, and is
/// greeted when Redis is back; one that gave up meanwhile is never
/// announced: the next arrival the others see is the one who waited.
#[test]
fn a_newcomer_during_an_outage_is_told_and_one_that_gave_up_is_never_seen() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let servers = chats(&redis, 2, false);
    let mut a = Peer::connect(servers[0].addr);
    let mut b = arrive(servers[1].addr, &mut [&mut a]);
    redis.kill();
    a.expect(LOST);
    b.expect(LOST);
    let mut quitter = Peer::connect_quiet(servers[0].addr);
    quitter.expect(NEWCOMER_WAITS);
    drop(quitter);
    let mut waiter = Peer::connect_quiet(servers[0].addr);
    waiter.expect(NEWCOMER_WAITS);
    redis.restart();
    a.expect(BACK);
    waiter.expect(&format!("You are {}", waiter.name));
    a.expect(&format!("{} has arrived", waiter.name));
    // The other server may come back after the arrival: then it learns
    // of it from Redis's lists, before it says it is back.
    let mut told = texts(&mut b, 2);
    told.sort();
    let mut want = vec![BACK.to_string(), format!("{} has arrived", waiter.name)];
    want.sort();
    assert_eq!(told, want);
    waiter.say("hi");
    let hi = format!("{}: hi", waiter.name);
    for peer in [&mut a, &mut b, &mut waiter] {
        peer.expect(&hi);
    }
}

/// Names mode: a newcomer that gives its name while Redis is lost is told
/// it waits, not left with silence, and is let in when Redis is back.
#[test]
fn a_named_newcomer_during_an_outage_is_told_then_let_in() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let servers = chats(&redis, 1, true);
    let mut alice = join(servers[0].addr, "alice", "Nobody else is here", &mut []);
    redis.kill();
    alice.expect(LOST);
    let mut bob = Peer::connect_quiet(servers[0].addr);
    bob.expect("What is your name?");
    bob.say("bob");
    bob.expect(NEWCOMER_WAITS);
    redis.restart();
    alice.expect(BACK);
    bob.expect("You are bob");
    bob.expect("Also here: alice");
    alice.expect("bob has arrived");
}

/// A room of servers of another wire format (or of the servers from
/// before the format had a version, whose mode key holds the mode alone)
/// refuses a server at start, in one line, exit status 1.
#[test]
fn a_server_of_another_wire_format_is_refused() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let mode = RoomKeys::new(ROOM).mode();
    for (held, theirs) in [("book", "1"), ("book 999", "999")] {
        redis.query(&["SET", &mode, held]);
        let (status, stderr) = run_chat(&["--redis", &url]);
        assert_eq!(status.code(), Some(1), "stderr: {stderr:?}");
        assert_eq!(
            stderr,
            format!(
                "chat: the room \"chat\" speaks wire format {theirs} on its other servers, \
                 and this chat speaks 3; run one version of chat on all of a room's servers\n"
            )
        );
    }
}

/// Two clients of two servers with one address (two machines behind one
/// address, as each server sees them) would share a name in book mode:
/// the second is refused, told why, and closed; nobody sees it arrive or
/// leave.
#[test]
fn two_clients_of_two_servers_never_share_an_address() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, false);
    let local: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut first = Peer::connect_from(servers[0].addr, local);
    first.expect(&format!("You are {local}"));
    let mut second = Peer::connect_from(servers[1].addr, local);
    second.expect(&format!(
        "error: {local} is already in the room (through another server); connect again"
    ));
    second.expect_end();
    let mut other = arrive(servers[1].addr, &mut [&mut first]);
    other.say("hi");
    let hi = format!("{}: hi", other.name);
    first.expect(&hi);
    other.expect(&hi);
}

/// An event of the wire format, forged: its kind, its origin, then its
/// fields, each with its length (an arrival's are its name, then whether
/// it was free and its place, unframed).
fn forged(kind: u8, server: u64, conn: u64, fields: &[&[u8]], tail: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&server.to_le_bytes());
    body.extend_from_slice(&conn.to_le_bytes());
    for field in fields {
        body.extend_from_slice(&(field.len() as u32).to_le_bytes());
        body.extend_from_slice(field);
    }
    body.extend_from_slice(tail);
    let mut event = vec![kind];
    event.extend_from_slice(&(body.len() as u32).to_le_bytes());
    event.extend_from_slice(&body);
    event
}

/// Adds `event` to `redis`'s room's stream, as anyone who can reach Redis
/// can.
fn forge(redis: &Redis, event: &[u8]) {
    let events = RoomKeys::new(ROOM).events();
    let reply = redis.query_bytes(&[b"XADD", events.as_bytes(), b"*", b"e", event]);
    assert!(reply.starts_with('$'), "XADD: {reply:?}");
}

/// Whatever is written into the room's stream is checked as a line from
/// a socket is: a line holding a newline (which would add a line of its
/// own), a line posing as another client's, an arrival whose name is no
/// address, an event from a server that is not the room's: each dropped,
/// and the next line everyone sees is a real one.
#[test]
fn forged_events_in_the_stream_are_dropped() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, false);
    let mut a = Peer::connect(servers[0].addr);
    let mut b = arrive(servers[1].addr, &mut [&mut a]);
    let (server, conn, _) = redis
        .members_of(ROOM)
        .into_iter()
        .find(|(_, _, name)| *name == b.name)
        .expect("b listed in Redis");
    let two_lines = format!("{}: hi\nerror: you are banned\n", b.name);
    forge(
        &redis,
        &forged(b'B', server, conn, &[two_lines.as_bytes()], b""),
    );
    let posing = format!("{}: send me your password\n", a.name);
    forge(
        &redis,
        &forged(b'B', server, conn, &[posing.as_bytes()], b""),
    );
    let placed = format!("1{:020}", 99);
    let odd_name: &[u8] = b"error: z";
    forge(
        &redis,
        &forged(b'A', server, 4242, &[odd_name], placed.as_bytes()),
    );
    let stranger: &[u8] = b"127.0.0.1:1";
    forge(&redis, &forged(b'A', 77, 1, &[stranger], placed.as_bytes()));
    a.say("real");
    let real = format!("{}: real", a.name);
    a.expect(&real);
    b.expect(&real);
}

/// Names mode: a forged arrival under a name the name rules refuse, and a
/// forged message whose text holds a newline, are dropped.
#[test]
fn forged_names_and_commands_in_the_stream_are_dropped() {
    let Some(redis) = Redis::start() else { return };
    let servers = chats(&redis, 2, true);
    let mut alice = join(servers[0].addr, "alice", "Nobody else is here", &mut []);
    let mut bob = join(
        servers[1].addr,
        "bob",
        "Also here: alice",
        &mut [&mut alice],
    );
    let (server, conn, _) = redis
        .members_of(ROOM)
        .into_iter()
        .find(|(_, _, name)| name == "bob")
        .expect("bob listed in Redis");
    let placed = format!("1{:020}", 99);
    let odd_name: &[u8] = b"error: z";
    forge(
        &redis,
        &forged(b'A', server, 4242, &[odd_name], placed.as_bytes()),
    );
    let two_lines: &[u8] = b"hi\nerror: you are banned";
    forge(&redis, &forged(b'T', server, conn, &[two_lines], b""));
    alice.say("real");
    alice.expect("alice: real");
    bob.expect("alice: real");
}

/// The host this machine says it is, as a server's address names it.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("the host's name")
        .trim()
        .to_string()
}

/// The number `server` says it joined its room as, with `present`
/// servers in it, in its log's first lines.
fn joined_as(server: &ChatProcess, url: &str, present: usize) -> u64 {
    let head = format!("chat: joined room chat on {url} as server ");
    let tail = format!(", {present} servers present");
    server
        .early_log
        .iter()
        .find_map(|line| line.trim_end().strip_prefix(&head)?.strip_suffix(&tail))
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no {head}N{tail} in {:?}", server.early_log))
}

/// Reads `server`'s log until the line `wanted`, for a bounded time: past
/// it, the server is killed (which ends its log) and the test fails.
fn expect_log(server: &mut ChatProcess, wanted: &str) {
    let (found, seen) = std::sync::mpsc::channel();
    let ChatProcess { child, stderr, .. } = server;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut line = String::new();
            while matches!(stderr.read_line(&mut line), Ok(1..)) {
                if line.trim_end() == wanted {
                    let _ = found.send(());
                    return;
                }
                line.clear();
            }
        });
        if seen.recv_timeout(BURIAL_PATIENCE).is_err() {
            let _ = child.kill();
            panic!("no {wanted:?} in the server's log");
        }
    });
}

/// What an operator sees: each server logs the room it joined, on which
/// Redis, as which server and with how many; a server that stops
/// answering is named by its address in the log of the one that buries
/// it. And the heartbeat is a flag (here quick, so that a stopped server
/// is buried soon; how soon is not for a test to assert).
#[test]
fn operators_see_the_room_joined_and_a_buried_server_by_its_address() {
    let Some(redis) = Redis::start() else { return };
    let quick = ["--heartbeat", "200ms", "--heartbeat-lifetime", "1s"];
    let mut one = chat(&redis, &quick);
    let two = chat(&redis, &quick);
    let url = redis.url();
    joined_as(&one, &url, 1);
    let second = joined_as(&two, &url, 2);
    let mut a = Peer::connect(one.addr);
    let b = arrive(two.addr, &mut [&mut a]);
    two.send(Signal::STOP);
    a.set_patience(BURIAL_PATIENCE);
    a.expect(&format!("{} has left", b.name));
    let address = format!("listening on {} on {}", two.addr, host());
    expect_log(
        &mut one,
        &format!(
            "chat: Redis: server {second} ({address}) of the room stopped answering; \
             its clients leave"
        ),
    );
    two.send(Signal::CONT);
}

/// Waits, for a bounded time, until `server` is stopped (SIGSTOP): every
/// one of its threads' states in /proc is `T`.
fn stopped(server: &ChatProcess) {
    let tasks = format!("/proc/{}/task", server.child.id());
    let state = |task: std::fs::DirEntry| {
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        // The state follows the command's name in parentheses.
        stat.rsplit_once(") ")?.1.chars().next()
    };
    try_eventually("chat to be stopped", Duration::from_secs(20), || {
        let mut tasks = std::fs::read_dir(&tasks).ok()?;
        tasks
            .all(|task| task.ok().and_then(state) == Some('T'))
            .then_some(())
    })
    .unwrap_or_else(|why| panic!("{why}"));
}

/// A server away longer than the room's stream keeps (stopped, here, as a
/// machine that hangs; its heartbeat lasting long enough not to be
/// buried meanwhile) misses the oldest of what was said: its clients are
/// told how many lines, then get the rest, and the two add up to every
/// line said meanwhile. Renames, one event each, drive more events
/// through the room than it keeps.
#[test]
fn a_server_away_longer_than_the_stream_keeps_tells_how_many_lines_were_missed() {
    const RENAMES: usize = 10_500;
    let Some(redis) = Redis::start() else { return };
    let one = chat(&redis, &["--names", "--rate", "off"]);
    let patient = ["--names", "--rate", "off", "--heartbeat-lifetime", "10m"];
    let two = chat(&redis, &patient);
    let mut alice = join(one.addr, "alice", "Nobody else is here", &mut []);
    let mut bob = join(two.addr, "bob", "Also here: alice", &mut [&mut alice]);
    two.send(Signal::STOP);
    // A signal takes effect when its process next runs: until then it
    // could still read what comes.
    stopped(&two);
    let names: Vec<String> = (0..=RENAMES)
        .map(|k| match k {
            0 => "alice".to_string(),
            // Each name new, so that each rename is one line on every
            // server, even one that missed the renames before.
            k => format!("x{k}"),
        })
        .collect();
    // The first event after the stop may still reach the stopped server
    // (its read of the stream was waiting for one); the next are among
    // what it misses, a newcomer's arrival with them.
    alice.say(&format!("/nick {}", names[1]));
    alice.expect(&format!("{} is now {}", names[0], names[1]));
    let also = format!("Also here: {}, bob", names[1]);
    let mut carol = join(one.addr, "carol", &also, &mut [&mut alice]);
    let mut burst = String::new();
    for name in &names[2..] {
        burst.push_str(&format!("/nick {name}\n"));
    }
    alice.send(burst.as_bytes());
    for pair in names[1..].windows(2) {
        let renamed = format!("{} is now {}", pair[0], pair[1]);
        alice.expect(&renamed);
        carol.expect(&renamed);
    }
    alice.say("done");
    let done = format!("{}: done", names[RENAMES]);
    alice.expect(&done);
    two.send(Signal::CONT);
    let mut missed = None;
    let mut renames = 0;
    let mut carol_seen = false;
    loop {
        let line = bob.text();
        if line == done {
            break;
        }
        if let Some(count) = line.strip_prefix("error: you missed ").and_then(|rest| {
            rest.strip_suffix(" lines while this server was cut off from the room")
        }) {
            // Told where the gap is: after what the server had read before
            // it stopped, if anything, and before the rest.
            assert_eq!(missed, None, "told twice");
            missed = Some(count.parse::<usize>().expect("a count"));
        } else if line.contains(" is now ") {
            renames += 1;
        } else if line == "carol has arrived" {
            // Learnt from Redis's lists, once the gap was seen.
            assert!(!carol_seen, "carol's arrival twice");
            carol_seen = true;
        } else {
            // It may have taken Redis for lost while it could not answer.
            assert!(line == LOST || line == BACK, "unexpected line {line:?}");
        }
    }
    let missed = missed.expect("bob was told of the lines missed");
    assert!(missed > 0);
    // Every event after the stop was missed or received: the renames, and
    // carol's arrival (among the oldest, so missed).
    assert_eq!(missed + renames, RENAMES + 1, "missed and received");
    // The newcomer whose arrival bob's server missed is in its room.
    assert!(carol_seen, "carol's arrival was never learnt");
    carol.say("hi");
    bob.expect("carol: hi");
}

/// `--history` across servers (book mode): a newcomer on a server started
/// after the lines were said gets the same recent lines as one on the
/// server that was there, read back from the room's stream.
#[test]
fn the_history_comes_from_the_room_on_a_server_started_later() {
    let Some(redis) = Redis::start() else { return };
    let one = chat(&redis, &["--history", "2"]);
    let mut a = Peer::connect(one.addr);
    for line in ["one", "two", "three"] {
        a.say(line);
        a.expect(&format!("{}: {line}", a.name));
    }
    let two = chat(&redis, &["--history", "2"]);
    wait_for_servers(&redis, 2);
    let mut newcomers = Vec::new();
    for server in [&one, &two] {
        let mut newcomer = Peer::connect(server.addr);
        newcomer.expect("Recent messages (2):");
        newcomer.expect(&format!("{}: two", a.name));
        newcomer.expect(&format!("{}: three", a.name));
        a.expect(&format!("{} has arrived", newcomer.name));
        newcomers.push(newcomer);
    }
}

/// `--history` across servers in names mode: a server started later
/// replays what was said before it with each sender's name as it was
/// then (renames included, and one who left since), so its newcomer gets
/// the same recent lines as a newcomer on the server that was there.
#[test]
fn the_history_comes_from_the_room_in_names_mode_too() {
    let Some(redis) = Redis::start() else { return };
    let flags = ["--names", "--rate", "off", "--history", "4"];
    let one = chat(&redis, &flags);
    let mut alice = join(one.addr, "alice", "Nobody else is here", &mut []);
    alice.say("one");
    alice.expect("alice: one");
    let mut bob = join(one.addr, "bob", "Also here: alice", &mut [&mut alice]);
    bob.expect("Recent messages (1):");
    bob.expect("alice: one");
    bob.say("/me waves");
    for peer in [&mut alice, &mut bob] {
        peer.expect("* bob waves");
    }
    alice.say("/nick alicia");
    alice.say("two");
    for peer in [&mut alice, &mut bob] {
        peer.expect("alice is now alicia");
        peer.expect("alicia: two");
    }
    let mut carol = join(
        one.addr,
        "carol",
        "Also here: alicia, bob",
        &mut [&mut alice, &mut bob],
    );
    for line in [
        "Recent messages (3):",
        "alice: one",
        "* bob waves",
        "alicia: two",
    ] {
        carol.expect(line);
    }
    carol.say("bye");
    carol.say("/quit");
    for peer in [&mut alice, &mut bob] {
        peer.expect("carol: bye");
        peer.expect("carol has left");
    }
    let two = chat(&redis, &flags);
    wait_for_servers(&redis, 2);
    let recent = [
        "Recent messages (4):",
        "alice: one",
        "* bob waves",
        "alicia: two",
        "carol: bye",
    ];
    let mut newcomers = Vec::new();
    for (server, name) in [(&two, "dave"), (&one, "erin")] {
        let mut newcomer = Peer::connect_quiet(server.addr);
        newcomer.expect("What is your name?");
        newcomer.say(name);
        newcomer.expect(&format!("You are {name}"));
        newcomer.text();
        for line in recent {
            newcomer.expect(line);
        }
        alice.expect(&format!("{name} has arrived"));
        newcomers.push(newcomer);
    }
}
