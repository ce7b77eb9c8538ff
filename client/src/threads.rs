//! The client's threads, for what blocks: standard input, standard output,
//! the signals. All are started here, boxed: each kind of closure given to
//! `thread::Builder::spawn` is a kilobyte of machine code of its own.

use std::io;
use std::thread;

/// Starts `work` on a thread called `name`, left to run until it returns
/// or the client exits.
pub fn start(name: &str, work: Box<dyn FnOnce() + Send>) -> io::Result<()> {
    thread::Builder::new().name(name.to_string()).spawn(work)?;
    Ok(())
}
