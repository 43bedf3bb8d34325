//! `cargo scf new --template`: the API Gateway router starts a crate that builds and answers
//! its routes on the documented sample event, run locally by `cargo scf invoke
//! --event-example apigw`; so does the Timer handler on the timer sample; an unknown
//! template is refused with the names there are.
//!
//! Builds go to `<workspace target>/cargo-scf-e2e` under the lock the other end-to-end tests
//! take, so the runtime and its dependencies are compiled once for all of them. Every
//! command has a time bound; nothing asserts how long anything took.

mod common;

use std::path::Path;

use common::{cargo_scf, e2e_target_dir, run, text, workspace_root, BUILD_LIMIT, STEP_LIMIT};
use serde_json::Value;

/// The generated crate's name.
const NAME: &str = "scf-new-apigw";

/// `cargo scf <args>` in `dir`, building into `target`; must succeed. Returns its stdout
/// and stderr.
fn ok(dir: &Path, target: &Path, args: &[&str], limit: std::time::Duration) -> (String, String) {
    let mut cmd = cargo_scf();
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target);
    let out = run(&mut cmd, limit);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

/// The integration response the router gave for the apigw sample with `sets` applied.
fn route(krate: &Path, target: &Path, sets: &[&str]) -> Value {
    let mut args = vec!["invoke", "--event-example", "apigw"];
    for set in sets {
        args.extend(["--set", set]);
    }
    let (stdout, _) = ok(krate, target, &args, STEP_LIMIT);
    let answer: Value = serde_json::from_str(stdout.trim()).expect("invoke prints JSON");
    let result = &answer["Result"];
    assert_eq!(result["InvokeResult"], 0, "{answer}");
    let ret = result["RetMsg"].as_str().expect("a RetMsg");
    serde_json::from_str(ret).unwrap_or_else(|e| panic!("{e}: {ret}"))
}

#[test]
fn the_apigw_template_builds_and_routes() {
    let target = e2e_target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("e2e.lock")).unwrap();
    lock.lock().unwrap();

    let work = tempfile::tempdir().unwrap();
    let (_, said) = ok(
        work.path(),
        &target,
        &["new", NAME, "--template", "apigw"],
        STEP_LIMIT,
    );
    assert!(said.contains("(apigw template)"), "{said}");
    let krate = work.path().join(NAME);
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    let events = workspace_root().canonicalize().unwrap().join("scf-events");
    assert!(
        manifest.contains(&format!(
            "scf-events = {{ path = {:?}, default-features = false, features = [\"http\"] }}",
            events
        )),
        "{manifest}"
    );

    let (stdout, _) = ok(&krate, &target, &["build"], BUILD_LIMIT);
    assert!(stdout.contains("linkage: static\n"), "{stdout}");

    // The README's first promise: `GET /hello/{name}` → 200 and JSON naming it.
    let hello = route(&krate, &target, &["httpMethod=GET", "path=/hello/SCF"]);
    assert_eq!(hello["statusCode"], 200, "{hello}");
    assert_eq!(hello["isBase64Encoded"], false, "{hello}");
    assert_eq!(
        hello["headers"]["content-type"], "application/json",
        "{hello}"
    );
    let body: Value = serde_json::from_str(hello["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({ "message": "Hello, SCF!" }));

    // `POST /echo` (the sample is a POST) → its body back.
    let echo = route(&krate, &target, &["path=/echo", "body=ping"]);
    assert_eq!(echo["statusCode"], 200, "{echo}");
    assert_eq!(echo["body"], "ping", "{echo}");

    // Anything else → 404, the sample itself included (`POST /test/value`).
    let missing = route(&krate, &target, &[]);
    assert_eq!(missing["statusCode"], 404, "{missing}");
    let body: Value = serde_json::from_str(missing["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"], "no route for POST /test/value", "{missing}");
}

#[test]
fn the_timer_template_builds_and_answers_the_sample() {
    let target = e2e_target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("e2e.lock")).unwrap();
    lock.lock().unwrap();

    let work = tempfile::tempdir().unwrap();
    ok(
        work.path(),
        &target,
        &["new", "scf-new-timer", "--template", "timer"],
        STEP_LIMIT,
    );
    let krate = work.path().join("scf-new-timer");
    ok(&krate, &target, &["build"], BUILD_LIMIT);
    let (stdout, _) = ok(
        &krate,
        &target,
        &[
            "invoke",
            "--event-example",
            "timer",
            "--set",
            "Message=tick",
        ],
        STEP_LIMIT,
    );
    let answer: Value = serde_json::from_str(stdout.trim()).expect("invoke prints JSON");
    assert_eq!(
        answer["Result"]["RetMsg"], "EveryDay fired at 2019-02-21T11:49:00Z: tick",
        "{answer}"
    );
}

#[test]
fn an_unknown_template_is_refused_with_the_names() {
    let work = tempfile::tempdir().unwrap();
    let out = run(
        cargo_scf()
            .args(["new", "f", "--template", "flask"])
            .current_dir(work.path()),
        STEP_LIMIT,
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("no template called `flask`; there are: echo, apigw, timer"),
        "{err}"
    );
    assert!(!work.path().join("f").exists());
}
