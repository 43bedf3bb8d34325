//! The command line's errors, through the binary: each is one `error:` line saying what is
//! wrong and what to do, with a non-zero exit. The toolchain checks run against fake
//! `rustc`/`rustup` scripts, and the API's errors come from `scf-local serve` (built once
//! into the target directory the e2e test shares), so these tests take seconds.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    build_scf_local, cargo_scf, e2e_target_dir, run, script, text, Serve, Tap, SECRET_ID,
    SECRET_KEY,
};

const LIMIT: Duration = Duration::from_secs(60);

/// The one error line of a failed command.
fn error_line(stderr: &[u8]) -> String {
    text(stderr)
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {}", text(stderr)))
        .to_owned()
}

/// A new crate in `dir/hello`, with its target directory inside `dir`.
fn new_crate(dir: &Path) -> std::path::PathBuf {
    let out = run(cargo_scf().arg("new").arg(dir.join("hello")), LIMIT);
    assert!(out.status.success());
    dir.join("hello")
}

#[test]
fn deploy_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        cargo_scf()
            .args(["deploy", "--name", "hello"])
            .current_dir(dir.path())
            .env("TENCENTCLOUD_SECRETKEY", "set"),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_line(&out.stderr),
        "error: missing credentials: TENCENTCLOUD_SECRETID not set (export TENCENTCLOUD_SECRETID \
         and TENCENTCLOUD_SECRETKEY, and TENCENTCLOUD_SESSIONTOKEN for temporary keys)"
    );

    let out = run(
        cargo_scf()
            .args(["invoke", "--remote", "--name", "hello"])
            .current_dir(dir.path()),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(error_line(&out.stderr).starts_with(
        "error: missing credentials: TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY not set"
    ));
}

#[test]
fn bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let with_key = |cmd: &mut std::process::Command| {
        cmd.env("TENCENTCLOUD_SECRETID", SECRET_ID)
            .env("TENCENTCLOUD_SECRETKEY", SECRET_KEY)
            .current_dir(dir.path());
    };
    let mut cmd = cargo_scf();
    cmd.args(["invoke", "--remote"]);
    with_key(&mut cmd);
    let out = run(&mut cmd, LIMIT);
    assert_eq!(
        error_line(&out.stderr),
        "error: --remote needs --name FUNCTION"
    );

    let mut cmd = cargo_scf();
    cmd.args(["deploy", "--name", "f", "--endpoint", "ftp://example.com"]);
    with_key(&mut cmd);
    let out = run(&mut cmd, LIMIT);
    assert_eq!(
        error_line(&out.stderr),
        "error: endpoint \"ftp://example.com\": only http:// and https:// are supported"
    );

    let mut cmd = cargo_scf();
    cmd.args(["invoke", "--event", "{not json"]);
    with_key(&mut cmd);
    let out = run(&mut cmd, LIMIT);
    assert!(error_line(&out.stderr)
        .starts_with("error: --event: InvalidParameterValue: the event must be JSON"));

    // Usage errors are clap's: exit status 2.
    let out = run(cargo_scf().args(["deploy"]), LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--name <NAME>"));
}

#[test]
fn an_unreachable_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("f.zip");
    std::fs::write(&zip, b"PK\x05\x06").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = run(
        cargo_scf()
            .args(["deploy", "--name", "f", "--endpoint", &endpoint, "--zip"])
            .arg(&zip)
            .env("TENCENTCLOUD_SECRETID", SECRET_ID)
            .env("TENCENTCLOUD_SECRETKEY", SECRET_KEY),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        error_line(&out.stderr)
            .starts_with(&format!("error: GetFunction: cannot reach {endpoint}: ")),
        "{}",
        text(&out.stderr)
    );
}

/// A deploy against `scf-local serve` whose `CreateFunction` the platform refuses (memory
/// 100 MB is not a size it offers): the error is the one the server sent, and every call
/// was signed with the key and carried the session token and the region.
#[test]
fn api_errors_are_shown_as_sent_and_calls_are_signed() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let serve = Serve::start(&build_scf_local(&e2e_target_dir()), &state);
    let tap = Tap::start(&serve.endpoint);
    let zip = dir.path().join("f.zip");
    std::fs::write(&zip, b"PK\x05\x06").unwrap();
    let out = run(
        cargo_scf()
            .args([
                "deploy",
                "--name",
                "hello",
                "--memory",
                "100",
                "--region",
                "ap-shanghai",
            ])
            .args(["--endpoint", &tap.endpoint, "--zip"])
            .arg(&zip)
            .env("TENCENTCLOUD_SECRETID", SECRET_ID)
            .env("TENCENTCLOUD_SECRETKEY", SECRET_KEY)
            .env("TENCENTCLOUD_SESSIONTOKEN", "temporary-token"),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    let exchanges = tap.exchanges();
    let actions: Vec<_> = exchanges
        .iter()
        .map(|(request, _)| request.header("x-tc-action").unwrap_or_default())
        .collect();
    assert_eq!(actions, ["GetFunction", "CreateFunction"]);
    let answers: Vec<_> = exchanges
        .iter()
        .map(|(_, reply)| &reply.body["Response"])
        .collect();
    assert_eq!(
        answers[0]["Error"]["Code"], "ResourceNotFound.Function",
        "{answers:?}"
    );
    let refused = answers[1];
    assert_eq!(
        refused["Error"]["Code"], "InvalidParameterValue.MemorySize",
        "{refused}"
    );
    assert!(refused["Error"]["Message"]
        .as_str()
        .unwrap()
        .ends_with("not 100"));
    assert_eq!(
        error_line(&out.stderr),
        format!(
            "error: CreateFunction failed: InvalidParameterValue.MemorySize: {} (RequestId {})",
            refused["Error"]["Message"].as_str().unwrap(),
            refused["RequestId"].as_str().unwrap()
        )
    );
    // The server checks every signature (a wrong one is `AuthFailure.SignatureFailure`),
    // but accepts `X-TC-Token` unchecked and keeps `X-TC-Region` only for a created
    // function's instances: those are read on the wire.
    for (request, _) in &exchanges {
        assert!(
            request
                .header("authorization")
                .unwrap()
                .contains(&format!("Credential={SECRET_ID}/")),
            "{request:?}"
        );
        assert_eq!(request.header("x-tc-token"), Some("temporary-token"));
        assert_eq!(request.header("x-tc-region"), Some("ap-shanghai"));
    }
    let create = &exchanges[1].0.body;
    assert_eq!(create["Runtime"], "CustomRuntime");
    assert_eq!(create["MemorySize"], 100);
    assert_eq!(create["Code"]["ZipFile"], "UEsFBg==");
}

#[test]
fn new_refuses_a_folder_in_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let out = run(cargo_scf().arg("new").arg(dir.path()), LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_line(&out.stderr),
        format!(
            "error: {} already exists and is not empty",
            dir.path().display()
        )
    );
}

#[test]
fn pack_and_invoke_before_build() {
    let dir = tempfile::tempdir().unwrap();
    let krate = new_crate(dir.path());
    let target = dir.path().join("target");
    let bootstrap = target.join("scf/hello/bootstrap");
    for args in [&["pack"][..], &["invoke"][..]] {
        let out = run(
            cargo_scf()
                .args(args)
                .current_dir(&krate)
                .env("CARGO_TARGET_DIR", &target),
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            error_line(&out.stderr),
            format!(
                "error: no bootstrap at {}: run `cargo scf build` first",
                bootstrap.display()
            )
        );
    }
    let out = run(
        cargo_scf()
            .args(["deploy", "--name", "hello"])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", &target)
            .env("TENCENTCLOUD_SECRETID", SECRET_ID)
            .env("TENCENTCLOUD_SECRETKEY", SECRET_KEY),
        LIMIT,
    );
    assert_eq!(
        error_line(&out.stderr),
        format!(
            "error: no {}: run `cargo scf build` and `cargo scf pack` first, or give --zip",
            target.join("scf/hello/function.zip").display()
        )
    );
}

#[test]
fn build_without_the_musl_target() {
    let dir = tempfile::tempdir().unwrap();
    let krate = new_crate(dir.path());
    let sysroot = dir.path().join("sysroot");
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/lib")).unwrap();
    let rustc = script(
        dir.path(),
        "rustc",
        &format!("echo '{}'", sysroot.display()),
    );
    let out = run(
        cargo_scf()
            .arg("build")
            .current_dir(&krate)
            .env("RUSTC", &rustc),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_line(&out.stderr),
        format!(
            "error: the x86_64-unknown-linux-musl target is not installed for this toolchain ({}): rustup target add x86_64-unknown-linux-musl",
            sysroot.display()
        )
    );
}

#[test]
fn min_size_without_nightly_or_rust_src() {
    let dir = tempfile::tempdir().unwrap();
    let krate = new_crate(dir.path());
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A rustup whose nightly is missing (FAKE_SYSROOT empty) or has only the given pieces.
    script(
        &bin,
        "rustup",
        r#"case "$1" in
  --version) echo "rustup 0.0.0 (fake)" ;;
  run) [ -n "$FAKE_SYSROOT" ] || exit 1; echo "$FAKE_SYSROOT" ;;
  *) exit 1 ;;
esac"#,
    );
    let min_size = |sysroot: &str| {
        run(
            cargo_scf()
                .args(["build", "--min-size"])
                .current_dir(&krate)
                .env("PATH", &bin)
                .env("FAKE_SYSROOT", sysroot),
            LIMIT,
        )
    };

    let out = min_size("");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(
        "error: --min-size needs the nightly toolchain with rust-src and the x86_64-unknown-linux-musl target; missing:\n  the nightly toolchain: rustup toolchain install nightly\n"
    ), "{stderr}");

    let sysroot = dir.path().join("nightly");
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-musl/lib")).unwrap();
    let out = min_size(&sysroot.display().to_string());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("missing:\n  rust-src: rustup component add rust-src --toolchain nightly\n(or build without --min-size"),
        "{stderr}"
    );

    // Without rustup at all.
    std::fs::remove_file(bin.join("rustup")).unwrap();
    let out = min_size("");
    assert_eq!(
        error_line(&out.stderr),
        "error: --min-size needs rustup, to run the nightly toolchain (https://rustup.rs)"
    );
}

#[test]
fn watch_and_deploy_refuse_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let krate = new_crate(dir.path());
    let target = dir.path().join("target");

    // A port in use is reported before anything is built.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(
        cargo_scf()
            .args(["watch", "--port", &port])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", &target),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        error_line(&out.stderr).starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: ")),
        "{}",
        text(&out.stderr)
    );
    assert!(!target.join("scf").exists(), "nothing was built");

    // A typo in [package.metadata.scf] is named, for watch and deploy alike.
    let manifest = krate.join("Cargo.toml");
    let toml = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{toml}\n[package.metadata.scf]\nmemroy = 256\n"),
    )
    .unwrap();
    let expected = "error: [package.metadata.scf]: unknown key \"memroy\" (it has: timeout, \
                    init-timeout, memory, env)";
    for args in [
        &["watch"][..],
        &["deploy", "--name", "hello", "--zip", "f.zip"][..],
    ] {
        let out = run(
            cargo_scf()
                .args(args)
                .current_dir(&krate)
                .env("CARGO_TARGET_DIR", &target)
                .env("TENCENTCLOUD_SECRETID", SECRET_ID)
                .env("TENCENTCLOUD_SECRETKEY", SECRET_KEY),
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(error_line(&out.stderr), expected);
    }
}
