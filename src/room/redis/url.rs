//! `--redis URL`, read here rather than by the `redis` crate: the crate
//! reads a URL with the `url` crate, and that brought its parser and
//! IDNA's Unicode tables with it, 188 KB of the `redis` feature's 736 KB,
//! for the one string a server reads once. The forms are the crate's own,
//! so a URL that worked before works the same:
//! `redis://[USER][:PASSWORD@]HOST[:PORT][/DB][?protocol=resp3]`,
//! `rediss://` (TLS), `valkey://` and `valkeys://` for the same, and
//! `unix:///PATH?db=N&user=U&pass=P` (or `redis+unix://`) for a local
//! socket. User, password and path are percent-decoded, as the crate did;
//! a host is taken as it is (a name for DNS, an address, or `[IPv6]`), in
//! ASCII. Anything else is refused, so that a typo cannot quietly mean
//! another room. The crate's own reader is the oracle in the tests.

use std::path::PathBuf;

use redis::{
    ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, ProtocolVersion,
    RedisConnectionInfo, RedisError,
};

/// Redis's port when the URL gives none.
const DEFAULT_PORT: u16 = 6379;

/// What to connect to and how to log in, from `url`; a URL this cannot
/// read fails as the crate's reader did (`InvalidClientConfig`, which the
/// join reports as a bad `--redis`).
pub fn connection_info(url: &str) -> Result<ConnectionInfo, RedisError> {
    read(url).map_err(|why| RedisError::from((ErrorKind::InvalidClientConfig, why)))
}

/// [`connection_info`], failing with why.
fn read(url: &str) -> Result<ConnectionInfo, &'static str> {
    // As a browser reads a URL (and so the `url` crate): spaces and
    // controls around it, and tabs and newlines in it, are not part of it.
    let url: String = url
        .trim_matches(|c: char| c <= ' ')
        .replace(['\t', '\n', '\r'], "");
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    // The crate took `rediss://...#insecure` for a certificate left
    // unchecked, then refused it without its feature `tls-rustls-insecure`,
    // which this build leaves out; nothing else may follow a `#`.
    if rest.contains('#') {
        return Err("a Redis URL has no #");
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let query = Query::read(query)?;
    let (addr, settings) = match scheme.to_ascii_lowercase().as_str() {
        "redis" | "valkey" => over_tcp(rest, &query, false)?,
        "rediss" | "valkeys" => over_tcp(rest, &query, true)?,
        "unix" | "redis+unix" | "valkey+unix" => over_socket(rest, &query)?,
        _ => return Err("not a Redis URL"),
    };
    let settings = settings.set_protocol(query.protocol()?);
    addr.into_connection_info()
        .map(|info| info.set_redis_settings(settings))
        .map_err(|_| "not a Redis address")
}

/// `[USER][:PASSWORD@]HOST[:PORT][/DB]`, over TLS or not.
fn over_tcp(
    rest: &str,
    query: &Query,
    tls: bool,
) -> Result<(ConnectionAddr, RedisConnectionInfo), &'static str> {
    query.only(&["protocol"])?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (login, host) = match authority.rsplit_once('@') {
        Some((login, host)) => (Some(login), host),
        None => (None, authority),
    };
    let (host, port) = host_and_port(host)?;
    let addr = match tls {
        true => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: false,
            tls_params: None,
        },
        false => ConnectionAddr::Tcp(host, port),
    };
    let mut settings = RedisConnectionInfo::default().set_db(database(path)?);
    if let Some(login) = login {
        let (user, password) = login.split_once(':').unwrap_or((login, ""));
        if !user.is_empty() {
            settings = settings.set_username(decoded(user, false)?);
        }
        if !password.is_empty() {
            settings = settings.set_password(decoded(password, false)?);
        }
    }
    Ok((addr, settings))
}

/// `[localhost]/PATH`, the login and the database in the query.
fn over_socket(
    rest: &str,
    query: &Query,
) -> Result<(ConnectionAddr, RedisConnectionInfo), &'static str> {
    query.only(&["protocol", "db", "user", "pass"])?;
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err("a socket's path starts with /");
    }
    let addr = ConnectionAddr::Unix(PathBuf::from(decoded(path, false)?));
    let mut settings = RedisConnectionInfo::default().set_db(match query.get("db") {
        Some(db) => db.parse().map_err(|_| "the database is not a number")?,
        None => 0,
    });
    if let Some(user) = query.get("user") {
        settings = settings.set_username(user);
    }
    if let Some(password) = query.get("pass") {
        settings = settings.set_password(password);
    }
    Ok((addr, settings))
}

/// The URL as the log may show it: a password in it is not for the log,
/// whether before the host (everything up to the last `@` goes, which
/// hides a password even where a stray `/` or `?` in it would have ended
/// the login for a reader) or a socket's `pass=`.
pub fn shown(url: &str) -> String {
    let shown = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://…@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    let Some((before, query)) = shown.split_once('?') else {
        return shown;
    };
    let pairs = query.split('&').map(|pair| match pair.split_once('=') {
        Some((key, _)) if key.eq_ignore_ascii_case("pass") => format!("{key}=…"),
        _ => pair.to_string(),
    });
    format!("{before}?{}", pairs.collect::<Vec<_>>().join("&"))
}

/// `HOST[:PORT]`, the host bare (an IPv6 address without its brackets, as
/// the socket wants it).
fn host_and_port(text: &str) -> Result<(String, u16), &'static str> {
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("an unclosed [")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("not an IPv6 address in []");
        }
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("junk after ]")?)),
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    // The `url` crate's forbidden host code points; and ASCII only, since
    // it would have sent anything else to DNS percent-encoded.
    let bad = |c: char| !c.is_ascii_graphic() || "<>[]\\/@^|".contains(c);
    if host.is_empty() || host.contains(bad) {
        return Err("no host, or a bad one");
    }
    if host == "0.0.0.0" || host == "::" {
        return Err("a wildcard address is not a host to connect to");
    }
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(port) if port.bytes().all(|b| b.is_ascii_digit()) => {
            port.parse().map_err(|_| "the port is over 65535")?
        }
        Some(_) => return Err("the port is not a number"),
    };
    Ok((host.to_string(), port))
}

/// The database a URL's path names: `/N`, or 0 when it names none.
fn database(path: &str) -> Result<i64, &'static str> {
    match path.trim_matches('/') {
        "" => Ok(0),
        db => db.parse().map_err(|_| "the database is not a number"),
    }
}

/// `%XX` decoded (and in a query, `+` as a space), as UTF-8.
fn decoded(text: &str, in_query: bool) -> Result<String, &'static str> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        let hex = |at: usize| after.get(at).and_then(|b| (*b as char).to_digit(16));
        match (byte, hex(0), hex(1)) {
            (b'%', Some(high), Some(low)) => {
                bytes.push((high * 16 + low) as u8);
                rest = &after[2..];
                continue;
            }
            (b'+', _, _) if in_query => bytes.push(b' '),
            _ => bytes.push(byte),
        }
        rest = after;
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 once decoded")
}

/// A URL's `?key=value&...`, decoded.
struct Query(Vec<(String, String)>);

impl Query {
    /// Reads `text`, the part after `?`.
    fn read(text: &str) -> Result<Query, &'static str> {
        let mut pairs = Vec::new();
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decoded(key, true)?, decoded(value, true)?));
        }
        Ok(Query(pairs))
    }

    /// Fails if a key is not one of `known`: a misspelt setting is not
    /// left to mean nothing.
    fn only(&self, known: &[&str]) -> Result<(), &'static str> {
        match self.0.iter().all(|(key, _)| known.contains(&key.as_str())) {
            true => Ok(()),
            false => Err("a setting in ? that is not known"),
        }
    }

    /// The value of `key`, the last one given.
    fn get(&self, key: &str) -> Option<&str> {
        let last = self.0.iter().rev().find(|(k, _)| k == key);
        last.map(|(_, value)| value.as_str())
    }

    /// The protocol asked for: RESP2 unless `protocol=3` (or `resp3`).
    fn protocol(&self) -> Result<ProtocolVersion, &'static str> {
        match self.get("protocol") {
            None | Some("2" | "resp2") => Ok(ProtocolVersion::RESP2),
            Some("3" | "resp3") => Ok(ProtocolVersion::RESP3),
            Some(_) => Err("protocol is 2 or 3"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a connection info says, comparable: the address and the login.
    fn seen(info: &ConnectionInfo) -> String {
        let redis = info.redis_settings();
        format!(
            "{:?} db {} user {:?} password {:?} protocol {:?}",
            info.addr(),
            redis.db(),
            redis.username(),
            redis.password(),
            redis.protocol()
        )
    }

    /// What the crate's own reader (with the `url` crate) makes of `url`.
    fn crates(url: &str) -> Option<String> {
        let info = redis::parse_redis_url(url)?.into_connection_info().ok()?;
        Some(seen(&info))
    }

    /// Every form the README, PROTOCOL.md and the crate's documentation
    /// give is read as the crate reads it.
    #[test]
    fn the_documented_forms_read_as_the_crate_reads_them() {
        for url in [
            "redis://127.0.0.1:6380",
            "redis://localhost",
            "redis://Redis.Example:7000/",
            "redis://127.0.0.1:6379/3",
            "redis://:secret@127.0.0.1:6379",
            "redis://user:secret@127.0.0.1:6379",
            "redis://user@127.0.0.1:6379",
            "redis://us%40er:p%3Ass%2Fw@127.0.0.1",
            "redis://:p@ss@127.0.0.1:6379",
            "redis://[::1]:6380",
            "redis://[::1]",
            "redis://127.0.0.1:6379/?protocol=resp3",
            "redis://127.0.0.1/0?protocol=2",
            "REDIS://127.0.0.1:6379",
            "valkey://127.0.0.1:6379",
            "redis+unix:///run/redis.sock",
            "unix:///run/redis/redis.sock?db=2&pass=secret&user=chat",
            "unix:///run/redis%20here.sock",
        ] {
            let ours = connection_info(url).map(|info| seen(&info));
            assert_eq!(ours.ok(), crates(url), "{url}");
        }
    }

    /// Over TLS too, in a build whose crate speaks it (without, `--redis
    /// rediss://` is refused before it gets here).
    #[cfg(feature = "tls")]
    #[test]
    fn the_tls_forms_read_as_the_crate_reads_them() {
        for url in [
            "rediss://127.0.0.1:6379",
            "valkeys://user:pw@redis.example:6390/2",
        ] {
            let ours = connection_info(url).map(|info| seen(&info));
            assert_eq!(ours.ok(), crates(url), "{url}");
        }
        assert!(connection_info("rediss://127.0.0.1#secure").is_err());
        assert_eq!(crates("rediss://127.0.0.1#secure"), None);
        // The crate reads it, but connects only with a feature left out.
        assert!(connection_info("rediss://127.0.0.1:6379/#insecure").is_err());
    }

    /// What the crate refused is refused; and a few it let through that
    /// would connect somewhere the user did not mean.
    #[test]
    fn what_is_not_a_redis_url_is_refused() {
        for url in [
            "",
            "127.0.0.1:6379",
            "http://127.0.0.1:6379",
            "redis://",
            "redis://:6379",
            "redis://127.0.0.1:port",
            "redis://127.0.0.1:65536",
            "redis://127.0.0.1:6379/db",
            "redis://0.0.0.0:6379",
            "redis://[::]:6379",
            "redis://[::1:6379",
            "redis://127.0.0.1?protocol=4",
        ] {
            assert!(connection_info(url).is_err(), "{url}");
            assert_eq!(crates(url), None, "{url}");
        }
        for url in [
            "redis://127.0.0.1:6379?db=2",
            "redis://127.0.0.1#insecure",
            "redis://caf\u{e9}.example",
            "unix:///run/redis.sock?database=2",
        ] {
            assert!(connection_info(url).is_err(), "{url}");
        }
    }

    /// No password reaches the log, in the login or in the query.
    #[test]
    fn a_shown_url_has_no_password() {
        for (url, want) in [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://:s3cret@127.0.0.1:6379", "redis://…@127.0.0.1:6379"),
            ("redis://chat:s3cret@h:1/2", "redis://…@h:1/2"),
            ("redis://:s3/c?r@t@h:1", "redis://…@h:1"),
            (
                "unix:///run/r.sock?db=1&pass=s3cret",
                "unix:///run/r.sock?db=1&pass=…",
            ),
            (
                "unix:///run/r.sock?pass=s3cret&user=u",
                "unix:///run/r.sock?pass=…&user=u",
            ),
            ("nonsense", "nonsense"),
        ] {
            assert_eq!(shown(url), want, "{url}");
        }
    }

    proptest::proptest! {
        /// A URL made of any login, host, port and database is read as the
        /// crate reads it, once both accept it.
        #[test]
        fn any_tcp_url_reads_as_the_crate_reads_it(
            tls in proptest::bool::weighted(if cfg!(feature = "tls") { 0.5 } else { 0.0 }),
            user in "[a-zA-Z0-9%._~-]{0,8}",
            password in proptest::option::of("[a-zA-Z0-9%:@!$&'()*+,;=._~-]{0,12}"),
            host in "(127\\.0\\.0\\.1|localhost|\\[::1\\]|[a-z][a-z0-9.-]{0,12})",
            port in proptest::option::of(1u16..),
            db in proptest::option::of(0i64..16),
        ) {
            let scheme = if tls { "rediss" } else { "redis" };
            let login = match &password {
                Some(password) => format!("{user}:{password}@"),
                None if user.is_empty() => String::new(),
                None => format!("{user}@"),
            };
            let port = port.map(|port| format!(":{port}")).unwrap_or_default();
            let db = db.map(|db| format!("/{db}")).unwrap_or_default();
            let url = format!("{scheme}://{login}{host}{port}{db}");
            let ours = connection_info(&url).ok().map(|info| seen(&info));
            proptest::prop_assert_eq!(ours, crates(&url), "{}", url);
        }

        /// Whatever follows the scheme, nothing panics, and what both
        /// readers accept they read alike. (A socket's path is a file's
        /// path to the `url` crate, with a file URL's `.` and `..`
        /// resolved and its quirks of Windows drive letters: only plain
        /// paths are compared; the system resolves the rest alike.)
        #[test]
        fn any_text_reads_alike_or_is_refused(
            url in "(redis|REDIS|valkey)://[ -~]{0,40}|unix://[a-z]{0,9}(/[a-zA-Z0-9_%-]{1,6}(\\.sock)?){1,3}(\\?[a-z]{2,4}=[ -~]{0,8}(&[a-z]{2,4}=[ -~]{0,8}){0,2})?",
        ) {
            if let (Ok(ours), Some(crates)) = (connection_info(&url), crates(&url)) {
                proptest::prop_assert_eq!(seen(&ours), crates, "{}", url);
            }
        }
    }
}
