//! What a script asks of the server, said as `chat`'s flags: `{flags}` in
//! a server command carries them, and a command without it is taken to be
//! a book-mode server with nothing to set.

use crate::script::{Script, Settings};

/// The `chat` flags for a script's settings: every setting has one.
pub fn flags(settings: &Settings) -> Vec<String> {
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
    if let Some(timeout) = settings.naming_timeout {
        flags.push(format!("--naming-timeout={}ms", timeout.as_millis()));
    }
    flags
}

/// What a script needs, in a few words, for `transcript --list`: its
/// flags, the page, several servers; `book` when it needs nothing.
pub fn needs(script: &Script) -> String {
    let mut needs = flags(&script.settings);
    if script.uses_web() {
        needs.push("the page (--http)".into());
    }
    if script.settings.tls {
        needs.push("TLS (--tls-cert, --tls-key)".into());
    }
    let servers = script.settings.servers();
    if servers > 1 {
        needs.push(format!("{servers} servers (--redis)"));
    }
    if needs.is_empty() {
        "book".into()
    } else {
        needs.join(", ")
    }
}
