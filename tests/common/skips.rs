//! Tests skipped for want of a tool (Redis, a browser), told again at the
//! end of the run. Cargo counts a test that returns early as passed, and
//! the `SKIPPED` line it printed at the time is lost among the servers'
//! logs; so every skip is also counted, and the count is printed as the
//! test binary exits, after cargo's `test result:` line, where it is seen.
//! (Stable Rust's harness cannot mark a test ignored once it runs.)

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, Once};

/// Why tests were skipped, and how many for each reason.
static SKIPPED: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

/// Says at once that `what` is skipped, and `why`, past the harness's
/// capture, and counts it for the summary at exit.
pub fn skipped(what: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}: {why}");
    *lock().entry(why.to_string()).or_default() += 1;
    static AT_EXIT: Once = Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY: `summary` takes nothing, and cannot unwind: it neither
        // panics nor calls what may (a poisoned lock is taken as it is).
        unsafe { libc::atexit(summary) };
    });
}

/// The skips, as the process exits: once the harness has said
/// `test result: ok`, which counted them as passed.
extern "C" fn summary() {
    let skipped = lock();
    let total: usize = skipped.values().sum();
    let binary = std::env::current_exe().ok().and_then(|path| {
        let stem = path.file_stem()?.to_string_lossy().into_owned();
        // Cargo names a test binary `NAME-HASH`.
        Some(
            stem.rsplit_once('-')
                .map_or(stem.clone(), |(name, _)| name.to_string()),
        )
    });
    let binary = binary.unwrap_or_default();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "\nSKIPPED {total} of the tests in tests/{binary}.rs (cargo counted them as passed above):"
    );
    for (why, count) in skipped.iter() {
        let _ = writeln!(stderr, "  {count}: {why}");
    }
    let _ = writeln!(stderr);
}

/// The skips so far, even if a test panicked holding them.
fn lock() -> MutexGuard<'static, BTreeMap<String, usize>> {
    SKIPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
