//! Where `ADDR` points, read as Go's `net.Dial` reads it.
//!
//! The book's clients are Go programs, so `client` takes the addresses they
//! take: `:8000` means this machine, as `net.Dial("tcp", ":8000")` does.
//! `localhost` and IP addresses are answered here, without the system
//! resolver, so that a static `client` works where there is none to ask (an
//! empty chroot, a scratch container) and `localhost` never depends on
//! `/etc/hosts`. Only other names go to the resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// This machine, for an empty host or `localhost`: IPv4 first, as the
/// server binds `localhost` to 127.0.0.1 as the book's does.
const LOOPBACK: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// The addresses to try for `addr`, in order (IPv4 first), or why there
/// are none.
pub fn resolve(addr: &str) -> Result<Vec<SocketAddr>, String> {
    let (host, port) = split(addr)?;
    if let Some(ips) = without_resolver(host) {
        return Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect());
    }
    // IPv4 first, each family in the resolver's order (a partition, not
    // a sort: the same order, for a twentieth of the code).
    let (mut candidates, ipv6): (Vec<SocketAddr>, Vec<SocketAddr>) = (host, port)
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {host:?}: {error}"))?
        .partition(SocketAddr::is_ipv4);
    candidates.extend(ipv6);
    if candidates.is_empty() {
        return Err(format!("cannot resolve {host:?}: no address"));
    }
    Ok(candidates)
}

/// Splits `HOST:PORT`; an IPv6 host comes in brackets, as in Go
/// (`[::1]:8000`), so that its colons are not taken for the port's.
pub fn split(addr: &str) -> Result<(&str, u16), String> {
    let bad = |why: &str| format!("bad address {addr:?}: {why}; expected HOST:PORT");
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed
            .strip_suffix(']')
            .ok_or_else(|| bad("missing ']'"))?,
        None if host.contains(':') => {
            return Err(bad("an IPv6 address needs brackets ([::1]:8000)"))
        }
        None => host,
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| bad("the port must be a number from 0 to 65535"))?;
    Ok((host, port))
}

/// The addresses of `host` when no resolver is needed: this machine for an
/// empty host or `localhost` (RFC 6761: always loopback), or the IP address
/// written out. `None` for a name the resolver must answer.
fn without_resolver(host: &str) -> Option<Vec<IpAddr>> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || name.eq_ignore_ascii_case("localhost") {
        return Some(LOOPBACK.to_vec());
    }
    host.parse::<IpAddr>().ok().map(|ip| vec![ip])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn an_empty_host_is_this_machine_as_in_go() {
        assert_eq!(
            resolve(":8000").unwrap(),
            addrs(&["127.0.0.1:8000", "[::1]:8000"])
        );
    }

    #[test]
    fn localhost_and_ip_addresses_need_no_resolver() {
        for host in ["", "localhost", "LocalHost", "localhost."] {
            assert_eq!(without_resolver(host), Some(LOOPBACK.to_vec()), "{host:?}");
        }
        assert_eq!(
            resolve("localhost:1").unwrap(),
            addrs(&["127.0.0.1:1", "[::1]:1"])
        );
        assert_eq!(resolve("10.1.2.3:80").unwrap(), addrs(&["10.1.2.3:80"]));
        assert_eq!(resolve("[::1]:8000").unwrap(), addrs(&["[::1]:8000"]));
        assert_eq!(resolve("[fe80::1]:9").unwrap(), addrs(&["[fe80::1]:9"]));
        // A name is the resolver's to answer.
        assert_eq!(without_resolver("example.com"), None);
        assert_eq!(without_resolver("localhost.example.com"), None);
    }

    #[test]
    fn malformed_addresses_say_why() {
        for (addr, why) in [
            ("localhost", "no port"),
            ("8000", "no port"),
            ("localhost:", "the port must be a number"),
            ("localhost:http", "the port must be a number"),
            ("localhost:65536", "the port must be a number"),
            ("::1:8000", "needs brackets"),
            ("[::1:8000", "missing ']'"),
        ] {
            let error = resolve(addr).unwrap_err();
            assert!(error.contains(why), "{addr:?}: {error}");
            assert!(error.starts_with("bad address"), "{addr:?}: {error}");
        }
    }
}
