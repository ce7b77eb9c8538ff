//! The page in the browser (`--http ADDR`): another transport, not another
//! chat. A connection to the HTTP address asks for the page, which is
//! compiled in, or for `/ws`, which becomes a WebSocket and then a client
//! of the room like any other (see `socket`), under the same caps, limits
//! and shutdown as a TCP client.
//!
//! The WebSocket handshake is refused unless it comes from the page's own
//! origin: a browser lets any site open a WebSocket to any address, with
//! the visitor's network position, so without this check any site a
//! visitor opens could join the chat in their name. On a loopback address
//! it is refused too unless the browser asked for a loopback host by name
//! (`localhost`) or number: a site that has its own name resolve to
//! 127.0.0.1 (DNS rebinding) is its own origin, but not a loopback host.

mod http;
mod page;
mod socket;
pub mod wire;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use smol::Timer;

use crate::config::format_duration;
use crate::conn;
use crate::log;
use crate::room::events::Hub;
use crate::Config;
use http::{HeadError, Response};
use socket::WebSocket;
use wire::Wire;

/// How long a connection may take to send its request head (and, for the
/// page, to take the answer); shorter if the line timeout is.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a newcomer turned away may take to read why.
const TURN_AWAY_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves one connection to the HTTP address: the page, a refusal, or a
/// WebSocket client of the room until it leaves. `loopback` says the
/// server listens on a loopback address. `ticket` is dropped when the
/// connection ends, as for a TCP client.
///
/// An `async move` block, as `conn::serve` is, so that the arguments are
/// kept once in the connection's state, not twice.
#[allow(clippy::manual_async_fn)]
pub fn serve<W: Wire, Ticket>(
    socket: W,
    addr: SocketAddr,
    id: u64,
    hub: Hub,
    config: Arc<Config>,
    ticket: Ticket,
    loopback: bool,
) -> impl Future<Output = ()> {
    async move {
        let timeout = config
            .line_timeout
            .map_or(HANDSHAKE_TIMEOUT, |line| line.min(HANDSHAKE_TIMEOUT));
        let head = future::or(async { Some(http::read_head(&socket).await) }, async {
            Timer::after(timeout).await;
            None
        })
        .await;
        let response = match head {
            None => Response::text(
                "408 Request Timeout",
                &format!(
                    "error: request not sent within {}",
                    format_duration(timeout)
                ),
            ),
            Some(Err(HeadError::Gone)) => return,
            Some(Err(HeadError::Malformed)) => {
                Response::text("400 Bad Request", "error: not an HTTP/1.1 request")
            }
            Some(Err(HeadError::TooLarge)) => Response::text(
                "431 Request Header Fields Too Large",
                "error: request head too large",
            ),
            Some(Ok((head, early))) => match route(&head, loopback) {
                Ok(Route::Page) => {
                    page::response(head.method == "HEAD", config.max_line_bytes, config.names)
                }
                Ok(Route::Upgrade(key)) => {
                    drop(head);
                    let answer = http::websocket_answer(&key);
                    let websocket = WebSocket::new(socket, answer, early, config.max_line_bytes);
                    Box::pin(conn::serve(websocket, addr, id, hub, config, ticket)).await;
                    return;
                }
                Err(refused) => {
                    log::verbose(format_args!(
                        "{addr} {} {}: {}",
                        head.method, head.path, refused.status
                    ));
                    refused
                }
            },
        };
        answer(&socket, &response, timeout).await;
        drop(ticket);
    }
}

/// Tells a newcomer past a cap why it is turned away (`why`, an
/// `error: ...` line), as an HTTP answer.
pub async fn turn_away(socket: impl Wire, why: &'static [u8]) {
    let line = String::from_utf8_lossy(why);
    let response = Response::text("503 Service Unavailable", line.trim_end());
    answer(&socket, &response, TURN_AWAY_TIMEOUT).await;
}

/// What a request asks for.
enum Route {
    /// The page.
    Page,
    /// A WebSocket, with its `Sec-WebSocket-Key`.
    Upgrade(Vec<u8>),
}

/// What the request head asks for, or the answer refusing it.
fn route(head: &http::Head, loopback: bool) -> Result<Route, Response> {
    if head.hosts != 1 {
        return Err(Response::text(
            "400 Bad Request",
            "error: a request needs exactly one Host header",
        ));
    }
    match head.path.as_str() {
        "/" if head.method == "GET" || head.method == "HEAD" => Ok(Route::Page),
        "/" => Err(not_allowed("GET, HEAD")),
        "/ws" if head.method != "GET" => Err(not_allowed("GET")),
        "/ws" => {
            if !head.upgrade_websocket || !head.connection_upgrade {
                let mut response = Response::text(
                    "426 Upgrade Required",
                    "error: /ws is a WebSocket; the page is at /",
                );
                response.headers.push("Upgrade: websocket".to_string());
                return Err(response);
            }
            if head.websocket_version.as_deref() != Some("13") {
                let mut response =
                    Response::text("426 Upgrade Required", "error: WebSocket version 13 only");
                response
                    .headers
                    .push("Sec-WebSocket-Version: 13".to_string());
                return Err(response);
            }
            let Some(key) = head.websocket_key.clone() else {
                return Err(Response::text(
                    "400 Bad Request",
                    "error: no Sec-WebSocket-Key",
                ));
            };
            same_origin(head, loopback)
                .map_err(|why| Response::text("403 Forbidden", &format!("error: {why}")))?;
            Ok(Route::Upgrade(key))
        }
        _ => Err(Response::text(
            "404 Not Found",
            "error: not found (the page is at /)",
        )),
    }
}

/// A `405` naming the methods a path takes.
fn not_allowed(methods: &str) -> Response {
    let mut response = Response::text("405 Method Not Allowed", "error: method not allowed");
    response.headers.push(format!("Allow: {methods}"));
    response
}

/// Whether a WebSocket handshake comes from the page this server serves:
/// its `Origin` is `http://` (or `https://`, behind a proxy) and the host
/// the browser asked for. On a loopback address, that host must be a
/// loopback one too.
fn same_origin(head: &http::Head, loopback: bool) -> Result<(), &'static str> {
    let (Some(origin), Some(host)) = (&head.origin, &head.host) else {
        return Err("a WebSocket needs the page's Origin and Host (open the page at /)");
    };
    let own = ["http://", "https://"].iter().any(|scheme| {
        origin.len() == scheme.len() + host.len()
            && origin[..scheme.len()].eq_ignore_ascii_case(scheme)
            && origin[scheme.len()..].eq_ignore_ascii_case(host)
    });
    if !own {
        return Err("cross-site WebSocket refused (only the page's own origin may connect)");
    }
    if loopback && !is_loopback_host(host) {
        return Err("this server answers to localhost only");
    }
    Ok(())
}

/// Whether `host` (`name[:port]`, `[v6][:port]`) names this machine's
/// loopback: `localhost` or a loopback address.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(name, _)| name),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Writes `response`, then closes as a TCP client's connection closes:
/// half-closed, lingering so that the close does not destroy the answer;
/// all within `timeout`.
async fn answer(wire: &impl Wire, response: &Response, timeout: Duration) {
    let answered = async {
        if response.write(wire).await.is_ok() && wire.shutdown_write().await.is_ok() {
            conn::linger(wire.socket()).await;
        }
    };
    future::or(answered, async {
        Timer::after(timeout).await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(origin: Option<&str>, host: Option<&str>) -> http::Head {
        http::Head {
            method: "GET".to_string(),
            path: "/ws".to_string(),
            origin: origin.map(str::to_string),
            host: host.map(str::to_string),
            ..http::Head::default()
        }
    }

    #[test]
    fn only_the_pages_own_origin_may_open_a_websocket() {
        let ok = |origin, host, loopback| same_origin(&head(origin, host), loopback).is_ok();
        assert!(ok(
            Some("http://localhost:8080"),
            Some("localhost:8080"),
            true
        ));
        assert!(ok(
            Some("HTTP://LocalHost:8080"),
            Some("localhost:8080"),
            true
        ));
        assert!(ok(
            Some("http://127.0.0.1:8080"),
            Some("127.0.0.1:8080"),
            true
        ));
        assert!(ok(Some("http://[::1]:8080"), Some("[::1]:8080"), true));
        assert!(ok(
            Some("https://chat.example"),
            Some("chat.example"),
            false
        ));
        assert!(!ok(
            Some("http://evil.example"),
            Some("localhost:8080"),
            true
        ));
        assert!(!ok(
            Some("http://localhost:8081"),
            Some("localhost:8080"),
            true
        ));
        assert!(!ok(Some("null"), Some("localhost:8080"), true));
        assert!(!ok(None, Some("localhost:8080"), true));
        assert!(!ok(Some("http://localhost:8080"), None, true));
        // DNS rebinding: a site's own name, resolving to 127.0.0.1.
        assert!(!ok(
            Some("http://evil.example:8080"),
            Some("evil.example:8080"),
            true
        ));
        assert!(ok(
            Some("http://evil.example:8080"),
            Some("evil.example:8080"),
            false
        ));
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:80",
            "127.0.0.1:1",
            "127.9.9.9",
            "[::1]:8",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com:80",
            "10.0.0.1:8",
            "[::2]:8",
            "localhost.evil:80",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
