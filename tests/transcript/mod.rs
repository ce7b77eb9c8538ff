//! The transcript tester: scripts of multi-client sessions played against a
//! real server over loopback, rendered as text for insta snapshots.

pub mod external;
pub mod render;
pub mod run;
pub mod script;
pub mod servers;
pub mod wire;

/// What became of a script.
pub enum Outcome {
    /// Played: its transcript.
    Played(String),
    /// Not played: the server under test cannot serve it (why).
    Skipped(String),
}

/// Plays `text` (a script) against fresh servers and returns its
/// transcript, after checking the protocol's invariants. The servers are
/// those `CHAT_SERVER` starts, if set (see `external`); else the built
/// `chat` binary for `server binary` scripts, else servers in this
/// process. A script with a client via web needs the servers to serve the
/// page too, and these tests built with the `web` feature; one with
/// several servers needs the `redis` feature and a `redis-server`; or it
/// is skipped.
pub fn transcript(text: &str) -> Result<Outcome, String> {
    let script = script::parse(text)?;
    let settings = &script.settings;
    if script.uses_web() && !cfg!(feature = "web") {
        return Ok(Outcome::Skipped(
            "it has a client via web, and these tests were built without the page \
             (cargo test --features web)"
                .into(),
        ));
    }
    if settings.servers() > 1 && !cfg!(feature = "redis") {
        return Ok(Outcome::Skipped(format!(
            "it has {} servers joined through Redis, and these tests were built \
             without it (cargo test --features redis)",
            settings.servers()
        )));
    }
    let max_line = settings
        .max_line
        .unwrap_or(chat::config::DEFAULT_MAX_LINE_BYTES);
    let servers = match servers::Servers::start(&script)? {
        Ok(servers) => servers,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let played = run::play(&script, servers.addresses(), max_line)?;
    servers.stop()?;
    render::check(&played)?;
    Ok(Outcome::Played(render::render(&played)))
}

/// The `chat` flags for a script's settings; an error for a setting that
/// has none.
pub fn flags(settings: &script::Settings) -> Result<Vec<String>, String> {
    let mut flags = Vec::new();
    if let Some(max_line) = settings.max_line {
        flags.push(format!("--max-line={max_line}"));
    }
    if let Some(bytes) = settings.send_queue {
        flags.push(format!("--send-queue={bytes}"));
    }
    if let Some(timeout) = settings.idle_timeout {
        flags.push(format!("--idle-timeout={}ms", timeout.as_millis()));
    }
    if let Some(count) = settings.max_connections {
        flags.push(format!("--max-connections={count}"));
    }
    if let Some(count) = settings.max_per_address {
        flags.push(format!("--max-per-address={count}"));
    }
    if let Some(timeout) = settings.line_timeout {
        flags.push(format!("--line-timeout={}ms", timeout.as_millis()));
    }
    if let Some(rate) = &settings.rate {
        flags.push(format!("--rate={}", rate.as_deref().unwrap_or("off")));
    }
    if let Some(burst) = settings.burst {
        flags.push(format!("--burst={burst}"));
    }
    if let Some(history) = settings.history {
        flags.push(format!("--history={history}"));
    }
    if settings.names {
        flags.push("--names".to_string());
    }
    if settings.naming_timeout.is_some() {
        return Err("the naming timeout has no flag: only a server in the test has it".into());
    }
    Ok(flags)
}

/// The server configuration a script's header asks for.
fn config(settings: &script::Settings) -> Result<chat::Config, String> {
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
    Ok(config)
}

#[cfg(test)]
mod tests {
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

    /// A page's close frame may cut off the lines still owed to it, so a
    /// script that chains one to a step owing it lines is an error, which
    /// says why, rather than a transcript that depends on the machine.
    #[cfg(feature = "web")]
    #[test]
    fn a_close_frame_with_lines_owed_is_a_script_error() {
        let script = script::parse("connect alice via web\nalice: bye\n& half-close alice\n")
            .expect("a valid script");
        let server = crate::common::TestServer::start_with_page(chat::Config::default());
        let addresses = vec![run::Server {
            chat: server.addr,
            page: server.page,
        }];
        let error = run::play(&script, addresses, 100)
            .err()
            .expect("an error, not a transcript");
        assert!(error.starts_with("line 3 "), "{error}");
        assert!(error.contains("no '&'"), "{error}");
        server.stop();
    }
}
