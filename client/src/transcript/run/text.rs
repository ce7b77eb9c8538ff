//! Lines as a transcript shows them: bytes made printable, and the two
//! ends of a private line.

/// The two ends of a private line, `FROM -> TO: TEXT`.
pub fn private_ends(line: &str) -> Option<(&str, &str)> {
    let (from, rest) = line.split_once(" -> ")?;
    let (to, _) = rest.split_once(": ")?;
    let is_name = |name: &str| !name.is_empty() && !name.contains([' ', ':']);
    (is_name(from) && is_name(to)).then_some((from, to))
}

/// Bytes as printable text: printable ASCII as is, `\` doubled, anything
/// else escaped (`\r`, `\t`, `\0`, `\xff`), so a snapshot shows wire bytes.
pub fn display(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0 => out.push_str("\\0"),
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out
}
