//! The units the flags take and the error lines show: byte counts
//! (`64K`), durations (`250ms`, `5m`), rates (`5/1s`), and counts of things
//! (`1 byte`, `2 bytes`), each read and written the same way.

use std::time::Duration;

/// Parses a rate as `--rate` takes it: `5/1s`, `60/1m`, `10/500ms`.
pub fn parse_rate(text: &str) -> Result<(u32, Duration), String> {
    let bad = || format!("bad rate {text:?}: expected lines/duration, e.g. 5/1s, 60/1m");
    let (lines, per) = text.split_once('/').ok_or_else(bad)?;
    let lines: u32 = lines.parse().map_err(|_| bad())?;
    let per = parse_duration(per).map_err(|_| bad())?;
    if lines == 0 || per.is_zero() {
        return Err(bad());
    }
    Ok((lines, per))
}

/// `count` followed by `unit`, plural unless it is one: `1 byte`, `2 bytes`.
pub fn format_count(count: usize, unit: &str) -> String {
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

/// A duration as the flags take it and the error lines show it: `250ms`,
/// `30s`, `5m`, `1h`.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    let secs = duration.as_secs();
    if !millis.is_multiple_of(1000) || secs == 0 {
        format!("{millis}ms")
    } else if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Parses `250ms`, `30s`, `5m`, `1h`; a bare number is seconds, as
/// `--help` says.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("bad duration {text:?}: expected e.g. 250ms, 30s, 5m, 1h"))?;
    let seconds = |factor: u64| amount.checked_mul(factor).map(Duration::from_secs);
    let duration = match unit {
        "ms" => Some(Duration::from_millis(amount)),
        "" | "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => None,
    };
    duration.ok_or_else(|| format!("bad duration {text:?}: expected e.g. 250ms, 30s, 5m, 1h"))
}

/// A byte count as the flags take it: `65535`, `64K`, `16M`.
pub fn format_bytes(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{}M", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{}K", bytes >> 10)
    } else {
        bytes.to_string()
    }
}

/// Parses a byte count: `65536`, `64K`, `1M` (binary units).
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let bad = || format!("bad size {text:?}: expected e.g. 65536, 64K, 1M");
    let (digits, factor) = match text.strip_suffix(['K', 'k']) {
        Some(digits) => (digits, 1024),
        None => match text.strip_suffix(['M', 'm']) {
            Some(digits) => (digits, 1024 * 1024),
            None => (text, 1),
        },
    };
    let amount: usize = digits.parse().map_err(|_| bad())?;
    amount.checked_mul(factor).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for text in ["250ms", "30s", "5m", "1h", "90s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("5/1s"), Ok((5, Duration::from_secs(1))));
        assert_eq!(parse_rate("60/1m"), Ok((60, Duration::from_secs(60))));
        assert_eq!(parse_rate("10/500ms"), Ok((10, Duration::from_millis(500))));
        for bad in ["5", "0/1s", "5/0s", "x/1s", "5/soon", ""] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(format_count(1, "byte"), "1 byte");
        assert_eq!(format_count(0, "byte"), "0 bytes");
        assert_eq!(format_count(65535, "byte"), "65535 bytes");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64K").unwrap(), 65536);
        assert_eq!(parse_bytes("1M").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("123").unwrap(), 123);
        for text in ["65535", "64K", "16M", "1"] {
            assert_eq!(format_bytes(parse_bytes(text).unwrap()), text);
        }
        assert!(parse_bytes("1G").is_err());
        assert!(parse_bytes("-1").is_err());
    }
}
