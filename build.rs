//! Link flags for the binaries, `chat`'s and `client`'s (whose package
//! points here): none of them changes what a binary does; they make it
//! smaller (issue 20's budgets, checked by `.ci/sizes`).

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Relative relocations packed (DT_RELR, glibc 2.36 and later): 13 KB
    // less of each file is relocations. Linkers that do not know the flag
    // ignore it with a warning.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // Identical functions folded into one: 3 KB of the client and 4 KB of
    // the server are generic code instantiated twice alike (nothing here
    // compares function addresses). Only LLD takes the flag, and Rust
    // links with it by default from 1.90 on this target; GNU ld would
    // refuse it.
    if links_with_lld() {
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}

/// Whether the binary is linked by Rust's own LLD: the default on
/// x86_64 Linux since Rust 1.90, unless the flags choose a linker.
fn links_with_lld() -> bool {
    let target = env::var("TARGET").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let linker_chosen = flags.contains("linker") || env::var_os("RUSTC_LINKER").is_some();
    target == "x86_64-unknown-linux-gnu" && !linker_chosen && rustc_minor() >= Some(90)
}

/// The minor version of the compiler building this: 95 for 1.95.0.
fn rustc_minor() -> Option<u32> {
    let rustc = env::var_os("RUSTC")?;
    let output = Command::new(rustc).arg("--version").output().ok()?;
    let version = String::from_utf8(output.stdout).ok()?;
    let mut numbers = version.split_whitespace().nth(1)?.split('.');
    match (numbers.next()?, numbers.next()?) {
        ("1", minor) => minor.parse().ok(),
        _ => None,
    }
}
