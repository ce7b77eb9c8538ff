//! The tests' side of the transcript tester: the servers scripts are
//! played against here (`servers`: in this process, the built `chat`, or
//! `CHAT_SERVER`'s command). The engine, that plays a script and renders
//! its transcript, is the `transcript` library of the client package, the
//! one `transcript` runs: what CI checks is what users run.

pub mod servers;

pub use ::transcript::Outcome;

/// Plays `text` (a script) against fresh servers and returns its
/// transcript, after checking the protocol's invariants. The servers are
/// those `CHAT_SERVER` starts, if set; else the built `chat` binary for
/// `server binary` scripts, else servers in this process (see `servers`).
pub fn transcript(text: &str) -> Result<Outcome, String> {
    let script = ::transcript::script::parse(text)?;
    ::transcript::play(&script, &servers::Local, &::transcript::Play::default())
        .map_err(|failure| failure.why)
}

/// The server configuration a script's header asks for.
fn config(settings: &::transcript::script::Settings) -> Result<chat::Config, String> {
    let mut config = chat::Config::default();
    if let Some(max_line) = settings.max_line {
        config.max_line_bytes = max_line;
    }
    if let Some(bytes) = settings.send_queue {
        config.send_queue_bytes = bytes;
    }
    if let Some(timeout) = settings.idle_timeout {
        config.idle_timeout = Some(timeout);
    }
    if let Some(count) = settings.max_connections {
        config.max_connections = count;
    }
    config.max_per_address = settings.max_per_address;
    if let Some(timeout) = settings.line_timeout {
        config.line_timeout = Some(timeout);
    }
    config.names = settings.names;
    // As `chat` does: names mode's flood control unless told otherwise.
    let default_rate = settings.names.then_some(chat::config::NAMES_DEFAULT_RATE);
    config.rate = match &settings.rate {
        None => default_rate,
        Some(None) => None,
        Some(Some(rate)) => {
            let (lines, per) = chat::config::parse_rate(rate)?;
            Some(chat::config::Rate {
                lines,
                per,
                burst: chat::config::NAMES_DEFAULT_RATE.burst,
            })
        }
    };
    if let (Some(rate), Some(burst)) = (&mut config.rate, settings.burst) {
        rate.burst = burst as u32;
    }
    config.history = settings.history.unwrap_or(0);
    if let Some(timeout) = settings.naming_timeout {
        config.naming_timeout = timeout;
    }
    #[cfg(feature = "manners")]
    if let Some(password) = &settings.operator_password {
        config.operator_password = Some(chat::config::Password::new(password.as_bytes()));
    }
    #[cfg(feature = "manners")]
    if let Some(motd) = &settings.motd {
        let motd = motd.strip_suffix(b"\n").unwrap_or(motd);
        config.motd = motd.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #[cfg(not(all(feature = "web", feature = "redis", feature = "tls")))]
    use super::*;

    /// Without the page's code a script with a client via web is not
    /// played, and not passed either: it is reported as skipped.
    #[cfg(not(feature = "web"))]
    #[test]
    fn a_web_client_is_skipped_without_the_feature() {
        match transcript("connect alice via web\nalice: hi\n") {
            Ok(Outcome::Skipped(why)) => assert!(why.contains("--features web"), "{why}"),
            Ok(Outcome::Played(transcript)) => panic!("played: {transcript}"),
            Err(why) => panic!("{why}"),
        }
    }

    /// Without the code of several servers a script that places clients on
    /// them is not played on one instead, nor passed: it is skipped.
    #[cfg(not(feature = "redis"))]
    #[test]
    fn several_servers_are_skipped_without_the_feature() {
        match transcript("set servers 2\nconnect alice\nconnect bob @2\nalice: hi\n") {
            Ok(Outcome::Skipped(why)) => assert!(why.contains("--features redis"), "{why}"),
            Ok(Outcome::Played(transcript)) => panic!("played: {transcript}"),
            Err(why) => panic!("{why}"),
        }
    }

    /// Without TLS a script that speaks it is not played in clear instead,
    /// nor passed: it is skipped, saying which build plays it.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn a_tls_script_is_skipped_without_the_feature() {
        match transcript("set tls on\nconnect alice\nalice: hi\n") {
            Ok(Outcome::Skipped(why)) => assert!(why.contains("--features tls"), "{why}"),
            Ok(Outcome::Played(transcript)) => panic!("played: {transcript}"),
            Err(why) => panic!("{why}"),
        }
    }

    /// A page's close frame may cut off the lines still owed to it, so a
    /// script that chains one to a step owing it lines is an error, which
    /// says why, rather than a transcript that depends on the machine.
    #[cfg(feature = "web")]
    #[test]
    fn a_close_frame_with_lines_owed_is_a_script_error() {
        let script =
            ::transcript::script::parse("connect alice via web\nalice: bye\n& half-close alice\n")
                .expect("a valid script");
        let server = crate::common::TestServer::start_with_page(chat::Config::default());
        let addresses = vec![::transcript::run::Server {
            chat: server.addr,
            page: server.page,
            tls: None,
        }];
        let options = ::transcript::run::Options {
            max_line: 100,
            patience: ::transcript::wire::DEFAULT_PATIENCE,
            trace: None,
        };
        let error = ::transcript::run::play(&script, addresses, &options)
            .err()
            .expect("an error, not a transcript")
            .why;
        assert!(error.starts_with("line 3 "), "{error}");
        assert!(error.contains("no '&'"), "{error}");
        server.stop();
    }
}
