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
    if let Some(password) = &settings.operator_password {
        let path = written("password", password.as_bytes());
        flags.push(format!("--operator-password-file={path}"));
    }
    if let Some(motd) = &settings.motd {
        flags.push(format!("--motd={}", written("motd", motd)));
    }
    flags
}

/// A file holding `bytes`, readable by its owner alone, for a flag that
/// takes a file: named by this process and what it holds, so that each
/// script's file is written once. Its path.
pub fn written(what: &str, bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    let name = format!(
        "transcript-{what}-{}-{:x}",
        std::process::id(),
        hasher.finish()
    );
    let path = std::env::temp_dir().join(name);
    if !path.exists() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path);
        if let Ok(mut file) = file {
            let _ = file.write_all(bytes);
        }
    }
    path.display().to_string()
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
