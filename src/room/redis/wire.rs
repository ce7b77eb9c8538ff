//! The room's events as they travel through Redis: bytes in, bytes out.
//!
//! A message on the room's channel holds one or more events. Each says
//! which server and which of its connections it concerns (so that a
//! server knows its own clients' events when they come back), and carries
//! lines as the bytes they are: a length, then the bytes, never text.
//!
//! An event is its kind (one byte), the length of the rest (four bytes,
//! little-endian), then the rest: the server and the connection (eight
//! bytes each), then the kind's fields. An arrival (and a rename) ends with whether Redis
//! let it claim its name (`1` or `0`) and its place in the room's order of
//! arrivals, [`SEQ_DIGITS`] decimal digits: the bytes that Redis fills in (see `store`), so that it can be sent before either is known.

use crate::command::{self, Command};
use crate::line::Line;
use crate::room::events::Said;

/// The version of this format, held in the room's mode key (see
/// `room::keys`): a server that speaks another is refused at start, so
/// that no server ever reads what it cannot. 1 was the format before the
/// mode key said; 2 added an arrival's and a rename's refusal; 3 the
/// commands of operators and manners.
pub const VERSION: u32 = 3;

/// The digits of an arrival's place, at its end.
pub const SEQ_DIGITS: usize = 20;

/// A client of some server in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The server it is connected to.
    pub server: u64,
    /// Its connection's id on that server.
    pub conn: u64,
}

/// One event of the room, as every server applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client joins: its name (its address in book mode), and its place
    /// in the order of arrivals.
    Arrive {
        /// Who.
        from: Origin,
        /// The name it asked for.
        name: Vec<u8>,
        /// Its place among arrivals (a server that starts late lists the
        /// room in this order).
        seq: u64,
        /// Whether Redis let it claim its name: a name (an address, in book
        /// mode) that another member holds is refused, by every server
        /// alike.
        free: bool,
    },
    /// A client leaves.
    Leave {
        /// Who.
        from: Origin,
    },
    /// A client's rename (`/nick NAME`), and whether Redis let it claim
    /// the name: so that a server replaying the room's past knows whose
    /// name a later line had. The room judges the rename itself, in its
    /// turn, and comes to the same answer.
    Rename {
        /// Who.
        from: Origin,
        /// The name it asked for.
        name: Vec<u8>,
        /// Whether Redis let it claim the name.
        free: bool,
    },
    /// A client's line.
    Said {
        /// Who.
        from: Origin,
        /// What it asks of the room.
        said: Said,
    },
}

/// Why a message from the channel could not be read: it was not written
/// by a `chat` of this version.
#[derive(Debug, PartialEq, Eq)]
pub struct Garbled;

/// Appends `event` to `out`.
pub fn encode(event: &Event, out: &mut Vec<u8>) {
    let start = out.len();
    out.push(0);
    out.extend_from_slice(&[0; 4]);
    let (kind, from) = match event {
        Event::Arrive { from, .. } => (b'A', from),
        Event::Leave { from } => (b'L', from),
        Event::Rename { from, .. } => (b'N', from),
        Event::Said { from, said } => (said_kind(said), from),
    };
    out[start] = kind;
    out.extend_from_slice(&from.server.to_le_bytes());
    out.extend_from_slice(&from.conn.to_le_bytes());
    match event {
        Event::Arrive {
            name, seq, free, ..
        } => {
            bytes(name, out);
            out.push(if *free { b'1' } else { b'0' });
            out.extend_from_slice(format!("{seq:0width$}", width = SEQ_DIGITS).as_bytes());
        }
        Event::Leave { .. } => {}
        Event::Rename { name, free, .. } => {
            bytes(name, out);
            out.push(if *free { b'1' } else { b'0' });
        }
        Event::Said { said, .. } => said_fields(said, out),
    }
    let length = u32::try_from(out.len() - start - 5).unwrap_or(u32::MAX);
    out[start + 1..start + 5].copy_from_slice(&length.to_le_bytes());
}

/// The kind byte of a line's event: one a command.
fn said_kind(said: &Said) -> u8 {
    let Said::Command(command) = said else {
        return b'B';
    };
    match **command {
        Command::Say(_) => b'T',
        Command::Me(_) => b'M',
        Command::Who => b'W',
        Command::Nick(_) => b'N',
        Command::Msg { .. } => b'P',
        Command::Help => b'H',
        Command::Quit => b'Q',
        Command::Usage(_) => b'U',
        Command::Unknown(_) => b'K',
        // One lower-case letter each, in the order of `command::ASKS`.
        Command::Ask(ask, _) => b'a' + ask as u8,
    }
}

/// Appends the fields of a line's event.
fn said_fields(said: &Said, out: &mut Vec<u8>) {
    let Said::Command(command) = said else {
        let Said::Line(line) = said else { return };
        return bytes(line, out);
    };
    match &**command {
        Command::Say(text) | Command::Me(text) | Command::Unknown(text) | Command::Ask(_, text) => {
            bytes(text, out)
        }
        // As a rename that Redis did not see (see [`Event::Rename`]).
        Command::Nick(text) => {
            bytes(text, out);
            out.push(b'0');
        }
        Command::Usage(usage) => bytes(usage.as_bytes(), out),
        Command::Msg { to, text } => {
            bytes(to, out);
            bytes(text, out);
        }
        Command::Who | Command::Help | Command::Quit => {}
    }
}

/// Appends `field` with its length.
fn bytes(field: &[u8], out: &mut Vec<u8>) {
    let length = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(field);
}

/// Every event of one message, in order.
pub fn decode(mut message: &[u8]) -> Result<Vec<Event>, Garbled> {
    let mut events = Vec::new();
    while !message.is_empty() {
        let mut reader = Reader(message);
        let kind = reader.take(1)?[0];
        let length = reader.u32()? as usize;
        let mut body = Reader(reader.take(length)?);
        message = reader.0;
        let from = Origin {
            server: body.u64()?,
            conn: body.u64()?,
        };
        let event = match kind {
            b'A' => {
                let name = body.field()?;
                let free = flag(body.take(1)?)?;
                let seq = std::str::from_utf8(body.take(SEQ_DIGITS)?)
                    .ok()
                    .and_then(|digits| digits.parse().ok())
                    .ok_or(Garbled)?;
                Event::Arrive {
                    from,
                    name,
                    seq,
                    free,
                }
            }
            b'L' => Event::Leave { from },
            b'N' => Event::Rename {
                from,
                name: body.field()?,
                free: flag(body.take(1)?)?,
            },
            b'B' => Event::Said {
                from,
                said: Said::Line(Line::new(body.field()?)),
            },
            kind => Event::Said {
                from,
                said: Said::Command(Box::new(read_command(kind, &mut body)?)),
            },
        };
        if !body.0.is_empty() {
            return Err(Garbled);
        }
        events.push(event);
    }
    Ok(events)
}

/// The command of kind `kind`, its fields read from `body`.
fn read_command(kind: u8, body: &mut Reader<'_>) -> Result<Command, Garbled> {
    Ok(match kind {
        b'T' => Command::Say(body.field()?),
        b'M' => Command::Me(body.field()?),
        b'W' => Command::Who,
        b'P' => Command::Msg {
            to: body.field()?,
            text: body.field()?,
        },
        b'H' => Command::Help,
        b'Q' => Command::Quit,
        b'U' => Command::Usage(command::known_usage(&body.field()?).ok_or(Garbled)?),
        b'K' => Command::Unknown(body.field()?),
        b'a'..=b'z' => {
            let &(ask, _) = command::ASKS.get(usize::from(kind - b'a')).ok_or(Garbled)?;
            Command::Ask(ask, body.field()?)
        }
        _ => return Err(Garbled),
    })
}

/// A flag that Redis fills in: `1` or `0`.
fn flag(byte: &[u8]) -> Result<bool, Garbled> {
    match byte {
        b"1" => Ok(true),
        b"0" => Ok(false),
        _ => Err(Garbled),
    }
}

/// The rest of a message, read from the front.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next `count` bytes.
    fn take(&mut self, count: usize) -> Result<&'a [u8], Garbled> {
        if self.0.len() < count {
            return Err(Garbled);
        }
        let (taken, rest) = self.0.split_at(count);
        self.0 = rest;
        Ok(taken)
    }

    /// A little-endian `u32`.
    fn u32(&mut self) -> Result<u32, Garbled> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A little-endian `u64`.
    fn u64(&mut self) -> Result<u64, Garbled> {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(bytes))
    }

    /// A field with its length.
    fn field(&mut self) -> Result<Vec<u8>, Garbled> {
        let length = self.u32()? as usize;
        Ok(self.take(length)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..64)
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            bytes().prop_map(Command::Say),
            bytes().prop_map(Command::Me),
            Just(Command::Who),
            (bytes(), bytes()).prop_map(|(to, text)| Command::Msg { to, text }),
            Just(Command::Help),
            Just(Command::Quit),
            proptest::sample::select(command::USAGES.to_vec()).prop_map(Command::Usage),
            bytes().prop_map(Command::Unknown),
            (proptest::sample::select(command::ASKS.to_vec()), bytes())
                .prop_map(|((ask, _), arg)| Command::Ask(ask, arg)),
        ]
    }

    fn said() -> impl Strategy<Value = Said> {
        prop_oneof![
            bytes().prop_map(|mut line| {
                line.push(b'\n');
                Said::Line(Line::new(line))
            }),
            command().prop_map(|command| Said::Command(Box::new(command))),
        ]
    }

    fn event() -> impl Strategy<Value = Event> {
        let from = (any::<u64>(), any::<u64>()).prop_map(|(server, conn)| Origin { server, conn });
        prop_oneof![
            (from.clone(), bytes(), any::<u64>(), any::<bool>()).prop_map(
                |(from, name, seq, free)| Event::Arrive {
                    from,
                    name,
                    seq,
                    free
                }
            ),
            from.clone().prop_map(|from| Event::Leave { from }),
            (from.clone(), bytes(), any::<bool>()).prop_map(|(from, name, free)| Event::Rename {
                from,
                name,
                free
            }),
            (from, said()).prop_map(|(from, said)| Event::Said { from, said }),
        ]
    }

    proptest! {
        #[test]
        fn any_events_come_back_as_they_went(events in proptest::collection::vec(event(), 0..8)) {
            let mut message = Vec::new();
            for event in &events {
                encode(event, &mut message);
            }
            prop_assert_eq!(decode(&message), Ok(events));
        }

        #[test]
        fn any_bytes_are_read_or_refused_never_a_panic(message in bytes()) {
            let _ = decode(&message);
        }

        #[test]
        fn a_message_cut_short_is_refused(event in event(), cut in 1usize..8) {
            let mut message = Vec::new();
            encode(&event, &mut message);
            let cut = message.len().saturating_sub(cut);
            prop_assert_eq!(decode(&message[..cut]), Err(Garbled));
        }
    }

    #[test]
    fn an_arrivals_place_is_its_last_digits() {
        let mut message = Vec::new();
        let from = Origin { server: 1, conn: 2 };
        encode(
            &Event::Arrive {
                from,
                name: b"alice".to_vec(),
                seq: 0,
                free: true,
            },
            &mut message,
        );
        let placed = [
            &message[..message.len() - 1 - SEQ_DIGITS],
            b"000000000000000000042",
        ]
        .concat();
        assert_eq!(
            decode(&placed),
            Ok(vec![Event::Arrive {
                from,
                name: b"alice".to_vec(),
                seq: 42,
                free: false,
            }])
        );
    }
}
