//! The servers `transcript` plays scripts against: a fresh one per script
//! from a command (`--server 'COMMAND {flags} {addr}'`), or one already
//! running (`--addr HOST:PORT`), which can serve only scripts that ask
//! nothing of it (not even TLS: its certificate is not the script's).

use std::net::SocketAddr;

use crate::cert::{self, Certificate};
use crate::command;
use crate::redis::{self, Redis};
use crate::script::Script;
use crate::{run, Running, Servers};

/// A fresh server per script (several, joined through a Redis of their
/// own, for `set servers N`), from a command template (see `command`).
pub struct FromCommand {
    /// The command, with `{addr}`, and `{flags}` or `{http}` if it takes
    /// them.
    pub template: String,
}

impl Servers for FromCommand {
    fn start(&self, script: &Script) -> Result<Result<Box<dyn Running>, String>, String> {
        let settings = &script.settings;
        let count = settings.servers();
        let redis = if count > 1 {
            if !self.template.contains("{flags}") {
                return Ok(Err(format!(
                    "it has {count} servers joined through Redis, and the server command \
                     has no {{flags}} for --redis"
                )));
            }
            match Redis::start()? {
                Some(redis) => Some(redis),
                None => {
                    return Ok(Err(format!(
                        "it has {count} servers joined through Redis, and {}",
                        redis::MISSING
                    )))
                }
            }
        } else {
            None
        };
        let url = redis.as_ref().map(Redis::url);
        let tls = match certificate(&self.template, script)? {
            Ok(tls) => tls,
            Err(why) => return Ok(Err(why)),
        };
        let mut started = Started {
            each: Vec::new(),
            _redis: redis,
            tls,
        };
        for _ in 0..count {
            match command::Server::start(
                &self.template,
                settings,
                script.uses_web(),
                url.as_deref(),
                started.tls.as_ref(),
            )? {
                Ok(server) => started.each.push(server),
                Err(why) => return Ok(Err(why)),
            }
        }
        Ok(Ok(Box::new(started)))
    }
}

/// The certificate of a script that speaks TLS, made for it (`Ok(None)`
/// for one that does not): `Ok(Err(why))` when the command cannot be
/// given one, or there is no `openssl` to make it.
fn certificate(
    template: &str,
    script: &Script,
) -> Result<Result<Option<Certificate>, String>, String> {
    if !script.settings.tls {
        return Ok(Ok(None));
    }
    if !template.contains("{flags}") {
        return Ok(Err(
            "it connects over TLS (set tls on), and the server command has no {flags} \
             for --tls-cert and --tls-key"
                .into(),
        ));
    }
    Ok(match Certificate::make()? {
        Some(pair) => Ok(Some(pair)),
        None => Err(format!(
            "it connects over TLS (set tls on), and {}",
            cert::MISSING
        )),
    })
}

/// A script's servers from a command, and their Redis.
struct Started {
    /// Each server, `@1` first. Declared before the Redis, so that they
    /// are dropped (killed) before it, on every path.
    each: Vec<command::Server>,
    /// The Redis that joins them, if several; killed last.
    _redis: Option<Redis>,
    /// The certificate they speak TLS with (`set tls on`); deleted last.
    tls: Option<Certificate>,
}

impl Running for Started {
    fn addresses(&self) -> Vec<run::Server> {
        self.each
            .iter()
            .map(|server| run::Server {
                chat: server.addr,
                page: server.page,
                tls: self.tls.as_ref().map(|pair| pair.cert.clone()),
            })
            .collect()
    }

    fn stop(mut self: Box<Self>) -> Result<(), String> {
        let mut result = Ok(());
        for server in self.each.drain(..) {
            result = result.and(server.stop());
        }
        result
    }

    fn death(&mut self) -> Option<String> {
        self.each.iter_mut().find_map(command::Server::death)
    }
}

/// One server, already running at a loopback address: every script is
/// played against it, one after the other.
pub struct AtAddress {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Servers for AtAddress {
    fn start(&self, script: &Script) -> Result<Result<Box<dyn Running>, String>, String> {
        let settings = &script.settings;
        let needs = crate::flags::flags(settings).join(" ");
        if !needs.is_empty() {
            return Ok(Err(format!(
                "it needs {needs}, and a running server (--addr) has the flags it was started with"
            )));
        }
        if settings.tls {
            return Ok(Err(
                "it connects over TLS (set tls on), and a running server (--addr) has no \
                 certificate made for the script"
                    .into(),
            ));
        }
        if script.uses_web() {
            return Ok(Err(
                "it has a client via web, and a running server (--addr) has no page address".into(),
            ));
        }
        if settings.servers() > 1 {
            return Ok(Err(format!(
                "it has {} servers, and --addr is one",
                settings.servers()
            )));
        }
        Ok(Ok(Box::new(Fixed(self.addr))))
    }
}

/// A server the tool did not start, and does not stop.
struct Fixed(SocketAddr);

impl Running for Fixed {
    fn addresses(&self) -> Vec<run::Server> {
        vec![run::Server {
            chat: self.0,
            page: None,
            tls: None,
        }]
    }

    fn stop(self: Box<Self>) -> Result<(), String> {
        Ok(())
    }
}
