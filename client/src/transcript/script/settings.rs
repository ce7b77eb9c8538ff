//! How the server is started: the settings of a script's header (`set
//! KEY VALUE`, before the first step), each of which `flags` says as
//! `chat`'s flag.

use std::time::Duration;

use crate::script::words::{parse_duration, parse_quoted};

/// The most servers a script may ask for: enough for any scenario, few
/// enough that a typo (`set servers 20`) is an error rather than a wait.
const MOST_SERVERS: usize = 9;

/// How the server is started.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    /// `set max-line N`
    pub max_line: Option<usize>,
    /// `set send-queue N`
    pub send_queue: Option<usize>,
    /// `set idle-timeout 200ms`
    pub idle_timeout: Option<Duration>,
    /// `set max-connections N`
    pub max_connections: Option<usize>,
    /// `set max-per-address N`
    pub max_per_address: Option<usize>,
    /// `set line-timeout 300ms`
    pub line_timeout: Option<Duration>,
    /// `set rate 5/1s` (`Some(None)`: `set rate off`)
    pub rate: Option<Option<String>>,
    /// `set burst 20`
    pub burst: Option<usize>,
    /// `set history N`
    pub history: Option<usize>,
    /// `set mode names`
    pub names: bool,
    /// `set naming-timeout 200ms`
    pub naming_timeout: Option<Duration>,
    /// `set servers N`: N servers joined through Redis, if more than one.
    pub servers: Option<usize>,
    /// `set tls on`: the chat's address speaks TLS, with a certificate
    /// made for the script, and every client connects over TLS.
    pub tls: bool,
    /// `server binary`
    pub binary: bool,
    /// `set operator-password SECRET`: names mode's operators' password
    /// (`--operator-password-file`, a file the runner writes).
    pub operator_password: Option<String>,
    /// `set motd "LINE\nLINE"`: the message of the day (`--motd`, a file
    /// the runner writes).
    pub motd: Option<Vec<u8>>,
}

impl Settings {
    /// How many servers serve the room: one unless the script says more.
    pub fn servers(&self) -> usize {
        self.servers.unwrap_or(1)
    }
}

/// Reads one setting, `KEY VALUE`, into `settings`.
pub fn parse_setting(settings: &mut Settings, setting: &str) -> Result<(), String> {
    let (key, value) = setting.split_once(' ').ok_or("expected: set KEY VALUE")?;
    let number = || value.trim().parse::<usize>().map_err(|e| e.to_string());
    match key {
        "max-line" => settings.max_line = Some(number()?),
        "send-queue" => settings.send_queue = Some(number()?),
        "idle-timeout" => settings.idle_timeout = Some(parse_duration(value.trim())?),
        "max-connections" => settings.max_connections = Some(number()?),
        "max-per-address" => settings.max_per_address = Some(number()?),
        "line-timeout" => settings.line_timeout = Some(parse_duration(value.trim())?),
        "rate" => {
            settings.rate = Some(match value.trim() {
                "off" => None,
                rate => {
                    chat::config::parse_rate(rate)?;
                    Some(rate.to_string())
                }
            })
        }
        "burst" => settings.burst = Some(number()?),
        "history" => settings.history = Some(number()?),
        "mode" => {
            settings.names = match value.trim() {
                "book" => false,
                "names" => true,
                other => return Err(format!("unknown mode {other:?}: book or names")),
            }
        }
        "naming-timeout" => settings.naming_timeout = Some(parse_duration(value.trim())?),
        "tls" => {
            settings.tls = match value.trim() {
                "on" => true,
                "off" => false,
                other => return Err(format!("tls: on or off, not {other:?}")),
            }
        }
        "servers" => {
            let count = number()?;
            if !(1..=MOST_SERVERS).contains(&count) {
                return Err(format!("servers: 1 to {MOST_SERVERS}"));
            }
            settings.servers = Some(count);
        }
        "operator-password" => settings.operator_password = Some(value.trim().to_string()),
        "motd" => settings.motd = Some(parse_quoted(value.trim())?.0),
        _ => return Err(format!("unknown setting {key:?}")),
    }
    Ok(())
}
