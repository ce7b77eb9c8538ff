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
