//! Standard input, read on a thread of its own and handed over in chunks.
//!
//! Reading standard input blocks, so a thread does it. It hands over each
//! read as it returns, the end of input included: at a terminal, Ctrl-D ends
//! one read and the next read waits for more, so a reader that reads ahead
//! past an end of input (as smol's `Unblock` does) loses that Ctrl-D, and the
//! user has to press it twice.

use std::io::{self, ErrorKind, Read};

use smol::channel::{self, Receiver};

use crate::threads;

/// The chunks standard input gives.
pub struct Input {
    chunks: Receiver<io::Result<Vec<u8>>>,
}

impl Input {
    /// Starts reading standard input.
    pub fn spawn() -> io::Result<Self> {
        // One chunk waiting is enough to keep the thread busy, and holds
        // back a fast producer (a large file) while the network is slow.
        let (sender, chunks) = channel::bounded(1);
        threads::start(
            "stdin",
            Box::new(move || {
                let mut stdin = io::stdin();
                loop {
                    let mut buf = vec![0u8; 16 * 1024];
                    let read = match stdin.read(&mut buf) {
                        Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                        Ok(count) => Ok(count),
                        Err(error) => Err(error),
                    };
                    let done = !matches!(read, Ok(1..));
                    let chunk = read.map(|count| {
                        buf.truncate(count);
                        buf
                    });
                    // Nobody listens any more: the session is over.
                    if sender.send_blocking(chunk).is_err() || done {
                        return;
                    }
                }
            }),
        )?;
        Ok(Input { chunks })
    }

    /// The next chunk; empty at the end of input. Cancelling the wait
    /// loses nothing.
    pub async fn next(&self) -> io::Result<Vec<u8>> {
        self.chunks.recv().await.unwrap_or_else(|_| Ok(Vec::new()))
    }
}
