//! `cargo scf build --image`: a crate made by `cargo scf new` (on this repository's runtime)
//! built for the WebServer and then the Job image shape. Checks the files written next to
//! the bootstrap (the `Dockerfile` and `.dockerignore`), what the command says about the
//! image (built, or why not: this depends on whether docker or podman is on the machine),
//! and that the built bootstrap answers through `scf-local invoke --shape image|job` on the
//! output directory, with the zip shape's bootstrap left where it was.
//!
//! Compiled output goes to the same `<workspace target>/cargo-scf-e2e` as `e2e.rs` (its lock
//! too), so the runtime's dependencies are compiled once. Every command has a time bound.

mod common;

use std::path::Path;

use common::{
    build_scf_local, cargo_scf, e2e_target_dir, run, text, workspace_root, BUILD_LIMIT, STEP_LIMIT,
};
use serde_json::Value;

/// The scaffolded crate's name (not `e2e.rs`'s: the two write `target/scf/<name>/`).
const NAME: &str = "cargo-scf-image";

/// Runs a `cargo scf` step in `dir` with the shared target directory; it must succeed.
/// Returns its stdout.
fn step(dir: &Path, target: &Path, args: &[&str], limit: std::time::Duration) -> String {
    let out = run(
        cargo_scf()
            .args(args)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target),
        limit,
    );
    assert!(
        out.status.success(),
        "cargo scf {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `scf-local invoke --shape <shape> <dir>` with `event`; the `Result` object.
fn invoke(scf_local: &Path, shape: &str, dir: &Path, event: &str) -> Value {
    let out = run(
        std::process::Command::new(scf_local)
            .args(["invoke", "--shape", shape])
            .arg(dir)
            .args(["--function-name", NAME, "--event", event]),
        STEP_LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("invoke prints JSON");
    answer["Result"].clone()
}

/// The image line `build --image` printed agrees with the machine: built when a container
/// tool is on the `PATH` and works, reported as not built otherwise.
fn assert_image_line(stdout: &str) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("image: "))
        .unwrap_or_else(|| panic!("no image line in {stdout}"));
    let tool = cargo_scf::image::container_tool(std::env::var_os("PATH").as_deref());
    match tool {
        None => assert_eq!(
            line,
            "image: not built (neither docker nor podman is on the PATH)"
        ),
        Some(tool) => {
            let built = format!("image: {NAME}:latest (built with {})", tool.display());
            let failed = format!("image: not built ({} build failed: ", tool.display());
            assert!(line == built || line.starts_with(&failed), "{line}");
        }
    }
}

#[test]
fn build_image_writes_a_dockerfile_and_a_bootstrap_that_serves_each_shape() {
    let target = e2e_target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("e2e.lock")).unwrap();
    lock.lock().unwrap();

    let scf_local = build_scf_local(&target);
    let work = tempfile::tempdir().unwrap();
    let krate = work.path().join(NAME);
    let root = workspace_root();
    let new = [
        "new",
        krate.to_str().unwrap(),
        "--runtime-path",
        root.to_str().unwrap(),
    ];
    step(work.path(), &target, &new, STEP_LIMIT);
    let out_dir = target.join("scf").join(NAME);
    let image_dir = out_dir.join("image");

    // The zip shape first: its bootstrap must survive the image builds.
    step(&krate, &target, &["build"], BUILD_LIMIT);
    let zip_bootstrap = std::fs::read(out_dir.join("bootstrap")).unwrap();

    // WebServer (the default shape).
    let stdout = step(&krate, &target, &["build", "--image"], BUILD_LIMIT);
    let dockerfile = image_dir.join("Dockerfile");
    assert!(
        stdout.contains(&format!(
            "bootstrap: {}\n",
            image_dir.join("bootstrap").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("linkage: static\n"), "{stdout}");
    assert!(stdout.contains("image shape: webserver\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("dockerfile: {}\n", dockerfile.display())),
        "{stdout}"
    );
    assert_image_line(&stdout);
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "FROM scratch",
            "COPY bootstrap /bootstrap",
            "ENV SCF_BOOTSTRAP_MODE=webserver",
            "EXPOSE 9000",
            "ENTRYPOINT [\"/bootstrap\"]",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(image_dir.join(".dockerignore")).unwrap(),
        "*\n!bootstrap\n"
    );
    let image_bootstrap = std::fs::read(image_dir.join("bootstrap")).unwrap();
    assert_ne!(
        image_bootstrap, zip_bootstrap,
        "the image bootstrap is built with the image feature"
    );
    assert_eq!(
        std::fs::read(out_dir.join("bootstrap")).unwrap(),
        zip_bootstrap,
        "the zip shape's bootstrap was left as it was"
    );
    let result = invoke(&scf_local, "image", &image_dir, r#"{"n":1}"#);
    assert_eq!(result["InvokeResult"], 0, "{result}");
    assert_eq!(
        result["RetMsg"],
        format!(r#"Hello from {NAME}! event: {{"n":1}}"#)
    );

    // Job.
    let stdout = step(&krate, &target, &["build", "--image", "job"], BUILD_LIMIT);
    assert!(stdout.contains("image shape: job\n"), "{stdout}");
    assert_image_line(&stdout);
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(text.contains("ENV SCF_BOOTSTRAP_MODE=job\n"), "{text}");
    assert!(!text.contains("EXPOSE"), "{text}");
    let result = invoke(&scf_local, "job", &image_dir, r#"{"n":2}"#);
    assert_eq!(result["InvokeResult"], 0, "{result}");
    let ret = result["RetMsg"].as_str().unwrap();
    // The Job's standard output is its result, so init's greeting line precedes the answer.
    assert!(
        ret.ends_with(&format!(r#"Hello from {NAME}! event: {{"n":2}}"#)),
        "{ret}"
    );

    // A shape the platform does not have.
    let out = run(
        cargo_scf()
            .args(["build", "--image", "lambda"])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", &target),
        STEP_LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::text(&out.stderr).contains("webserver or job"),
        "{}",
        common::text(&out.stderr)
    );
}
