//! `--api aws`: AWS Lambda's runtime API, through the binary with the runtime's own `echo`,
//! `faults` and `init` examples (built for musl, speaking AWS's dialect because they are
//! given `AWS_LAMBDA_RUNTIME_API`), and through the library with a bash + curl bootstrap that
//! probes every answer of the API.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::*;
use scf_local::{Dialect, FunctionConfig, Package, Pool, Status};

const EVENT: &str = r#"{"key1": "test value 1", "key2": "test value 2"}"#;
const BOUND: Duration = Duration::from_secs(60);

/// Builds the runtime's `echo`, `faults` and `init` examples for musl (`bootstrap` profile, so panics
/// abort as in a deployed bootstrap), once per test binary, into the target directory the
/// other `scf-local` tests use. Returns the directory holding them.
fn examples() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = repo_root();
        let target_dir = root.join("target/scf-local-tests");
        build_musl_examples(&root, &target_dir, &["echo", "faults", "init"])
    })
}

/// A code directory in the scratch dir whose `bootstrap` is the named example.
fn example_code(scratch: &Scratch, name: &str) -> PathBuf {
    let dir = scratch.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(examples().join(name), dir.join("bootstrap")).unwrap();
    dir
}

/// A code directory whose `bootstrap` is this bash script.
fn script_code(scratch: &Scratch, name: &str, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    let bootstrap = dir.join("bootstrap");
    std::fs::write(&bootstrap, script).unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// `scf-local invoke --api aws <code> <args>`; its result, after checking that nothing was
/// left behind.
fn invoke_aws(scratch: &Scratch, code: &Path, args: &[&str]) -> (serde_json::Value, Output) {
    let mut cmd = scratch.cmd();
    cmd.arg("invoke")
        .arg(code)
        .args(["--api", "aws"])
        .args(args);
    let out = run_bounded(cmd, BOUND);
    let result = result_of(&out);
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
    (result, out)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The checks common to failed invocations: exit status 1 and the code.
fn assert_failed(r: &serde_json::Value, out: &Output, code: u64) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert_eq!(r["Result"]["InvokeResult"], code, "{r}");
    assert_eq!(r["Result"]["RetMsg"], "", "{r}");
}

/// `ErrMsg` parsed as AWS's error JSON.
fn aws_error(r: &serde_json::Value) -> serde_json::Value {
    let msg = r["Result"]["ErrMsg"].as_str().unwrap();
    serde_json::from_str(msg).unwrap_or_else(|e| panic!("ErrMsg is not JSON ({e}): {msg}"))
}

fn log(r: &serde_json::Value) -> &str {
    r["Result"]["Log"].as_str().unwrap()
}

#[test]
fn echo_example_echoes() {
    let s = Scratch::new();
    let code = example_code(&s, "echo");
    let (r, out) = invoke_aws(&s, &code, &["--event", EVENT]);
    assert!(out.status.success(), "{}", stderr(&out));
    let res = &r["Result"];
    assert_eq!(res["RetMsg"], format!("Echoing request: '{EVENT}'"));
    assert_eq!(res["ErrMsg"], "");
    assert_eq!(res["InvokeResult"], 0);
    let id = r["RequestId"].as_str().unwrap();
    assert_eq!(res["FunctionRequestId"], id);
    assert!(res["MemUsage"].as_u64().unwrap() > 0);
    let log = log(&r);
    assert!(log.starts_with(&format!("START RequestId:{id}\n")), "{log}");
    assert!(
        log.contains(&format!("Init Report RequestId: {id} ")),
        "{log}"
    );
    assert!(log.contains(&format!("END RequestId:{id}\n")), "{log}");
}

#[test]
fn handler_error_is_430_with_the_posted_error() {
    let s = Scratch::new();
    let code = example_code(&s, "faults");
    let (r, out) = invoke_aws(&s, &code, &["--event", r#""error:bad \"input\"""#]);
    assert_failed(&r, &out, 430);
    let e = aws_error(&r);
    assert_eq!(e["errorType"], "HandlerError", "{e}");
    assert_eq!(e["errorMessage"], r#"bad "input""#, "{e}");
    assert!(log(&r).contains("\nERROR RequestId:"), "{}", log(&r));
}

#[test]
fn panic_is_430_with_the_panic_message() {
    let s = Scratch::new();
    let code = example_code(&s, "faults");
    let (r, out) = invoke_aws(&s, &code, &["--event", r#""panic:oh no""#]);
    assert_failed(&r, &out, 430);
    let e = aws_error(&r);
    assert_eq!(e["errorType"], "Panic", "{e}");
    let message = e["errorMessage"].as_str().unwrap();
    assert!(message.ends_with(": oh no"), "{e}");
    // The panic message printed on stderr is in the log.
    assert!(log(&r).contains("oh no\n"), "{}", log(&r));
}

#[test]
fn init_failure_is_445_with_the_posted_init_error() {
    let s = Scratch::new();
    let code = example_code(&s, "init");
    let (r, out) = invoke_aws(&s, &code, &["--env", "INIT_FAIL=reason"]);
    assert_failed(&r, &out, 445);
    let e = aws_error(&r);
    assert_eq!(e["errorType"], "Runtime.InitError", "{e}");
    assert_eq!(e["errorMessage"], "INIT_FAIL is set: reason", "{e}");
    assert_eq!(r["Result"]["Duration"], 0.0);
    assert!(
        log(&r).contains("init failed: INIT_FAIL is set: reason\n"),
        "{}",
        log(&r)
    );
}

#[test]
fn no_next_within_init_timeout_is_450_and_an_exit_before_it_445() {
    let s = Scratch::new();
    let code = script_code(&s, "never-next", "#!/bin/bash\necho waiting\nsleep 60\n");
    let (r, out) = invoke_aws(&s, &code, &["--init-timeout", "1"]);
    assert_failed(&r, &out, 450);
    let msg = r["Result"]["ErrMsg"].as_str().unwrap();
    assert!(
        msg.contains("did not ask for /2018-06-01/runtime/invocation/next within InitTimeout"),
        "{msg}"
    );
    assert!(log(&r).contains("waiting\n"), "{}", log(&r));

    let code = script_code(&s, "exits", "#!/bin/bash\nexit 3\n");
    let (r, out) = invoke_aws(&s, &code, &[]);
    assert_failed(&r, &out, 445);
    let msg = r["Result"]["ErrMsg"].as_str().unwrap();
    assert!(
        msg.contains("(exit code 3) before asking for /2018-06-01/runtime/invocation/next"),
        "{msg}"
    );
}

#[test]
fn client_context_needs_json_and_the_aws_api() {
    let s = Scratch::new();
    let code = example_code(&s, "echo");
    let mut cmd = s.cmd();
    cmd.arg("invoke")
        .arg(&code)
        .args(["--client-context", "{}"]);
    let out = run_bounded(cmd, BOUND);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs --api aws"), "{}", stderr(&out));
    let mut cmd = s.cmd();
    cmd.arg("invoke")
        .arg(&code)
        .args(["--api", "aws", "--client-context", "{"]);
    let out = run_bounded(cmd, BOUND);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not JSON"), "{}", stderr(&out));
}

#[test]
fn run_keeps_an_aws_instance_warm() {
    let s = Scratch::new();
    let code = example_code(&s, "init");
    let mut cmd = s.cmd();
    cmd.arg("run")
        .arg(&code)
        .args(["--api", "aws", "--port", "0"]);
    let (mut child, addr) = spawn_server(cmd);
    for n in 1..=2 {
        let (status, body) = http(&addr, "POST", "/invoke", b"{}");
        assert_eq!(status, 200, "{body}");
        let r: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(r["Result"]["RetMsg"], format!("Hello #{n}: {{}}"), "{r}");
    }
    let status = signal_and_wait(&mut child, libc::SIGTERM);
    assert!(status.success(), "run exited with {status}");
    assert_no_process_in(s.path());
    s.assert_tmp_clean();
}

/// A bootstrap that tries every answer of the API and reports what it got: each invocation
/// answers with the notes taken since the last answer, one `name=<status> <body>` (or
/// `name=value`) per line. The event says what to try.
const PROBE: &str = r#"#!/bin/bash
set -u
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
body="$TMPDIR/body"
notes="$TMPDIR/notes"
: > "$notes"
# `<status> <body>` of one request.
call() { local code; code=$(curl -s -o "$body" -w '%{http_code}' "$@"); printf '%s %s' "$code" "$(cat "$body")"; }
note() { printf '%s=%s\n' "$1" "$2" >> "$notes"; }
answer() { cp "$notes" "$TMPDIR/report"; : > "$notes"; call -X POST --data-binary @"$TMPDIR/report" "$api/invocation/$1/response"; }

note early "$(call -X POST -d x "$api/invocation/none/response")"
note get_init_error "$(call "$api/init/error")"
note unknown_path "$(call "$api/invocation/none/other")"
for v in AWS_LAMBDA_RUNTIME_API AWS_LAMBDA_FUNCTION_NAME AWS_LAMBDA_FUNCTION_VERSION \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE AWS_REGION AWS_DEFAULT_REGION _HANDLER LAMBDA_TASK_ROOT \
    AWS_LAMBDA_LOG_GROUP_NAME SCF_RUNTIME_API SCF_FUNCTIONNAME MY_VAR; do
    note "env_$v" "${!v-unset}"
done
while true; do
    event=$(curl -sS -D "$TMPDIR/headers" "$api/invocation/next")
    tr -d '\r' < "$TMPDIR/headers" | grep -i '^lambda-runtime-\|^content-type' | sed 's/: /=/' >> "$notes"
    id=$(tr -d '\r' < "$TMPDIR/headers" | sed -n 's/^lambda-runtime-aws-request-id: //Ip')
    case "$event" in
    '"probe"')
        again=$(curl -sS -D - -o /dev/null "$api/invocation/next" | tr -d '\r' | sed -n 's/^lambda-runtime-aws-request-id: //Ip')
        note same_event_again "$([ "$again" = "$id" ] && echo yes || echo "no: $again")"
        note wrong_id "$(call -X POST -d x "$api/invocation/not-$id/response")"
        note get_response "$(call "$api/invocation/$id/response")"
        note late_init_error "$(call -X POST -d x "$api/init/error")"
        note accepted "$(answer "$id")"
        note second_response "$(call -X POST -d x "$api/invocation/$id/response")"
        note second_error "$(call -X POST -d x "$api/invocation/$id/error")"
        ;;
    '"big"')
        head -c 7000000 /dev/zero | tr '\0' a > "$TMPDIR/big"
        note big "$(call -X POST --data-binary @"$TMPDIR/big" "$api/invocation/$id/response")"
        rm -f "$TMPDIR/big"
        ;;
    '"typed-error"')
        call -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.Type' "$api/invocation/$id/error" > /dev/null
        ;;
    *)
        answer "$id" > /dev/null
        ;;
    esac
done
"#;

/// The `name=value` lines of a probe's answer.
fn notes(ret_msg: &str) -> HashMap<String, String> {
    ret_msg
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect()
}

/// A noted answer: its status and its JSON body.
fn answer(notes: &HashMap<String, String>, name: &str) -> (u16, serde_json::Value) {
    let note = notes
        .get(name)
        .unwrap_or_else(|| panic!("no note {name} in {notes:?}"));
    let (status, body) = note.split_once(' ').unwrap_or((note, ""));
    let body = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status.parse().unwrap(), body)
}

fn epoch_ms(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis()
}

#[tokio::test]
async fn every_answer_of_the_api() {
    let s = Scratch::new();
    let code = script_code(&s, "probe", PROBE);
    let config = FunctionConfig {
        function_name: "probe-fn".into(),
        region: "eu-west-1".into(),
        handler: "probe.handler".into(),
        memory_mb: 256,
        timeout: Duration::from_secs(30),
        env: vec![("MY_VAR".into(), "mine".into())],
        dialect: Dialect::Aws,
        max_instances: 1,
        ..Default::default()
    };
    let pool = Pool::new(config, Package::open(&code).unwrap()).unwrap();
    let invoke = |event: &'static str, context: Option<&str>| {
        let pool = pool.clone();
        let context = context.map(str::to_owned);
        async move {
            let id = format!("id-{}", event.trim_matches('"'));
            let before = SystemTime::now();
            let r = pool
                .invoke_with_context(id, Bytes::from_static(event.as_bytes()), context)
                .await;
            (r, before, SystemTime::now())
        }
    };

    // The first invocation: headers, environment, and the answers around a result.
    let context = r#"{"custom":{"k":"v"}}"#;
    let (r, before, after) = invoke(r#""probe""#, Some(context)).await;
    assert_eq!(r.status, Status::Success, "{}", r.to_json());
    let n = notes(&r.ret_msg);
    let (status, body) = answer(&n, "early");
    assert_eq!(status, 403, "{n:?}");
    assert_eq!(body["errorType"], "InvalidStateTransition");
    assert_eq!(
        body["errorMessage"],
        "State transition from Started to InvocationResponse failed for runtime. Error: State transition is not allowed"
    );
    assert_eq!(answer(&n, "get_init_error").0, 405, "{n:?}");
    assert_eq!(answer(&n, "unknown_path").0, 404, "{n:?}");
    assert_eq!(answer(&n, "get_response").0, 405, "{n:?}");

    let api = &n["env_aws_lambda_runtime_api"];
    assert!(
        api.starts_with("127.0.0.1:") && api[10..].parse::<u16>().is_ok(),
        "{api}"
    );
    assert_eq!(n["env_aws_lambda_function_name"], "probe-fn");
    assert_eq!(n["env_aws_lambda_function_version"], "$LATEST");
    assert_eq!(n["env_aws_lambda_function_memory_size"], "256");
    assert_eq!(n["env_aws_region"], "eu-west-1");
    assert_eq!(n["env_aws_default_region"], "eu-west-1");
    assert_eq!(n["env__handler"], "probe.handler");
    assert_eq!(
        Path::new(&n["env_lambda_task_root"])
            .canonicalize()
            .unwrap(),
        code.canonicalize().unwrap()
    );
    assert_eq!(n["env_aws_lambda_log_group_name"], "/aws/lambda/probe-fn");
    assert_eq!(n["env_scf_runtime_api"], "unset");
    assert_eq!(n["env_scf_functionname"], "unset");
    assert_eq!(n["env_my_var"], "mine");

    assert_eq!(n["lambda-runtime-aws-request-id"], "id-probe");
    // The event was queued between `before` and `after`; a second of slack either side
    // for the wall clock's adjustments.
    let deadline: u128 = n["lambda-runtime-deadline-ms"].parse().unwrap();
    let timeout = 30_000;
    assert!(
        (epoch_ms(before) + timeout - 1000..=epoch_ms(after) + timeout + 1000).contains(&deadline),
        "deadline {deadline}"
    );
    assert_eq!(
        n["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:probe-fn"
    );
    assert!(n["lambda-runtime-trace-id"].starts_with("Root=1-"), "{n:?}");
    assert_eq!(n["lambda-runtime-client-context"], context);
    assert_eq!(n["content-type"], "application/json");
    assert_eq!(n["same_event_again"], "yes");

    let (status, body) = answer(&n, "wrong_id");
    assert_eq!(status, 400, "{n:?}");
    assert_eq!(body["errorType"], "InvalidRequestID");
    assert_eq!(body["errorMessage"], "Invalid request ID");
    let (status, body) = answer(&n, "late_init_error");
    assert_eq!(status, 403, "{n:?}");
    assert_eq!(
        body["errorMessage"],
        "State transition from Running to InitError failed for runtime. Error: State transition is not allowed"
    );

    // The second: what the first saw after its result, and no client context this time.
    let (r, _, _) = invoke(r#""report""#, None).await;
    assert_eq!(r.status, Status::Success, "{}", r.to_json());
    let n = notes(&r.ret_msg);
    let (status, body) = answer(&n, "accepted");
    assert_eq!((status, &body), (202, &serde_json::json!({"status": "OK"})));
    let (status, body) = answer(&n, "second_response");
    assert_eq!(status, 403, "{n:?}");
    assert_eq!(
        body["errorMessage"],
        "State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed"
    );
    let (status, body) = answer(&n, "second_error");
    assert_eq!(status, 403, "{n:?}");
    assert_eq!(body["errorType"], "InvalidStateTransition");
    assert!(!n.contains_key("lambda-runtime-client-context"), "{n:?}");
    assert_eq!(n["lambda-runtime-aws-request-id"], "id-report");

    // A response over 6 MiB: 413 to the runtime, 407 for the caller; the instance stays.
    let (r, _, _) = invoke(r#""big""#, None).await;
    assert_eq!(r.status, Status::ResponseTooLarge, "{}", r.to_json());
    let (r, _, _) = invoke(r#""report""#, None).await;
    let n = notes(&r.ret_msg);
    let (status, body) = answer(&n, "big");
    assert_eq!(status, 413, "{n:?}");
    assert_eq!(body["errorType"], "RequestEntityTooLarge");
    assert_eq!(
        body["errorMessage"],
        "Exceeded maximum allowed payload size (6291456 bytes)."
    );

    // An error with an empty body: the error type header is the message.
    let (r, _, _) = invoke(r#""typed-error""#, None).await;
    assert_eq!(r.status, Status::UserCodeException, "{}", r.to_json());
    assert_eq!(r.err_msg, "Custom.Type");

    // All on one warm instance.
    assert_eq!(pool.stats().live, 1);
    pool.shutdown().await;
    assert_no_process_in(s.path());
}
