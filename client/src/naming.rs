//! `--name`: answering the server's `What is your name?` for the user.
//!
//! A server in names mode asks every newcomer its name, and asks again
//! after each refusal. `--name` answers the first question, and only the
//! first: a name that is taken or invalid will not become free by being
//! sent again, so the next try is the user's to make (at a terminal they
//! type it) or nobody's (in a pipe the client gives up, see `handshake`).
//! A server that greets with `You are ...` without asking has no names
//! mode, so the name cannot be used, and the user is told so rather than
//! left to wonder why nobody sees it.
//!
//! Pure: this only says what each of the server's lines means for the
//! name; the pipe and the terminal act on it.

/// The server's question, the first line it sends in names mode.
pub const QUESTION: &[u8] = b"What is your name?";

/// What the user is told when a server without names mode is given a name.
pub const NO_NAMES_MODE: &str = "the server has no names mode; --name ignored";

/// Where the name stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not asked yet.
    Waiting,
    /// Sent; the server is judging it.
    Answered,
    /// Accepted, refused, or no name to give: nothing more to do.
    Settled,
}

/// The name to give, and how far its giving has gone.
pub struct Naming {
    name: String,
    state: State,
}

/// What one of the server's lines means for the name.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Nothing: show the line as any other.
    Pass,
    /// The question: send this name, and do not show the question, which
    /// the user did not ask to see.
    Answer(String),
    /// The name was refused: why, as the server said it after `error: `
    /// (empty if it simply asked again). The line is the server's to show.
    Refused(&'a [u8]),
    /// `You are NAME` after the answer: the name is taken. Show the line.
    Accepted,
    /// `You are ...` without a question: no names mode. Warn, and show
    /// the line.
    NoNamesMode,
}

impl Naming {
    /// Naming with `name`, or with none: then every line passes.
    pub fn new(name: Option<String>) -> Self {
        match name {
            Some(name) => Naming {
                name,
                state: State::Waiting,
            },
            None => Naming {
                name: String::new(),
                state: State::Settled,
            },
        }
    }

    /// What `line` (without its `\n`) means for the name.
    pub fn step<'a>(&mut self, line: &'a [u8]) -> Step<'a> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let greeted = line.starts_with(b"You are ");
        let (state, step) = match self.state {
            State::Settled => (State::Settled, Step::Pass),
            State::Waiting if line == QUESTION => {
                (State::Answered, Step::Answer(self.name.clone()))
            }
            State::Waiting if greeted => (State::Settled, Step::NoNamesMode),
            State::Waiting => (State::Waiting, Step::Pass),
            State::Answered if greeted => (State::Settled, Step::Accepted),
            State::Answered if line == QUESTION => (State::Settled, Step::Refused(b"")),
            State::Answered => match line.strip_prefix(b"error: ") {
                Some(why) => (State::Settled, Step::Refused(why)),
                None => (State::Answered, Step::Pass),
            },
        };
        self.state = state;
        step
    }

    /// Whether the name's fate is known (or there is no name): from here
    /// on every line passes.
    pub fn settled(&self) -> bool {
        self.state == State::Settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps<'a>(name: Option<&str>, lines: &[&'a str]) -> Vec<Step<'a>> {
        let mut naming = Naming::new(name.map(str::to_string));
        lines
            .iter()
            .map(|line| naming.step(line.as_bytes()))
            .collect()
    }

    #[test]
    fn the_first_question_is_answered_once() {
        assert_eq!(
            steps(
                Some("alice"),
                &["What is your name?", "You are alice", "What is your name?"]
            ),
            [Step::Answer("alice".into()), Step::Accepted, Step::Pass]
        );
    }

    #[test]
    fn a_refusal_says_why_and_the_next_question_is_shown() {
        assert_eq!(
            steps(
                Some("ace"),
                &[
                    "What is your name?",
                    "error: ace is taken",
                    "What is your name?",
                    "You are ace2",
                ]
            ),
            [
                Step::Answer("ace".into()),
                Step::Refused(b"ace is taken"),
                Step::Pass,
                Step::Pass,
            ]
        );
        // Asked again without a reason: refused all the same.
        assert_eq!(
            steps(Some("x"), &["What is your name?\r", "What is your name?"]),
            [Step::Answer("x".into()), Step::Refused(b"")]
        );
    }

    #[test]
    fn a_greeting_without_a_question_is_book_mode() {
        let mut naming = Naming::new(Some("alice".into()));
        assert_eq!(naming.step(b"You are 127.0.0.1:5"), Step::NoNamesMode);
        assert!(naming.settled());
        assert_eq!(naming.step(b"What is your name?"), Step::Pass);
    }

    #[test]
    fn other_lines_pass_and_without_a_name_all_do() {
        assert_eq!(
            steps(Some("a"), &["error: server full"]),
            [Step::Pass],
            "an error before the question is not about the name"
        );
        assert!(!Naming::new(Some("a".into())).settled());
        assert!(Naming::new(None).settled());
        assert_eq!(
            steps(None, &["What is your name?", "You are 1.2.3.4:5"]),
            [Step::Pass, Step::Pass]
        );
    }
}
