//! The official TencentCloud clients against `scf-local serve`, each with only its endpoint
//! (and, over `--tls`, its CA bundle) changed: the Python SDK, with client code shaped like the
//! walkthrough's two SDK scripts (`tests/sdk/create_function.py`, `tests/sdk/invoke.py`); the
//! Node SDK (`tests/sdk/call.js`); and `tccli`, the official command line.
//!
//! The Python SDK (`tencentcloud-sdk-python-common`, `tencentcloud-sdk-python-scf`) and
//! `tccli` are installed from PyPI into a virtualenv at `target/sdk-venv`, the Node SDK from
//! npm into `target/sdk-node`, once; later runs reuse them. Without python3 (and its `venv`
//! module), node, npm or the registries, these tests fail and say what is missing.

mod common;
mod serve_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use scf_local::serve::tls::TlsFiles;
use serve_support::*;

const PACKAGES: [&str; 2] = [
    "tencentcloud-sdk-python-common",
    "tencentcloud-sdk-python-scf",
];

/// The virtualenv's python, with the SDK installed.
fn sdk_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = repo_root().join("target/sdk-venv");
            let python = venv.join("bin/python");
            let has_sdk = |python: &Path| {
                Command::new(python)
                    .args(["-c", "import tencentcloud.scf.v20180416.scf_client"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            };
            if has_sdk(&python) {
                return python;
            }
            let python3 = std::env::var("PYTHON3").unwrap_or_else(|_| "python3".to_owned());
            let out = Command::new(&python3)
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .output()
                .unwrap_or_else(|e| {
                    panic!("this test needs python3 (with its venv module) to install the TencentCloud SDK: cannot run {python3}: {e}")
                });
            assert!(
                out.status.success(),
                "`{python3} -m venv {}` failed (on Debian: apt-get install python3-venv; scripts/setup.sh does it):\n{}",
                venv.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            let mut pip = Command::new(&python);
            pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                .args(PACKAGES);
            let out = run_bounded(pip, Duration::from_secs(600));
            assert!(
                out.status.success(),
                "pip install {} failed (PyPI must be reachable):\n{}",
                PACKAGES.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(has_sdk(&python), "the SDK does not import after pip install");
            python
        })
        .clone()
}

/// Runs one of the SDK scripts against `serve` with the given key; returns its output and
/// its printed JSON.
fn script(serve: &Serve, key: &str, name: &str, args: &[&Path]) -> (Output, serde_json::Value) {
    script_with(serve, key, name, args, None)
}

/// [`script`] with the SDK's `signMethod` set.
fn script_with(
    serve: &Serve,
    key: &str,
    name: &str,
    args: &[&Path],
    sign_method: Option<&str>,
) -> (Output, serde_json::Value) {
    let mut cmd = Command::new(sdk_python());
    if let Some(method) = sign_method {
        cmd.env("SCF_SIGN_METHOD", method);
    }
    cmd.arg(repo_root().join("scf-local/tests/sdk").join(name))
        .args(args)
        .env("SCF_LOCAL_ENDPOINT", &serve.addr)
        .env("TENCENTCLOUD_SECRETID", SECRET_ID)
        .env("TENCENTCLOUD_SECRETKEY", key);
    printed_json(cmd, name)
}

/// The walkthrough's event as the bash bootstrap echoes it (`echo $RESPONSE` unquoted
/// squeezes the runs of spaces).
const BASH_RET_MSG: &str =
    r#"Echoing request: '{ "key1": "test value 1", "key2": "test value 2" }'"#;

/// The walkthrough's event as sent, echoed verbatim by the Rust `echo` example.
const RUST_RET_MSG: &str =
    r#"Echoing request: '{   "key1": "test value 1",   "key2": "test value 2" }'"#;

fn create_and_invoke(serve: &Serve, function: &str, zip: &Path, ret_msg: &str) {
    let (out, created) = script(
        serve,
        SECRET_KEY,
        "create_function.py",
        &[Path::new(function), zip],
    );
    assert!(out.status.success(), "CreateFunction failed: {created}");
    assert!(created["RequestId"].is_string(), "{created}");

    let called = Instant::now();
    let (out, invoked) = script(serve, SECRET_KEY, "invoke.py", &[Path::new(function)]);
    // The invocation ran inside the call: its Duration cannot exceed the call's (no bound of
    // our own on either, whatever the load).
    let call_ms = called.elapsed().as_secs_f64() * 1000.0;
    assert!(out.status.success(), "Invoke failed: {invoked}");
    let r = &invoked["Result"];
    assert_eq!(r["RetMsg"], ret_msg, "{invoked}");
    assert_eq!(r["ErrMsg"], "", "{invoked}");
    assert_eq!(r["InvokeResult"], 0, "{invoked}");
    assert_eq!(r["Log"], "", "no LogType: no log ({invoked})");
    let id = r["FunctionRequestId"].as_str().expect("FunctionRequestId");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(invoked["RequestId"], id);
    let mem = r["MemUsage"].as_u64().expect("MemUsage is an integer");
    assert!(mem > 0 && mem < 3072 << 20, "MemUsage {mem}");
    let duration = r["Duration"].as_f64().expect("Duration is a number");
    let bill = r["BillDuration"]
        .as_u64()
        .expect("BillDuration is an integer");
    assert!(
        duration > 0.0 && duration <= call_ms,
        "Duration {duration} for a call of {call_ms} ms"
    );
    assert!(
        bill >= 1 && bill as f64 >= duration && bill as f64 <= duration + 1.0,
        "BillDuration {bill} for {duration}"
    );

    // LogType Tail: the platform's lines around the function's output.
    let tail = Path::new("Tail");
    let (out, invoked) = script(serve, SECRET_KEY, "invoke.py", &[Path::new(function), tail]);
    assert!(out.status.success(), "Invoke failed: {invoked}");
    let log = invoked["Result"]["Log"].as_str().unwrap();
    let id = invoked["Result"]["FunctionRequestId"].as_str().unwrap();
    assert!(log.starts_with(&format!("START RequestId:{id}\n")), "{log}");
    assert!(log.contains(&format!("END RequestId:{id}\n")), "{log}");
    assert_eq!(invoked["Result"]["RetMsg"], ret_msg);
}

#[test]
fn walkthrough_sdk_scripts_against_serve() {
    sdk_python();
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &[]);

    // The walkthrough's bash bootstrap, zipped with its modes.
    let dir = scratch.copy_fixture("bash-echo");
    let bash_zip = pack(&scratch, &dir.join("bootstrap"), &[&dir.join("index.sh")]);
    let bash_zip_kept = scratch.path().join("bash.zip");
    std::fs::rename(&bash_zip, &bash_zip_kept).unwrap();
    create_and_invoke(&serve, "CustomRuntime-Bash", &bash_zip_kept, BASH_RET_MSG);

    // The Rust echo example, built as a static musl bootstrap.
    let rust_zip = pack(&scratch, &echo_bootstrap(), &[]);
    create_and_invoke(&serve, "CustomRuntime-Rust", &rust_zip, RUST_RET_MSG);

    // A signed GET (the SDK's reqMethod = "GET"): parameters in the query string.
    let (out, listed) = script(
        &serve,
        SECRET_KEY,
        "list_functions.py",
        &[Path::new("CustomRuntime")],
    );
    assert!(out.status.success(), "ListFunctions failed: {listed}");
    assert_eq!(listed["TotalCount"], 2, "{listed}");
    assert_eq!(
        listed["Functions"][0]["FunctionName"], "CustomRuntime-Bash",
        "{listed}"
    );
    assert_eq!(
        listed["Functions"][1]["FunctionName"], "CustomRuntime-Rust",
        "{listed}"
    );

    // The legacy signature is refused with a word on what to use.
    let (out, legacy) = script_with(
        &serve,
        SECRET_KEY,
        "list_functions.py",
        &[Path::new("C")],
        Some("HmacSHA256"),
    );
    assert!(!out.status.success(), "{legacy}");
    assert_eq!(
        legacy["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{legacy}"
    );
    assert!(
        legacy["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("TC3-HMAC-SHA256"),
        "{legacy}"
    );

    // The same call signed with a wrong key.
    let (out, refused) = script(
        &serve,
        "not-the-key",
        "invoke.py",
        &[Path::new("CustomRuntime-Bash")],
    );
    assert!(!out.status.success(), "{refused}");
    assert_eq!(
        refused["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{refused}"
    );
}

/// A client under test: runs one action with JSON parameters (a `ZipFile` or `Code.ZipFile`
/// written `@PATH` stands for the base64 of that file), signed with the given key; returns
/// whether it succeeded and what it printed (the response, or `{"Error": {"Code", …}}`).
type Client<'a> = &'a dyn Fn(&str, &serde_json::Value, &str) -> (bool, serde_json::Value);

/// The walkthrough's event, as its invoke script sends it.
const EVENT: &str = r#"{   "key1": "test value 1",   "key2": "test value 2" }"#;

/// The calls a user makes through an official client, end to end: `CreateFunction` (the
/// bash zip), `GetFunction` until `Active`, `Invoke` with `LogType: "Tail"`,
/// `UpdateFunctionCode` (the Rust zip, whose answer differs), `ListFunctions`,
/// `GetFunctionLogs`, `DeleteFunction`, and a wrong key refused.
fn lifecycle(client: Client, function: &str, bash_zip: &Path, rust_zip: &Path) {
    use serde_json::json;
    let ok = |action: &str, params: serde_json::Value| {
        let (success, answer) = client(action, &params, SECRET_KEY);
        assert!(success, "{action} failed: {answer}");
        assert!(answer["RequestId"].is_string(), "{action}: {answer}");
        answer
    };
    let zip = |p: &Path| format!("@{}", p.display());
    ok(
        "CreateFunction",
        json!({"FunctionName": function, "Code": {"ZipFile": zip(bash_zip)},
               "Runtime": "CustomRuntime", "Timeout": 3, "InitTimeout": 3}),
    );
    // The cloud creates a function asynchronously; a client polls until it is Active. The
    // emulator's answer is final at once, so the first poll or a few end the loop.
    let active =
        (0..20).any(|_| ok("GetFunction", json!({"FunctionName": function}))["Status"] == "Active");
    assert!(active, "{function} never became Active");

    let invoke = || {
        ok(
            "Invoke",
            json!({"FunctionName": function, "ClientContext": EVENT, "LogType": "Tail"}),
        )
    };
    let invoked = invoke();
    let result = &invoked["Result"];
    assert_eq!(result["RetMsg"], BASH_RET_MSG, "{invoked}");
    assert_eq!(result["InvokeResult"], 0, "{invoked}");
    let id = result["FunctionRequestId"]
        .as_str()
        .expect("FunctionRequestId");
    let log = result["Log"].as_str().unwrap_or("");
    assert!(log.starts_with(&format!("START RequestId:{id}\n")), "{log}");

    ok(
        "UpdateFunctionCode",
        json!({"FunctionName": function, "ZipFile": zip(rust_zip)}),
    );
    let invoked = invoke();
    assert_eq!(invoked["Result"]["RetMsg"], RUST_RET_MSG, "{invoked}");

    let listed = ok("ListFunctions", json!({"SearchKey": function}));
    assert_eq!(listed["TotalCount"], 1, "{listed}");
    assert_eq!(listed["Functions"][0]["FunctionName"], function, "{listed}");

    let logs = ok(
        "GetFunctionLogs",
        json!({"FunctionName": function, "FunctionRequestId": id}),
    );
    assert_eq!(logs["TotalCount"], 1, "{logs}");
    assert_eq!(logs["Data"][0]["RequestId"], id, "{logs}");
    assert_eq!(logs["Data"][0]["RetMsg"], BASH_RET_MSG, "{logs}");

    let (success, refused) = client(
        "GetFunction",
        &json!({"FunctionName": function}),
        "not-the-key",
    );
    assert!(!success, "{refused}");
    assert_eq!(
        refused["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{refused}"
    );

    ok("DeleteFunction", json!({"FunctionName": function}));
    let (success, gone) = client(
        "GetFunction",
        &json!({"FunctionName": function}),
        SECRET_KEY,
    );
    assert!(!success, "{gone}");
    assert_eq!(gone["Error"]["Code"], "ResourceNotFound.Function", "{gone}");
}

/// The bash and Rust zips of [`lifecycle`], in `scratch`.
fn lifecycle_zips(scratch: &Scratch) -> (PathBuf, PathBuf) {
    let dir = scratch.copy_fixture("bash-echo");
    let bash = scratch.path().join("bash.zip");
    std::fs::rename(
        pack(scratch, &dir.join("bootstrap"), &[&dir.join("index.sh")]),
        &bash,
    )
    .unwrap();
    let rust = scratch.path().join("rust.zip");
    std::fs::rename(pack(scratch, &echo_bootstrap(), &[]), &rust).unwrap();
    (bash, rust)
}

/// `target/sdk-node`, with the official Node SDK (`tencentcloud-sdk-nodejs-scf` 4) installed
/// from npm, once; later runs reuse it. Without node, npm or the registry, the test fails and
/// says what is missing (scripts/setup.sh installs Node and npm from Debian's packages).
fn sdk_node() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo_root().join("target/sdk-node");
        let node = Command::new("node").arg("--version").output();
        assert!(
            node.as_ref().is_ok_and(|o| o.status.success()),
            "this test needs node (on Debian: apt-get install nodejs npm; scripts/setup.sh does it): {node:?}"
        );
        if dir.join("node_modules/tencentcloud-sdk-nodejs-scf/package.json").exists() {
            return dir;
        }
        std::fs::create_dir_all(&dir).unwrap();
        let mut npm = Command::new("npm");
        npm.arg("install")
            .arg("--prefix")
            .arg(&dir)
            .args(["--no-audit", "--no-fund", "--silent", "tencentcloud-sdk-nodejs-scf@4"]);
        let out = run_bounded(npm, Duration::from_secs(600));
        assert!(
            out.status.success(),
            "npm install tencentcloud-sdk-nodejs-scf failed (npm and its registry must be reachable):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .clone()
}

/// Loopback must not go through a proxy the environment may name.
fn without_proxy(cmd: &mut Command) -> &mut Command {
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
}

/// Runs a client command (bounded, without proxies) and reads the JSON it prints.
fn printed_json(mut cmd: Command, what: &str) -> (Output, serde_json::Value) {
    without_proxy(&mut cmd);
    let out = run_bounded(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{what} printed no JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

/// One call through the Node SDK (`tests/sdk/call.js`) to `endpoint` over `protocol`,
/// trusting `ca` (a PEM bundle) besides Node's own roots.
fn node_call(
    endpoint: &str,
    protocol: &str,
    ca: Option<&Path>,
    action: &str,
    params: &serde_json::Value,
    key: &str,
) -> (bool, serde_json::Value) {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("scf-local/tests/sdk/call.js"))
        .arg(action)
        .arg(params.to_string())
        .env("NODE_PATH", sdk_node().join("node_modules"))
        .env("SCF_LOCAL_ENDPOINT", endpoint)
        .env("SCF_LOCAL_PROTOCOL", protocol)
        .env("TENCENTCLOUD_SECRETID", SECRET_ID)
        .env("TENCENTCLOUD_SECRETKEY", key);
    match ca {
        Some(ca) => cmd.env("NODE_EXTRA_CA_CERTS", ca),
        None => cmd.env_remove("NODE_EXTRA_CA_CERTS"),
    };
    let (out, json) = printed_json(cmd, &format!("node call.js {action}"));
    (out.status.success(), json)
}

#[test]
fn node_sdk_against_serve() {
    sdk_node();
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &[]);
    let (bash, rust) = lifecycle_zips(&scratch);
    // Signed for the service `127` (the endpoint's first label), as the Node SDK does.
    let client = |action: &str, params: &serde_json::Value, key: &str| {
        node_call(&serve.addr, "http://", None, action, params, key)
    };
    lifecycle(&client, "NodeSdk", &bash, &rust);
    // By name: signed for the service `localhost:PORT`.
    let port = serve.addr.rsplit(':').next().unwrap();
    let by_name = format!("localhost:{port}");
    let (success, listed) = node_call(
        &by_name,
        "http://",
        None,
        "ListFunctions",
        &serde_json::json!({}),
        SECRET_KEY,
    );
    assert!(success, "{listed}");
    assert!(listed["TotalCount"].is_u64(), "{listed}");
}

/// The virtualenv's python, with `tccli` installed too (from PyPI, once).
fn tccli_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let python = sdk_python();
            let has_tccli = || {
                Command::new(&python)
                    .args(["-c", "import tccli.main"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            };
            if !has_tccli() {
                let mut pip = Command::new(&python);
                pip.args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg("tccli");
                let out = run_bounded(pip, Duration::from_secs(900));
                assert!(
                    out.status.success(),
                    "pip install tccli failed (PyPI must be reachable):\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(has_tccli(), "tccli does not import after pip install");
            }
            python
        })
        .clone()
}

/// One `tccli scf ACTION` against `serve` (over https: the certificate must be in the
/// bundle of `certifi`, which the Python SDK under tccli verifies against, whatever
/// `REQUESTS_CA_BUNDLE` says: [`trusted_tls_files`]), with a private `HOME` (`home`: no user
/// configuration). `Invoke`
/// goes as flags (`--FunctionName`, `--ClientContext`, `--LogType`), every other action as
/// `--cli-input-json file://…`, with `@PATH` zips put in as base64. On failure, the code of
/// the SDK exception tccli prints becomes `{"Error": {"Code", "Message"}}`.
fn tccli_call(
    serve: &Serve,
    home: &Path,
    action: &str,
    params: &serde_json::Value,
    key: &str,
) -> (bool, serde_json::Value) {
    use base64::Engine as _;
    let mut cmd = Command::new(tccli_python());
    // tccli's own entry point (its `bin/tccli` script names the python that installed it).
    cmd.args([
        "-c",
        "import sys; from tccli.main import main; sys.argv[0] = 'tccli'; sys.exit(main())",
        "scf",
        action,
        "--endpoint",
        &serve.addr,
    ]);
    if action == "Invoke" {
        for name in ["FunctionName", "ClientContext", "LogType"] {
            if let Some(value) = params[name].as_str() {
                cmd.arg(format!("--{name}")).arg(value);
            }
        }
    } else {
        let mut params = params.clone();
        let inline = |holder: &mut serde_json::Value| {
            let zip = holder["ZipFile"].as_str().and_then(|z| z.strip_prefix('@'));
            if let Some(path) = zip.map(str::to_owned) {
                let bytes = std::fs::read(&path).unwrap();
                holder["ZipFile"] = base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .into();
            }
        };
        inline(&mut params);
        if params["Code"].is_object() {
            inline(&mut params["Code"]);
        }
        let input = home.join(format!("{action}.json"));
        std::fs::write(&input, params.to_string()).unwrap();
        cmd.arg("--cli-input-json")
            .arg(format!("file://{}", input.display()));
    }
    cmd.env("HOME", home)
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", key)
        .env("TENCENTCLOUD_REGION", "ap-guangzhou");
    without_proxy(&mut cmd);
    let out = run_bounded(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let json = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("tccli {action} printed no JSON ({e}): {stdout}\n{stderr}"));
        return (true, json);
    }
    // `[TencentCloudSDKException] code:AuthFailure.SignatureFailure message:… requestId:…`
    let code = stderr
        .split_once("code:")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("tccli {action} failed without a code: {stdout}\n{stderr}"));
    let error = serde_json::json!({"Error": {"Code": code, "Message": stderr.trim()}});
    (false, error)
}

/// A certificate for `serve --tls --tls-cert … --tls-key …`, made once in `target/sdk-tls`
/// (as `serve --tls` makes one in its state directory), and trusted by the test virtualenv's
/// `certifi` bundle (the certificate appended once): how a user makes tccli trust it.
fn trusted_tls_files() -> TlsFiles {
    static FILES: OnceLock<TlsFiles> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let files = TlsFiles::self_signed(&repo_root().join("target/sdk-tls")).unwrap();
            let out = Command::new(tccli_python())
                .args(["-m", "certifi"])
                .output()
                .unwrap();
            assert!(out.status.success(), "python -m certifi: {out:?}");
            let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            let cert = std::fs::read_to_string(&files.cert).unwrap();
            let trusted = std::fs::read_to_string(&bundle).unwrap();
            if !trusted.contains(cert.trim()) {
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&bundle)
                    .unwrap();
                std::io::Write::write_all(
                    &mut file,
                    format!("\n# scf-local serve --tls (scf-local/tests/sdk.rs)\n{cert}")
                        .as_bytes(),
                )
                .unwrap();
            }
            files
        })
        .clone()
}

#[test]
fn tccli_and_node_sdk_against_serve_over_tls() {
    let files = trusted_tls_files();
    sdk_node();
    let scratch = Scratch::new();
    let serve = Serve::start(
        &scratch.path().join("state"),
        &[
            "--tls",
            "--tls-cert",
            files.cert.to_str().unwrap(),
            "--tls-key",
            files.key.to_str().unwrap(),
        ],
    );
    assert_eq!(serve.scheme, "https");
    let (bash, rust) = lifecycle_zips(&scratch);
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let tccli = |action: &str, params: &serde_json::Value, key: &str| {
        tccli_call(&serve, &home, action, params, key)
    };
    lifecycle(&tccli, "Tccli", &bash, &rust);

    let ca = files.cert.clone();
    let node = |action: &str, params: &serde_json::Value, key: &str| {
        node_call(&serve.addr, "https://", Some(&ca), action, params, key)
    };
    lifecycle(&node, "NodeSdkTls", &bash, &rust);

    // Without the CA bundle, the certificate is not trusted: a TLS error, no call.
    let (success, refused) = node_call(
        &serve.addr,
        "https://",
        None,
        "ListFunctions",
        &serde_json::json!({}),
        SECRET_KEY,
    );
    assert!(!success, "{refused}");
    let message = refused["Error"]["Message"].as_str().unwrap_or("");
    assert!(message.contains("certificate"), "{refused}");
}
