//! The command line's policy: what each flag's value may be, which flags
//! need which, the defaults that depend on the mode, and the cap that
//! follows the file descriptor limit.
//!
//! `main` only maps each flag onto [`Flags`]; every value is checked here as
//! it comes, so the first bad flag on the line is the one an error names,
//! and [`Flags::finish`] applies what depends on several. Every refusal is
//! one line naming the flag.

use std::time::Duration;

use super::features::{built_with, redis_url};
use super::units::{format_bytes, format_duration, parse_bytes, parse_duration, parse_rate};
use super::{
    default_max_connections, room_name, Config, Rate, RedisRoom, DURATION_CEILING,
    HEARTBEATS_AT_LEAST, HEARTBEATS_PER_LIFETIME, HEARTBEAT_CEILING, HEARTBEAT_FLOOR,
    HISTORY_CEILING, LIFETIME_CEILING, MAX_LINE_CEILING, NAMES_DEFAULT_RATE, SEND_QUEUE_CEILING,
};
use crate::log;

/// The book's address.
pub const DEFAULT_ADDR: &str = "localhost:8000";

/// The room servers share when `--room` does not name one.
pub const DEFAULT_ROOM: &str = "chat";

/// What the command line asks for, as it is read.
pub struct Flags {
    /// Where to listen, once given.
    addr: Option<String>,
    /// Where to serve the page (`--http`), if anywhere.
    http: Option<String>,
    /// Log connects and leaves.
    verbose: bool,
    /// The limits given so far.
    config: Config,
    /// Whether `--max-connections` was given: only then is a value past
    /// the file descriptor limit worth a warning.
    max_connections_asked: bool,
    /// Whether `--send-queue` was given: if not, the default grows to hold
    /// what the other flags ask it to (a longer `--max-line`, history).
    send_queue_asked: bool,
    /// `--rate`: `Some(None)` for off; `None` for the mode's default.
    rate: Option<Option<(u32, Duration)>>,
    /// `--burst`, if given.
    burst: Option<usize>,
    /// `--redis`, if given.
    redis_url: Option<String>,
    /// `--room`, if given.
    room: Option<String>,
    /// `--heartbeat`, if given.
    heartbeat: Option<Duration>,
    /// `--heartbeat-lifetime`, if given.
    lifetime: Option<Duration>,
    /// `--tls-cert`, if given.
    #[cfg(feature = "tls")]
    tls_cert: Option<String>,
    /// `--tls-key`, if given.
    #[cfg(feature = "tls")]
    tls_key: Option<String>,
}

/// What the command line asked for, checked as a whole.
pub struct Settings {
    /// Where to listen.
    pub addr: String,
    /// Where to serve the page (`--http`), if anywhere.
    pub http: Option<String>,
    /// Log connects and leaves.
    pub verbose: bool,
    /// The limits.
    pub config: Config,
    /// The files of the chat listener's certificate and key (`--tls-cert`,
    /// `--tls-key`), if it speaks TLS: read by `main`, which reports what
    /// is wrong with them.
    #[cfg(feature = "tls")]
    pub tls: Option<(String, String)>,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            addr: None,
            http: None,
            verbose: false,
            config: Config {
                announce: true,
                ..Config::default()
            },
            max_connections_asked: false,
            send_queue_asked: false,
            rate: None,
            burst: None,
            redis_url: None,
            room: None,
            heartbeat: None,
            lifetime: None,
            #[cfg(feature = "tls")]
            tls_cert: None,
            #[cfg(feature = "tls")]
            tls_key: None,
        }
    }
}

impl Flags {
    /// Whether `flag` (a long flag, without its `--`) takes a value, as
    /// [`Flags::set`] reads it.
    pub fn takes_value(flag: &str) -> bool {
        matches!(
            flag,
            "redis"
                | "room"
                | "http"
                | "max-line"
                | "send-queue"
                | "max-connections"
                | "max-per-address"
                | "idle-timeout"
                | "rate"
                | "burst"
                | "history"
                | "line-timeout"
                | "naming-timeout"
                | "shutdown-grace"
                | "heartbeat"
                | "heartbeat-lifetime"
                | "tls-cert"
                | "tls-key"
                | "operator-password-file"
                | "motd"
        )
    }

    /// `--verbose`.
    pub fn verbose(&mut self) {
        self.verbose = true;
    }

    /// `--names`.
    pub fn names(&mut self) {
        self.config.names = true;
    }

    /// Whether the address to listen on is still to come: a second is not
    /// for this server.
    pub fn wants_addr(&self) -> bool {
        self.addr.is_none()
    }

    /// The address to listen on.
    pub fn addr(&mut self, text: String) {
        self.addr = Some(text);
    }

    /// The value `text` of the long flag `flag`, one that
    /// [`Flags::takes_value`].
    pub fn set(&mut self, flag: &str, text: String) -> Result<(), String> {
        let config = &mut self.config;
        match flag {
            "redis" => self.redis_url = Some(redis_url(text)?),
            "room" => self.room = Some(room_name(&text)?),
            "http" => self.http = Some(built_with("--http", cfg!(feature = "web"), text)?),
            "max-line" => {
                let bytes = size("--max-line", &text)?;
                config.max_line_bytes = within("--max-line", bytes, MAX_LINE_CEILING)?;
            }
            "send-queue" => {
                let bytes = size("--send-queue", &text)?;
                config.send_queue_bytes = within("--send-queue", bytes, SEND_QUEUE_CEILING)?;
                self.send_queue_asked = true;
            }
            "max-connections" => {
                config.max_connections = count("--max-connections", &text)?;
                self.max_connections_asked = true;
            }
            "max-per-address" => {
                config.max_per_address = Some(count("--max-per-address", &text)?);
            }
            "idle-timeout" => config.idle_timeout = optional("--idle-timeout", &text)?,
            "rate" => {
                self.rate = Some(match text.as_str() {
                    "off" => None,
                    text => Some(parse_rate(text).map_err(|why| format!("--rate: {why}"))?),
                });
            }
            "burst" => self.burst = Some(count("--burst", &text)?),
            "history" => config.history = history(&text)?,
            "line-timeout" => config.line_timeout = optional("--line-timeout", &text)?,
            "naming-timeout" => config.naming_timeout = timeout("--naming-timeout", &text)?,
            "shutdown-grace" => config.shutdown_grace = duration("--shutdown-grace", &text)?,
            "heartbeat" => {
                let text = built_with("--heartbeat", cfg!(feature = "redis"), text)?;
                self.heartbeat = Some(heartbeat("--heartbeat", &text, HEARTBEAT_CEILING)?);
            }
            "heartbeat-lifetime" => {
                let text = built_with("--heartbeat-lifetime", cfg!(feature = "redis"), text)?;
                self.lifetime = Some(heartbeat("--heartbeat-lifetime", &text, LIFETIME_CEILING)?);
            }
            #[cfg(feature = "tls")]
            "tls-cert" => self.tls_cert = Some(text),
            #[cfg(feature = "tls")]
            "tls-key" => self.tls_key = Some(text),
            #[cfg(not(feature = "tls"))]
            "tls-cert" | "tls-key" => {
                built_with(&format!("--{flag}"), false, text)?;
            }
            #[cfg(feature = "manners")]
            "operator-password-file" | "motd" => {
                let fields = (&mut config.operator_password, &mut config.motd);
                super::files::read(flag, &text, fields)?;
            }
            #[cfg(not(feature = "manners"))]
            "operator-password-file" | "motd" => return Err(super::files::not_built(flag)),
            _ => return Err(format!("invalid option '--{flag}'; try --help")),
        }
        Ok(())
    }

    /// Everything asked, with what depends on several flags applied: the
    /// mode's flood control, `--burst` and `--room` only with what they
    /// modify, the limits against each other, and the connection cap
    /// lowered (with a log line) to what the file descriptor limit allows.
    pub fn finish(mut self) -> Result<Settings, String> {
        let config = &mut self.config;
        let default_rate = config
            .names
            .then_some((NAMES_DEFAULT_RATE.lines, NAMES_DEFAULT_RATE.per));
        config.rate = match (self.rate.unwrap_or(default_rate), self.burst) {
            (Some((lines, per)), burst) => Some(Rate {
                lines,
                per,
                burst: burst.map_or(NAMES_DEFAULT_RATE.burst, |burst| {
                    u32::try_from(burst).unwrap_or(u32::MAX)
                }),
            }),
            (None, Some(_)) => {
                return Err("--burst needs a rate: --rate N/DURATION, or names mode".to_string())
            }
            (None, None) => None,
        };
        config.redis = match (self.redis_url, self.room) {
            (Some(url), room) => Some(shared_room(
                url,
                room.unwrap_or_else(|| DEFAULT_ROOM.to_string()),
                self.heartbeat,
                self.lifetime,
            )?),
            (None, Some(_)) => return Err("--room needs --redis URL".to_string()),
            (None, None) if self.heartbeat.is_some() => {
                return Err("--heartbeat needs --redis URL".to_string())
            }
            (None, None) if self.lifetime.is_some() => {
                return Err("--heartbeat-lifetime needs --redis URL".to_string())
            }
            (None, None) => None,
        };
        #[cfg(feature = "tls")]
        let tls = super::features::tls_pair(self.tls_cert, self.tls_key)?;
        #[cfg(feature = "manners")]
        super::files::names_only(config.names, &config.operator_password, &config.motd)?;
        if !self.send_queue_asked {
            config.send_queue_bytes = config.send_queue_bytes.max(config.least_send_queue());
        }
        config.check()?;
        let most = default_max_connections();
        if self.max_connections_asked && config.max_connections > most {
            log::always(format_args!(
                "--max-connections {} is more than the file descriptor limit allows; using {most}",
                config.max_connections
            ));
            config.max_connections = most;
        }
        Ok(Settings {
            addr: self.addr.unwrap_or_else(|| DEFAULT_ADDR.to_string()),
            http: self.http,
            verbose: self.verbose,
            config: self.config,
            #[cfg(feature = "tls")]
            tls,
        })
    }
}

/// The shared room `room` on `url`, with the heartbeat asked for: a
/// lifetime of [`HEARTBEATS_PER_LIFETIME`] heartbeats unless given, and
/// never fewer than [`HEARTBEATS_AT_LEAST`].
fn shared_room(
    url: String,
    room: String,
    heartbeat: Option<Duration>,
    lifetime: Option<Duration>,
) -> Result<RedisRoom, String> {
    let mut shared = RedisRoom::new(url, room);
    if let Some(heartbeat) = heartbeat {
        shared.heartbeat = heartbeat;
        shared.lifetime = (heartbeat * HEARTBEATS_PER_LIFETIME).min(LIFETIME_CEILING);
    }
    if let Some(lifetime) = lifetime {
        shared.lifetime = lifetime;
    }
    let least = shared.heartbeat * HEARTBEATS_AT_LEAST;
    if shared.lifetime < least {
        return Err(format!(
            "--heartbeat-lifetime must be at least {HEARTBEATS_AT_LEAST} heartbeats \
             (--heartbeat {}): {}",
            format_duration(shared.heartbeat),
            format_duration(least)
        ));
    }
    Ok(shared)
}

/// A heartbeat's interval or lifetime, `text` given to `flag`: at least
/// [`HEARTBEAT_FLOOR`], at most `ceiling`.
fn heartbeat(flag: &str, text: &str, ceiling: Duration) -> Result<Duration, String> {
    let duration = parse_duration(text).map_err(|why| format!("{flag}: {why}"))?;
    if duration < HEARTBEAT_FLOOR {
        let floor = format_duration(HEARTBEAT_FLOOR);
        return Err(format!("{flag} must be at least {floor}"));
    }
    if duration > ceiling {
        let ceiling = format_duration(ceiling);
        return Err(format!("{flag} must be at most {ceiling}"));
    }
    Ok(duration)
}

/// `--history`'s count, at most [`HISTORY_CEILING`].
fn history(text: &str) -> Result<usize, String> {
    let count: usize = text
        .parse()
        .map_err(|_| format!("bad --history {text:?}: expected a number"))?;
    if count > HISTORY_CEILING {
        return Err(format!("--history must be at most {HISTORY_CEILING}"));
    }
    Ok(count)
}

/// The count `text` given to `flag`, if it is a number more than 0.
fn count(flag: &str, text: &str) -> Result<usize, String> {
    let count = text
        .parse()
        .map_err(|_| format!("bad {flag} {text:?}: expected a number"))?;
    positive(flag, count)
}

/// `value` of `flag`, if it is more than 0: a limit of 0 would lock
/// everyone out.
fn positive(flag: &str, value: usize) -> Result<usize, String> {
    if value == 0 {
        return Err(format!("{flag} must be more than 0"));
    }
    Ok(value)
}

/// The byte count `value` of `flag`, if it is more than 0 and at most
/// `ceiling`.
fn within(flag: &str, value: usize, ceiling: usize) -> Result<usize, String> {
    if positive(flag, value)? > ceiling {
        let ceiling = format_bytes(ceiling);
        return Err(format!("{flag} must be at most {ceiling}"));
    }
    Ok(value)
}

/// The byte count `text` given to `flag`.
fn size(flag: &str, text: &str) -> Result<usize, String> {
    parse_bytes(text).map_err(|why| format!("{flag}: {why}"))
}

/// The timeout `text` given to `flag`, or `None` for `off`.
fn optional(flag: &str, text: &str) -> Result<Option<Duration>, String> {
    match text {
        "off" => Ok(None),
        text => timeout(flag, text).map(Some),
    }
}

/// The timeout `text` given to `flag`: a duration more than 0 (a timeout
/// of 0 would end everyone at once).
fn timeout(flag: &str, text: &str) -> Result<Duration, String> {
    let timeout = duration(flag, text)?;
    if timeout.is_zero() {
        return Err(format!("{flag} must be more than 0"));
    }
    Ok(timeout)
}

/// The duration `text` given to `flag`, at most [`DURATION_CEILING`].
fn duration(flag: &str, text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text).map_err(|why| format!("{flag}: {why}"))?;
    if duration > DURATION_CEILING {
        let ceiling = format_duration(DURATION_CEILING);
        return Err(format!("{flag} must be at most {ceiling}"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings for `flags`, each `(flag, value)`, with `names` mode
    /// or not.
    fn settings(names: bool, flags: &[(&str, &str)]) -> Result<Settings, String> {
        let mut given = Flags::default();
        if names {
            given.names();
        }
        for (flag, value) in flags {
            assert!(Flags::takes_value(flag), "{flag}");
            given.set(flag, value.to_string())?;
        }
        given.finish()
    }

    #[test]
    fn defaults_are_the_books() {
        let settings = settings(false, &[]).unwrap();
        assert_eq!(settings.addr, DEFAULT_ADDR);
        assert!(settings.config.announce);
        assert_eq!(settings.config.rate, None);
        assert!(settings.config.redis.is_none());
    }

    #[test]
    fn names_mode_has_flood_control_unless_told_otherwise() {
        let rate = |names, flags: &[(&str, &str)]| settings(names, flags).unwrap().config.rate;
        assert_eq!(rate(true, &[]), Some(NAMES_DEFAULT_RATE));
        assert_eq!(rate(true, &[("rate", "off")]), None);
        let slower = rate(true, &[("rate", "2/1s"), ("burst", "3")]).unwrap();
        assert_eq!((slower.lines, slower.burst), (2, 3));
        let book = rate(false, &[("rate", "10/1m")]).unwrap();
        assert_eq!(book.burst, NAMES_DEFAULT_RATE.burst, "the burst's default");
    }

    #[test]
    fn flags_that_need_another() {
        let refused = |names, flags: &[(&str, &str)]| settings(names, flags).err().unwrap();
        assert!(refused(false, &[("burst", "5")]).starts_with("--burst needs a rate"));
        assert!(refused(true, &[("rate", "off"), ("burst", "5")]).starts_with("--burst"));
        assert_eq!(
            refused(false, &[("room", "lobby")]),
            "--room needs --redis URL"
        );
    }

    #[test]
    fn bounds_name_their_flag() {
        let refused = |flags: &[(&str, &str)]| settings(false, flags).err().unwrap();
        assert_eq!(
            refused(&[("max-line", "0")]),
            "--max-line must be more than 0"
        );
        assert_eq!(
            refused(&[("max-line", "17M")]),
            "--max-line must be at most 16M"
        );
        assert_eq!(
            refused(&[("send-queue", "1G")]),
            "--send-queue must be at most 256M"
        );
        assert_eq!(
            refused(&[("max-line", "abc")]),
            "--max-line: bad size \"abc\" (a number with an optional K, M or G)"
        );
        assert_eq!(
            refused(&[("rate", "0/1s")]),
            "--rate: bad rate \"0/1s\": the count must be at least 1"
        );
        assert_eq!(
            refused(&[("idle-timeout", "0")]),
            "--idle-timeout must be more than 0"
        );
        assert_eq!(
            refused(&[("shutdown-grace", "2d")]).split(':').next(),
            Some("--shutdown-grace")
        );
        assert_eq!(
            refused(&[("line-timeout", "25h")]),
            "--line-timeout must be at most 24h"
        );
        assert_eq!(
            refused(&[("history", "1001")]),
            "--history must be at most 1000"
        );
        assert_eq!(
            refused(&[("max-connections", "x")]),
            "bad --max-connections \"x\": expected a number"
        );
        assert!(refused(&[("room", "a:b")]).starts_with("bad --room"));
        assert!(refused(&[("send-queue", "1K")]).starts_with("--send-queue 1K cannot hold"));
        assert!(settings(false, &[("shutdown-grace", "0"), ("line-timeout", "off")]).is_ok());
        let off = settings(false, &[("idle-timeout", "off")]).unwrap();
        assert_eq!(off.config.idle_timeout, None);
        let naming = settings(true, &[("naming-timeout", "300ms")]).unwrap();
        assert_eq!(naming.config.naming_timeout, Duration::from_millis(300));
        assert_eq!(
            refused(&[("naming-timeout", "0")]),
            "--naming-timeout must be more than 0"
        );
    }

    /// The longest line allowed needs no `--send-queue`: the default grows
    /// to hold it, and the history with it; a queue given is kept.
    #[test]
    fn the_default_send_queue_grows_to_hold_the_longest_line() {
        let queue =
            |flags: &[(&str, &str)]| settings(false, flags).map(|s| s.config.send_queue_bytes);
        assert_eq!(queue(&[]), Ok(crate::config::DEFAULT_SEND_QUEUE_BYTES));
        let longest = queue(&[("max-line", "16M")]).unwrap();
        assert!(longest > MAX_LINE_CEILING, "{longest}");
        let with_history = queue(&[("max-line", "16M"), ("history", "1000")]).unwrap();
        assert!(with_history > longest, "{with_history}");
        assert!(queue(&[("max-line", "16M"), ("send-queue", "16M")]).is_err());
    }

    /// A build without TLS refuses its flags, saying how to build one.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn a_build_without_tls_refuses_its_flags() {
        let refused = settings(false, &[("tls-cert", "c.pem")]).err();
        let refused = refused.unwrap_or_default();
        assert!(refused.starts_with("--tls-cert: this chat was built without TLS"));
    }

    #[cfg(feature = "redis")]
    #[test]
    fn the_heartbeat_and_its_bounds() {
        let redis = ("redis", "redis://127.0.0.1:6379");
        let room = |flags: &[(&str, &str)]| {
            let shared = settings(false, flags)?.config.redis.unwrap();
            Ok::<_, String>((shared.heartbeat, shared.lifetime))
        };
        let secs = Duration::from_secs;
        assert_eq!(room(&[redis]), Ok((secs(2), secs(10))));
        assert_eq!(room(&[redis, ("heartbeat", "1s")]), Ok((secs(1), secs(5))));
        assert_eq!(
            room(&[redis, ("heartbeat", "200ms"), ("heartbeat-lifetime", "1s")]),
            Ok((Duration::from_millis(200), secs(1)))
        );
        assert_eq!(
            room(&[redis, ("heartbeat-lifetime", "5s")]),
            Err("--heartbeat-lifetime must be at least 3 heartbeats (--heartbeat 2s): 6s".into())
        );
        assert_eq!(
            room(&[redis, ("heartbeat", "50ms")]),
            Err("--heartbeat must be at least 100ms".into())
        );
        assert_eq!(
            room(&[redis, ("heartbeat", "2m")]),
            Err("--heartbeat must be at most 1m".into())
        );
        assert_eq!(
            room(&[redis, ("heartbeat-lifetime", "11m")]),
            Err("--heartbeat-lifetime must be at most 10m".into())
        );
        assert_eq!(
            settings(false, &[("heartbeat", "1s")]).err().unwrap(),
            "--heartbeat needs --redis URL"
        );
    }

    #[test]
    fn the_connection_cap_is_lowered_to_what_descriptors_allow() {
        let most = default_max_connections();
        let asked = (most + 1).to_string();
        let settings = settings(false, &[("max-connections", &asked)]).unwrap();
        assert_eq!(settings.config.max_connections, most);
    }

    #[test]
    fn one_address() {
        let mut flags = Flags::default();
        assert!(flags.wants_addr());
        flags.addr(":9000".to_string());
        assert!(!flags.wants_addr());
        assert_eq!(flags.finish().unwrap().addr, ":9000");
    }
}
