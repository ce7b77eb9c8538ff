//! The model of names mode's operators and manners: what `/op`, `/kick`,
//! `/ban`, `/mute`, `/topic`, `/ignore`, `/away` and the rest owe whom,
//! and how they change what later lines owe.
//!
//! Every client of a script connects from 127.0.0.1, so a ban or a mute
//! of anyone's address is of every later newcomer's: a ban turns them
//! away (a script says `connect-rejected`), a mute silences them.

use chat::command::{split_word, Ask, Command};
use chat::names::share_a_key;

use super::Runner;
use crate::script::Settings;

/// What the model knows of the room's manners, by client index.
#[derive(Default)]
pub(super) struct Model {
    /// The operators' password, if the server has one.
    password: Option<Vec<u8>>,
    /// The message of the day's lines, as displayed.
    pub motd: Vec<String>,
    /// Whether a topic is set.
    topic: bool,
    /// The operators.
    operators: Vec<usize>,
    /// Wrong passwords tried, by client.
    wrong: Vec<(usize, u8)>,
    /// Whether 127.0.0.1, everyone's address, is banned.
    banned: bool,
    /// Whether 127.0.0.1 is muted: newcomers are.
    muted_address: bool,
    /// Who is muted.
    muted: Vec<usize>,
    /// Who ignores whom.
    ignoring: Vec<(usize, usize)>,
    /// Who is away.
    pub away: Vec<usize>,
}

impl Model {
    /// The manners of a room served with `settings`.
    pub fn new(settings: &Settings) -> Self {
        let motd = settings.motd.as_deref().unwrap_or_default();
        let motd = motd.strip_suffix(b"\n").unwrap_or(motd);
        Model {
            password: settings
                .operator_password
                .as_ref()
                .map(|p| p.clone().into()),
            motd: match motd {
                [] => Vec::new(),
                motd => motd
                    .split(|&b| b == b'\n')
                    .map(|line| String::from_utf8_lossy(line).into_owned())
                    .collect(),
            },
            ..Model::default()
        }
    }

    /// The lines a newcomer gets after `Also here`: the message of the
    /// day, the topic.
    pub fn welcome(&self) -> usize {
        self.motd.len() + usize::from(self.topic)
    }

    /// Client `who` joins: muted if the address is.
    pub fn joined(&mut self, who: usize) {
        if self.muted_address {
            self.muted.push(who);
        }
    }

    /// Whether `command` from `who` goes nowhere, answered with an error.
    pub fn silenced(&self, who: usize, command: &Command) -> bool {
        let speaks = matches!(
            command,
            Command::Say(_) | Command::Me(_) | Command::Msg { .. } | Command::Nick(_)
        );
        speaks && self.muted.contains(&who)
    }

    /// Whether anyone ignores `whom`.
    pub fn ignored(&self, whom: usize) -> bool {
        self.ignoring.iter().any(|&(_, ignored)| ignored == whom)
    }

    /// Whether `who` ignores `whom`.
    pub fn ignores(&self, who: usize, whom: usize) -> bool {
        self.ignoring.contains(&(who, whom))
    }

    /// Client `who` is gone.
    pub fn left(&mut self, who: usize) {
        self.operators.retain(|&op| op != who);
        self.away.retain(|&away| away != who);
        self.muted.retain(|&muted| muted != who);
        self.ignoring.retain(|&(a, b)| a != who && b != who);
    }
}

impl Runner {
    /// What `ask` with its argument `arg`, from `who`, owes whom.
    pub(super) fn ask(&mut self, who: usize, ask: Ask, arg: &[u8]) {
        let operator = self.manners.operators.contains(&who);
        let (target, rest) = split_word(arg);
        let target = (!target.is_empty())
            .then(|| self.member_called(target))
            .flatten();
        // More words than a name takes (but a mute's duration) is a
        // usage line, and nothing else.
        let extra = if ask == Ask::Mute {
            split_word(rest).1
        } else {
            rest
        };
        let words_fit = !matches!(ask, Ask::Mute | Ask::Unmute | Ask::Ignore | Ask::Unignore)
            || extra.is_empty();
        let found = target.filter(|&target| target != who && words_fit);
        self.clients[who].owed += 1;
        match ask {
            Ask::Op => self.op(who, arg),
            Ask::Topic if !arg.is_empty() && operator => {
                self.clients[who].owed -= 1;
                self.manners.topic = true;
                self.broadcast();
            }
            Ask::Ignore => {
                if let Some(found) = found.filter(|f| !self.manners.ignores(who, *f)) {
                    self.manners.ignoring.push((who, found));
                }
            }
            Ask::Unignore => self
                .manners
                .ignoring
                .retain(|&pair| Some(pair) != found.map(|f| (who, f))),
            Ask::Away => self.manners.away.push(who),
            Ask::Back => self.manners.away.retain(|&away| away != who),
            Ask::Unban if operator && arg == b"127.0.0.1" => self.manners.banned = false,
            // Everyone's address: nobody is muted any more.
            Ask::Unmute if operator && arg == b"127.0.0.1" && target.is_none() => {
                self.manners.muted_address = false;
                self.manners.muted.clear();
            }
            Ask::Kick | Ask::Ban if operator => {
                let bad_duration = ask == Ask::Ban
                    && rest.first().is_some_and(u8::is_ascii_digit)
                    && !valid_duration(split_word(rest).0);
                if let (Some(found), false) = (found, bad_duration) {
                    self.clients[who].owed -= 1;
                    self.manners.banned |= ask == Ask::Ban;
                    self.send_away(found);
                }
            }
            Ask::Mute if operator => {
                if let (Some(found), true) = (found, rest.is_empty() || valid_duration(rest)) {
                    self.clients[who].owed -= 1;
                    self.manners.muted_address = true;
                    self.manners.muted.push(found);
                    self.broadcast();
                }
            }
            Ask::Unmute if operator => {
                if let Some(found) = found.filter(|f| self.manners.muted.contains(f)) {
                    self.clients[who].owed -= 1;
                    self.manners.muted_address = false;
                    self.manners.muted.retain(|&muted| muted != found);
                    self.broadcast();
                }
            }
            _ => {}
        }
    }

    /// `/op`: right (which forgets the wrong ones), wrong (the third time,
    /// an error more and the close), from an operator already (answered
    /// as right, whatever it says), or no password here.
    fn op(&mut self, who: usize, given: &[u8]) {
        let Some(password) = &self.manners.password else {
            return;
        };
        if self.manners.operators.contains(&who) {
            return;
        }
        if given == password.as_slice() {
            self.manners.operators.push(who);
            self.manners.wrong.retain(|&(w, _)| w != who);
            return;
        }
        let tries = match self.manners.wrong.iter_mut().find(|(w, _)| *w == who) {
            Some((_, tries)) => tries,
            None => {
                self.manners.wrong.push((who, 0));
                &mut self.manners.wrong.last_mut().expect("just pushed").1
            }
        };
        *tries += 1;
        if *tries == 3 {
            self.send_away(who);
        }
    }

    /// Client `who` is sent away: an error line, then the close; the
    /// others hear of it as of a leave.
    fn send_away(&mut self, who: usize) {
        let client = &mut self.clients[who];
        client.owed += 1;
        client.input_open = false;
        client.pending.clear();
        self.leave(who);
    }

    /// `/msg TO TEXT` from `who`: its line back, and at TO unless TO
    /// ignores `who`; `TO is away` back too if so.
    pub(super) fn private(&mut self, who: usize, to: &[u8]) {
        self.clients[who].owed += 1;
        if let Some(target) = self.member_called(to).filter(|&target| target != who) {
            if !self.manners.ignores(target, who) {
                self.clients[target].owed += 1;
            }
            if self.manners.away.contains(&target) {
                self.clients[who].owed += 1;
            }
        }
    }

    /// The member called `name`, by the name rules.
    fn member_called(&self, name: &[u8]) -> Option<usize> {
        let keys = chat::names::keys(std::str::from_utf8(name).ok()?);
        self.clients.iter().position(|client| {
            client.member
                && client
                    .chosen
                    .as_ref()
                    .is_some_and(|held| share_a_key(&held.keys, &keys))
        })
    }
}

/// Whether `text` is a duration an operator may give: as the flags take
/// it, more than 0, at most 30 days.
fn valid_duration(text: &[u8]) -> bool {
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| chat::config::parse_duration(text).ok())
        .is_some_and(|lasts| !lasts.is_zero() && lasts.as_secs() <= 30 * 86_400)
}
