//! Names mode's way in: a newcomer is asked its name until it gives one
//! that is valid and free, and only then enters the audience.
//!
//! Until then it is invisible: no arrival, no leave, not listed, no
//! broadcasts. Each line it sends is another try; a name that cannot be
//! (see `names`) is refused here, and one that someone present holds is
//! refused by the room, the one place that knows who is here. Either way
//! the client hears why in one `error: ...` line and is asked again. It
//! holds a place under the connection cap meanwhile, so it has the naming
//! timeout to settle on a name, and no longer.

use std::time::Instant;

use futures_lite::future;
use smol::Timer;

use super::connection::Conn;
use super::ending::{farewell, InputEnd};
use super::throttle::Throttle;
use crate::config::REFUSED_NAMES;
use crate::line::text_line;
use crate::lines::{LineError, LineReader, Source};
use crate::names;
use crate::queue::{PushError, QueueSender};
use crate::room::events::{Entering, Naming};
use crate::transport::Transport;

/// The question a newcomer is asked, and asked again after a refusal.
const PROMPT: &str = "What is your name?";

/// What ends a wait for the next try.
enum Next<'a> {
    /// A line, the end of input, or a failure to read.
    Line(Result<Option<&'a [u8]>, LineError>),
    /// The naming timeout passed.
    OutOfTime,
    /// The server is stopping.
    Stopping,
}

/// Waits for the client's next try, in its turn: a client over its rate
/// waits, as for a line, and one that leaves its refusals unread is not
/// read either; until the `deadline`, or the server stops.
async fn next_try<'a, T: Transport, S: Source>(
    conn: &Conn<T>,
    lines: &'a mut LineReader<S>,
    throttle: &Throttle,
    deadline: Instant,
) -> Next<'a> {
    let line = async {
        throttle.pace(conn.config.rate.as_ref()).await;
        conn.watch.replies_taken().await;
        Next::Line(lines.next_line().await)
    };
    let out_of_time = async {
        Timer::at(deadline).await;
        Next::OutOfTime
    };
    let stopping = async {
        let _ = conn.hub.stopping.recv().await;
        Next::Stopping
    };
    future::or(stopping, future::or(line, out_of_time)).await
}

/// Asks for a name until the room lets the client in, or the client's
/// input ends first. On that end, the `error: ...` line it has earned is
/// queued and the queue let go, so the writer flushes it and closes.
///
/// Each try is paced as a line is (`throttle`), and after
/// [`REFUSED_NAMES`] refusals the client is told so and closed: a try
/// costs the server its Unicode checks, and trying forever is no way in.
pub async fn enter<T: Transport, S: Source>(
    conn: &Conn<T>,
    mut queue: QueueSender,
    lines: &mut LineReader<S>,
    throttle: &mut Throttle,
) -> Result<(), InputEnd> {
    let config = &*conn.config;
    let deadline = Instant::now() + config.naming_timeout;
    let mut refusals = 0;
    if let Some(why) = conn.hub.bans.refusal(&conn.name) {
        crate::log::always(format_args!("{} refused: banned", conn.name));
        let _ = queue.push(text_line(&[&why]));
        return Err(InputEnd::Banned);
    }
    let ended = loop {
        if refusals == REFUSED_NAMES {
            break InputEnd::Refused;
        }
        if let Err(PushError::Full) = queue.push(text_line(&[PROMPT])) {
            break InputEnd::NotReading;
        }
        let line = match next_try(conn, lines, throttle, deadline).await {
            Next::Line(Ok(Some(line))) => line,
            Next::Line(Ok(None)) => break InputEnd::Closed,
            Next::Line(Err(error)) => break error.into(),
            Next::OutOfTime => break InputEnd::Unnamed,
            Next::Stopping => break InputEnd::ServerStopped,
        };
        throttle.counted(config.rate.as_ref());
        let name = match names::parse(line) {
            Ok(name) => name,
            Err(refusal) => {
                refusals += 1;
                let why = refusal.to_string();
                if let Err(PushError::Full) = queue.push(text_line(&["error: ", &why])) {
                    break InputEnd::NotReading;
                }
                continue;
            }
        };
        let (refused, answer) = async_channel::bounded(1);
        let entering = Entering {
            id: conn.id,
            name: name.shown,
            queue,
            socket: conn.transport.socket().clone(),
            naming: Some(Naming {
                keys: name.keys,
                refused,
            }),
        };
        if !conn.hub.join(entering).await {
            return Err(InputEnd::ServerStopped);
        }
        match answer.recv().await {
            // Taken: the room said so on the queue it handed back.
            Ok(back) => {
                refusals += 1;
                queue = back.queue;
            }
            // Let in: the room dropped the way back.
            Err(_) => return Ok(()),
        }
    };
    if let Some(line) = farewell(&ended, config) {
        let _ = queue.push(line);
    }
    Err(ended)
}
