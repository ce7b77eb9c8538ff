//! PROTOCOL.md's limits on abuse where a transcript cannot show them: the
//! order in which a flooder's paced lines and another client's line meet.
//! Over real sockets against a server running in this process.

mod common;

use std::time::Duration;

use common::{Peer, TestServer};

/// A client over its rate is read more slowly, and another client's line
/// passes its waiting lines: one line every 2 s after a burst of two, so a
/// line sent as the burst arrives comes seconds before the flood's third.
#[test]
fn a_line_passes_a_paced_flood() {
    let server = TestServer::start_with(chat::Config {
        rate: Some(chat::config::Rate {
            lines: 1,
            per: Duration::from_secs(2),
            burst: 2,
        }),
        ..chat::Config::default()
    });
    let mut flooder = Peer::connect(server.addr);
    let mut other = Peer::connect(server.addr);
    let mut observer = Peer::connect(server.addr);
    flooder.send(b"1\n2\n3\n");
    observer.expect(&format!("{}: 1", flooder.name));
    observer.expect(&format!("{}: 2", flooder.name));
    other.say("passing");
    observer.expect(&format!("{}: passing", other.name));
    observer.expect(&format!("{}: 3", flooder.name));
    drop(other);
    drop(flooder);
    server.stop();
}

/// A client held back by flood control, its reader asleep until its next
/// line is due, that is cut off for not reading is still announced as
/// leaving, once: its connection's writer ends first, and the leave must
/// not wait for its reader.
#[test]
fn a_throttled_client_cut_off_is_announced_as_leaving() {
    let server = TestServer::start_with(chat::Config {
        rate: Some(chat::config::Rate {
            lines: 10,
            per: Duration::from_secs(1),
            burst: 1,
        }),
        max_line_bytes: 4000,
        send_queue_bytes: 8 * 1024,
        ..chat::Config::default()
    });
    let mut observer = Peer::connect(server.addr);
    let mut rude = Peer::connect_small(server.addr);
    let mut busy = Peer::connect(server.addr);
    observer.expect(&format!("{} has arrived", rude.name));
    observer.expect(&format!("{} has arrived", busy.name));
    // The rude client never reads, and has lines waiting behind its rate.
    rude.send(&b"over my rate\n".repeat(100));
    // Long lines from another fill its queue while it sleeps.
    let long = "x".repeat(3000);
    let left = format!("{} has left", rude.name);
    let mut announced = false;
    for _ in 0..40 {
        busy.say(&long);
        loop {
            let line = observer.text();
            if line == left {
                announced = true;
                break;
            }
            if line.starts_with(&busy.name) {
                break;
            }
        }
        if announced {
            break;
        }
    }
    assert!(announced, "the rude client was never announced as leaving");
    drop(rude);
    server.stop();
}

/// Names mode: tries at a name are paced as lines are, against the same
/// rate. A newcomer sends three tries at once under a burst of two: the
/// two refusals come at once, the third try waits its turn, and a line
/// said meanwhile comes before its arrival.
#[test]
fn tries_at_a_name_are_paced_as_lines() {
    let server = TestServer::start_with(chat::Config {
        names: true,
        rate: Some(chat::config::Rate {
            lines: 1,
            per: Duration::from_secs(2),
            burst: 2,
        }),
        ..chat::Config::default()
    });
    let named = |name: &str, others: &str| {
        let mut peer = Peer::connect_quiet(server.addr);
        peer.expect("What is your name?");
        peer.say(name);
        peer.expect(&format!("You are {name}"));
        peer.expect(others);
        peer
    };
    let mut observer = named("observer", "Nobody else is here");
    let mut other = named("other", "Also here: observer");
    observer.expect("other has arrived");
    let mut newcomer = Peer::connect_quiet(server.addr);
    newcomer.expect("What is your name?");
    newcomer.send(b"no way\nnot now\ncarol\n");
    for _ in 0..2 {
        newcomer.expect("error: a name cannot have spaces");
        newcomer.expect("What is your name?");
    }
    other.say("passing");
    observer.expect("other: passing");
    observer.expect("carol has arrived");
    newcomer.expect("You are carol");
    drop((other, newcomer));
    server.stop();
}

/// Names mode: a command's answer counts against the asker's rate by its
/// size, a line a KiB past the first. `/who` in a room of 100 long names
/// (2 KiB) costs three lines, the whole burst: the asker's next line waits
/// its turn, and a line said meanwhile comes first.
#[test]
fn a_long_answer_costs_the_asker_its_rate() {
    let server = TestServer::start_with(chat::Config {
        names: true,
        rate: Some(chat::config::Rate {
            lines: 1,
            per: Duration::from_secs(2),
            burst: 3,
        }),
        ..chat::Config::default()
    });
    let named = |name: &str| {
        let mut peer = Peer::connect_quiet(server.addr);
        peer.expect("What is your name?");
        peer.say(name);
        peer.expect(&format!("You are {name}"));
        peer.text();
        peer
    };
    let mut observer = named("observer");
    let crowd: Vec<Peer> = (0..100)
        .map(|i| named(&format!("someone-with-a-name{i:03}")))
        .collect();
    let mut other = named("other");
    let mut asker = named("asker");
    for _ in 0..102 {
        assert!(observer.text().ends_with(" has arrived"));
    }
    asker.send(b"/who\n/me asks again\n");
    for line in 0..3 {
        assert!(asker.text().starts_with("Here: "), "/who line {line}");
    }
    other.say("passing");
    observer.expect("other: passing");
    observer.expect("* asker asks again");
    drop((crowd, other, asker));
    server.stop();
}
