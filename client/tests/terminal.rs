//! `client` at a terminal, driven under a pseudo-terminal whose output is
//! rendered by a terminal emulator (vt100): what a person would see.

mod common;

use common::start_server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

/// How long to wait for what must appear.
const PATIENCE: Duration = Duration::from_secs(20);

const ROWS: u16 = 12;
const COLS: u16 = 80;

/// The chat server on a free loopback port, in this process, and what
/// shuts it down gracefully when dropped.
fn start_stoppable_server() -> (SocketAddr, async_channel::Sender<()>) {
    let listener = chat::listen("127.0.0.1:0".parse().unwrap()).expect("listen");
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = async_channel::bounded::<()>(1);
    thread::spawn(move || {
        smol::block_on(chat::serve(listener, chat::Config::default(), async move {
            let _ = stopped.recv().await;
        }))
    });
    (addr, stop)
}

/// `client` running in a pseudo-terminal.
struct Terminal {
    parser: Arc<Mutex<vt100::Parser>>,
    keyboard: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    /// Set once everything the client wrote has reached `parser`.
    output_ended: Arc<AtomicBool>,
}

impl Terminal {
    fn start(addr: SocketAddr, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_client"));
        command.args(extra);
        command.arg(addr.to_string());
        command.env("TERM", "xterm-256color");
        command.env_remove("NO_COLOR");
        for (key, value) in env {
            command.env(key, value);
        }
        let child = pty.slave.spawn_command(command).expect("start client");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let mut output = pty.master.try_clone_reader().unwrap();
        let screen = parser.clone();
        let output_ended = Arc::new(AtomicBool::new(false));
        let ended = output_ended.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // The read fails (EIO) once the client, the last holder of the
            // pty's other end, has exited.
            while let Ok(count @ 1..) = output.read(&mut buf) {
                screen.lock().unwrap().process(&buf[..count]);
            }
            ended.store(true, Ordering::SeqCst);
        });
        let keyboard = pty.master.take_writer().unwrap();
        Terminal {
            parser,
            keyboard,
            child,
            master: pty.master,
            output_ended,
        }
    }

    fn typed(&mut self, keys: &str) {
        self.keyboard.write_all(keys.as_bytes()).unwrap();
        self.keyboard.flush().unwrap();
    }

    /// The screen's rows, as text.
    fn rows(&self) -> Vec<String> {
        let parser = self.parser.lock().unwrap();
        parser.screen().rows(0, COLS).collect()
    }

    /// Waits until `ready` holds for the screen.
    fn wait_for(&self, what: &str, ready: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if ready(self.parser.lock().unwrap().screen()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {what}; the screen:\n{}",
                self.rows().join("\n")
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_for_text(&self, text: &str) {
        self.wait_for(text, |screen| screen.contents().contains(text));
    }

    /// The colour and dimness of the first row that holds `text`, read
    /// from its first cell.
    fn style_of(&self, text: &str) -> (vt100::Color, bool) {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let row = screen
            .rows(0, COLS)
            .position(|row| row.contains(text))
            .unwrap_or_else(|| panic!("no {text:?} on the screen"));
        let cell = screen.cell(row as u16, 0).unwrap();
        (cell.fgcolor(), cell.dim())
    }

    /// The row the cursor is on: the prompt line.
    fn prompt_row(&self) -> String {
        let parser = self.parser.lock().unwrap();
        let (row, _) = parser.screen().cursor_position();
        let line = parser
            .screen()
            .rows(0, COLS)
            .nth(row as usize)
            .unwrap_or_default();
        line
    }

    /// The client's name, from its greeting.
    fn name(&self) -> String {
        self.wait_for_text("You are ");
        let contents = self.parser.lock().unwrap().screen().contents();
        let line = contents
            .lines()
            .find(|l| l.starts_with("You are "))
            .unwrap();
        line.trim_start_matches("You are ").trim().to_string()
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "client did not exit");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Terminal {
    /// Waits until the cursor's row reads `text` (trailing blanks aside)
    /// with the cursor in column `col`: a prompt line fully drawn.
    fn wait_for_prompt(&self, text: &str, col: u16) {
        self.wait_for(&format!("{text:?} with the cursor at {col}"), |screen| {
            let (row, at) = screen.cursor_position();
            let line = screen.rows(0, COLS).nth(usize::from(row));
            at == col && line.is_some_and(|line| line.trim_end() == text)
        });
    }

    /// Waits until the client has exited and all it wrote is on the screen:
    /// the screen it leaves behind.
    fn wait_exit_and_output(&mut self) -> portable_pty::ExitStatus {
        let status = self.wait_exit();
        let ended = self.output_ended.clone();
        self.wait_for("the end of the client's output", |_| {
            ended.load(Ordering::SeqCst)
        });
        status
    }

    /// Asserts that the terminal is back in its ordinary (cooked) mode:
    /// lines edited by the terminal, echoed, Ctrl-C a signal.
    fn assert_cooked(&self) {
        use nix::sys::termios::LocalFlags;
        let termios = self.master.get_termios().expect("the pty's settings");
        let cooked = LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG;
        assert!(
            termios.local_flags.contains(cooked),
            "the terminal is left in raw mode: {:?}",
            termios.local_flags
        );
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A plain peer: says lines, reads lines.
fn peer(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>, String) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let name = stream.local_addr().unwrap().to_string();
    (stream.try_clone().unwrap(), BufReader::new(stream), name)
}

/// A peer in names mode, named `name`: says lines, reads lines.
fn named_peer(addr: SocketAddr, name: &str) -> (TcpStream, BufReader<TcpStream>) {
    let (mut writer, mut reader, _) = peer(addr);
    read_until(&mut reader, "What is your name?");
    writer.write_all(format!("{name}\n").as_bytes()).unwrap();
    read_until(&mut reader, &format!("You are {name}"));
    (writer, reader)
}

fn read_until(reader: &mut BufReader<TcpStream>, wanted: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("a line");
        assert!(!line.is_empty(), "connection ended before {wanted:?}");
        if line.trim_end_matches('\n') == wanted {
            return;
        }
    }
}

#[test]
fn a_message_arriving_while_you_type_goes_above_your_line() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &["--color", "never"], &[]);
    let me = terminal.name();
    terminal.typed("half a li");
    terminal.wait_for("the typed text", |screen| {
        screen.contents().contains("> half a li")
    });

    let (mut writer, mut reader, other) = peer(addr);
    writer.write_all(b"hello there\n").unwrap();
    let message = format!("{other}: hello there");
    terminal.wait_for_text(&message);
    let rows = terminal.rows();
    let message_row = rows.iter().position(|row| row.contains(&message)).unwrap();
    let prompt_row = rows.iter().position(|row| row.starts_with("> ")).unwrap();
    assert!(
        message_row < prompt_row,
        "the message is above the prompt:\n{rows:#?}"
    );
    assert_eq!(terminal.prompt_row().trim_end(), "> half a li");

    terminal.typed("ne\r");
    read_until(&mut reader, &format!("{me}: half a line"));
    terminal.wait_for_text(&format!("{me}: half a line"));
}

#[test]
fn a_peers_escape_sequences_are_shown_not_obeyed() {
    let addr = start_server(false);
    let terminal = Terminal::start(addr, &["--color", "never"], &[]);
    terminal.name();
    let (mut writer, _reader, other) = peer(addr);
    writer
        .write_all("\x1b[2J\x1b]0;pwned\x07\x1b[31mred caf\u{e9}\n".as_bytes())
        .unwrap();
    // (Invalid UTF-8 becomes U+FFFD: see the unit tests; vt100 does not
    // keep that character on its screen.)
    terminal.wait_for_text(&format!("{other}: ^[[2J^[]0;pwned^G^[[31mred caf\u{e9}"));
    let contents = terminal.parser.lock().unwrap().screen().contents();
    // Nothing was cleared: the screen still shows the greeting.
    assert!(contents.contains("You are "), "{contents}");
}

#[test]
fn ctrl_d_ends_input_and_the_client_exits_when_the_server_closes() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &["--color", "never"], &[]);
    let me = terminal.name();
    let (_writer, mut reader, _) = peer(addr);
    terminal.wait_for_text("has arrived");
    terminal.typed("bye\r");
    terminal.typed("\x04");
    read_until(&mut reader, &format!("{me}: bye"));
    read_until(&mut reader, &format!("{me} has left"));
    assert!(terminal.wait_exit_and_output().success());
    terminal.assert_cooked();
    // The typed line was shown once: as the server's echo.
    let contents = terminal.parser.lock().unwrap().screen().contents();
    assert_eq!(contents.matches("bye").count(), 1, "{contents}");
}

#[test]
fn ctrl_d_on_a_typed_line_keeps_it() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &["--color", "never"], &[]);
    let me = terminal.name();
    let (_writer, mut reader, _) = peer(addr);
    terminal.wait_for_text("has arrived");
    terminal.typed("unsent text");
    terminal.wait_for("the typed text", |screen| {
        screen.contents().contains("> unsent text")
    });
    // Readline's Ctrl-D: at the end of a line there is nothing to delete,
    // and input goes on. (The left arrow after it shows when it is done.)
    terminal.typed("\x04\x1b[D");
    terminal.wait_for_prompt("> unsent text", 12);
    // So Enter still sends the line.
    terminal.typed("\r");
    read_until(&mut reader, &format!("{me}: unsent text"));
    terminal.wait_for_text(&format!("{me}: unsent text"));
    terminal.wait_for_prompt(">", 2);
    assert!(
        terminal.child.try_wait().unwrap().is_none(),
        "client exited"
    );
}

#[test]
fn ctrl_d_mid_line_deletes_the_character_under_the_cursor() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &["--color", "never"], &[]);
    let me = terminal.name();
    let (_writer, mut reader, _) = peer(addr);
    terminal.wait_for_text("has arrived");
    terminal.typed("unsent text");
    terminal.typed("\x1b[D\x1b[D\x1b[D\x04");
    terminal.wait_for("the e deleted", |screen| {
        screen.contents().contains("> unsent txt")
    });
    terminal.typed("\r");
    read_until(&mut reader, &format!("{me}: unsent txt"));
    assert!(
        terminal.child.try_wait().unwrap().is_none(),
        "client exited"
    );
}

#[test]
fn what_you_typed_stays_on_the_screen_when_the_server_closes() {
    let (addr, stop) = start_stoppable_server();
    let mut terminal = Terminal::start(addr, &["--color", "never"], &[]);
    terminal.name();
    terminal.typed("half typed");
    terminal.wait_for("the typed text", |screen| {
        screen.contents().contains("> half typed")
    });
    drop(stop);
    assert!(terminal.wait_exit_and_output().success());
    terminal.assert_cooked();
    let rows = terminal.rows();
    let closed = rows
        .iter()
        .position(|row| row.trim_end() == "(the server closed the connection)")
        .unwrap_or_else(|| panic!("no notice that the server closed: {rows:#?}"));
    assert_eq!(rows[closed + 1].trim_end(), "> half typed", "{rows:#?}");
}

#[test]
fn ctrl_c_quits_with_status_130_and_gives_the_terminal_back() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &["--color", "never"], &[]);
    terminal.name();
    terminal.typed("never sent");
    terminal.wait_for("the typed text", |screen| {
        screen.contents().contains("> never sent")
    });
    terminal.typed("\x03");
    let status = terminal.wait_exit_and_output();
    assert_eq!(status.exit_code(), 130, "{status:?}");
    terminal.assert_cooked();
    // What was typed is still there to copy.
    assert!(terminal
        .rows()
        .iter()
        .any(|row| row.trim_end() == "> never sent"));
}

#[test]
fn a_kill_gives_the_terminal_back_too() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &["--color", "never"], &[]);
    terminal.name();
    terminal.typed("half");
    terminal.wait_for("the typed text", |screen| {
        screen.contents().contains("> half")
    });
    let pid = terminal.child.process_id().expect("the client's pid");
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    let status = terminal.wait_exit_and_output();
    assert_eq!(status.exit_code(), 143, "{status:?}");
    terminal.assert_cooked();
}

#[test]
fn a_dumb_terminal_gets_plain_escaped_lines_without_colour() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &[], &[("TERM", "dumb")]);
    let me = terminal.name();
    let (mut writer, mut reader, other) = peer(addr);
    writer.write_all(b"\x1b[31mred\n").unwrap();
    terminal.wait_for_text(&format!("{other}: ^[[31mred"));
    terminal.typed("plain\r");
    read_until(&mut reader, &format!("{me}: plain"));
    let own = format!("{me}: plain");
    terminal.wait_for_text(&own);
    {
        let parser = terminal.parser.lock().unwrap();
        let screen = parser.screen();
        for text in [own.as_str(), "You are "] {
            let row = screen
                .rows(0, COLS)
                .position(|row| row.contains(text))
                .unwrap();
            let cell = screen.cell(row as u16, 0).unwrap();
            assert_eq!(
                (cell.fgcolor(), cell.dim()),
                (vt100::Color::Default, false),
                "{text} is not coloured"
            );
        }
    }
    // Typing is the terminal's own (cooked mode), as in a pipe, and the
    // first Ctrl-D after a line ends input.
    terminal.assert_cooked();
    terminal.typed("\x04");
    read_until(&mut reader, &format!("{me} has left"));
    assert!(terminal.wait_exit_and_output().success());
    terminal.wait_for_text("(the server closed the connection)");
}

#[test]
fn colours_tell_your_lines_from_notices_unless_no_color() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &[], &[]);
    let me = terminal.name();
    terminal.typed("mine\r");
    let own = format!("{me}: mine");
    terminal.wait_for_text(&own);
    let color_of = |terminal: &Terminal, text: &str| {
        let parser = terminal.parser.lock().unwrap();
        let screen = parser.screen();
        let row = screen
            .rows(0, COLS)
            .position(|row| row.contains(text))
            .unwrap();
        let cell = screen.cell(row as u16, 0).unwrap();
        (cell.fgcolor(), cell.dim())
    };
    assert_eq!(color_of(&terminal, &own), (vt100::Color::Idx(2), false));
    assert_eq!(
        color_of(&terminal, "You are "),
        (vt100::Color::Default, true)
    );

    let mut plain = Terminal::start(addr, &[], &[("NO_COLOR", "1")]);
    let plain_me = plain.name();
    plain.typed("plain\r");
    let plain_own = format!("{plain_me}: plain");
    plain.wait_for_text(&plain_own);
    assert_eq!(color_of(&plain, &plain_own), (vt100::Color::Default, false));
}

/// Your own messages' colour.
const OWN: (vt100::Color, bool) = (vt100::Color::Idx(2), false);

#[test]
fn a_given_name_is_answered_without_showing_the_question() {
    let addr = start_server(true);
    let mut terminal = Terminal::start(addr, &["--name", "alice"], &[]);
    terminal.wait_for_text("Nobody else is here");
    assert_eq!(terminal.name(), "alice");
    terminal.typed("hi\r");
    terminal.wait_for_text("alice: hi");
    assert_eq!(terminal.style_of("alice: hi"), OWN);
    let contents = terminal.parser.lock().unwrap().screen().contents();
    assert!(!contents.contains("What is your name?"), "{contents}");
}

#[test]
fn a_refused_name_lets_you_type_another() {
    let addr = start_server(true);
    let (_ace, mut ace_lines) = named_peer(addr, "ace");
    let mut terminal = Terminal::start(addr, &["--name", "ace"], &[]);
    terminal.wait_for_text("error: ace is taken");
    terminal.wait_for_text("What is your name?");
    terminal.wait_for_prompt(">", 2);
    let rows = terminal.rows();
    let error = rows.iter().position(|row| row.starts_with("error: ace"));
    let question = rows.iter().position(|row| row.starts_with("What is"));
    assert!(
        error < question,
        "the reason, then the question:\n{rows:#?}"
    );
    assert_eq!(
        terminal.style_of("error: ace is taken"),
        (vt100::Color::Idx(1), false)
    );

    terminal.typed("ace2\r");
    terminal.wait_for_text("Also here: ace");
    assert_eq!(terminal.name(), "ace2");
    read_until(&mut ace_lines, "ace2 has arrived");
    terminal.typed("here\r");
    read_until(&mut ace_lines, "ace2: here");
    terminal.wait_for_text("ace2: here");
    assert_eq!(terminal.style_of("ace2: here"), OWN);
}

#[test]
fn without_a_name_the_question_is_shown_and_you_type_one() {
    let addr = start_server(true);
    let mut terminal = Terminal::start(addr, &[], &[]);
    terminal.wait_for_text("What is your name?");
    terminal.wait_for_prompt(">", 2);
    terminal.typed("bob\r");
    terminal.wait_for_text("Nobody else is here");
    assert_eq!(terminal.name(), "bob");
    terminal.typed("hello\r");
    terminal.wait_for_text("bob: hello");
    assert_eq!(terminal.style_of("bob: hello"), OWN);
    assert_eq!(
        terminal.style_of("What is your name?"),
        (vt100::Color::Default, true)
    );
}

#[test]
fn actions_and_private_lines_are_coloured_apart_from_messages() {
    let addr = start_server(true);
    let mut terminal = Terminal::start(addr, &["--name", "alice"], &[]);
    terminal.wait_for_text("Nobody else is here");
    let (mut bob, mut bob_lines) = named_peer(addr, "bob");
    bob.write_all(b"plain\n/me waves\n/msg alice psst\n")
        .unwrap();
    terminal.wait_for_text("bob -> alice: psst");
    terminal.typed("/me nods\r");
    terminal.typed("/msg bob hi\r");
    read_until(&mut bob_lines, "alice -> bob: hi");
    terminal.wait_for_text("alice -> bob: hi");

    let message = terminal.style_of("bob: plain");
    let action = terminal.style_of("* bob waves");
    let private = terminal.style_of("bob -> alice: psst");
    assert_eq!(message, (vt100::Color::Default, false));
    assert_eq!(action, (vt100::Color::Idx(5), false));
    assert_eq!(private, (vt100::Color::Idx(6), false));
    assert!(message != action && message != private && action != private);
    // Yours look the same: the kind is what the colour tells.
    assert_eq!(terminal.style_of("* alice nods"), action);
    assert_eq!(terminal.style_of("alice -> bob: hi"), private);
}

#[test]
fn after_a_nick_your_lines_are_still_yours() {
    let addr = start_server(true);
    let mut terminal = Terminal::start(addr, &["--name", "alice"], &[]);
    terminal.wait_for_text("Nobody else is here");
    terminal.typed("/nick alicia\r");
    terminal.wait_for_text("alice is now alicia");
    terminal.typed("mine\r");
    terminal.wait_for_text("alicia: mine");
    assert_eq!(terminal.style_of("alicia: mine"), OWN);
    // The old name is free, and whoever takes it is not you.
    let (mut other, _other_lines) = named_peer(addr, "alice");
    other.write_all(b"not you\n").unwrap();
    terminal.wait_for_text("alice: not you");
    assert_eq!(
        terminal.style_of("alice: not you"),
        (vt100::Color::Default, false)
    );
}

#[test]
fn a_name_for_a_server_without_names_mode_is_a_warning() {
    let addr = start_server(false);
    let mut terminal = Terminal::start(addr, &["--name", "alice"], &[]);
    let me = terminal.name();
    terminal.wait_for_text("client: the server has no names mode; --name ignored");
    terminal.typed("still here\r");
    let own = format!("{me}: still here");
    terminal.wait_for_text(&own);
    assert_eq!(terminal.style_of(&own), OWN);
}

#[test]
fn a_dumb_terminal_answers_the_name_too() {
    let addr = start_server(true);
    let (_bob, mut bob_lines) = named_peer(addr, "bob");
    let mut terminal = Terminal::start(addr, &["--name", "alice"], &[("TERM", "dumb")]);
    terminal.wait_for_text("Also here: bob");
    assert_eq!(terminal.name(), "alice");
    read_until(&mut bob_lines, "alice has arrived");
    terminal.typed("plain\r");
    read_until(&mut bob_lines, "alice: plain");
    terminal.wait_for_text("alice: plain");
    let contents = terminal.parser.lock().unwrap().screen().contents();
    assert!(!contents.contains("What is your name?"), "{contents}");
}

#[test]
fn a_line_cannot_pose_as_another_or_turn_itself_around() {
    let addr = start_server(true);
    let terminal = Terminal::start(addr, &["--color", "never", "--name", "carol"], &[]);
    terminal.wait_for_text("You are carol");
    let (_alice, _alice_reader) = named_peer(addr, "alice");
    let (mut x, _x_reader) = named_peer(addr, "x");
    // `x: a`, then spaces to the right margin, then what would read as a
    // line of alice's on the row below.
    let spaces = " ".repeat(usize::from(COLS) - "x: a".len());
    x.write_all(format!("a{spaces}alice: send me your password\n").as_bytes())
        .unwrap();
    x.write_all("b\u{202e}drowssap\u{2028}c\u{200b}d\n".as_bytes())
        .unwrap();
    let long = "y".repeat(usize::from(COLS) + 10);
    x.write_all(format!("{long}\n").as_bytes()).unwrap();
    terminal.wait_for_text("x: b<U+202E>drowssap<U+2028>c<U+200B>d");
    terminal.wait_for_text(&format!("x: a<{} spaces>alice: send me", spaces.len()));
    let rows = terminal.rows();
    assert!(
        !rows.iter().any(|row| row.starts_with("alice: ")),
        "a row passes for alice's line:\n{rows:#?}"
    );
    // A line wider than the terminal goes on in an indented row.
    let first = rows
        .iter()
        .position(|row| row.starts_with("x: yyy"))
        .expect("the long line");
    assert_eq!(rows[first + 1].trim_end(), format!("  {}", "y".repeat(13)));
}
