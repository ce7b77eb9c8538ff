//! The listening address, read as Go's `net.Listen` reads the book's.
//!
//! The book listens on `localhost:8000`, and Go resolves `localhost` by
//! itself, so the book's server starts anywhere. The system resolver
//! (`getaddrinfo`) does not: a static binary in an empty root, with no
//! `/etc/hosts` and no NSS modules, cannot look up even `localhost`. So the
//! forms people type are read here without asking any resolver:
//!
//! - `localhost:PORT` is 127.0.0.1, the book's choice;
//! - an IP literal (`127.0.0.1:8000`, `[::1]:8000`) is itself;
//! - `:PORT` is every interface, as in Go: `[::]`, which also takes IPv4
//!   clients, where the machine has IPv6 (see `server::listen`).
//!
//! Any other name goes to the system's resolver, and its first IPv4
//! address is used, as Go does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Where to listen, from `HOST:PORT`, `:PORT` or `[IPv6]:PORT`; errors are
/// one line naming what was given.
pub fn resolve(text: &str) -> Result<SocketAddr, String> {
    let bad = |why: &str| format!("bad address {text:?}: {why}; expected HOST:PORT or :PORT");
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        // `chat 8000`, the likeliest slip.
        if text.parse::<u16>().is_ok() {
            return Err(format!("bad address {text:?}: did you mean :{text}?"));
        }
        return Err(bad("no port after a ':'"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| bad("the port must be a number from 0 to 65535"))?;
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if host.parse::<Ipv6Addr>().is_ok() {
        return Err(bad("an IPv6 address goes in brackets, as in [::1]:8000"));
    }
    if host.starts_with('[') {
        return Err(bad("not an IPv6 address in brackets"));
    }
    let candidates: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|error| bad(&error.to_string()))?
        .collect();
    candidates
        .iter()
        .find(|candidate| candidate.is_ipv4())
        .or(candidates.first())
        .copied()
        .ok_or_else(|| bad("it resolves to nothing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn what_needs_no_resolver() {
        assert_eq!(resolve("localhost:8000"), Ok(addr("127.0.0.1:8000")));
        assert_eq!(resolve("LocalHost:0"), Ok(addr("127.0.0.1:0")));
        assert_eq!(resolve("127.0.0.1:80"), Ok(addr("127.0.0.1:80")));
        assert_eq!(resolve("[::1]:8000"), Ok(addr("[::1]:8000")));
        assert_eq!(resolve(":8000"), Ok(addr("[::]:8000")));
        assert_eq!(resolve(":0"), Ok(addr("[::]:0")));
    }

    #[test]
    fn bad_addresses_say_why() {
        for text in [
            "no-port-here",
            "localhost",
            "localhost:99999",
            ":",
            ":http",
            "[::1",
            "[::1]",
            "::1:80",
            "::1:80:x",
            "1.2.3.4.5:80",
            "",
        ] {
            let error = resolve(text).unwrap_err();
            assert!(error.starts_with("bad address "), "{text}: {error}");
            assert!(error.ends_with("expected HOST:PORT or :PORT"), "{error}");
        }
        assert_eq!(
            resolve("8000"),
            Err("bad address \"8000\": did you mean :8000?".to_string())
        );
    }
}
