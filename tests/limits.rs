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
