//! Plays a script against a real server and records what every client got.
//!
//! The runner keeps a model of what the protocol makes each step send to
//! whom: an arrival is one line at every member and the greeting at the
//! newcomer, a line is one line at every member, a leave one line at every
//! remaining member, a line over the limit one error line at its sender and
//! a leave. After each step it waits until every reading client has received
//! exactly what it is owed, never by sleeping; a client that was told to
//! leave must then see the server close its connection with nothing more.
//!
//! In names mode the model knows the names too (it judges them with the
//! server's own `chat::names`, and parses lines with `chat::command`): a
//! try at a name is an error and the question again, or the greeting and
//! `Also here` and an arrival for the others; each command is owed where
//! the protocol sends it. A private line may only reach its two ends.
//!
//! A client of the page's WebSocket (`via web`) is the same client to the
//! model: `wire` turns its frames into lines, and what it sends into what
//! the server reads, so that only a close frame needs a rule of its own.
//!
//! Several servers joined through Redis (`set servers N`) are one room to
//! the model: a client's server is only where it connects. Every event
//! takes its place in the one order Redis gives the room, so what a step
//! owes whom is what it owes on one server, and a chain of `&` steps of
//! clients on different servers is an interleaving as one on a single
//! server is: the server (here, Redis) chooses it, and everyone must see
//! the one it chose (`render::check` checks it).
//!
//! The model is in `model` (what a line or a leave owes whom), the reading
//! in `read` (waiting for what is owed, and nothing more).

mod manners;
mod model;
mod read;
mod text;

pub use text::{display, private_ends};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::script::{Action, Script, Step};
use crate::wire::Wire;

/// What a step made each client receive.
pub struct StepRecord {
    /// The step as written (or as the runner added it at the end).
    pub source: String,
    /// `(client index, line as displayed)`, in the order they were read.
    pub received: Vec<(usize, String)>,
    /// The step repeats one line an unpredictable number of times.
    pub flood: bool,
    /// The step ends a chain of `&` steps of several clients: the order
    /// in which the server took their lines is the server's to choose.
    pub interleaved: bool,
}

/// One client's whole session.
pub struct ClientRecord {
    /// Its name in the script.
    pub name: String,
    /// Every line it received, as displayed.
    pub lines: Vec<String>,
    /// Its lines the server was to broadcast, as received, in order.
    pub sent: Vec<String>,
    /// In names mode, each name it had, first to last.
    pub names: Vec<String>,
    /// How its connection ended.
    pub ending: String,
    /// The server cut it off: what it received after it stopped reading is
    /// unknown.
    pub cut_off: bool,
    /// The server turned it away at once: it was never in the chat.
    pub rejected: bool,
    /// It connected via the page's WebSocket.
    pub web: bool,
    /// The server it connected to, from 1 (`@K`).
    pub server: usize,
}

/// The whole record of a played script.
pub struct Played {
    /// Names mode.
    pub names: bool,
    /// How many servers served the room.
    pub servers: usize,
    pub steps: Vec<StepRecord>,
    pub clients: Vec<ClientRecord>,
    /// The message of the day's lines, each for one newcomer alone.
    pub motd: Vec<String>,
}

/// A client of the script and the model's view of it.
struct Client {
    name: String,
    /// The address the server sees, `ADDR` in its lines.
    addr: String,
    /// Its connection.
    wire: Wire,
    /// Lines are read only while this holds.
    reading: bool,
    /// The server still reads this client's input.
    input_open: bool,
    /// In the audience, as far as the model knows.
    member: bool,
    /// An unfinished line the server holds for this client.
    pending: Vec<u8>,
    /// Lines the client must still receive.
    owed: usize,
    /// The server will close the connection once `owed` lines are read.
    closing: bool,
    /// Names mode: connected and not yet named.
    naming: bool,
    /// Names mode: how many of its tries at a name were refused.
    refusals: usize,
    /// Names mode: its name, once it has one.
    chosen: Option<chat::names::Name>,
    record: ClientRecord,
}

/// Where the server under test listens.
pub struct Server {
    /// The chat's TCP address.
    pub chat: SocketAddr,
    /// The page's address (`--http`), if it serves the page.
    pub page: Option<SocketAddr>,
    /// The certificate its chat address speaks TLS with (`set tls on`),
    /// the only one its clients trust; `None`: plain TCP.
    pub tls: Option<PathBuf>,
}

/// How a script is played, beyond its servers.
pub struct Options<'a> {
    /// The longest line the servers take (`set max-line`, or theirs).
    pub max_line: usize,
    /// How long a client waits for a line it is owed, or for its close.
    pub patience: Duration,
    /// Told each step as it is played (`transcript --verbose`).
    pub trace: Option<&'a (dyn Fn(&Step) + Sync)>,
}

/// A script that could not be played to its end: why, and the record of
/// what had happened until then, so that a report can show where the
/// transcript left the snapshot.
pub struct Broken {
    /// The step and what went wrong.
    pub why: String,
    /// Everything received until then.
    pub played: Played,
}

/// Plays `script` against `servers` (the script's `@1`, `@2`, ...).
pub fn play(script: &Script, servers: Vec<Server>, options: &Options) -> Result<Played, Broken> {
    let mut runner = Runner {
        servers,
        max_line: options.max_line,
        patience: options.patience,
        names: script.settings.names,
        chain: Vec::new(),
        history: script.settings.history.unwrap_or(0),
        messages: 0,
        clients: Vec::new(),
        by_name: HashMap::new(),
        steps: Vec::new(),
        manners: manners::Model::new(&script.settings),
    };
    let done = runner.play(script, options);
    let played = Played {
        motd: runner.manners.motd.clone(),
        names: runner.names,
        servers: runner.servers.len(),
        steps: runner.steps,
        clients: runner.clients.into_iter().map(|c| c.record).collect(),
    };
    match done {
        Ok(()) => Ok(played),
        Err(why) => {
            let mut played = played;
            for client in played.clients.iter_mut().filter(|c| c.ending.is_empty()) {
                client.ending = "the script failed before its end".into();
            }
            Err(Broken { why, played })
        }
    }
}

struct Runner {
    /// Where each server listens, `@1` first.
    servers: Vec<Server>,
    max_line: usize,
    /// How long a client waits for what it is owed.
    patience: Duration,
    /// Names mode.
    names: bool,
    /// The clients of the steps since the last that waited for its lines.
    chain: Vec<String>,
    /// How many recent messages a newcomer gets (`set history N`).
    history: usize,
    /// Messages broadcast so far (what the history holds the last of).
    messages: usize,
    clients: Vec<Client>,
    by_name: HashMap<String, usize>,
    steps: Vec<StepRecord>,
    /// Names mode's operators, bans, mutes, topic, ignores and aways.
    manners: manners::Model,
}

impl Runner {
    /// Plays every step, then ends the script.
    fn play(&mut self, script: &Script, options: &Options) -> Result<(), String> {
        if self.servers.len() != script.settings.servers() {
            return Err(format!(
                "the script asks for {} server(s), and was given {}",
                script.settings.servers(),
                self.servers.len()
            ));
        }
        for (index, step) in script.steps.iter().enumerate() {
            if let Some(trace) = options.trace {
                trace(step);
            }
            let settle = !script.steps.get(index + 1).is_some_and(|next| next.chained);
            self.step(step, settle)
                .map_err(|why| format!("line {} ({}): {why}", step.line, step.source))?;
        }
        self.finish()
            .map_err(|why| format!("at the end of the script: {why}"))
    }

    /// Performs a step; with `settle`, waits for its effect (and that of the
    /// chained steps before it). What it received is recorded even when it
    /// fails, for the report.
    fn step(&mut self, step: &Step, settle: bool) -> Result<(), String> {
        let mut record = StepRecord {
            source: step.source.clone(),
            received: Vec::new(),
            flood: false,
            interleaved: false,
        };
        self.chain.push(step.client.clone());
        let done = match step.action {
            Action::Connect(_) | Action::ConnectUnnamed(_) | Action::ConnectRejected(_) => {
                self.connect_step(step, &mut record)
            }
            _ => self.client_step(step, settle, &mut record),
        };
        let done = done.and_then(|settled| {
            if settled {
                Ok(())
            } else {
                self.finish_step(&mut record, settle)
            }
        });
        self.steps.push(record);
        done
    }

    /// A client connects, as a member, unnamed, or to be turned away.
    /// Returns whether the step has settled already (never).
    fn connect_step(&mut self, step: &Step, record: &mut StepRecord) -> Result<bool, String> {
        match step.action {
            Action::Connect(place) => {
                self.connect(&step.client, place, false)?;
                if self.names {
                    let who = self.clients.len() - 1;
                    self.send(who, format!("{}\n", step.client).as_bytes())?;
                }
            }
            Action::ConnectUnnamed(place) => {
                if !self.names {
                    return Err("connect-unnamed is for names mode (set mode names)".into());
                }
                self.connect(&step.client, place, false)?;
            }
            Action::ConnectRejected(place) => {
                // Connects as a member would, then takes back what the
                // model expected: a client turned away gets one line and a
                // close.
                let owed_before: Vec<usize> = self.clients.iter().map(|c| c.owed).collect();
                self.connect(&step.client, place, true)?;
                for (client, owed) in self.clients.iter_mut().zip(owed_before) {
                    client.owed = owed;
                }
                let who = self.clients.len() - 1;
                let client = &mut self.clients[who];
                client.member = false;
                client.naming = false;
                client.input_open = false;
                client.owed = 0;
                client.record.rejected = true;
                self.drain_to_end(who, record, true)?;
                if self.clients[who].record.ending.is_empty() {
                    self.clients[who].record.ending = "turned away".into();
                }
            }
            _ => {}
        }
        Ok(false)
    }

    /// A step of a connected client. Returns whether the step has settled
    /// already (an `expect`, which waits for its line itself).
    fn client_step(
        &mut self,
        step: &Step,
        settle: bool,
        record: &mut StepRecord,
    ) -> Result<bool, String> {
        let who = *self
            .by_name
            .get(&step.client)
            .ok_or_else(|| format!("{} has not connected", step.client))?;
        match &step.action {
            Action::Send(bytes) => self.send(who, bytes)?,
            Action::StopReading => self.clients[who].reading = false,
            Action::ResumeReading => self.clients[who].reading = true,
            Action::Flood { text, victim } => {
                record.flood = true;
                self.settle(record)?;
                self.flood(who, text, victim, record)?;
            }
            Action::Expect(line) => {
                if !settle {
                    return Err("an expect step cannot be followed by a chained step".into());
                }
                self.clients[who].owed += 1;
                self.settle(record)?;
                let want = self.display(line);
                let got = self.clients[who]
                    .record
                    .lines
                    .last()
                    .cloned()
                    .unwrap_or_default();
                if got != want {
                    return Err(format!("{} expected {want:?}, got {got:?}", step.client));
                }
                return Ok(true);
            }
            action => self.end_step(who, action, record)?,
        }
        Ok(false)
    }

    /// Waits for a step's effect if `settle`.
    fn finish_step(&mut self, record: &mut StepRecord, settle: bool) -> Result<(), String> {
        if settle {
            self.settle(record)?;
            record.interleaved = self.chain.iter().any(|client| *client != self.chain[0]);
            self.chain.clear();
        }
        Ok(())
    }
}
