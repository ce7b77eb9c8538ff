//! Snapshots on disk, in insta's `.snap` format, so that `cargo insta
//! review` works on them and the tests of this repository and `transcript`
//! read and write the same files: a header between two `---` lines, then
//! the transcript. A mismatch is written beside the snapshot as
//! `NAME.snap.new`, as insta writes it.

use std::path::{Path, PathBuf};

/// A snapshot as read from disk.
pub struct Snapshot {
    /// Its header, both `---` lines included; kept as it is on update.
    pub header: String,
    /// The transcript it holds.
    pub contents: String,
}

/// Where the snapshots of scripts in `folder` are when not said: the
/// `snapshots/` folder nearest to it, going up (this repository's are at
/// the top, beside `tests/`), else a new one beside `folder`.
pub fn default_dir(folder: &Path) -> PathBuf {
    let start = folder.parent().unwrap_or(folder);
    for dir in start.ancestors() {
        let candidate = dir.join("snapshots");
        if candidate.is_dir() {
            return candidate;
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    start.join("snapshots")
}

/// The snapshot of `script` in `dir`: `FOLDER@FILE.snap`, the name insta's
/// glob gives the snapshots of `tests/FOLDER/*.chat`.
pub fn path_for(script: &Path, dir: &Path) -> PathBuf {
    let folder = script
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let folder = folder
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scripts".into());
    let file = script
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!("{folder}@{file}.snap"))
}

/// The same path with `.new` added: where a mismatch is written.
pub fn new_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// Reads a snapshot; `Ok(None)` if there is none.
pub fn read(path: &Path) -> Result<Option<Snapshot>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("{}: {error}", path.display())),
    };
    let split = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.find("\n---\n").map(|end| end + 4 + 5));
    Ok(Some(match split {
        Some(end) => Snapshot {
            header: text[..end].to_string(),
            contents: text[end..].to_string(),
        },
        None => Snapshot {
            header: String::new(),
            contents: text,
        },
    }))
}

/// A transcript as insta compares it: without leading newlines or
/// trailing white space, with `\n` line ends.
pub fn normalize(text: &str) -> String {
    text.trim_start_matches(['\r', '\n'])
        .trim_end()
        .replace("\r\n", "\n")
}

/// Writes `contents` at `path` under `header`, or under a new header
/// naming `script` when there is none.
pub fn write(
    path: &Path,
    header: Option<&str>,
    script: &Path,
    contents: &str,
) -> Result<(), String> {
    let header = match header.filter(|header| !header.is_empty()) {
        Some(header) => header.to_string(),
        None => format!(
            "---\nsource: transcript\nexpression: transcript\ninput_file: {}\n---\n",
            script.display()
        ),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = format!("{header}{}\n", normalize(contents));
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
