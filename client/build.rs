//! Link flags for the binary: none of them change what it does.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36 and later): 13 KB
    // less of the client's file is relocations. Linkers that do not know
    // the flag ignore it with a warning.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
