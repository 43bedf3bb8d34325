//! SCF runs bootstraps on CentOS 7.6, whose kernel is Linux 3.10: every system call that Linux
//! added later (x86-64 numbers 314 and up, from `sched_setattr` in 3.14 on) is missing there.
//! This test runs the deployable bootstraps through their whole life under a seccomp filter
//! that the test installs in the child between `fork` and `exec`:
//!
//! - every system call numbered 314 or more fails with `ENOSYS`, as on that kernel;
//! - every other one must be on [`SYSCALLS`], the list the README gives, or the process is
//!   killed (`SIGSYS`), so the list cannot fall behind the code.
//!
//! The lives: the stable `echo` in SCF's and AWS's dialects (init, ready, small events, a
//! 6 MB event, the runtime API closing the connection, the API going away); `faults` as
//! deployed (`panic = "abort"`: an error, a panic reported before the abort); `faults` built
//! with `panic = "unwind"` (an error, a panic the instance survives, the next event); and the
//! nightly min-size `echo` when the nightly toolchain with `rust-src` is installed (otherwise
//! that test says so on stderr and checks nothing more).
//!
//! To see every system call a bootstrap makes, with the filter allowing all but the 3.10
//! table's missing ones: `SCF_CENTOS_ALLOW_ALL=1 strace -f -ff -o calls cargo test --test
//! centos -- --test-threads 1`, then the `calls.<pid>` files whose first `execve` is a
//! bootstrap (README, "The system calls it makes").

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use common::*;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The first x86-64 system call number that Linux 3.10 does not have (`sched_setattr`, 3.14).
const FIRST_AFTER_3_10: u32 = 314;
/// `ENOSYS`: `asm-generic/errno.h`.
const ENOSYS: u32 = 38;
/// `SIGSYS`, the signal of `SECCOMP_RET_KILL_PROCESS`.
const SIGSYS: i32 = 31;

/// Every system call the bootstraps make in the lives above, under musl on x86-64 (names and
/// numbers from Linux's `arch/x86/entry/syscalls/syscall_64.tbl`); all are in 3.10's table.
/// The README lists the same, with what each is for.
const SYSCALLS: &[(&str, u32)] = &[
    ("write", 1),
    ("close", 3),
    ("mmap", 9),
    ("munmap", 11),
    ("brk", 12),
    ("rt_sigaction", 13),
    ("rt_sigprocmask", 14),
    ("writev", 20),
    ("socket", 41),
    ("connect", 42),
    ("recvfrom", 45),
    ("setsockopt", 54),
    ("execve", 59),
    ("arch_prctl", 158),
    ("gettid", 186),
    ("tkill", 200),
    ("set_tid_address", 218),
    ("clock_gettime", 228),
    ("exit_group", 231),
];

/// What the image shapes add to [`SYSCALLS`] (their lives run with both lists): the WebServer
/// shape's listening socket and its waits and answers. All are in 3.10's table.
const IMAGE_SYSCALLS: &[(&str, u32)] = &[
    ("poll", 7),
    ("sendto", 44),
    ("shutdown", 48),
    ("bind", 49),
    ("listen", 50),
    ("getsockname", 51),
    ("accept4", 288),
    ("dup2", 33),
    ("fcntl", 72),
];

/// A classic BPF instruction (`struct sock_filter`, `linux/filter.h`).
#[repr(C)]
#[derive(Clone, Copy)]
struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

// `linux/bpf_common.h` and `linux/seccomp.h`.
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// `AUDIT_ARCH_X86_64` (`linux/audit.h`).
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `__X32_SYSCALL_BIT`: x32 ABI calls, which no x86-64 bootstrap makes.
const X32_BIT: u32 = 0x4000_0000;
/// `struct seccomp_data`: `nr` at 0, `arch` at 4.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// The filter: other architectures and x32 killed, 314 and up `ENOSYS`, [`SYSCALLS`] and
/// `extra` allowed, the rest killed (or allowed, with `allow_all`, for listing them with
/// strace).
fn filter(allow_all: bool, extra: &[(&str, u32)]) -> Vec<SockFilter> {
    let op = |code, jt, jf, k| SockFilter { code, jt, jf, k };
    let listed: Vec<u32> = SYSCALLS.iter().chain(extra).map(|&(_, nr)| nr).collect();
    let n = listed.len() as u8;
    // Layout: [0] ld arch, [1] jeq, [2] ld nr, [3] jge x32, [4] jge 314, [5..5+n] jeq each,
    // then [5+n] the default, [6+n] kill, [7+n] ENOSYS, [8+n] allow. A jump's offset counts
    // from the next instruction.
    let default = if allow_all {
        SECCOMP_RET_ALLOW
    } else {
        SECCOMP_RET_KILL_PROCESS
    };
    let mut prog = vec![
        op(LD_W_ABS, 0, 0, DATA_ARCH),
        op(JEQ_K, 0, n + 4, AUDIT_ARCH_X86_64),
        op(LD_W_ABS, 0, 0, DATA_NR),
        op(JGE_K, n + 3, 0, X32_BIT),
        op(JGE_K, n + 2, 0, FIRST_AFTER_3_10),
    ];
    for (i, &nr) in listed.iter().enumerate() {
        assert!(nr < FIRST_AFTER_3_10);
        prog.push(op(JEQ_K, n - i as u8 + 2, 0, nr));
    }
    prog.push(op(RET_K, 0, 0, default));
    prog.push(op(RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS));
    prog.push(op(RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS));
    prog.push(op(RET_K, 0, 0, SECCOMP_RET_ALLOW));
    prog
}

extern "C" {
    fn prctl(option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> i32;
}
const PR_SET_NO_NEW_PRIVS: i32 = 38;
const PR_SET_SECCOMP: i32 = 22;
const SECCOMP_MODE_FILTER: u64 = 2;

/// Starts `bin` with exactly `env`, under the filter.
fn start_filtered(bin: &Path, env: &[(&str, &str)]) -> Child {
    start_filtered_with(bin, env, &[])
}

/// Starts `bin` with exactly `env`, under the filter that also allows `extra`.
fn start_filtered_with(bin: &Path, env: &[(&str, &str)], extra: &[(&str, u32)]) -> Child {
    assert!(bin.exists(), "{} not built", bin.display());
    let allow_all = std::env::var_os("SCF_CENTOS_ALLOW_ALL").is_some();
    // Built before the fork: the child only reads it.
    let prog: &'static [SockFilter] = Box::leak(filter(allow_all, extra).into_boxed_slice());
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: runs in the forked child before exec and calls only `prctl`, which is
    // async-signal-safe; `prog` is a leaked, never-freed array that outlives the child's use.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = SockFprog {
                len: prog.len() as u16,
                filter: prog.as_ptr(),
            };
            if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || prctl(
                    PR_SET_SECCOMP,
                    SECCOMP_MODE_FILTER,
                    &fprog as *const SockFprog as u64,
                    0,
                    0,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .expect("could not start the bootstrap under seccomp")
}

fn scf_env(port: &str) -> [(&'static str, String); 3] {
    [
        ("SCF_RUNTIME_API", "127.0.0.1".into()),
        ("SCF_RUNTIME_API_PORT", port.into()),
        ("_HANDLER", "index.main_handler".into()),
    ]
}

fn start_scf(bin: &Path, port: u16) -> Child {
    let env = scf_env(&port.to_string());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    start_filtered(bin, &env)
}

/// Fails the test if the bootstrap was killed by the filter.
fn not_killed(status: std::process::ExitStatus, err: &str) {
    assert_ne!(
        status.signal(),
        Some(SIGSYS),
        "killed by the seccomp filter: a system call outside SYSCALLS (list them with \
         SCF_CENTOS_ALLOW_ALL=1 and strace, see the file's docs); stderr: {err}"
    );
}

/// The next request, or (when none comes) the reason: a bootstrap the filter killed says so
/// here rather than as a silent timeout.
fn first_request(api: &mut ScriptedApi, child: &mut Child) -> Request {
    if let Some(r) = api.next_request_within(WAIT) {
        return r;
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    not_killed(status, "");
    panic!("the bootstrap sent no request in time ({status})");
}

/// SCF's ready call, answered.
fn ready(api: &mut ScriptedApi, child: &mut Child) {
    let r = first_request(api, child);
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/runtime/init/ready")
    );
    api.answer(200, &[], b"", Send::Length, KEEP);
}

/// One event and its echo, over SCF's runtime API.
fn echo_once(api: &mut ScriptedApi, id: &str, event: &[u8], after: After) {
    let r = api.next_request();
    assert_eq!(r.path, "/runtime/invocation/next", "{r:?}");
    api.answer(
        200,
        &[
            ("request_id", id),
            ("memory_limit_in_mb", "128"),
            ("time_limit_in_ms", "3000"),
        ],
        event,
        Send::Length,
        KEEP,
    );
    let r = api.next_request();
    assert_eq!(r.path, "/runtime/invocation/response", "{id}");
    assert_eq!(
        r.body.len(),
        event.len() + "Echoing request: ''".len(),
        "{id}"
    );
    assert!(r.body.ends_with(b"'") && r.body[18..].starts_with(&event[..event.len().min(64)]));
    api.answer(200, &[], b"", Send::Length, after);
}

const KEEP: After = After::KeepAlive;

/// An echo bootstrap's life in SCF's dialect, then in AWS's.
fn echo_life(bin: &Path) {
    let mut api = ScriptedApi::new();
    let mut child = start_scf(bin, api.port());
    ready(&mut api, &mut child);
    echo_once(&mut api, "small-1", b"hello", KEEP);
    let big: Vec<u8> = (0..6 * 1024 * 1024)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    echo_once(&mut api, "six-mb", &big, KEEP);
    // The runtime API closes the connection after an answer: the bootstrap reconnects.
    echo_once(
        &mut api,
        "small-2",
        b"before the close",
        After::CloseSilently,
    );
    echo_once(&mut api, "small-3", b"after the close", KEEP);
    assert_eq!(api.connections(), 2);
    // The API goes away while the bootstrap waits for its next event: exit code 1.
    assert_eq!(api.next_request().path, "/runtime/invocation/next");
    drop(api);
    let (status, err) = finish(child);
    not_killed(status, &err);
    assert_eq!(status.code(), Some(1), "{err}");

    let mut api = ScriptedApi::new();
    let addr = format!("127.0.0.1:{}", api.port());
    let mut child = start_filtered(bin, &[("AWS_LAMBDA_RUNTIME_API", &addr)]);
    for i in 0..3 {
        let r = first_request(&mut api, &mut child);
        assert_eq!(r.path, "/2018-06-01/runtime/invocation/next");
        api.aws_event(&format!("aws-{i}"), 3000, b"hi");
        let r = api.next_request();
        assert_eq!(
            r.path,
            format!("/2018-06-01/runtime/invocation/aws-{i}/response")
        );
        api.answer(202, &[], b"", Send::Length, KEEP);
    }
    let r = api.next_request();
    assert_eq!(r.path, "/2018-06-01/runtime/invocation/next");
    drop(api);
    let (status, err) = finish(child);
    not_killed(status, &err);
    assert_eq!(status.code(), Some(1), "{err}");
}

/// `faults`: an error, an ordinary event, then a panic. Under unwind the instance lives on
/// and serves one more event; under abort it ends with SIGABRT after reporting.
fn faults_life(bin: &Path, unwinds: bool) {
    let mut api = ScriptedApi::new();
    let mut child = start_scf(bin, api.port());
    ready(&mut api, &mut child);
    let event = |api: &mut ScriptedApi, id: &str, body: &[u8], path: &str| {
        assert_eq!(api.next_request().path, "/runtime/invocation/next");
        api.event(id, body);
        let r = api.next_request();
        assert_eq!(r.path, path, "{id}: {}", r.text());
        api.answer(200, &[], b"", Send::Length, KEEP);
        r.text()
    };
    let err = "/runtime/invocation/error";
    let ok = "/runtime/invocation/response";
    assert_eq!(event(&mut api, "e-1", b"error:no cheese", err), "no cheese");
    assert_eq!(event(&mut api, "o-1", b"fine", ok), "ok: fine");
    let text = event(&mut api, "p-1", b"panic:out of cheese", err);
    assert!(text.ends_with(": out of cheese"), "{text}");
    if unwinds {
        assert_eq!(event(&mut api, "o-2", b"still here", ok), "ok: still here");
        assert_eq!(api.next_request().path, "/runtime/invocation/next");
        drop(api);
        let (status, err) = finish(child);
        not_killed(status, &err);
        assert_eq!(status.code(), Some(1), "{err}");
    } else {
        let (status, err) = finish(child);
        not_killed(status, &err);
        assert_eq!(status.signal(), Some(6), "SIGABRT expected: {err}");
    }
}

/// Builds `faults` for musl with the `release` profile (`panic = "unwind"`, the tools'
/// profile; the linker flags are the deployable build's) and the `image` feature, in a target
/// directory of its own.
fn unwinding_faults() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().join("centos-unwind");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
        ])
        .args(["--example", "faults", "--features", "image"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "musl build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("x86_64-unknown-linux-musl/release/examples/faults")
}

#[test]
fn the_filter_returns_enosys_from_314_on() {
    // The program itself, run by a small interpreter of the five opcodes it uses: the lives
    // below show the kernel runs it; this shows what it answers for calls they never make.
    let prog = filter(false, &[]);
    assert_eq!(prog.len(), SYSCALLS.len() + 9);
    let run = |nr: u32, arch: u32| -> u32 {
        let mut pc = 0;
        let mut acc = 0;
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => acc = if i.k == DATA_NR { nr } else { arch },
                JEQ_K => pc += if acc == i.k { i.jt } else { i.jf } as usize,
                JGE_K => pc += if acc >= i.k { i.jt } else { i.jf } as usize,
                RET_K => return i.k,
                other => panic!("opcode {other:#x}"),
            }
        }
    };
    for &(name, nr) in SYSCALLS {
        assert_eq!(run(nr, AUDIT_ARCH_X86_64), SECCOMP_RET_ALLOW, "{name}");
    }
    // statx (332), getrandom (318), sched_setattr (314), rseq (334), clone3 (435).
    for nr in [314, 318, 332, 334, 435, 1000] {
        assert_eq!(
            run(nr, AUDIT_ARCH_X86_64),
            SECCOMP_RET_ERRNO | ENOSYS,
            "{nr}"
        );
    }
    // Not listed (open, 2; ptrace, 101), x32 and another architecture: killed.
    for (nr, arch) in [(2, AUDIT_ARCH_X86_64), (101, AUDIT_ARCH_X86_64)] {
        assert_eq!(run(nr, arch), SECCOMP_RET_KILL_PROCESS);
    }
    assert_eq!(
        run(X32_BIT | 1, AUDIT_ARCH_X86_64),
        SECCOMP_RET_ERRNO | ENOSYS
    );
    assert_eq!(run(1, 0x4000_0003), SECCOMP_RET_KILL_PROCESS);
}

#[test]
fn stable_echo_lives_under_the_3_10_table() {
    echo_life(&musl_example("echo"));
}

#[test]
fn faults_under_abort_live_under_the_3_10_table() {
    faults_life(&musl_example("faults"), false);
}

#[test]
fn faults_under_unwind_live_under_the_3_10_table() {
    faults_life(&unwinding_faults(), true);
}

#[test]
fn min_size_echo_lives_under_the_3_10_table() {
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--print", "sysroot"])
        .stderr(Stdio::null())
        .output();
    let sysroot = match nightly {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
        _ => {
            eprintln!("no nightly toolchain: the min-size build is not checked");
            return;
        }
    };
    let lib = sysroot.join("lib/rustlib");
    if !lib.join("src/rust/library/std").is_dir() || !lib.join("x86_64-unknown-linux-musl").is_dir()
    {
        eprintln!("nightly lacks rust-src or the musl target: the min-size build is not checked");
        return;
    }
    // The documented build (`cargo +nightly min-size`, whose alias names its target
    // directory: target/min-size, shared with the benchmark).
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/min-size");
    let out = Command::new("cargo")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["+nightly", "min-size", "--example", "echo"])
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "min-size build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    echo_life(&target.join("x86_64-unknown-linux-musl/bootstrap/examples/echo"));
}

/// The image shapes' lives with `echo` built with the `image` feature: a WebServer serving
/// two requests on one connection, a refused one and a second connection, then killed; a Job
/// run to its exit.
#[test]
fn image_shapes_live_under_the_3_10_table() {
    use std::io::{Read, Write};
    let bin = image_example("echo");
    let env = [
        ("SCF_BOOTSTRAP_MODE", "webserver"),
        ("SCF_BOOTSTRAP_PORT", "0"),
    ];
    let mut child = start_filtered_with(&bin, &env, IMAGE_SYSCALLS);
    let Some((port, mut stderr)) = wait_listening(&mut child) else {
        let status = child.wait().unwrap();
        not_killed(status, "");
        panic!("the bootstrap exited before listening: {status}");
    };
    let exchange = |requests: &[u8], want: &[&str]| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(requests).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        let got = String::from_utf8_lossy(&got);
        for w in want {
            assert!(got.contains(w), "{w:?} not in {got:?}");
        }
    };
    exchange(
        b"POST / HTTP/1.1\r\nX-Scf-Request-Id: a\r\nContent-Length: 2\r\n\r\nhi\
          POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nyo\r\n0\r\n\r\n",
        &["Echoing request: 'hi'", "Echoing request: 'yo'"],
    );
    exchange(b"garbage\r\n\r\n", &["HTTP/1.1 400 "]);
    exchange(
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        &["Echoing request: ''"],
    );
    let still = child.try_wait().unwrap();
    let _ = child.kill();
    let status = child.wait().unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    not_killed(status, &err);
    assert!(still.is_none(), "the server ended: {status} {err}");

    let mut child = start_filtered_with(&bin, &[("SCF_EVENT_BODY", "job")], IMAGE_SYSCALLS);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let (status, err) = finish(child);
    not_killed(status, &err);
    assert_eq!(
        (status.code(), out.as_str()),
        (Some(0), "Echoing request: 'job'")
    );
}

/// `faults` with `panic = "unwind"` in the WebServer shape: an error and a panic are `500`s
/// with their text, and the instance serves the next request.
#[test]
fn faults_under_unwind_in_the_webserver_shape() {
    use std::io::{Read, Write};
    let env = [
        ("SCF_BOOTSTRAP_MODE", "webserver"),
        ("SCF_BOOTSTRAP_PORT", "0"),
    ];
    let mut child = start_filtered_with(&unwinding_faults(), &env, IMAGE_SYSCALLS);
    let Some((port, mut stderr)) = wait_listening(&mut child) else {
        let status = child.wait().unwrap();
        not_killed(status, "");
        panic!("the bootstrap exited before listening: {status}");
    };
    let ask = |event: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let req = format!(
            "POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{event}",
            event.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut got = String::new();
        let _ = s.read_to_string(&mut got);
        got
    };
    let got = ask("error:no cheese");
    assert!(
        got.starts_with("HTTP/1.1 500 ") && got.ends_with("\r\n\r\nno cheese"),
        "{got}"
    );
    let got = ask("panic:out of cheese");
    assert!(
        got.starts_with("HTTP/1.1 500 ") && got.ends_with(": out of cheese"),
        "{got}"
    );
    assert!(got.contains("panicked at "), "{got}");
    let got = ask("still here");
    assert!(
        got.starts_with("HTTP/1.1 200 ") && got.ends_with("ok: still here"),
        "{got}"
    );
    let _ = child.kill();
    let status = child.wait().unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    not_killed(status, &err);
}

/// The README's list of system calls names every entry of [`SYSCALLS`] and
/// [`IMAGE_SYSCALLS`].
#[test]
fn the_readme_lists_the_system_calls() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for &(name, nr) in SYSCALLS.iter().chain(IMAGE_SYSCALLS) {
        assert!(
            readme.contains(&format!("`{name}` ({nr}")),
            "README.md does not list `{name}` ({nr})"
        );
    }
}
