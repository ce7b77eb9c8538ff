//! PROTOCOL.md's "Operators and manners" where addresses matter, which a
//! transcript cannot show (every client of a script is 127.0.0.1): a ban
//! refuses its address and no other, a mute follows its address across a
//! leave, `/bans` says when each ends. Clients connect from addresses of
//! their own in 127.0.0.0/8 (all loopback on Linux) to the built `chat`;
//! an IPv6 ban's /64 is played in a network namespace of the server's own,
//! with `nc` from addresses given to its loopback. The flags' refusals at
//! start are checked on the binary too.

// Without the feature `manners`, only the refusal of its flags is here.
#![cfg_attr(not(feature = "manners"), allow(dead_code, unused_imports))]

mod common;

#[path = "common/bins.rs"]
mod bins;

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bins::{chat_bin, netcat, ChatProcess};
use common::Peer;

/// The operators' password of these tests.
const PASSWORD: &str = "correct horse";

/// A file holding `text`, with permissions `mode`, for a flag.
fn file(name: &str, text: &[u8], mode: u32) -> PathBuf {
    let path = std::env::temp_dir().join(format!("chat-manners-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write a file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

/// `chat --names` with the operators' password.
fn server(name: &str) -> ChatProcess {
    let password = file(
        name,
        format!("{PASSWORD}\nnot this line\n").as_bytes(),
        0o600,
    );
    let flag = format!("--operator-password-file={}", password.display());
    ChatProcess::start(&["--names", &flag])
}

/// A client from the address `from` (any port), not yet named.
fn from(chat: &ChatProcess, from: &str) -> Peer {
    let local: SocketAddr = format!("{from}:0").parse().expect("an address");
    Peer::connect_from(chat.addr, local)
}

/// A client from `address`, named `name`, with `others` here before it.
fn named(chat: &ChatProcess, address: &str, name: &str, others: &str) -> Peer {
    let mut peer = from(chat, address);
    peer.expect("What is your name?");
    peer.say(name);
    peer.expect(&format!("You are {name}"));
    peer.expect(others);
    peer
}

#[cfg(feature = "manners")]
#[test]
fn a_ban_refuses_its_address_and_no_other_until_unbanned() {
    let chat = server("ban");
    let mut alice = named(&chat, "127.0.0.1", "alice", "Nobody else is here");
    let mut bob = named(&chat, "127.0.0.2", "bob", "Also here: alice");
    alice.expect("bob has arrived");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    alice.say("/bans");
    alice.expect("Nobody is banned");

    alice.say("/ban bob 2h spam");
    bob.expect("error: banned by alice: spam");
    bob.expect_end();
    alice.expect("bob was banned by alice: spam");

    // Refused before any question, and nobody sees it come or go.
    let mut again = from(&chat, "127.0.0.2");
    again.expect("error: banned for another 1h59m: spam");
    again.expect_end();
    // Another address is not banned.
    let mut carol = named(&chat, "127.0.0.3", "carol", "Also here: alice");
    alice.expect("carol has arrived");

    alice.say("/bans");
    let line = alice.text();
    let until = line
        .strip_prefix("127.0.0.2 until ")
        .and_then(|rest| rest.strip_suffix(" by alice: spam"))
        .unwrap_or_else(|| panic!("a ban's line: {line:?}"));
    let in_two_hours = SystemTime::now() + Duration::from_secs(7200);
    let seconds = in_two_hours.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let ends = parse_utc(until);
    assert!(
        ends <= seconds + 1 && ends + 60 >= seconds,
        "{until} is not about two hours from now"
    );
    carol.say("/bans");
    carol.expect("error: only operators can /bans");

    alice.say("/unban 127.0.0.2");
    alice.expect("Unbanned 127.0.0.2");
    let mut back = named(&chat, "127.0.0.2", "bob", "Also here: alice, carol");
    alice.expect("bob has arrived");
    back.say("hello again");
    back.expect("bob: hello again");

    let mut chat = chat;
    let status = chat.terminate_keep_log();
    assert!(status.success(), "chat exited with {status}");
    let mut log = String::new();
    chat.stderr.read_to_string(&mut log).expect("chat's log");
    assert!(
        log.contains("operator: alice banned bob (127.0.0.2) for 2h: spam"),
        "{log}"
    );
    assert!(log.contains("operator: alice unbanned 127.0.0.2"), "{log}");
    assert!(
        !log.contains("horse"),
        "the password is never logged: {log}"
    );
}

/// Seconds since the epoch of `2026-12-06T21:03:00Z`.
fn parse_utc(text: &str) -> u64 {
    let digits: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().expect("digits"))
        .collect();
    let [year, month, day, hour, minute, second] = digits[..] else {
        panic!("not a UTC time: {text:?}");
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600 + minute * 60 + second
}

#[cfg(feature = "manners")]
#[test]
fn a_mute_follows_its_address_across_a_leave() {
    let chat = server("mute");
    let mut alice = named(&chat, "127.0.0.1", "alice", "Nobody else is here");
    let mut bob = named(&chat, "127.0.0.4", "bob", "Also here: alice");
    alice.expect("bob has arrived");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    alice.say("/mute bob");
    alice.expect("bob was muted by alice");
    bob.expect("bob was muted by alice");
    bob.say("let me speak");
    bob.expect("error: you are muted for another 9m");

    bob.half_close();
    bob.expect_end();
    alice.expect("bob has left");
    let mut again = named(&chat, "127.0.0.4", "bobby", "Also here: alice");
    alice.expect("bobby has arrived");
    again.say("it is me again");
    again.expect("error: you are muted for another 9m");
    // Another address is not muted.
    let mut carol = named(&chat, "127.0.0.5", "carol", "Also here: alice, bobby");
    alice.expect("carol has arrived");
    again.expect("carol has arrived");
    carol.say("hi");
    carol.expect("carol: hi");
    alice.expect("carol: hi");
    again.expect("carol: hi");

    alice.say("/unmute bobby");
    alice.expect("bobby was unmuted by alice");
    again.expect("bobby was unmuted by alice");
    again.say("thanks");
    again.expect("bobby: thanks");
    alice.expect("bobby: thanks");
    assert!(chat.terminate().success());
}

/// A mute outlives its client: `/mutes` lists it by address, with its
/// end, and `/unmute ADDRESS` ends it once nobody here has the name.
#[cfg(feature = "manners")]
#[test]
fn a_mute_of_one_gone_is_listed_and_lifted_by_its_address() {
    let mut chat = server("mutes");
    let mut alice = named(&chat, "127.0.0.1", "alice", "Nobody else is here");
    let mut mallory = named(&chat, "127.0.0.10", "mallory", "Also here: alice");
    alice.expect("mallory has arrived");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    alice.say("/mutes");
    alice.expect("Nobody is muted");
    alice.say("/mute mallory 2h");
    alice.expect("mallory was muted by alice");
    mallory.expect("mallory was muted by alice");
    alice.say("/mutes");
    let line = alice.text();
    let until = line
        .strip_prefix("127.0.0.10 until ")
        .and_then(|rest| rest.strip_suffix(" by alice"))
        .unwrap_or_else(|| panic!("a mute's line: {line:?}"));
    let in_two_hours = SystemTime::now() + Duration::from_secs(7200);
    let seconds = in_two_hours.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let ends = parse_utc(until);
    assert!(
        ends <= seconds + 1 && ends + 60 >= seconds,
        "{until} is not about two hours from now"
    );
    mallory.half_close();
    mallory.expect_end();
    alice.expect("mallory has left");

    alice.say("/unmute mallory");
    alice.expect("error: nobody here is called mallory");
    alice.say("/unmute 127.0.0.10");
    alice.expect("Unmuted 127.0.0.10");
    alice.say("/mutes");
    alice.expect("Nobody is muted");
    let mut back = named(&chat, "127.0.0.10", "mallory", "Also here: alice");
    alice.expect("mallory has arrived");
    back.say("sorry");
    back.expect("mallory: sorry");
    alice.expect("mallory: sorry");

    let status = chat.terminate_keep_log();
    assert!(status.success(), "chat exited with {status}");
    let mut log = String::new();
    chat.stderr.read_to_string(&mut log).expect("chat's log");
    assert!(
        log.contains("operator: alice unmuted 127.0.0.10\n"),
        "{log}"
    );
}

/// A kicked client's place under `--max-connections` is free once it has
/// its last lines (it does not wait out its linger), and the log says why
/// it left. An operator's `/op` again answers as before, logged once.
#[cfg(feature = "manners")]
#[test]
fn a_kicked_client_frees_its_place_and_the_log_says_why() {
    let password = file("kick", format!("{PASSWORD}\n").as_bytes(), 0o600);
    let flag = format!("--operator-password-file={}", password.display());
    let mut chat = ChatProcess::start(&["--names", &flag, "--verbose", "--max-connections=2"]);
    let mut alice = named(&chat, "127.0.0.1", "alice", "Nobody else is here");
    let mut carol = named(&chat, "127.0.0.8", "carol", "Also here: alice");
    alice.expect("carol has arrived");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    alice.say("/kick carol out");
    carol.expect("error: kicked by alice: out");
    carol.expect_end();
    alice.expect("carol was kicked by alice: out");
    // Carol has not closed her side: her connection lingers, without its
    // place.
    let mut dave = from(&chat, "127.0.0.9");
    dave.expect("What is your name?");
    drop(dave);

    let status = chat.terminate_keep_log();
    assert!(status.success(), "chat exited with {status}");
    let mut log = String::new();
    chat.stderr.read_to_string(&mut log).expect("chat's log");
    let kicked = format!("chat: {} left: kicked by alice\n", carol.name);
    assert!(log.contains(&kicked), "{kicked:?} in {log}");
    assert_eq!(
        log.matches(&carol.name).count(),
        2,
        "connected, left: {log}"
    );
    assert_eq!(log.matches("alice became an operator").count(), 1, "{log}");
}

/// `chat FLAGS 127.0.0.1:0` is refused at start: its one line.
fn refused(flags: &[&str]) -> String {
    let output = Command::new(chat_bin())
        .args(flags)
        .arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .output()
        .expect("run chat");
    assert_eq!(output.status.code(), Some(1), "{flags:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr.trim_end().to_string()
}

/// A build without the feature refuses its flags, saying how to build it.
#[cfg(not(feature = "manners"))]
#[test]
fn a_build_without_manners_refuses_their_flags() {
    let motd = file("off", b"hi\n", 0o600).display().to_string();
    assert_eq!(
        refused(&["--names", &format!("--motd={motd}")]),
        "chat: --motd needs operators and manners, which this chat is built without \
         (cargo build --release --features manners)"
    );
}

#[cfg(feature = "manners")]
#[test]
fn the_files_are_checked_at_start() {
    let open = file("open", b"secret\n", 0o644);
    let open = open.display().to_string();
    let line = refused(&["--names", &format!("--operator-password-file={open}")]);
    assert_eq!(
        line,
        format!("chat: --operator-password-file {open} is readable by others than its owner (chmod 600 {open})")
    );
    let empty = file("empty", b"\nsecret\n", 0o600).display().to_string();
    let line = refused(&["--names", &format!("--operator-password-file={empty}")]);
    assert!(
        line.ends_with("the first line, the password, is empty"),
        "{line}"
    );
    let closed = file("closed", b"secret\n", 0o600).display().to_string();
    let line = refused(&[&format!("--operator-password-file={closed}")]);
    assert_eq!(line, "chat: --operator-password-file needs --names");
    let big = file("big", &[b'x'; 4097], 0o644).display().to_string();
    let line = refused(&["--names", &format!("--motd={big}")]);
    assert_eq!(
        line,
        format!("chat: --motd {big} is over 4 KiB (4097 bytes)")
    );
    let motd = file("motd", b"hi\n", 0o644).display().to_string();
    let line = refused(&[&format!("--motd={motd}")]);
    assert_eq!(line, "chat: --motd needs --names");
}

/// A client that is `nc` in the server's network namespace, from the
/// address `from`: what it receives comes through a thread, so that a
/// line that never comes fails the test instead of hanging it.
struct Nc {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Nc {
    fn connect(chat: &ChatProcess, from: &str) -> Nc {
        let port = chat.addr.port().to_string();
        let mut child = chat
            .in_its_network(netcat().to_str().expect("a UTF-8 path"))
            .args(["-N", "-s", from, "::1", &port])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run nc with nsenter");
        let stdout = child.stdout.take().expect("nc's output");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Nc { child, lines }
    }

    fn say(&mut self, text: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("nc's input");
        writeln!(stdin, "{text}").expect("write to nc");
    }

    fn expect(&mut self, want: &str) {
        let got = self.lines.recv_timeout(common::PATIENCE);
        assert_eq!(got.as_deref(), Ok(want));
    }

    /// The server closed the connection: nothing more arrives, and `nc`,
    /// its input closed too, ends.
    fn expect_end(mut self) {
        drop(self.child.stdin.take());
        let got = self.lines.recv_timeout(common::PATIENCE);
        assert_eq!(got, Err(std::sync::mpsc::RecvTimeoutError::Disconnected));
    }
}

impl Drop for Nc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An IPv6 address is banned by its /64: another address of the same /64
/// is refused, one of the next /64 is not. Played in a network namespace
/// of the server's own, whose loopback is given three addresses.
#[cfg(feature = "manners")]
#[test]
fn an_ipv6_ban_covers_its_64() {
    let password = file("v6", format!("{PASSWORD}\n").as_bytes(), 0o600);
    let flag = format!("--operator-password-file={}", password.display());
    let chat = ChatProcess::start_in_own_network(":0", &["--names", &flag]);
    for address in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:3::1"] {
        let status = chat
            .in_its_network("ip")
            .args([
                "-6",
                "addr",
                "add",
                &format!("{address}/64"),
                "dev",
                "lo",
                "nodad",
            ])
            .status()
            .expect("run ip with nsenter");
        assert!(status.success(), "ip -6 addr add {address}");
    }
    let mut alice = Nc::connect(&chat, "::1");
    alice.expect("What is your name?");
    alice.say("alice");
    alice.expect("You are alice");
    alice.expect("Nobody else is here");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    let mut bob = Nc::connect(&chat, "2001:db8:1:2::1");
    bob.expect("What is your name?");
    bob.say("bob");
    bob.expect("You are bob");
    bob.expect("Also here: alice");
    alice.expect("bob has arrived");

    alice.say("/ban bob");
    bob.expect("error: banned by alice");
    bob.expect_end();
    alice.expect("bob was banned by alice");
    let mut neighbour = Nc::connect(&chat, "2001:db8:1:2::2");
    neighbour.expect("error: banned for another 59m");
    neighbour.expect_end();
    let mut stranger = Nc::connect(&chat, "2001:db8:1:3::1");
    stranger.expect("What is your name?");
    stranger.say("carol");
    stranger.expect("You are carol");
    stranger.expect("Also here: alice");
    alice.expect("carol has arrived");

    alice.say("/unban 2001:db8:1:2::7");
    alice.expect("Unbanned 2001:db8:1:2::/64");
    let mut back = Nc::connect(&chat, "2001:db8:1:2::2");
    back.expect("What is your name?");
    drop(alice);
    drop(stranger);
    drop(back);
    assert!(chat.terminate().success());
}

/// The topic and the bans outlive the servers that made them: kept in
/// Redis, a server started later (as after a restart) knows them. (Its
/// keeping is the server's own business, after the room's lines: the
/// test waits until Redis holds it, as an operator would not notice.)
#[cfg(all(feature = "manners", feature = "redis"))]
#[test]
fn a_server_started_later_knows_the_topic_and_the_bans() {
    let Some(redis) = common::redis::Redis::start() else {
        return;
    };
    let password = file("later", format!("{PASSWORD}\n").as_bytes(), 0o600);
    let password = format!("--operator-password-file={}", password.display());
    let url = redis.url();
    let flags = ["--names", &password, "--redis", &url];
    let first = ChatProcess::start(&flags);
    let mut alice = named(&first, "127.0.0.1", "alice", "Nobody else is here");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    alice.say("/topic kept in Redis");
    alice.expect("alice set the topic: kept in Redis");
    let mut bob = named(&first, "127.0.0.6", "bob", "Also here: alice");
    bob.expect("Topic: kept in Redis");
    alice.expect("bob has arrived");
    alice.say("/ban bob 2h spam");
    bob.expect("error: banned by alice: spam");
    bob.expect_end();
    alice.expect("bob was banned by alice: spam");
    let key = chat::room_keys::RoomKeys::new("chat").manners();
    common::eventually("the ban kept in Redis", common::PATIENCE, || {
        let held = redis.query(&["HEXISTS", &key, "ban 127.0.0.6"]);
        (held.trim() == ":1").then_some(())
    });

    let second = ChatProcess::start(&flags);
    let mut refused = from(&second, "127.0.0.6");
    refused.expect("error: banned for another 1h59m: spam");
    refused.expect_end();
    let mut carol = named(&second, "127.0.0.7", "carol", "Also here: alice");
    carol.expect("Topic: kept in Redis");
    alice.expect("carol has arrived");
    carol.say("/topic");
    carol.expect("Topic: kept in Redis");
    assert!(second.terminate().success());
    assert!(first.terminate().success());
}

/// A member's own manners hold for a server that joins the room after
/// they were made (as after a restart): it shows the operator and the one
/// away in `/who`, carries out the operator's kick of its own client, and
/// delivers nothing of the one muted. (Each server keeps its own members'
/// in Redis; the test waits until Redis holds them.)
#[cfg(all(feature = "manners", feature = "redis"))]
#[test]
fn a_server_started_later_knows_who_is_an_operator_muted_or_away() {
    let Some(redis) = common::redis::Redis::start() else {
        return;
    };
    let password = file("people", format!("{PASSWORD}\n").as_bytes(), 0o600);
    let password = format!("--operator-password-file={}", password.display());
    let url = redis.url();
    let flags = ["--names", &password, "--redis", &url];
    let first = ChatProcess::start(&flags);
    let mut alice = named(&first, "127.0.0.1", "alice", "Nobody else is here");
    alice.say(&format!("/op {PASSWORD}"));
    alice.expect("You are an operator");
    alice.say("/away lunch");
    alice.expect("You are away: lunch");
    let mut carol = named(&first, "127.0.0.8", "carol", "Also here: alice");
    alice.expect("carol has arrived");
    alice.say("/mute carol 1h");
    alice.expect("carol was muted by alice");
    carol.expect("carol was muted by alice");
    let key = chat::room_keys::RoomKeys::new("chat").manners();
    common::eventually(
        "the members' manners kept in Redis",
        common::PATIENCE,
        || {
            let kept = redis.query(&["HVALS", &key]);
            (kept.contains("1 0 +lunch") && kept.contains(" -")).then_some(())
        },
    );

    let second = ChatProcess::start(&flags);
    let mut dave = named(&second, "127.0.0.9", "dave", "Also here: alice, carol");
    alice.expect("dave has arrived");
    carol.expect("dave has arrived");
    dave.say("/who");
    dave.expect("Here: @alice (away: lunch), carol, dave");
    dave.say("/msg alice are you there?");
    dave.expect("dave -> alice: are you there?");
    dave.expect("alice is away: lunch");
    alice.expect("dave -> alice: are you there?");
    carol.say("nobody hears this");
    carol.expect("error: you are muted for another 59m");
    alice.say("after the muted line");
    alice.expect("alice: after the muted line");
    dave.expect("alice: after the muted line");
    alice.say("/kick dave bye");
    dave.expect("error: kicked by alice: bye");
    dave.expect_end();
    alice.expect("dave was kicked by alice: bye");
    assert!(second.terminate().success());
    assert!(first.terminate().success());
}
