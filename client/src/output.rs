//! Standard output, written on a thread of its own.
//!
//! Writing standard output blocks when its reader is slow (a pager, a full
//! pipe), and the session must go on meanwhile: a thread does the writes,
//! one chunk held at a time, so a slow reader holds back the server's
//! output and nothing else. `input` is its twin for standard input.

use std::io::{self, Write};

use smol::channel::{self, Receiver, Sender};

use crate::threads;

/// What the session asks of the writing thread.
enum Request {
    Write(Vec<u8>),
    Flush,
}

/// Standard output, as a session writes it.
pub struct Output {
    requests: Sender<Request>,
    /// The outcome of each flush, and of the write that failed, after which
    /// the thread is gone.
    outcomes: Receiver<io::Result<()>>,
}

impl Output {
    /// Starts the writing thread.
    pub fn spawn() -> io::Result<Self> {
        let (requests, queue) = channel::bounded(1);
        let (report, outcomes) = channel::bounded(1);
        threads::start("stdout", Box::new(move || write_out(&queue, &report)))?;
        Ok(Output { requests, outcomes })
    }

    /// Hands `bytes` to the thread; an error of an earlier write if one
    /// failed.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.requests.send(Request::Write(bytes.to_vec())).await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.failure().await),
        }
    }

    /// Waits until everything handed over is written and flushed.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.requests.send(Request::Flush).await.is_err() {
            return Err(self.failure().await);
        }
        self.outcomes.recv().await.unwrap_or_else(|_| Err(gone()))
    }

    /// Why the thread stopped.
    async fn failure(&mut self) -> io::Error {
        match self.outcomes.recv().await {
            Ok(Err(error)) => error,
            _ => gone(),
        }
    }
}

/// The thread's error when it left no other.
fn gone() -> io::Error {
    io::Error::other("standard output's writer stopped")
}

/// The thread: writes what comes until the session drops its end, or a
/// write fails.
fn write_out(queue: &Receiver<Request>, report: &Sender<io::Result<()>>) {
    let mut stdout = io::stdout().lock();
    while let Ok(request) = queue.recv_blocking() {
        match request {
            Request::Write(bytes) => {
                if let Err(error) = stdout.write_all(&bytes) {
                    let _ = report.send_blocking(Err(error));
                    return;
                }
            }
            Request::Flush => {
                if report.send_blocking(stdout.flush()).is_err() {
                    return;
                }
            }
        }
    }
}
