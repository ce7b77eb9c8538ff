//! The signals that end a session at the terminal: SIGINT, SIGTERM and
//! SIGHUP, sent with `kill` or by a closing terminal window. In raw mode
//! no key makes a signal, but these still come, and the client must give
//! the terminal its settings back before it goes.
//!
//! They are blocked from the start, before any thread exists, so that every
//! thread inherits the block and none is killed by them; one thread waits
//! for them (`sigwait`) and hands each to the session. Until the session
//! is armed (its terminal settings not yet changed) there is nothing to
//! give back, and a signal ends the client at once with the status a shell
//! expects, as it would without this: a slow connect stays interruptible.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{SigSet, Signal};
use smol::channel::{self, Receiver};

use crate::threads;

/// A signal caught, by what it asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caught {
    /// SIGINT: as Ctrl-C.
    Interrupt,
    /// SIGHUP: the terminal is gone.
    Hangup,
    /// SIGTERM: asked to stop.
    Terminate,
}

impl Caught {
    /// The exit status a shell reports for a program the signal stopped:
    /// 128 and its number.
    pub fn status(self) -> u8 {
        128 + match self {
            Caught::Hangup => 1,
            Caught::Interrupt => 2,
            Caught::Terminate => 15,
        }
    }
}

/// The signals caught, for the session.
pub struct Signals {
    caught: Receiver<Caught>,
    armed: Arc<AtomicBool>,
}

/// Blocks the three signals and starts the thread that waits for them.
/// Call it before any other thread starts: a thread started earlier would
/// not inherit the block.
pub fn watch() -> io::Result<Signals> {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    set.thread_block().map_err(io::Error::from)?;
    let (sender, caught) = channel::bounded(1);
    let armed = Arc::new(AtomicBool::new(false));
    let session = Arc::clone(&armed);
    threads::start(
        "signals",
        Box::new(move || loop {
            let caught = match set.wait() {
                Ok(Signal::SIGINT) => Caught::Interrupt,
                Ok(Signal::SIGHUP) => Caught::Hangup,
                Ok(_) => Caught::Terminate,
                Err(_) => continue,
            };
            if !session.load(Ordering::SeqCst) {
                std::process::exit(i32::from(caught.status()));
            }
            // A session already told is leaving: one is enough.
            let _ = sender.try_send(caught);
        }),
    )?;
    Ok(Signals { caught, armed })
}

impl Signals {
    /// From now on a signal goes to the session, which must be ready to
    /// give the terminal back.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// The next signal caught.
    pub async fn next(&self) -> Option<Caught> {
        self.caught.recv().await.ok()
    }
}
