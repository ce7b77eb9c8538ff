//! The servers a script is played against: one, or `set servers N` of
//! them joined through a Redis of their own (same room), each started as
//! the script says: in this process, the built `chat` (`server binary`,
//! and every script that speaks TLS), or `CHAT_SERVER`'s command (the
//! engine's `command`, as `transcript --server` runs it).

use std::net::SocketAddr;
use std::time::Duration;

use crate::bins::ChatProcess;
use crate::common::redis::{Redis, ROOM};
use crate::common::TestServer;

use ::transcript::cert::{self, Certificate};
use ::transcript::script::Script;
use ::transcript::{command, run, Running};

/// How long servers in this process may take to join the room.
const JOINING: Duration = Duration::from_secs(20);

/// A script's servers, and the Redis that joins several.
pub struct Servers {
    /// Each server, `@1` first. Declared before `redis`, so that they are
    /// dropped (stopped) before it, on every path.
    each: Vec<Server>,
    /// The Redis of several servers; dropped (killed) last.
    redis: Option<Redis>,
    /// The certificate of a script that speaks TLS; deleted last.
    tls: Option<Certificate>,
}

/// One server under test.
enum Server {
    /// A server in this process.
    InProcess(TestServer),
    /// The built `chat`, with where it serves the page, if it does.
    Binary {
        process: ChatProcess,
        page: Option<SocketAddr>,
    },
    /// `CHAT_SERVER`'s command.
    External(command::Server),
}

/// The command template from `CHAT_SERVER`, if it is set.
fn template() -> Option<String> {
    std::env::var("CHAT_SERVER")
        .ok()
        .filter(|template| !template.trim().is_empty())
}

/// The tests' servers, for the engine: a script with a client via web
/// needs these tests built with the `web` feature, one of several servers
/// the `redis` feature and a `redis-server`, or it is skipped.
pub struct Local;

impl ::transcript::Servers for Local {
    fn start(&self, script: &Script) -> Result<Result<Box<dyn Running>, String>, String> {
        if script.uses_web() && !cfg!(feature = "web") {
            return Ok(Err(
                "it has a client via web, and these tests were built without the page \
                 (cargo test --features web)"
                    .into(),
            ));
        }
        let manners = script.settings.operator_password.is_some() || script.settings.motd.is_some();
        if manners && !cfg!(feature = "manners") {
            return Ok(Err(
                "it has operators or a message of the day, and these tests were built \
                 without them (cargo test --features manners)"
                    .into(),
            ));
        }
        let count = script.settings.servers();
        if script.settings.tls && !cfg!(feature = "tls") {
            return Ok(Err(
                "it connects over TLS (set tls on), and these tests were built without it \
                 (cargo test --features tls)"
                    .into(),
            ));
        }
        if count > 1 && !cfg!(feature = "redis") {
            return Ok(Err(format!(
                "it has {count} servers joined through Redis, and these tests were built \
                 without it (cargo test --features redis)"
            )));
        }
        Ok(Servers::start(script)?.map(|servers| Box::new(servers) as Box<dyn Running>))
    }
}

impl Servers {
    /// Starts the servers `script` asks for: `Ok(Err(why))` when they
    /// cannot serve it (the script is skipped), `Err` when one fails.
    pub fn start(script: &Script) -> Result<Result<Servers, String>, String> {
        let settings = &script.settings;
        let web = script.uses_web();
        let count = settings.servers();
        let redis = if count > 1 {
            match start_redis()? {
                Ok(redis) => Some(redis),
                Err(why) => return Ok(Err(why)),
            }
        } else {
            None
        };
        let url = redis.as_ref().map(Redis::url);
        let template = template();
        // A script's certificate, made as `transcript` makes it; here a
        // missing `openssl` is a failure, as in the TLS tests.
        let tls = if settings.tls {
            Some(Certificate::make()?.ok_or_else(|| cert::MISSING.to_string())?)
        } else {
            None
        };
        let mut servers = Servers {
            each: Vec::new(),
            redis,
            tls,
        };
        for _ in 0..count {
            let tls = servers.tls.as_ref();
            let server = if let Some(template) = &template {
                match command::Server::start(template, settings, web, url.as_deref(), tls)? {
                    Ok(server) => Server::External(server),
                    Err(why) => return Ok(Err(why)),
                }
            } else if settings.binary || tls.is_some() {
                // The server in this process has no TLS of its own: a
                // script that speaks TLS plays against the built `chat`.
                let mut flags = ::transcript::flags::flags(settings);
                flags.extend(tls.iter().flat_map(|pair| pair.flags()));
                if web {
                    flags.push("--http=127.0.0.1:0".into());
                }
                if let Some(url) = &url {
                    flags.push(format!("--redis={url}"));
                }
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                let mut process = ChatProcess::start(&flags);
                let page = if web {
                    Some(page_of(&mut process)?)
                } else {
                    None
                };
                Server::Binary { process, page }
            } else {
                let mut config = super::config(settings)?;
                config.redis = url
                    .clone()
                    .map(|url| chat::config::RedisRoom::new(url, ROOM.into()));
                Server::InProcess(in_process(config, web))
            };
            servers.each.push(server);
        }
        let in_process = matches!(servers.each.first(), Some(Server::InProcess(_)));
        // A server in this process listens at once, but follows the room
        // only from when it joined; a `chat` process says `listening on`
        // only once it has joined, so only these need the wait.
        if let (Some(redis), true) = (&servers.redis, in_process) {
            redis.wait_for_servers(ROOM, count, JOINING)?;
        }
        Ok(Ok(servers))
    }
}

impl Running for Servers {
    /// Where each server listens, `@1` first.
    fn addresses(&self) -> Vec<run::Server> {
        let tls = self.tls.as_ref().map(|pair| pair.cert.clone());
        self.each
            .iter()
            .map(|server| match server {
                Server::InProcess(server) => run::Server {
                    chat: server.addr,
                    page: server.page,
                    tls: None,
                },
                Server::Binary { process, page } => run::Server {
                    chat: process.addr,
                    page: *page,
                    tls: tls.clone(),
                },
                Server::External(server) => run::Server {
                    chat: server.addr,
                    page: server.page,
                    tls: tls.clone(),
                },
            })
            .collect()
    }

    /// Stops every server, then Redis. (The built `chat` is killed, as it
    /// always was: its clients have all left by then.)
    fn stop(mut self: Box<Self>) -> Result<(), String> {
        for server in self.each.drain(..) {
            match server {
                Server::InProcess(server) => server.stop(),
                Server::Binary { .. } => {}
                Server::External(server) => server.stop()?,
            }
        }
        Ok(())
    }
}

/// A fresh `redis-server` for a script of several servers; `Ok(Err(why))`
/// when there is none to start (the script is skipped), unless
/// `CHAT_REQUIRE_REDIS=1` (CI's), where a missing Redis is a failure.
fn start_redis() -> Result<Result<Redis, String>, String> {
    match Redis::try_start() {
        Ok(redis) => Ok(Ok(redis)),
        Err(missing) => {
            let why = format!(
                "it has several servers joined through Redis, and {}",
                crate::common::redis::Missing::WHY
            );
            if missing.required {
                Err(format!("CHAT_REQUIRE_REDIS=1: {why}"))
            } else {
                Ok(Err(why))
            }
        }
    }
}

/// A server in this process, serving the page too if `web`.
#[cfg(feature = "web")]
fn in_process(config: chat::Config, web: bool) -> TestServer {
    if web {
        TestServer::start_with_page(config)
    } else {
        TestServer::start_with(config)
    }
}

/// A server in this process; without the `web` feature, scripts with a
/// client via web are skipped before they get here.
#[cfg(not(feature = "web"))]
fn in_process(config: chat::Config, _web: bool) -> TestServer {
    TestServer::start_with(config)
}

/// Where the `chat` binary serves the page: the log line after `listening
/// on`, `chat: the page is at http://ADDR/`.
fn page_of(server: &mut ChatProcess) -> Result<SocketAddr, String> {
    use std::io::BufRead;
    let mut line = String::new();
    server
        .stderr
        .read_line(&mut line)
        .map_err(|error| format!("cannot read chat's log: {error}"))?;
    line.trim_end()
        .strip_prefix("chat: the page is at http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| format!("chat did not say where the page is: {line:?}"))
}
