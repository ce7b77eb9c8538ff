//! The files names mode reads at start: the operators' password and the
//! message of the day. Each is read once, whole, and checked, so that a
//! mistake is one line at start rather than a surprise in the room.

#[cfg(feature = "manners")]
use std::{fmt, ops::Deref, os::unix::fs::MetadataExt};

/// The most a message of the day may hold: it goes to every newcomer.
#[cfg(feature = "manners")]
const MOTD_CEILING: usize = 4096;

/// The operators' password: kept out of every log line, `Debug` included.
#[cfg(feature = "manners")]
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Box<[u8]>);

#[cfg(feature = "manners")]
impl Deref for Password {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(feature = "manners")]
impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(feature = "manners")]
impl Password {
    /// A password, from its bytes (a test's, say).
    pub fn new(bytes: &[u8]) -> Self {
        Password(bytes.into())
    }
}

/// `--operator-password-file` or `--motd` (`flag`, without its `--`):
/// its file `path`, read into the `password` or the `motd` of the
/// server's configuration.
#[cfg(feature = "manners")]
pub fn read(
    flag: &str,
    path: &str,
    (password, motd): (&mut Option<Password>, &mut Vec<Vec<u8>>),
) -> Result<(), String> {
    if flag == "motd" {
        *motd = read_motd(path)?;
    } else {
        *password = Some(read_password(path)?);
    }
    Ok(())
}

/// `--operator-password-file FILE`: its first line (without its `\r`),
/// refused when others than its owner may read the file, or when it is
/// empty.
#[cfg(feature = "manners")]
pub fn read_password(path: &str) -> Result<Password, String> {
    let flag = "--operator-password-file";
    let file = std::fs::File::open(path).map_err(|error| format!("{flag} {path}: {error}"))?;
    let mode = file
        .metadata()
        .map_err(|error| format!("{flag} {path}: {error}"))?
        .mode();
    if mode & 0o044 != 0 {
        return Err(format!(
            "{flag} {path} is readable by others than its owner (chmod 600 {path})"
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| format!("{flag} {path}: {error}"))?;
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if first.is_empty() {
        return Err(format!(
            "{flag} {path}: the first line, the password, is empty"
        ));
    }
    Ok(Password::new(first))
}

/// `--motd FILE`: its lines (each without its `\r`), at most
/// [`MOTD_CEILING`] bytes in all.
#[cfg(feature = "manners")]
pub fn read_motd(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let bytes = std::fs::read(path).map_err(|error| format!("--motd {path}: {error}"))?;
    if bytes.len() > MOTD_CEILING {
        return Err(format!(
            "--motd {path} is over 4 KiB ({} bytes)",
            bytes.len()
        ));
    }
    let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(text
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec())
        .collect())
}

/// Why `flag` (without its `--`) is refused in a build without the
/// feature `manners`.
#[cfg(not(feature = "manners"))]
pub fn not_built(flag: &str) -> String {
    format!(
        "--{flag} needs operators and manners, which this chat is built without \
         (cargo build --release --features manners)"
    )
}

/// The flags of this file are names mode's: refused without `--names`
/// (`names`) when given (`password`, `motd`).
#[cfg(feature = "manners")]
pub fn names_only(
    names: bool,
    password: &Option<Password>,
    motd: &[Vec<u8>],
) -> Result<(), String> {
    if !names && password.is_some() {
        return Err("--operator-password-file needs --names".to_string());
    }
    if !names && !motd.is_empty() {
        return Err("--motd needs --names".to_string());
    }
    Ok(())
}
