//! The deployable build: `x86_64-unknown-linux-musl`, `bootstrap` profile (`panic = "abort"`).
//! Builds the examples for musl (`common::musl_example`), checks the binary is static and
//! within the size budget, runs 1000 warm invocations and checks peak RSS, and checks panic
//! reporting under abort.

mod common;

use common::*;

/// Stable musl `bootstrap`-profile `echo`, stripped: at most this many bytes (README, "Numbers").
const SIZE_BUDGET: u64 = 420 * 1024;
/// Peak RSS of `echo` after 1000 warm 1 KB invocations, in KB.
const RSS_BUDGET_KB: u64 = 400;

#[test]
fn static_and_within_size_budget() {
    use object::elf::{FileHeader64, ET_EXEC, PT_DYNAMIC, PT_INTERP};
    use object::read::elf::{FileHeader as _, ProgramHeader as _};

    let echo = musl_example("echo");
    let bytes = std::fs::read(&echo).unwrap();
    let header = FileHeader64::<object::LittleEndian>::parse(&*bytes).expect("ELF64");
    let endian = header.endian().expect("little-endian");
    let phs: Vec<u32> = header
        .program_headers(endian, &*bytes)
        .expect("program headers")
        .iter()
        .map(|ph| ph.p_type(endian))
        .collect();
    assert!(!phs.contains(&PT_INTERP), "echo asks for a dynamic loader");
    assert!(!phs.contains(&PT_DYNAMIC), "echo has a dynamic section");
    // ET_EXEC, not a static-pie ET_DYN: no self-relocation at start.
    assert_eq!(header.e_type(endian), ET_EXEC, "not ET_EXEC");
    let size = bytes.len() as u64;
    assert!(
        size <= SIZE_BUDGET,
        "echo is {size} bytes, over the budget of {SIZE_BUDGET}"
    );
    eprintln!("echo (stable, musl, bootstrap profile): {size} bytes");
}

fn vm_hwm_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn thousand_warm_invocations_within_rss_budget() {
    let mut api = ScriptedApi::new();
    let child = start(&musl_example("echo"), api.port(), &[]);
    api.expect("POST", "/runtime/init/ready");
    let event = vec![b'x'; 1024];
    for i in 0..1000 {
        let r = api.next_request();
        assert_eq!(r.path, "/runtime/invocation/next");
        api.event(&format!("w-{i}"), &event);
        let r = api.next_request();
        assert_eq!(r.path, "/runtime/invocation/response");
        assert_eq!(r.body.len(), 1024 + "Echoing request: ''".len());
        api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    }
    // The bootstrap is now blocked in its next long poll.
    api.next_request_checked();
    let hwm = vm_hwm_kb(child.id());
    stop(child);
    eprintln!("echo VmHWM after 1000 warm 1 KB invocations: {hwm} KB");
    assert!(
        hwm <= RSS_BUDGET_KB,
        "peak RSS {hwm} KB > {RSS_BUDGET_KB} KB"
    );
    assert_eq!(api.connections(), 1);
}

trait NextCheck {
    fn next_request_checked(&mut self);
}
impl NextCheck for ScriptedApi {
    fn next_request_checked(&mut self) {
        assert_eq!(self.next_request().path, "/runtime/invocation/next");
    }
}

#[test]
fn panic_under_abort_is_reported_before_the_process_ends() {
    let mut api = ScriptedApi::new();
    let child = start(&musl_example("faults"), api.port(), &[]);
    api.expect("POST", "/runtime/init/ready");
    api.next_request_checked();
    api.event("abort-1", b"panic:out of cheese");
    let reply = api.next_request();
    assert_eq!(reply.path, "/runtime/invocation/error");
    assert!(
        reply.text().ends_with(": out of cheese") && reply.text().starts_with("panicked at "),
        "{}",
        reply.text()
    );
    api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    let (status, err) = finish(child);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(6),
        "SIGABRT expected: {status:?} {err}"
    );
    assert!(err.contains("out of cheese"), "{err}");
}

#[test]
fn aws_panic_under_abort_is_reported_as_json() {
    let mut api = ScriptedApi::new();
    let child = start_aws(&musl_example("faults"), api.port(), &[]);
    let r = api.next_request();
    assert_eq!(r.path, "/2018-06-01/runtime/invocation/next");
    api.aws_event("aws-abort", 3000, b"panic:no more");
    let reply = api.next_request();
    assert_eq!(reply.path, "/2018-06-01/runtime/invocation/aws-abort/error");
    assert_eq!(
        reply.header("Lambda-Runtime-Function-Error-Type"),
        Some("Panic")
    );
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["errorType"], "Panic");
    assert!(
        v["errorMessage"].as_str().unwrap().ends_with(": no more"),
        "{v}"
    );
    api.answer(202, &[], b"", Send::Length, After::KeepAlive);
    let (status, _) = finish(child);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(6));
}
