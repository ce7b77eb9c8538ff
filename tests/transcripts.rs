//! One insta snapshot per script in `tests/scripts/`: a new scenario is a
//! new `.chat` file, no Rust code. With `CHAT_SERVER` set, the scripts are
//! played against that server instead (see `transcript::external`); those
//! it cannot serve are reported as SKIPPED on stderr. Kept in its own test binary, so that a
//! failing snapshot elsewhere is never counted against a script.

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
