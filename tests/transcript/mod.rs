//! The transcript tester: scripts of multi-client sessions played against a
//! real server over loopback, rendered as text for insta snapshots.

pub mod external;
pub mod render;
pub mod run;
pub mod script;

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
/// binary for `server binary` scripts, else a server in this process.
pub fn transcript(text: &str) -> Result<Outcome, String> {
    let script = script::parse(text)?;
    let settings = &script.settings;
    let max_line = settings
        .max_line
        .unwrap_or(chat::config::DEFAULT_MAX_LINE_BYTES);
    let played = if let Some(template) = external::template() {
        let server = match external::Server::start(&template, settings)? {
            Ok(server) => server,
            Err(why) => return Ok(Outcome::Skipped(why)),
        };
        let played = run::play(&script, server.addr, max_line)?;
        server.stop()?;
        played
    } else if settings.binary {
        let flags = flags(settings)?;
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let server = ChatProcess::start(&flags);
        run::play(&script, server.addr, max_line)?
    } else {
        let server = TestServer::start_with(config(settings)?);
        let played = run::play(&script, server.addr, max_line)?;
        server.stop();
        played
    };
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
