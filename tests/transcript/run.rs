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

use std::collections::HashMap;
use std::net::SocketAddr;

use chat::command::{self, Command};
use chat::names::share_a_key;

use super::script::{Action, Place, Script, Step, Via};
use super::wire::{Got, Wire};

/// The most lines a `flood` step sends before giving up on its victim.
const FLOOD_LIMIT: usize = 200_000;

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
}

/// Plays `script` against `servers` (the script's `@1`, `@2`, ...), which
/// apply `max_line`.
pub fn play(script: &Script, servers: Vec<Server>, max_line: usize) -> Result<Played, String> {
    if servers.len() != script.settings.servers() {
        return Err(format!(
            "the script asks for {} server(s), and was given {}",
            script.settings.servers(),
            servers.len()
        ));
    }
    let mut runner = Runner {
        servers,
        max_line,
        names: script.settings.names,
        chain: Vec::new(),
        history: script.settings.history.unwrap_or(0),
        messages: 0,
        clients: Vec::new(),
        by_name: HashMap::new(),
        steps: Vec::new(),
    };
    for (index, step) in script.steps.iter().enumerate() {
        let settle = !script.steps.get(index + 1).is_some_and(|next| next.chained);
        runner
            .step(step, settle)
            .map_err(|why| format!("line {} ({}): {why}", step.line, step.source))?;
    }
    runner
        .finish()
        .map_err(|why| format!("at the end of the script: {why}"))?;
    Ok(Played {
        names: runner.names,
        servers: runner.servers.len(),
        steps: runner.steps,
        clients: runner.clients.into_iter().map(|c| c.record).collect(),
    })
}

struct Runner {
    /// Where each server listens, `@1` first.
    servers: Vec<Server>,
    max_line: usize,
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
}

impl Runner {
    /// Performs a step; with `settle`, waits for its effect (and that of the
    /// chained steps before it).
    fn step(&mut self, step: &Step, settle: bool) -> Result<(), String> {
        let mut record = StepRecord {
            source: step.source.clone(),
            received: Vec::new(),
            flood: false,
            interleaved: false,
        };
        self.chain.push(step.client.clone());
        if let Action::Connect(place) = step.action {
            self.connect(&step.client, place, false)?;
            if self.names {
                let who = self.clients.len() - 1;
                self.send(who, format!("{}\n", step.client).as_bytes())?;
            }
            return self.finish_step(record, settle);
        }
        if let Action::ConnectUnnamed(place) = step.action {
            if !self.names {
                return Err("connect-unnamed is for names mode (set mode names)".into());
            }
            self.connect(&step.client, place, false)?;
            return self.finish_step(record, settle);
        }
        if let Action::ConnectRejected(place) = step.action {
            // Connects as a member would, then takes back what the model
            // expected: a client turned away gets one line and a close.
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
            self.drain_to_end(who, &mut record, true)?;
            if self.clients[who].record.ending.is_empty() {
                self.clients[who].record.ending = "turned away".into();
            }
            return self.finish_step(record, settle);
        }
        let who = *self
            .by_name
            .get(&step.client)
            .ok_or_else(|| format!("{} has not connected", step.client))?;
        match &step.action {
            Action::Connect(_) | Action::ConnectUnnamed(_) | Action::ConnectRejected(_) => {
                unreachable!()
            }
            Action::Send(bytes) => self.send(who, bytes)?,
            Action::HalfClose => {
                self.open_input(who)?;
                let client = &mut self.clients[who];
                if client.wire.is_web() && client.owed > 0 {
                    return Err(format!(
                        "{} is owed {} line(s), which the server may no longer send once it \
                         has the close frame: let them arrive first (no '&')",
                        client.name, client.owed
                    ));
                }
                client.wire.half_close()?;
                self.end_input(who);
            }
            Action::Close => {
                self.open_input(who)?;
                let client = &mut self.clients[who];
                client.wire.close();
                client.owed = 0;
                client.record.ending = "closed its connection".into();
                self.end_input(who);
                self.clients[who].closing = false;
            }
            Action::Reset => {
                self.open_input(who)?;
                if !self.clients[who].pending.is_empty() {
                    return Err("a reset may lose a pending partial line: send \\n first".into());
                }
                let client = &mut self.clients[who];
                client.wire.reset()?;
                client.owed = 0;
                client.input_open = false;
                client.record.ending = "reset its connection".into();
                self.leave(who);
                self.clients[who].closing = false;
            }
            Action::StopReading => self.clients[who].reading = false,
            Action::ResumeReading => self.clients[who].reading = true,
            Action::Flood { text, victim } => {
                record.flood = true;
                self.settle(&mut record)?;
                self.flood(who, text, victim, &mut record)?;
            }
            Action::Expect(line) => {
                if !settle {
                    return Err("an expect step cannot be followed by a chained step".into());
                }
                self.clients[who].owed += 1;
                self.settle(&mut record)?;
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
                self.steps.push(record);
                return Ok(());
            }
            Action::WaitClosed => {
                self.drain_to_end(who, &mut record, true)?;
                let client = &mut self.clients[who];
                client.input_open = false;
                client.pending.clear();
                client.record.ending = "closed by the server".into();
                self.leave(who);
                self.clients[who].closing = false;
            }
        }
        self.finish_step(record, settle)
    }

    /// Records a step, after waiting for its effect if `settle`.
    fn finish_step(&mut self, mut record: StepRecord, settle: bool) -> Result<(), String> {
        if settle {
            self.settle(&mut record)?;
            record.interleaved = self.chain.iter().any(|client| *client != self.chain[0]);
            self.chain.clear();
        }
        self.steps.push(record);
        Ok(())
    }

    /// Connects a new client to a `place` (a server, by a transport): it
    /// is owed its greeting, the members, on every server, its arrival;
    /// then it is a member. Only a client that expects it (`rejected`) may
    /// have its WebSocket handshake refused.
    fn connect(&mut self, name: &str, place: Place, rejected: bool) -> Result<(), String> {
        if self.by_name.contains_key(name) {
            return Err(format!("{name} is already connected"));
        }
        let server = self
            .servers
            .get(place.server - 1)
            .ok_or_else(|| format!("there is no server @{}", place.server))?;
        let mut ending = String::new();
        let (wire, addr) = match place.via {
            Via::Tcp => Wire::tcp(server.chat)?,
            Via::Web => {
                let page = server.page.ok_or("the server serves no page")?;
                let (wire, addr, refusal) = Wire::web(page)?;
                if let Some(status) = refusal {
                    if !rejected {
                        return Err(format!(
                            "the WebSocket handshake was refused: HTTP {status}"
                        ));
                    }
                    ending = format!("turned away, HTTP {status}");
                }
                (wire, addr)
            }
        };
        // Book mode: greeted and in; names mode: asked its name, not in.
        let owed = if self.names {
            1
        } else {
            self.broadcast();
            1 + self.recent()
        };
        self.by_name.insert(name.to_string(), self.clients.len());
        self.clients.push(Client {
            name: name.to_string(),
            addr,
            wire,
            reading: true,
            input_open: true,
            member: !self.names,
            pending: Vec::new(),
            owed,
            closing: false,
            naming: self.names,
            refusals: 0,
            chosen: None,
            record: ClientRecord {
                name: name.to_string(),
                lines: Vec::new(),
                sent: Vec::new(),
                names: Vec::new(),
                cut_off: false,
                rejected: false,
                web: place.via == Via::Web,
                server: place.server,
                ending,
            },
        });
        Ok(())
    }

    fn open_input(&self, who: usize) -> Result<(), String> {
        if self.clients[who].input_open {
            Ok(())
        } else {
            Err(format!(
                "{}'s input has already ended",
                self.clients[who].name
            ))
        }
    }

    /// Sends `bytes` on the client's connection, as they are: an error
    /// names the client.
    fn write(&mut self, who: usize, bytes: &[u8]) -> Result<(), String> {
        let client = &mut self.clients[who];
        let name = &client.name;
        client
            .wire
            .send(bytes)
            .map_err(|why| format!("{name}: {why}"))
    }

    /// Sends raw bytes and works out, as the server frames them, which lines
    /// they complete.
    fn send(&mut self, who: usize, bytes: &[u8]) -> Result<(), String> {
        self.open_input(who)?;
        self.write(who, bytes)?;
        let read = self.clients[who].wire.as_read(bytes).into_owned();
        for &byte in &read {
            let client = &mut self.clients[who];
            if byte == b'\n' {
                let text = std::mem::take(&mut client.pending);
                if text.len() > self.max_line {
                    self.too_long(who);
                    break;
                }
                let text = text.strip_suffix(b"\r").unwrap_or(&text);
                // After `/quit`, or too many refused names, the rest is
                // read and discarded.
                if let Said::Quit = self.said(who, text) {
                    break;
                }
                if !self.clients[who].input_open {
                    break;
                }
            } else {
                client.pending.push(byte);
                if client.pending.len() > self.max_line {
                    self.too_long(who);
                    break;
                }
            }
        }
        Ok(())
    }

    /// A line over the limit: one error line for the sender, then it leaves.
    fn too_long(&mut self, who: usize) {
        let client = &mut self.clients[who];
        client.pending.clear();
        client.input_open = false;
        client.owed += 1;
        self.leave(who);
    }

    /// The end of a client's input: a pending partial line still counts.
    fn end_input(&mut self, who: usize) {
        let client = &mut self.clients[who];
        client.input_open = false;
        if !client.pending.is_empty() {
            let text = std::mem::take(&mut client.pending);
            let text = text.strip_suffix(b"\r").unwrap_or(&text);
            if let Said::Quit = self.said(who, text) {
                return;
            }
        }
        self.leave(who);
    }

    /// What the server owes whom for one whole line from `who`.
    fn said(&mut self, who: usize, text: &[u8]) -> Said {
        if self.clients[who].naming {
            self.try_name(who, text);
            return Said::Other;
        }
        if !self.names {
            let line = format!("{}: {}", self.clients[who].name, display(text));
            self.clients[who].record.sent.push(line);
            self.broadcast();
            self.messages += 1;
            return Said::Other;
        }
        let me = self.shown(who);
        match command::parse(text) {
            Command::Say(text) => {
                let line = format!("{me}: {}", self.display(&text));
                self.clients[who].record.sent.push(line);
                self.broadcast();
                self.messages += 1;
            }
            Command::Me(_) => {
                self.broadcast();
                self.messages += 1;
            }
            Command::Who => {
                let members = self.clients.iter().filter(|c| c.member).count();
                self.clients[who].owed += members.div_ceil(50);
            }
            Command::Nick(new) => match chat::names::parse(&new) {
                Ok(name)
                    if !self.taken(&name, Some(who))
                        && self.display(name.shown.as_bytes()) != me =>
                {
                    self.broadcast();
                    let shown = self.display(name.shown.as_bytes());
                    self.clients[who].record.names.push(shown);
                    self.clients[who].chosen = Some(name);
                }
                _ => self.clients[who].owed += 1,
            },
            Command::Msg { to, .. } => {
                self.clients[who].owed += 1;
                let to = std::str::from_utf8(&to).ok().map(chat::names::keys);
                let target = to.and_then(|keys| {
                    self.clients.iter().position(|c| {
                        c.member
                            && c.chosen
                                .as_ref()
                                .is_some_and(|name| share_a_key(&name.keys, &keys))
                    })
                });
                if let Some(target) = target.filter(|&target| target != who) {
                    self.clients[target].owed += 1;
                }
            }
            Command::Help => self.clients[who].owed += command::HELP.len(),
            Command::Quit => {
                let client = &mut self.clients[who];
                client.pending.clear();
                client.input_open = false;
                self.leave(who);
                return Said::Quit;
            }
            Command::Usage(_) | Command::Unknown(_) => self.clients[who].owed += 1,
        }
        Said::Other
    }

    /// A try at a name: an error and the question again, or the greeting,
    /// who else is here, and an arrival for the others; after too many
    /// refusals, an error and `error: too many refused names`, and the
    /// server closes.
    fn try_name(&mut self, who: usize, text: &[u8]) {
        self.clients[who].owed += 2;
        let name = chat::names::parse(text)
            .ok()
            .filter(|name| !self.taken(name, None));
        let Some(name) = name else {
            let client = &mut self.clients[who];
            client.refusals += 1;
            if client.refusals == chat::config::REFUSED_NAMES {
                // Read and discarded from now on: as good as ended.
                client.input_open = false;
                client.pending.clear();
                self.leave(who);
            }
            return;
        };
        self.clients[who].owed += self.recent();
        self.broadcast();
        let shown = self.display(name.shown.as_bytes());
        let client = &mut self.clients[who];
        client.naming = false;
        client.member = true;
        client.record.names.push(shown);
        client.chosen = Some(name);
    }

    /// The lines of history a newcomer gets now: `Recent messages (K):`
    /// and K messages, or none. (The history's bound in bytes is far above
    /// what scripts say.)
    fn recent(&self) -> usize {
        match self.history.min(self.messages) {
            0 => 0,
            count => count + 1,
        }
    }

    /// Whether a member other than `except` has `name`, or one like it.
    fn taken(&self, name: &chat::names::Name, except: Option<usize>) -> bool {
        self.clients.iter().enumerate().any(|(index, client)| {
            Some(index) != except
                && client.member
                && client
                    .chosen
                    .as_ref()
                    .is_some_and(|held| share_a_key(&held.keys, &name.keys))
        })
    }

    /// What the others call `who` in lines: its name in names mode, its
    /// script name (standing for its address) in book mode.
    fn shown(&self, who: usize) -> String {
        let client = &self.clients[who];
        match &client.chosen {
            Some(name) => self.display(name.shown.as_bytes()),
            None => client.name.clone(),
        }
    }

    /// One line for every member.
    fn broadcast(&mut self) {
        for client in self.clients.iter_mut().filter(|c| c.member) {
            client.owed += 1;
        }
    }

    /// The client leaves the audience; the rest are owed its `has left`,
    /// and the server closes its connection after what it is owed.
    fn leave(&mut self, who: usize) {
        if !self.clients[who].member {
            // Never named: nobody hears of it, and the server closes.
            if self.clients[who].naming {
                self.clients[who].naming = false;
                self.clients[who].closing = true;
            }
            return;
        }
        self.clients[who].member = false;
        self.clients[who].closing = true;
        self.broadcast();
    }

    /// `who` says `text` again and again until the server cuts `victim` off.
    fn flood(
        &mut self,
        who: usize,
        text: &[u8],
        victim: &str,
        record: &mut StepRecord,
    ) -> Result<(), String> {
        let victim = *self
            .by_name
            .get(victim)
            .ok_or_else(|| format!("{victim} has not connected"))?;
        let echo = format!("{}: {}", self.shown(who), self.display(text));
        let left = format!("{} has left", self.shown(victim));
        let mut line = text.to_vec();
        line.push(b'\n');
        for _ in 0..FLOOD_LIMIT {
            self.open_input(who)?;
            self.write(who, &line)?;
            self.clients[who].record.sent.push(echo.clone());
            self.messages += 1;
            let mut cut_off = false;
            for index in 0..self.clients.len() {
                let client = &self.clients[index];
                if !client.member {
                    continue;
                }
                if !client.reading || !client.wire.readable() {
                    self.clients[index].owed += 1;
                    continue;
                }
                loop {
                    let got = self.read_line(index, record)?;
                    if got == left {
                        cut_off = true;
                    } else if got == echo {
                        break;
                    }
                }
            }
            if cut_off {
                let client = &mut self.clients[victim];
                client.member = false;
                client.owed = 0;
                client.closing = false;
                client.input_open = false;
                client.record.cut_off = true;
                return Ok(());
            }
        }
        Err(format!(
            "{} was not cut off after {FLOOD_LIMIT} lines",
            self.clients[victim].name
        ))
    }

    /// Waits until every reading client has received what it is owed, and
    /// the server has closed the connections it must close.
    fn settle(&mut self, record: &mut StepRecord) -> Result<(), String> {
        for index in 0..self.clients.len() {
            let client = &self.clients[index];
            if !client.reading || !client.wire.readable() {
                continue;
            }
            while self.clients[index].owed > 0 {
                self.read_line(index, record)?;
                self.clients[index].owed -= 1;
            }
            if self.clients[index].closing {
                self.drain_to_end(index, record, false)?;
                self.clients[index].closing = false;
                self.clients[index].record.ending = "closed by the server".into();
            }
        }
        Ok(())
    }

    /// Reads one line of client `index` into its record and the step's.
    fn read_line(&mut self, index: usize, record: &mut StepRecord) -> Result<String, String> {
        let client = &mut self.clients[index];
        let name = client.name.clone();
        if !client.wire.readable() {
            return Err(format!("{name} is not connected"));
        }
        match client.wire.next() {
            Ok(Got::Line(raw)) => self.record_line(index, &raw, record),
            Ok(Got::End(raw)) => Err(format!(
                "{name}: the connection ended while {} more line(s) were owed{}",
                client.owed.max(1),
                if raw.is_empty() {
                    String::new()
                } else {
                    format!(", after {:?} without a newline", display(&raw))
                }
            )),
            Err(error) => Err(format!(
                "{name}: still owed {} line(s): {error}; received so far: {:?}",
                client.owed.max(1),
                client.record.lines
            )),
        }
    }

    /// Records a line client `index` received, in its record and the
    /// step's, with addresses named.
    fn record_line(
        &mut self,
        index: usize,
        raw: &[u8],
        record: &mut StepRecord,
    ) -> Result<String, String> {
        let line = self.name_addresses(raw);
        if let Some((from, to)) = private_ends(&line) {
            let names = &self.clients[index].record.names;
            if !names.iter().any(|name| name == from || name == to) {
                let name = &self.clients[index].name;
                return Err(format!("{name} received another's private line: {line:?}"));
            }
        }
        self.clients[index].record.lines.push(line.clone());
        record.received.push((index, line.clone()));
        Ok(line)
    }

    /// Reads until the server closes the connection. Lines are recorded if
    /// `keep` (a `wait-closed`), else any byte is an error.
    fn drain_to_end(
        &mut self,
        index: usize,
        record: &mut StepRecord,
        keep: bool,
    ) -> Result<(), String> {
        let name = self.clients[index].name.clone();
        if !self.clients[index].wire.readable() {
            return Err(format!("{name} is not connected"));
        }
        if keep {
            loop {
                match self.clients[index].wire.next() {
                    Ok(Got::Line(raw)) => {
                        self.record_line(index, &raw, record)?;
                    }
                    Ok(Got::End(raw)) if raw.is_empty() => break,
                    Ok(Got::End(raw)) => {
                        return Err(format!(
                            "{name}: the connection ended after {:?} without a newline",
                            display(&raw)
                        ))
                    }
                    Err(error) => return Err(format!("{name}: no close: {error}")),
                }
            }
        } else {
            match self.clients[index].wire.rest() {
                Ok(rest) if rest.is_empty() => {}
                Ok(rest) => {
                    return Err(format!(
                        "{name} received more than expected before the close: {:?}",
                        display(&rest)
                    ))
                }
                Err(error) => {
                    return Err(format!("{name}: the server did not close: {error}"));
                }
            }
        }
        self.clients[index].wire.stop_reading();
        self.clients[index].owed = 0;
        Ok(())
    }

    /// Ends the script: the clients still there resume reading and end
    /// their input in turn; clients cut off must see their connection end.
    fn finish(&mut self) -> Result<(), String> {
        for index in 0..self.clients.len() {
            let mut record = StepRecord {
                source: String::new(),
                received: Vec::new(),
                flood: false,
                interleaved: false,
            };
            let client = &mut self.clients[index];
            if client.record.cut_off {
                client
                    .wire
                    .discard_to_end()
                    .map_err(|error| format!("{} was not disconnected: {error}", client.name))?;
                client.record.ending = "cut off by the server".into();
                continue;
            }
            if !client.wire.readable() {
                continue;
            }
            client.reading = true;
            if client.input_open {
                record.source = format!("half-close {} (end of script)", client.name);
                if client.wire.is_web() {
                    // No line may follow a close frame: what it is owed
                    // comes first.
                    self.settle(&mut record)?;
                }
                let client = &mut self.clients[index];
                let name = &client.name;
                client
                    .wire
                    .half_close()
                    .map_err(|why| format!("{name}: {why}"))?;
                self.end_input(index);
            } else {
                record.source = format!("resume-reading {} (end of script)", client.name);
            }
            self.settle(&mut record)?;
            self.steps.push(record);
        }
        Ok(())
    }

    /// The line with the addresses of our clients replaced by their names.
    fn name_addresses(&self, raw: &[u8]) -> String {
        for client in self.clients.iter().filter(|c| !c.addr.is_empty()) {
            let addr = client.addr.as_bytes();
            if raw.strip_prefix(&b"You are "[..]) == Some(addr) {
                return format!("You are {}", client.name);
            }
            if let Some(rest) = raw.strip_prefix(addr) {
                if rest.starts_with(b": ") || rest.starts_with(b" has ") {
                    return format!("{}{}", client.name, display(rest));
                }
            }
        }
        self.display(raw)
    }

    /// Bytes as the transcript shows them: in names mode, where names and
    /// messages in any script are the point, valid UTF-8 as text; in book
    /// mode, where bytes are the point, every byte past ASCII escaped.
    fn display(&self, bytes: &[u8]) -> String {
        if !self.names {
            return display(bytes);
        }
        let mut out = String::new();
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_ascii() || c.is_control() {
                    let mut buf = [0u8; 4];
                    out.push_str(&display(c.encode_utf8(&mut buf).as_bytes()));
                } else {
                    out.push(c);
                }
            }
            out.push_str(&display(chunk.invalid()));
        }
        out
    }
}

/// What a line did to the client's input.
enum Said {
    /// `/quit`: the server reads no more of it.
    Quit,
    /// Anything else.
    Other,
}

/// The two ends of a private line, `FROM -> TO: TEXT`.
pub fn private_ends(line: &str) -> Option<(&str, &str)> {
    let (from, rest) = line.split_once(" -> ")?;
    let (to, _) = rest.split_once(": ")?;
    let is_name = |name: &str| !name.is_empty() && !name.contains([' ', ':']);
    (is_name(from) && is_name(to)).then_some((from, to))
}

/// Bytes as printable text: printable ASCII as is, `\` doubled, anything
/// else escaped (`\r`, `\t`, `\0`, `\xff`), so a snapshot shows wire bytes.
pub fn display(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0 => out.push_str("\\0"),
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out
}
