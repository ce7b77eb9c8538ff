//! Reading what the model says is owed: every line a client is owed,
//! nothing more, the server's closes; and the end of the script.

use super::{display, private_ends, Runner, StepRecord};
use crate::wire::Got;

/// The most lines a `flood` step sends before giving up on its victim.
const FLOOD_LIMIT: usize = 200_000;

impl Runner {
    /// `who` says `text` again and again until the server cuts `victim` off.
    pub(super) fn flood(
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
    pub(super) fn settle(&mut self, record: &mut StepRecord) -> Result<(), String> {
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
    pub(super) fn read_line(
        &mut self,
        index: usize,
        record: &mut StepRecord,
    ) -> Result<String, String> {
        let client = &mut self.clients[index];
        let name = client.name.clone();
        if !client.wire.readable() {
            return Err(format!("{name} is not connected"));
        }
        match client.wire.receive() {
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
    pub(super) fn record_line(
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
    pub(super) fn drain_to_end(
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
                match self.clients[index].wire.receive() {
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
    pub(super) fn finish(&mut self) -> Result<(), String> {
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
            let settled = self.settle(&mut record);
            self.steps.push(record);
            settled?;
        }
        Ok(())
    }

    /// The line with the addresses of our clients replaced by their names.
    pub(super) fn name_addresses(&self, raw: &[u8]) -> String {
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
    pub(super) fn display(&self, bytes: &[u8]) -> String {
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
