//! Links the example bootstraps for musl with `-Wl,--wrap=main`.
//!
//! With it the C library's start-up calls `__wrap_main`, which `scf_bootstrap::main!` defines,
//! instead of the `main` rustc writes, so std's runtime set-up is skipped: checking the stdio
//! descriptors, and an alternate signal stack with handlers for stack overflows — a dozen
//! system calls, about a twentieth of the time from exec to ready (the runtime ignores
//! SIGPIPE itself; a stack overflow is then a plain SIGSEGV). Only this package's examples get
//! the flag: a binary without the macro has no `__wrap_main` and would not link. Users' crates
//! get it from `cargo scf build`, or by adding `-C link-arg=-Wl,--wrap=main` to their musl
//! rustflags.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-musl") {
        println!("cargo:rustc-link-arg-examples=-Wl,--wrap=main");
    }
}
