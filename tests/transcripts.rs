//! One insta snapshot per script in `tests/scripts/` (SCRIPTS.md), played
//! by the engine `transcript` runs: a new scenario is a new `.chat` file.
//! With `CHAT_SERVER` set, they are played against that server instead;
//! those it cannot serve are reported as SKIPPED on stderr. In a binary of
//! its own: a failing snapshot elsewhere is never counted against a script.

mod common;

#[path = "common/bins.rs"]
mod bins;

mod transcript;

#[test]
fn scripts() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("scripts", "*.chat", |path| {
            let text = std::fs::read_to_string(path).expect("read the script");
            let outcome = transcript::transcript(&text)
                .unwrap_or_else(|why| panic!("{}: {why}", path.display()));
            match outcome {
                transcript::Outcome::Played(transcript) => insta::assert_snapshot!(transcript),
                transcript::Outcome::Skipped(why) => {
                    common::skips::skipped(&path.display().to_string(), &why);
                }
            }
        });
    });
}

/// SCRIPTS.md's example of a new scenario, played: its transcript is the
/// one SCRIPTS.md shows, so that the page that teaches the language
/// cannot drift from what the engine does.
#[test]
fn the_example_of_scripts_md_plays_as_shown() {
    const SCRIPTS: &str = include_str!("../SCRIPTS.md");
    let block = |marker: &str| -> String {
        let mut lines = SCRIPTS.lines().skip_while(|line| *line != marker);
        assert!(lines.next().is_some(), "SCRIPTS.md has no line {marker:?}");
        assert!(lines.next().is_some_and(|fence| fence.starts_with("```")));
        let body: Vec<&str> = lines.take_while(|line| !line.starts_with("```")).collect();
        body.join("\n") + "\n"
    };
    let script = block("<!-- tests/transcripts.rs plays this script: keep it true -->");
    let shown = block("<!-- tests/transcripts.rs compares this transcript: keep it true -->");
    match transcript::transcript(&script) {
        Ok(transcript::Outcome::Played(transcript)) => assert_eq!(transcript, shown),
        Ok(transcript::Outcome::Skipped(why)) => panic!("skipped: {why}"),
        Err(why) => panic!("SCRIPTS.md's script: {why}"),
    }
}
