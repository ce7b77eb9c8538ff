//! The one bounded wait on another program (a server starting, stopping,
//! joining Redis), where nothing it sends could tell us sooner.

use std::time::{Duration, Instant};

/// How long to wait between two looks.
const POLL_PAUSE: Duration = Duration::from_millis(10);

/// Calls `check` until it gives a value, or fails after `limit`, saying
/// what it waited for.
pub fn try_eventually<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(format!("waited {limit:?} for {what}"));
        }
        std::thread::sleep(POLL_PAUSE);
    }
}
