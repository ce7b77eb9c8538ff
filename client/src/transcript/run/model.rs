//! The model of the protocol: what a connect, a line, a command or a leave
//! owes whom, as the server is to send it.

use chat::command::{self, Command};
use chat::names::share_a_key;

use super::StepRecord;
use super::{display, Client, ClientRecord, Runner};
use crate::script::{Action, Place, Via};
use crate::wire::Wire;

impl Runner {
    /// A step that ends a connection, or its input.
    pub(super) fn end_step(
        &mut self,
        who: usize,
        action: &Action,
        record: &mut StepRecord,
    ) -> Result<(), String> {
        match action {
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
            Action::WaitClosed => {
                self.drain_to_end(who, record, true)?;
                let client = &mut self.clients[who];
                client.input_open = false;
                client.pending.clear();
                client.record.ending = "closed by the server".into();
                self.leave(who);
                self.clients[who].closing = false;
            }
            _ => {}
        }
        Ok(())
    }

    /// Connects a new client to a `place` (a server, by a transport): it
    /// is owed its greeting, the members, on every server, its arrival;
    /// then it is a member. Only a client that expects it (`rejected`) may
    /// have its WebSocket handshake refused.
    pub(super) fn connect(
        &mut self,
        name: &str,
        place: Place,
        rejected: bool,
    ) -> Result<(), String> {
        if self.by_name.contains_key(name) {
            return Err(format!("{name} is already connected"));
        }
        let server = self
            .servers
            .get(place.server - 1)
            .ok_or_else(|| format!("there is no server @{}", place.server))?;
        let mut ending = String::new();
        let (wire, addr) = match place.via {
            Via::Tcp => Wire::tcp(server.chat, server.tls.as_deref(), self.patience)?,
            Via::Web => {
                let page = server.page.ok_or("the server serves no page")?;
                let (wire, addr, refusal) = Wire::web(page, self.patience)?;
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

    pub(super) fn open_input(&self, who: usize) -> Result<(), String> {
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
    pub(super) fn write(&mut self, who: usize, bytes: &[u8]) -> Result<(), String> {
        let client = &mut self.clients[who];
        let name = &client.name;
        client
            .wire
            .send(bytes)
            .map_err(|why| format!("{name}: {why}"))
    }

    /// Sends raw bytes and works out, as the server frames them, which lines
    /// they complete.
    pub(super) fn send(&mut self, who: usize, bytes: &[u8]) -> Result<(), String> {
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
    pub(super) fn too_long(&mut self, who: usize) {
        let client = &mut self.clients[who];
        client.pending.clear();
        client.input_open = false;
        client.owed += 1;
        self.leave(who);
    }

    /// The end of a client's input: a pending partial line still counts.
    pub(super) fn end_input(&mut self, who: usize) {
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
    pub(super) fn said(&mut self, who: usize, text: &[u8]) -> Said {
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
        let command = command::parse(text);
        if self.manners.silenced(who, &command) {
            self.clients[who].owed += 1;
            return Said::Other;
        }
        let ignored = self.manners.ignored(who);
        match command {
            Command::Say(text) => {
                let line = format!("{me}: {}", self.display(&text));
                // A line some do not see is no line of the check that
                // everyone sees every line.
                if !ignored {
                    self.clients[who].record.sent.push(line);
                }
                self.broadcast_from(who);
                self.messages += 1;
            }
            Command::Me(_) => {
                self.broadcast_from(who);
                self.messages += 1;
            }
            Command::Ask(ask, arg) => self.ask(who, ask, &arg),
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
            Command::Msg { to, .. } => self.private(who, &to),
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
    pub(super) fn try_name(&mut self, who: usize, text: &[u8]) {
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
        self.clients[who].owed += self.recent() + self.manners.welcome();
        self.manners.joined(who);
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
    pub(super) fn recent(&self) -> usize {
        match self.history.min(self.messages) {
            0 => 0,
            count => count + 1,
        }
    }

    /// Whether a member other than `except` has `name`, or one like it.
    pub(super) fn taken(&self, name: &chat::names::Name, except: Option<usize>) -> bool {
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
    pub(super) fn shown(&self, who: usize) -> String {
        let client = &self.clients[who];
        match &client.chosen {
            Some(name) => self.display(name.shown.as_bytes()),
            None => client.name.clone(),
        }
    }

    /// One line for every member.
    pub(super) fn broadcast(&mut self) {
        for client in self.clients.iter_mut().filter(|c| c.member) {
            client.owed += 1;
        }
    }

    /// The client leaves the audience; the rest are owed its `has left`,
    /// and the server closes its connection after what it is owed.
    pub(super) fn leave(&mut self, who: usize) {
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
        self.manners.left(who);
        self.broadcast();
    }

    /// One line from `who` for every member but those who ignore it.
    pub(super) fn broadcast_from(&mut self, who: usize) {
        for (index, client) in self.clients.iter_mut().enumerate() {
            if client.member && !self.manners.ignores(index, who) {
                client.owed += 1;
            }
        }
    }
}

/// What a line did to the client's input.
pub(super) enum Said {
    /// `/quit`: the server reads no more of it.
    Quit,
    /// Anything else.
    Other,
}
