//! From an empty directory to a deployed function and back, through `cargo scf` run by Cargo
//! itself (the test's binary directory is put first on `PATH`):
//!
//! `new` (depending on this repository's runtime by path; `memory = 256` added under
//! `[package.metadata.scf]`) → `build` → `pack` →
//! `scf-local serve` on a loopback port → `deploy` (create) → `invoke --remote` answers the
//! scaffolded handler's text → edit the handler → `build` → `pack` → `deploy` (update) →
//! `invoke --remote` answers the new text. Also a local `invoke` and two API errors; then the
//! same API over HTTPS (`serve --tls`): `deploy --ca-file`, `invoke --remote` with
//! `SSL_CERT_FILE`, an untrusted certificate and plain HTTP to the TLS port refused.
//!
//! Compiled output goes to `<workspace target>/cargo-scf-e2e` (not the test's own target
//! directory, which `cargo test` keeps locked): the runtime's dependencies and `scf-local`
//! are compiled there once and reused by later runs. A file lock there keeps two runs of
//! this test (from two checkouts' `cargo test`) from packing each other's builds.
//!
//! Every command has a time bound; nothing asserts how long anything took.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{
    build_scf_local, cargo_path, cargo_scf, e2e_target_dir, run, text, workspace_root, Serve,
    BUILD_LIMIT, SECRET_ID, SECRET_KEY, STEP_LIMIT,
};
use serde_json::Value;

/// The scaffolded crate's name, and the function's.
const NAME: &str = "cargo-scf-e2e";

/// `cargo scf <args>` through Cargo, in `dir`, with the shared target directory and the
/// test key.
fn cargo_subcommand(dir: &Path, target: &Path, args: &[&str]) -> Command {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-scf")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    // Same environment as `cargo_scf()`, but started as `cargo scf …`.
    let template = cargo_scf();
    let mut cmd = Command::new(cargo_path());
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.arg("scf")
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", target)
        .env("TENCENTCLOUD_SECRETID", SECRET_ID)
        .env("TENCENTCLOUD_SECRETKEY", SECRET_KEY);
    cmd
}

/// Runs a step that must succeed; returns its stdout.
fn step(cmd: &mut Command, limit: Duration) -> String {
    let out = run(cmd, limit);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `invoke --remote` with `event`; returns the `Result` object.
fn invoke_remote(krate: &Path, target: &Path, endpoint: &str, event: &str) -> Value {
    let stdout = step(
        &mut cargo_subcommand(
            krate,
            target,
            &[
                "invoke",
                "--remote",
                "--name",
                NAME,
                "--endpoint",
                endpoint,
                "--event",
                event,
            ],
        ),
        STEP_LIMIT,
    );
    let answer: Value = serde_json::from_str(stdout.trim()).expect("invoke prints JSON");
    assert_eq!(answer["Result"]["InvokeResult"], 0, "{answer}");
    answer["Result"].clone()
}

/// `deploy` with `extra` arguments, which must say `{verb} NAME`, then `invoke --remote`
/// with `event`, which must answer the handler's `{greeting} from NAME! event: {event}`;
/// returns the `Result` object.
fn deploy_and_invoke(
    krate: &Path,
    target: &Path,
    endpoint: &str,
    extra: &[&str],
    verb: &str,
    greeting: &str,
    event: &str,
) -> Value {
    let mut args = vec!["deploy", "--name", NAME, "--endpoint", endpoint];
    args.extend_from_slice(extra);
    let stdout = step(&mut cargo_subcommand(krate, target, &args), STEP_LIMIT);
    assert_eq!(stdout.trim(), format!("{verb} {NAME}"));
    let result = invoke_remote(krate, target, endpoint, event);
    assert_eq!(
        result["RetMsg"],
        format!("{greeting} from {NAME}! event: {event}")
    );
    result
}

#[test]
fn new_build_pack_deploy_invoke_update() {
    let target = e2e_target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("e2e.lock")).unwrap();
    lock.lock().unwrap();

    let scf_local = build_scf_local(&target);
    let work = tempfile::tempdir().unwrap();
    let krate = work.path().join(NAME);

    // new: a crate outside the repository, on this repository's runtime.
    let root = workspace_root();
    step(
        cargo_subcommand(work.path(), &target, &["new"])
            .arg(&krate)
            .arg("--runtime-path")
            .arg(&root),
        STEP_LIMIT,
    );
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("scf-bootstrap = { path = "), "{manifest}");
    // The crate carries a setting: deploy and local invoke read it.
    std::fs::write(
        krate.join("Cargo.toml"),
        format!("{manifest}\n[package.metadata.scf]\nmemory = 256\n"),
    )
    .unwrap();

    // build: a static bootstrap, copied where pack takes it.
    let stdout = step(
        &mut cargo_subcommand(&krate, &target, &["build"]),
        BUILD_LIMIT,
    );
    let bootstrap = target.join("scf").join(NAME).join("bootstrap");
    assert!(
        stdout.contains(&format!("bootstrap: {}", bootstrap.display())),
        "{stdout}"
    );
    assert!(stdout.contains("linkage: static\n"), "{stdout}");
    let mode = std::fs::metadata(&bootstrap).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);

    // pack: a zip the emulator accepts as a package (bootstrap executable at the root).
    let stdout = step(
        &mut cargo_subcommand(&krate, &target, &["pack"]),
        STEP_LIMIT,
    );
    let zip = target.join("scf").join(NAME).join("function.zip");
    assert!(
        stdout.contains(&format!("zip: {}", zip.display())),
        "{stdout}"
    );
    scf_local::Package::open(&zip).expect("the zip is a valid code package");

    // A local run of the last build.
    let stdout = step(
        &mut cargo_subcommand(
            &krate,
            &target,
            &["invoke", "--name", NAME, "--event", r#"{"local":true}"#],
        ),
        STEP_LIMIT,
    );
    let local: Value = serde_json::from_str(stdout.trim()).unwrap();
    let log = local["Result"]["Log"].as_str().unwrap();
    assert!(log.contains(" Memory:256MB "), "{log}");
    assert_eq!(
        local["Result"]["RetMsg"],
        format!(r#"Hello from {NAME}! event: {{"local":true}}"#)
    );

    // deploy (create) and invoke through the cloud API of scf-local serve.
    let state = work.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let serve = Serve::start(&scf_local, &state);
    let endpoint = serve.endpoint.as_str();
    let result = deploy_and_invoke(
        &krate,
        &target,
        endpoint,
        &["--timeout", "5"],
        "created",
        "Hello",
        r#"{"n":1}"#,
    );
    let log = result["Log"].as_str().unwrap();
    assert!(log.contains("init: ready to greet"), "{log}");
    // MemorySize from [package.metadata.scf].
    assert!(log.contains(" Memory:256MB "), "{log}");

    // Edit the handler, build, pack, deploy again: an update, and the new answer.
    let main_rs = krate.join("src/main.rs");
    let source = std::fs::read_to_string(&main_rs).unwrap();
    assert!(source.contains(r#""Hello""#));
    std::fs::write(&main_rs, source.replace(r#""Hello""#, r#""Bonjour""#)).unwrap();
    step(
        &mut cargo_subcommand(&krate, &target, &["build"]),
        BUILD_LIMIT,
    );
    step(
        &mut cargo_subcommand(&krate, &target, &["pack"]),
        STEP_LIMIT,
    );
    deploy_and_invoke(
        &krate,
        &target,
        endpoint,
        &["--env", "UNUSED=1"],
        "updated",
        "Bonjour",
        r#"{"n":2}"#,
    );

    // The platform's errors, shown as sent, with a non-zero exit.
    let out = run(
        &mut cargo_subcommand(
            &krate,
            &target,
            &[
                "invoke",
                "--remote",
                "--name",
                "missing-fn",
                "--endpoint",
                endpoint,
            ],
        ),
        STEP_LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: Invoke failed: ResourceNotFound.Function: "),
        "{stderr}"
    );
    let out = run(
        cargo_subcommand(
            &krate,
            &target,
            &["deploy", "--name", NAME, "--endpoint", endpoint],
        )
        .env("TENCENTCLOUD_SECRETKEY", "not-the-key"),
        STEP_LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: GetFunction failed: AuthFailure.SignatureFailure: "),
        "{stderr}"
    );
    drop(serve);

    // The same over HTTPS: `serve --tls` with its self-signed certificate, trusted through
    // --ca-file, then through SSL_CERT_FILE.
    let tls_state = work.path().join("tls-state");
    std::fs::create_dir(&tls_state).unwrap();
    let tls = TlsServe::start(&scf_local, &tls_state);
    let ca = tls_state.join("tls/cert.pem");
    let https = format!("https://{}", tls.addr);
    let ca_arg = ca.to_str().unwrap();
    let stdout = step(
        &mut cargo_subcommand(
            &krate,
            &target,
            &[
                "deploy",
                "--name",
                NAME,
                "--endpoint",
                &https,
                "--ca-file",
                ca_arg,
            ],
        ),
        STEP_LIMIT,
    );
    assert_eq!(stdout.trim(), format!("created {NAME}"));
    let invoke = |endpoint: &str| {
        let mut cmd = cargo_subcommand(
            &krate,
            &target,
            &[
                "invoke",
                "--remote",
                "--name",
                NAME,
                "--endpoint",
                endpoint,
                "--event",
                "{}",
            ],
        );
        cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
        cmd
    };
    let stdout = step(invoke(&https).env("SSL_CERT_FILE", &ca), STEP_LIMIT);
    let answer: Value = serde_json::from_str(stdout.trim()).expect("invoke prints JSON");
    assert_eq!(
        answer["Result"]["RetMsg"],
        format!("Bonjour from {NAME}! event: {{}}"),
        "{answer}"
    );
    // Not trusted: a TLS error, no call.
    let out = run(&mut invoke(&https), STEP_LIMIT);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach {https}")),
        "{stderr}"
    );
    // Plain HTTP to the TLS port: the server says to use https.
    let out = run(&mut invoke(&format!("http://{}", tls.addr)), STEP_LIMIT);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("HTTP 400") && stderr.contains("HTTPS only"),
        "{stderr}"
    );
}

/// `scf-local serve --tls` on a loopback port (its certificate made in `state_dir/tls`),
/// killed when dropped.
struct TlsServe {
    child: std::process::Child,
    /// `127.0.0.1:PORT`.
    addr: String,
}

impl TlsServe {
    fn start(binary: &Path, state_dir: &Path) -> TlsServe {
        use std::io::BufRead as _;
        let mut child = Command::new(binary)
            .args(["serve", "--tls", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir)
            .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
            .env("TMPDIR", state_dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start scf-local serve --tls");
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once(" on https://") {
                    let _ = tx.send(rest.split('/').next().unwrap_or("").to_owned());
                }
                eprintln!("[serve --tls] {line}");
            }
        });
        let addr = rx
            .recv_timeout(STEP_LIMIT)
            .expect("scf-local serve --tls did not print its address");
        TlsServe { child, addr }
    }
}

impl Drop for TlsServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
