//! The transcript tester: scripts of multi-client sessions played against a
//! real server over loopback, rendered as text for insta snapshots.

pub mod external;
pub mod render;
pub mod run;
pub mod script;
pub mod wire;

use crate::bins::ChatProcess;
use crate::common::TestServer;

/// What became of a script.
pub enum Outcome {
    /// Played: its transcript.
    Played(String),
    /// Not played: the server under test cannot serve it (why).
    Skipped(String),
}

/// Plays `text` (a script) against a fresh server and returns its
/// transcript, after checking the protocol's invariants. The server is the
/// one `CHAT_SERVER` names, if set (see `external`); else the built `chat`
/// binary for `server binary` scripts, else a server in this process. A
/// script with a client via web needs the server to serve the page too,
/// and these tests built with the `web` feature, or it is skipped.
pub fn transcript(text: &str) -> Result<Outcome, String> {
    let script = script::parse(text)?;
    let settings = &script.settings;
    let web = script.uses_web();
    if web && !cfg!(feature = "web") {
        return Ok(Outcome::Skipped(
            "it has a client via web, and these tests were built without the page \
             (cargo test --features web)"
                .into(),
        ));
    }
    let max_line = settings
        .max_line
        .unwrap_or(chat::config::DEFAULT_MAX_LINE_BYTES);
    let played = if let Some(template) = external::template() {
        let server = match external::Server::start(&template, settings, web)? {
            Ok(server) => server,
            Err(why) => return Ok(Outcome::Skipped(why)),
        };
        let addresses = run::Server {
            chat: server.addr,
            page: server.page,
        };
        let played = run::play(&script, addresses, max_line)?;
        server.stop()?;
        played
    } else if settings.binary {
        let mut flags = flags(settings)?;
        if web {
            flags.push("--http=127.0.0.1:0".into());
        }
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let mut server = ChatProcess::start(&flags);
        let page = if web {
            Some(page_of(&mut server)?)
        } else {
            None
        };
        let addresses = run::Server {
            chat: server.addr,
            page,
        };
        run::play(&script, addresses, max_line)?
    } else {
        let server = in_process(config(settings)?, web);
        let addresses = run::Server {
            chat: server.addr,
            page: server.page,
        };
        let played = run::play(&script, addresses, max_line)?;
        server.stop();
        played
    };
    render::check(&played)?;
    Ok(Outcome::Played(render::render(&played)))
}

/// A server in this process, serving the page too if `web`.
#[cfg(feature = "web")]
fn in_process(config: chat::Config, web: bool) -> TestServer {
    if web {
        TestServer::start_with_page(config)
    } else {
        TestServer::start_with(config)
    }
}

/// A server in this process; without the `web` feature, scripts with a
/// client via web are skipped before they get here.
#[cfg(not(feature = "web"))]
fn in_process(config: chat::Config, _web: bool) -> TestServer {
    TestServer::start_with(config)
}

/// Where the `chat` binary serves the page: the log line after `listening
/// on`, `chat: the page is at http://ADDR/`.
fn page_of(server: &mut ChatProcess) -> Result<std::net::SocketAddr, String> {
    use std::io::BufRead;
    let mut line = String::new();
    server
        .stderr
        .read_line(&mut line)
        .map_err(|error| format!("cannot read chat's log: {error}"))?;
    line.trim_end()
        .strip_prefix("chat: the page is at http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| format!("chat did not say where the page is: {line:?}"))
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

    /// A page's close frame may cut off the lines still owed to it, so a
    /// script that chains one to a step owing it lines is an error, which
    /// says why, rather than a transcript that depends on the machine.
    #[cfg(feature = "web")]
    #[test]
    fn a_close_frame_with_lines_owed_is_a_script_error() {
        let script = script::parse("connect alice via web\nalice: bye\n& half-close alice\n")
            .expect("a valid script");
        let server = TestServer::start_with_page(chat::Config::default());
        let addresses = run::Server {
            chat: server.addr,
            page: server.page,
        };
        let error = run::play(&script, addresses, 100)
            .err()
            .expect("an error, not a transcript");
        assert!(error.starts_with("line 3 "), "{error}");
        assert!(error.contains("no '&'"), "{error}");
        server.stop();
    }
}
