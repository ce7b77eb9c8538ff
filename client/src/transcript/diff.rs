//! What a report shows of a transcript that is not its snapshot: the first
//! difference, said as the step, the client and the line wanted and got,
//! then a unified diff of the whole.

/// One line of a line-by-line comparison.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// In both.
    Same,
    /// Only in the snapshot.
    Wanted,
    /// Only in the transcript.
    Got,
}

/// The edits from `old` to `new`, by their longest common subsequence
/// (transcripts are a few hundred lines: the quadratic table is small).
fn edits(old: &[&str], new: &[&str]) -> Vec<Edit> {
    let (n, m) = (old.len(), new.len());
    let mut table = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if old[i] == new[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            out.push(Edit::Same);
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || table[i + 1][j] >= table[i][j + 1]) {
            out.push(Edit::Wanted);
            i += 1;
        } else {
            out.push(Edit::Got);
            j += 1;
        }
    }
    out
}

/// The first difference between a snapshot (`wanted`) and a transcript
/// (`got`), in the script's words: the step it happened in, the client,
/// the line wanted and the line got. `None` if they are the same.
pub fn first_difference(wanted: &str, got: &str) -> Option<String> {
    let old: Vec<&str> = wanted.lines().collect();
    let new: Vec<&str> = got.lines().collect();
    let (mut i, mut j) = (0, 0);
    for edit in edits(&old, &new) {
        match edit {
            Edit::Same => (i, j) = (i + 1, j + 1),
            _ => break,
        }
    }
    if i == old.len() && j == new.len() {
        return None;
    }
    let step = old[..i]
        .iter()
        .rev()
        .find(|line| !line.is_empty() && !line.starts_with(' '))
        .map_or("the start", |line| line);
    let wanted_line = old.get(i).copied();
    let got_line = new.get(j).copied();
    let client = [wanted_line, got_line]
        .into_iter()
        .flatten()
        .find_map(receiver)
        .map(|(client, _)| format!(", client {client}"))
        .unwrap_or_default();
    // A blank line is where the steps end and the clients' transcripts
    // begin: past the last line received.
    let show = |line: Option<&str>| match line {
        Some(line) if !line.is_empty() => {
            format!("{:?}", receiver(line).map_or(line, |(_, text)| text))
        }
        _ => "(nothing)".to_string(),
    };
    Some(format!(
        "at step {step:?}{client}:\n    wanted: {}\n    got:    {}",
        show(wanted_line),
        show(got_line)
    ))
}

/// `  NAME < TEXT`, a line a client received in a step: NAME and TEXT.
fn receiver(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("  ")?;
    let (name, text) = rest.split_once(" < ")?;
    Some((name.trim_end(), text))
}

/// A unified diff of `wanted` (the snapshot at `from`) and `got`, three
/// lines of context around each change.
pub fn unified(wanted: &str, got: &str, from: &str) -> String {
    const CONTEXT: usize = 3;
    let old: Vec<&str> = wanted.lines().collect();
    let new: Vec<&str> = got.lines().collect();
    let edits = edits(&old, &new);
    // Where each edit is in the old and the new text.
    let mut at = Vec::with_capacity(edits.len());
    let (mut i, mut j) = (0, 0);
    for edit in &edits {
        at.push((i, j));
        match edit {
            Edit::Same => (i, j) = (i + 1, j + 1),
            Edit::Wanted => i += 1,
            Edit::Got => j += 1,
        }
    }
    let changed: Vec<usize> = (0..edits.len())
        .filter(|&k| edits[k] != Edit::Same)
        .collect();
    let mut out = format!("--- {from}\n+++ transcript\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(edits.len());
        let (i0, j0) = at[start];
        let count = |which: Edit| {
            (start..end)
                .filter(|&e| edits[e] == Edit::Same || edits[e] == which)
                .count()
        };
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            i0 + 1,
            count(Edit::Wanted),
            j0 + 1,
            count(Edit::Got)
        ));
        for e in start..end {
            let (i, j) = at[e];
            match edits[e] {
                Edit::Same => out.push_str(&format!(" {}\n", old[i])),
                Edit::Wanted => out.push_str(&format!("-{}\n", old[i])),
                Edit::Got => out.push_str(&format!("+{}\n", new[j])),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_names_the_step_and_the_client() {
        let wanted = "connect a\n  a < You are a\nhalf-close a\n  a < a: bye\n";
        let got = "connect a\n  a < You are a\nhalf-close a\n";
        let difference = first_difference(wanted, got).expect("a difference");
        assert_eq!(
            difference,
            "at step \"half-close a\", client a:\n    wanted: \"a: bye\"\n    got:    (nothing)"
        );
        assert!(first_difference(wanted, wanted).is_none());
    }

    #[test]
    fn a_unified_diff_marks_what_changed() {
        let diff = unified("a\nb\nc\n", "a\nx\nc\n", "old");
        assert_eq!(
            diff,
            "--- old\n+++ transcript\n@@ -1,3 +1,3 @@\n a\n-b\n+x\n c\n"
        );
    }
}
