//! A script's verdict, from what became of it and its snapshot: PASS,
//! FAIL with the first difference and a diff, or SKIP with why. Writes
//! what insta would: `NAME.snap.new` beside a snapshot the transcript
//! does not match, the snapshot itself when told to (`--update`) or when
//! there is none yet (unless in CI).

use std::path::{Path, PathBuf};

use transcript::{diff, snapshot, Failure, Outcome};

/// PASS, FAIL or SKIP.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pass,
    Fail,
    Skip,
}

/// A script's verdict, as the report shows it.
pub struct Verdict {
    pub kind: Kind,
    /// After the script's name, on the verdict's line.
    pub note: String,
    /// The lines under it (a failure's why and diff).
    pub detail: String,
}

/// How snapshots are judged and written.
pub struct Judging {
    /// `--snapshots`, else the folder nearest each script's.
    pub snapshots: Option<PathBuf>,
    /// `--update`
    pub update: bool,
    /// `--ci` or `CI=true`
    pub ci: bool,
}

impl Verdict {
    fn new(kind: Kind, note: impl Into<String>, detail: impl Into<String>) -> Self {
        Verdict {
            kind,
            note: note.into(),
            detail: detail.into(),
        }
    }
}

/// The verdict on `script`, given what became of it.
pub fn judge(script: &Path, outcome: Result<Outcome, Failure>, how: &Judging) -> Verdict {
    let path = snapshot_path(script, how);
    match outcome {
        Ok(Outcome::Skipped(why)) => Verdict::new(Kind::Skip, format!(": {why}"), ""),
        Err(failure) => failed(&path, failure),
        Ok(Outcome::Played(transcript)) => played(script, &path, &transcript, how)
            .unwrap_or_else(|why| Verdict::new(Kind::Fail, "", why)),
    }
}

/// Where the snapshot of `script` is.
pub fn snapshot_path(script: &Path, how: &Judging) -> PathBuf {
    let dir = match &how.snapshots {
        Some(dir) => dir.clone(),
        None => snapshot::default_dir(script.parent().unwrap_or(Path::new("."))),
    };
    snapshot::path_for(script, &dir)
}

/// A script that could not be played to its end: why, and where what it
/// had received by then leaves the snapshot.
fn failed(path: &Path, failure: Failure) -> Verdict {
    let mut detail = failure.why;
    let wanted = snapshot::read(path).ok().flatten();
    if let (Some(wanted), Some(partial)) = (wanted, failure.partial) {
        let (wanted, got) = (
            snapshot::normalize(&wanted.contents),
            snapshot::normalize(&partial),
        );
        if let Some(difference) = diff::first_difference(&wanted, &got) {
            detail.push_str(&format!(
                "\nthe first difference, {difference}\n{}",
                diff::unified(&wanted, &got, &path.display().to_string())
            ));
        }
    }
    Verdict::new(Kind::Fail, "", detail)
}

/// A transcript, against its snapshot.
fn played(script: &Path, path: &Path, transcript: &str, how: &Judging) -> Result<Verdict, String> {
    let new = snapshot::new_path(path);
    let shown = path.display();
    let Some(wanted) = snapshot::read(path)? else {
        if how.ci && !how.update {
            snapshot::write(&new, None, script, transcript)?;
            return Ok(Verdict::new(
                Kind::Fail,
                "",
                format!(
                    "no snapshot {shown} (in CI a missing snapshot is a failure); the \
                     transcript is in {}",
                    new.display()
                ),
            ));
        }
        snapshot::write(path, None, script, transcript)?;
        return Ok(Verdict::new(
            Kind::Pass,
            format!(" (new snapshot {shown})"),
            "",
        ));
    };
    let (want, got) = (
        snapshot::normalize(&wanted.contents),
        snapshot::normalize(transcript),
    );
    let Some(difference) = diff::first_difference(&want, &got) else {
        // A `.snap.new` left by an earlier run is stale now.
        let _ = std::fs::remove_file(&new);
        return Ok(Verdict::new(Kind::Pass, "", ""));
    };
    if how.update {
        snapshot::write(path, Some(&wanted.header), script, transcript)?;
        let _ = std::fs::remove_file(&new);
        return Ok(Verdict::new(Kind::Pass, format!(" (updated {shown})"), ""));
    }
    snapshot::write(&new, Some(&wanted.header), script, transcript)?;
    Ok(Verdict::new(
        Kind::Fail,
        "",
        format!(
            "the transcript differs from its snapshot, {difference}\n{}the new transcript \
             is in {} (--update accepts it, as does cargo insta review)",
            diff::unified(&want, &got, &shown.to_string()),
            new.display()
        ),
    ))
}
