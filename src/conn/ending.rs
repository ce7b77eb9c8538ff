//! How a connection's input ended, and what that costs the client: the
//! `error: ...` line it is told, and the reason the log gives.
//!
//! Both the reading side and names mode's way in end a connection, for
//! reasons of their own; they meet here, so neither needs the other to say
//! why a client went.

use std::io;

use crate::config::{format_count, format_duration};
use crate::line::{text_line, Line};
use crate::lines::LineError;
use crate::Config;

/// How a client's input ended.
pub enum InputEnd {
    /// End of input: a close, a half-close.
    Closed,
    /// A line over the limit.
    TooLong,
    /// Nothing received for the idle timeout.
    Idle,
    /// A line not finished within the line timeout.
    Unfinished,
    /// The socket failed: a reset, for example.
    Failed(io::Error),
    /// The broadcaster is gone: the server is shutting down.
    ServerStopped,
    /// Names mode: `/quit`.
    Quit,
    /// Names mode: no valid, free name within the naming timeout.
    Unnamed,
    /// Names mode: refused names piled up unread until the send queue was
    /// full.
    NotReading,
    /// Names mode: too many names refused (`config::REFUSED_NAMES`).
    Refused,
    /// Names mode: its address is banned; it was told so.
    Banned,
}

impl From<LineError> for InputEnd {
    fn from(error: LineError) -> Self {
        match error {
            LineError::TooLong => InputEnd::TooLong,
            LineError::Idle => InputEnd::Idle,
            LineError::Unfinished => InputEnd::Unfinished,
            LineError::Io(error) => InputEnd::Failed(error),
        }
    }
}

/// How the reader's part ended.
pub struct ReadEnd {
    /// Why.
    pub end: InputEnd,
    /// Whether the client was in the audience by then (in names mode, it
    /// may never have given a name).
    pub entered: bool,
}

/// The `error: ...` line a client gets when the server ends its session.
pub fn farewell(end: &InputEnd, config: &Config) -> Option<Line> {
    let why = match end {
        InputEnd::TooLong => format!(
            "error: line too long (the limit is {})",
            format_count(config.max_line_bytes, "byte")
        ),
        InputEnd::Idle => format!(
            "error: idle for too long (nothing received for {})",
            format_duration(config.idle_timeout.unwrap_or_default())
        ),
        InputEnd::Unfinished => format!(
            "error: line not finished within {}",
            format_duration(config.line_timeout.unwrap_or_default())
        ),
        InputEnd::Unnamed => format!(
            "error: no name given within {}",
            format_duration(config.naming_timeout)
        ),
        InputEnd::Refused => "error: too many refused names".to_string(),
        _ => return None,
    };
    Some(text_line(&[&why]))
}

/// Why the input ended, for the log.
pub fn describe(end: &InputEnd, config: &Config) -> String {
    match end {
        InputEnd::Closed => "end of input".to_string(),
        InputEnd::TooLong => format!(
            "line too long (over {})",
            format_count(config.max_line_bytes, "byte")
        ),
        InputEnd::Idle => format!(
            "idle for {}",
            format_duration(config.idle_timeout.unwrap_or_default())
        ),
        InputEnd::Failed(error) => format!("connection error: {error}"),
        InputEnd::ServerStopped => "server stopping".to_string(),
        InputEnd::Quit => "quit".to_string(),
        InputEnd::Unfinished => format!(
            "line not finished within {}",
            format_duration(config.line_timeout.unwrap_or_default())
        ),
        InputEnd::Unnamed => format!(
            "no name given within {}",
            format_duration(config.naming_timeout)
        ),
        InputEnd::NotReading => "not reading (send queue full)".to_string(),
        InputEnd::Refused => "too many refused names".to_string(),
        InputEnd::Banned => "banned".to_string(),
    }
}
