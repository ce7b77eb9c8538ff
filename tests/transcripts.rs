//! One insta snapshot per script in `tests/scripts/`: a new scenario is a
//! new `.chat` file, no Rust code. Kept in its own test binary, so that a
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
            let transcript = transcript::transcript(&text)
                .unwrap_or_else(|why| panic!("{}: {why}", path.display()));
            insta::assert_snapshot!(transcript);
        });
    });
}
