//! The units the flags take and the error lines show: byte counts
//! (`64K`), durations (`250ms`, `5m`), rates (`5/1s`), and counts of things
//! (`1 byte`, `2 bytes`), each read and written the same way.

use std::time::Duration;

/// Parses a rate as `--rate` takes it: `5/1s`, `60/1m`, `10/500ms`; the
/// error says what is wrong with it, since `0/1s` looks right at a glance.
pub fn parse_rate(text: &str) -> Result<(u32, Duration), String> {
    let bad = || format!("bad rate {text:?} (N/DURATION: 5/1s, 60/1m)");
    let (lines, per) = text.split_once('/').ok_or_else(bad)?;
    let lines: u32 = lines.parse().map_err(|_| bad())?;
    let per = parse_duration(per).map_err(|_| bad())?;
    if lines == 0 {
        return Err(format!("bad rate {text:?}: the count must be at least 1"));
    }
    if per.is_zero() {
        return Err(format!(
            "bad rate {text:?}: the duration must be more than 0"
        ));
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
/// `--help` says. Whole numbers only: `1500ms`, not `1.5s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration {text:?} (a whole number, then ms, s, m or h: 250ms, 30s)");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits.parse().map_err(|_| bad())?;
    let seconds = |factor: u64| amount.checked_mul(factor).map(Duration::from_secs);
    let duration = match unit {
        "ms" => Some(Duration::from_millis(amount)),
        "" | "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => None,
    };
    duration.ok_or_else(bad)
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

/// Parses a byte count: `65536`, `64K`, `1M`, `1G` (binary units).
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let bad = || format!("bad size {text:?} (a number with an optional K, M or G)");
    let factor = match text.as_bytes().last() {
        Some(b'K' | b'k') => 1 << 10,
        Some(b'M' | b'm') => 1 << 20,
        Some(b'G' | b'g') => 1 << 30,
        _ => 1,
    };
    let digits = if factor == 1 {
        text
    } else {
        &text[..text.len() - 1]
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
        assert_eq!(
            parse_rate("0/1s"),
            Err("bad rate \"0/1s\": the count must be at least 1".to_string())
        );
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
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(
            parse_bytes("abc"),
            Err("bad size \"abc\" (a number with an optional K, M or G)".to_string())
        );
        assert!(parse_bytes("-1").is_err());
        assert!(parse_bytes("K").is_err());
    }
}
