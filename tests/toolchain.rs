//! The Rust the README promises is the Rust the locked dependencies need.
//!
//! `rust-version` in Cargo.toml is what the README tells people to
//! install. Every package in Cargo.lock says what Rust it needs (its own
//! `rust-version`), dev-dependencies included, since the README's second
//! command runs the tests. A dependency update that needs a newer Rust
//! must raise `rust-version` (and the README) with it: this test fails
//! until it does.

use std::process::Command;

/// A Rust version, `1.88` or `1.88.0`, as numbers to compare.
fn version(text: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = text
        .split('.')
        .map(|part| {
            part.parse()
                .unwrap_or_else(|_| panic!("bad version {text:?}"))
        })
        .collect();
    parts.resize(3, 0);
    parts
}

/// Every `(package, rust_version)` of `cargo metadata`'s JSON. No JSON
/// parser for one field: the output is cargo's, and each package's id
/// (`source#name@version`) is the last `"id"` before its `rust_version`.
fn rust_versions(metadata: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let key = "\"rust_version\":\"";
    let mut rest = metadata;
    let mut offset = 0;
    while let Some(at) = rest.find(key) {
        let start = offset + at + key.len();
        let end = start + metadata[start..].find('"').expect("a closing quote");
        let id_at = metadata[..start].rfind(",\"id\":\"").expect("a package id") + 7;
        let id = &metadata[id_at..id_at + metadata[id_at..].find('"').expect("a quote")];
        found.push((package_of(id), metadata[start..end].to_string()));
        offset = end;
        rest = &metadata[end..];
    }
    found
}

/// `name@version` of a package id: `registry+URL#name@version`, or
/// `path+file:///dir/name#version` when the folder is named as the package.
fn package_of(id: &str) -> String {
    let (source, fragment) = id.rsplit_once('#').unwrap_or(("", id));
    if fragment.contains('@') {
        return fragment.to_string();
    }
    let folder = source.rsplit('/').next().unwrap_or(source);
    format!("{folder}@{fragment}")
}

#[test]
fn no_locked_package_needs_a_newer_rust_than_rust_version() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata: {output:?}");
    let metadata = String::from_utf8(output.stdout).expect("UTF-8 metadata");
    let versions = rust_versions(&metadata);
    assert!(versions.len() > 50, "too few packages found: {versions:?}");

    let declared = env!("CARGO_PKG_RUST_VERSION");
    let ours: Vec<&(String, String)> = versions
        .iter()
        .filter(|(package, _)| package.starts_with("chat@") || package.starts_with("client@"))
        .collect();
    assert_eq!(ours.len(), 2, "both packages declare it: {ours:?}");
    assert!(ours.iter().all(|(_, rust)| rust == declared), "{ours:?}");

    let newer: Vec<String> = versions
        .iter()
        .filter(|(_, rust)| version(rust) > version(declared))
        .map(|(package, rust)| format!("{package} needs Rust {rust}"))
        .collect();
    assert!(
        newer.is_empty(),
        "rust-version is {declared}, but {}: raise rust-version in Cargo.toml and the README",
        newer.join(", ")
    );
}

#[test]
fn the_readme_states_rust_version() {
    let readme = include_str!("../README.md");
    let promise = format!("Rust {} or newer", env!("CARGO_PKG_RUST_VERSION"));
    assert!(readme.contains(&promise), "README.md must say {promise:?}");
}
