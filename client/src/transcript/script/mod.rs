//! The script format of `tests/scripts/*.chat`: one step a line.
//!
//! ```text
//! # comments start with '#'
//! set max-line 10            settings, before the first step
//! set send-queue 4096
//! set idle-timeout 200ms
//! set max-connections 2
//! set max-per-address 2
//! set line-timeout 300ms
//! set rate 5/1s              flood control (`off`: none, names mode's
//! set burst 20               default otherwise)
//! set history 3              newcomers get the last 3 messages
//! set mode names             names mode (`chat --names`); the default is
//!                            `book`
//! set naming-timeout 200ms   names mode's time to choose a name
//! set servers 2              two servers serve one room through Redis
//!                            (the `redis` feature; default 1, no Redis)
//! set tls on                 the server speaks TLS with a certificate made
//!                            for the script, and every client connects
//!                            over TLS trusting only it (default `off`)
//! server binary              play against the built `chat` binary
//!
//! connect alice              a client connects (and is greeted); in names
//!                            mode it is asked its name and answers `alice`
//! connect-unnamed x          names mode: a client connects and is asked
//!                            its name; each line it says is a try
//! connect-rejected dave       a client connects and is turned away
//! connect bob via web        any connect, on the page's WebSocket (`/ws`
//!                            of `--http`) instead of TCP (`via tcp`, the
//!                            default); see `wire` for what each step
//!                            means there
//! connect bob @2             any connect, to server 2 of `set servers`
//!                            (`@1`, the default, is the first); with
//!                            `via web`, that server's page
//! alice: Hi!                 alice says a line ("Hi!" and "\n")
//! send alice "a\r\nb"        raw bytes, escapes \r \n \t \0 \\ \" \xHH, no
//!                            newline implied
//! half-close alice           end of alice's input; she still reads
//! close alice                alice closes her socket
//! reset alice                alice resets her connection (RST)
//! stop-reading bob           bob stops reading what the server sends
//! resume-reading bob         and reads again
//! flood alice "text" until bob leaves
//!                            alice says "text" again and again until the
//!                            server cuts bob off
//! expect alice "line"        alice receives this line next, where counting
//!                            lines is not enough
//! wait-closed alice          the server closes alice's connection (an idle
//!                            timeout, say); whatever it sends first is kept
//! & half-close alice         `&` first: done right after the step before,
//!                            without waiting for that step's lines to arrive
//! ```

mod settings;
mod words;

use settings::parse_setting;
pub use settings::Settings;
pub use words::parse_duration;
use words::{is_name, parse_quoted};

/// A parsed script.
#[derive(Debug, Default)]
pub struct Script {
    /// Server settings from the header.
    pub settings: Settings,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Script {
    /// Whether a client of the script connects via the page's WebSocket:
    /// then the server must serve the page too, or the script be skipped.
    pub fn uses_web(&self) -> bool {
        self.steps.iter().any(|step| {
            step.action
                .place()
                .is_some_and(|place| place.via == Via::Web)
        })
    }
}

/// One line of a script.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step as written, for the transcript and error messages.
    pub source: String,
    /// Its line number in the script.
    pub line: usize,
    /// The client acting.
    pub client: String,
    /// Done right after the previous step, without waiting for its effect.
    pub chained: bool,
    /// What it does.
    pub action: Action,
}

/// How a client reaches the server: a script says it once, where the
/// client connects, and every later step follows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Via {
    /// The chat's own TCP address, as `nc` does.
    #[default]
    Tcp,
    /// The page's WebSocket, as a browser does: lines are frames.
    Web,
}

/// Where a client connects: a script says it once, in the client's
/// `connect`, and every later step of the client goes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Which server, 1 to `set servers` (`@K`; 1 unless said).
    pub server: usize,
    /// By which transport (`via web`; TCP unless said).
    pub via: Via,
}

impl Default for Place {
    fn default() -> Self {
        Place {
            server: 1,
            via: Via::Tcp,
        }
    }
}

/// What a client does in a step.
#[derive(Debug, Clone)]
pub enum Action {
    Connect(Place),
    ConnectUnnamed(Place),
    ConnectRejected(Place),
    Send(Vec<u8>),
    HalfClose,
    Close,
    Reset,
    StopReading,
    ResumeReading,
    Flood { text: Vec<u8>, victim: String },
    Expect(Vec<u8>),
    WaitClosed,
}

impl Action {
    /// Where a connect step connects; `None` for any other step.
    pub fn place(&self) -> Option<Place> {
        match self {
            Action::Connect(place)
            | Action::ConnectUnnamed(place)
            | Action::ConnectRejected(place) => Some(*place),
            _ => None,
        }
    }
}

/// Parses a whole script; errors name the line.
pub fn parse(text: &str) -> Result<Script, String> {
    let mut script = Script::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let source = raw.trim();
        if source.is_empty() || source.starts_with('#') {
            continue;
        }
        let fail = |why: &str| format!("line {line}: {why}: {source:?}");
        if let Some(setting) = source.strip_prefix("set ") {
            if !script.steps.is_empty() {
                return Err(fail("settings come before the first step"));
            }
            parse_setting(&mut script.settings, setting).map_err(|why| fail(&why))?;
            continue;
        }
        if source == "server binary" {
            script.settings.binary = true;
            continue;
        }
        let (chained, body) = match source.strip_prefix("& ") {
            Some(body) => (true, body.trim()),
            None => (false, source),
        };
        if chained && script.steps.is_empty() {
            return Err(fail("the first step cannot be chained with '&'"));
        }
        let (client, action) = parse_step(body).map_err(|why| fail(&why))?;
        if !is_name(&client) {
            return Err(fail("a client name is letters, digits, '-' or '_'"));
        }
        if let Some(place) = action.place() {
            let servers = script.settings.servers();
            if place.server > servers {
                return Err(fail(&format!(
                    "no server @{}: the script has {servers} (set servers N)",
                    place.server
                )));
            }
        }
        script.steps.push(Step {
            source: source.to_string(),
            line,
            client,
            chained,
            action,
        });
    }
    if script.settings.tls && script.uses_web() {
        // The page over TLS is HTTPS and `wss://`, which `wire`'s
        // WebSocket client does not speak.
        return Err(
            "set tls on: a client via web would need wss://, which transcript \
                    does not speak; connect over TCP"
                .into(),
        );
    }
    Ok(script)
}

fn parse_step(source: &str) -> Result<(String, Action), String> {
    if let Some((name, text)) = source.split_once(':') {
        if is_name(name) {
            let text = text.strip_prefix(' ').unwrap_or(text);
            let mut bytes = text.as_bytes().to_vec();
            bytes.push(b'\n');
            return Ok((name.to_string(), Action::Send(bytes)));
        }
    }
    let mut words = source.splitn(3, ' ');
    let verb = words.next().unwrap_or_default();
    let name = words.next().ok_or("expected a client name")?.to_string();
    let rest = words.next().unwrap_or("").trim();
    let no_rest = |action: Action| {
        if rest.is_empty() {
            Ok(action)
        } else {
            Err(format!("unexpected {rest:?}"))
        }
    };
    let action = match verb {
        "connect" => Action::Connect(parse_place(rest)?),
        "connect-unnamed" => Action::ConnectUnnamed(parse_place(rest)?),
        "connect-rejected" => Action::ConnectRejected(parse_place(rest)?),
        "half-close" => no_rest(Action::HalfClose)?,
        "close" => no_rest(Action::Close)?,
        "reset" => no_rest(Action::Reset)?,
        "stop-reading" => no_rest(Action::StopReading)?,
        "resume-reading" => no_rest(Action::ResumeReading)?,
        "wait-closed" => no_rest(Action::WaitClosed)?,
        "send" => {
            let (bytes, tail) = parse_quoted(rest)?;
            if !tail.is_empty() {
                return Err(format!("unexpected {tail:?}"));
            }
            Action::Send(bytes)
        }
        "expect" => {
            let (bytes, tail) = parse_quoted(rest)?;
            if !tail.is_empty() {
                return Err(format!("unexpected {tail:?}"));
            }
            Action::Expect(bytes)
        }
        "flood" => {
            let (text, tail) = parse_quoted(rest)?;
            let victim = tail
                .strip_prefix("until ")
                .and_then(|tail| tail.strip_suffix(" leaves"))
                .ok_or("expected: flood NAME \"TEXT\" until OTHER leaves")?;
            Action::Flood {
                text,
                victim: victim.to_string(),
            }
        }
        _ => return Err(format!("unknown step {verb:?}")),
    };
    Ok((name, action))
}

/// What follows a connect's client name: `@K` and `via web` (or `via
/// tcp`), each at most once, in either order.
fn parse_place(rest: &str) -> Result<Place, String> {
    let mut place = Place::default();
    let (mut server, mut via) = (false, false);
    let mut words = rest.split_whitespace();
    while let Some(word) = words.next() {
        if let Some(number) = word.strip_prefix('@') {
            if std::mem::replace(&mut server, true) {
                return Err(format!("a second server {word:?}"));
            }
            place.server = number
                .parse()
                .ok()
                .filter(|&number| number >= 1)
                .ok_or_else(|| format!("bad server {word:?}: @1, @2, ..."))?;
        } else if word == "via" {
            if std::mem::replace(&mut via, true) {
                return Err("a second 'via'".into());
            }
            place.via = match words.next() {
                Some("tcp") => Via::Tcp,
                Some("web") => Via::Web,
                other => {
                    return Err(format!(
                        "unexpected {:?}: 'via web' or 'via tcp'",
                        other.unwrap_or_default()
                    ))
                }
            };
        } else {
            return Err(format!(
                "unexpected {word:?}: '@K' (a server) or 'via web' or 'via tcp'"
            ));
        }
    }
    Ok(place)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_step() {
        let script = parse(
            "# c\nset max-line 10\nconnect a\na: Hi!\na:\nsend a \"x\\r\\n\\xff\\0\\\"\"\n\
             flood a \"t\" until b leaves\nexpect a \"e\"\nhalf-close a\n",
        )
        .unwrap();
        assert_eq!(script.settings.max_line, Some(10));
        assert_eq!(script.steps.len(), 7);
        match &script.steps[3].action {
            Action::Send(bytes) => assert_eq!(bytes, b"x\r\n\xff\0\""),
            other => panic!("{other:?}"),
        }
        match &script.steps[2].action {
            Action::Send(bytes) => assert_eq!(bytes, b"\n"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_nonsense_with_the_line_number() {
        assert!(parse("connect a\nfrobnicate a\n")
            .unwrap_err()
            .starts_with("line 2:"));
        assert!(parse("send a \"unterminated\n").is_err());
        assert!(parse("connect a\nset max-line 3\n").is_err());
        assert!(parse("connect a via pigeon\n")
            .unwrap_err()
            .starts_with("line 1:"));
    }

    #[test]
    fn connects_say_their_transport() {
        let script = parse(
            "connect a\nconnect b via web\nconnect-unnamed c via tcp\n\
             connect-rejected d via web\n",
        )
        .unwrap();
        let vias: Vec<Via> = script
            .steps
            .iter()
            .map(|step| step.action.place().expect("a connect").via)
            .collect();
        assert_eq!(vias, [Via::Tcp, Via::Web, Via::Tcp, Via::Web]);
        assert!(script.uses_web());
        assert!(!parse("connect a\n").unwrap().uses_web());
    }

    #[test]
    fn connects_say_their_server() {
        let script = parse(
            "set servers 3\nconnect a\nconnect b @2\nconnect-unnamed c @3 via web\n\
             connect-rejected d via tcp @2\n",
        )
        .unwrap();
        assert_eq!(script.settings.servers(), 3);
        let places: Vec<(usize, Via)> = script
            .steps
            .iter()
            .map(|step| step.action.place().expect("a connect"))
            .map(|place| (place.server, place.via))
            .collect();
        assert_eq!(
            places,
            [(1, Via::Tcp), (2, Via::Tcp), (3, Via::Web), (2, Via::Tcp)]
        );
        assert_eq!(parse("connect a\n").unwrap().settings.servers(), 1);
    }

    #[test]
    fn a_server_must_exist() {
        let error = parse("set servers 2\nconnect a @3\n").unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
        assert!(error.contains("no server @3"), "{error}");
        assert!(parse("connect a @2\n").is_err());
        assert!(parse("set servers 2\nconnect a @0\n").is_err());
        assert!(parse("set servers 2\nconnect a @2 @1\n").is_err());
        assert!(parse("set servers 0\n").is_err());
        assert!(parse("set servers 2\nconnect a @2 via\n").is_err());
    }

    #[test]
    fn tls_is_on_or_off_and_not_for_the_page() {
        assert!(parse("set tls on\nconnect a\n").unwrap().settings.tls);
        assert!(!parse("set tls off\nconnect a\n").unwrap().settings.tls);
        assert!(!parse("connect a\n").unwrap().settings.tls);
        assert!(parse("set tls yes\n").is_err());
        let error = parse("set tls on\nconnect a via web\n").unwrap_err();
        assert!(error.contains("wss://"), "{error}");
    }
}
