//! `samples::edit`: a sample with fields changed, as the command lines' `--set` does.

use scf_events::samples::{self, edit};
use serde_json::{json, Value};

fn edited(name: &str, changes: &[&str]) -> Result<Value, String> {
    let changes: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
    edit(samples::find(name).unwrap().json, &changes).map(|t| serde_json::from_str(&t).unwrap())
}

#[test]
fn strings_json_values_new_keys_and_list_indexes_are_set() {
    let v = edited(
        "apigw",
        &[
            "httpMethod=GET",
            "path=/hello/SCF",
            "queryString.id=[\"1\",\"2\"]",
            "isBase64Encoded=false",
            "headers.Content-Type=text/plain",
            "requestContext.identity.secretId=\"42\"",
            "new.nested.key=1",
        ],
    )
    .unwrap();
    assert_eq!(v["httpMethod"], "GET");
    assert_eq!(v["path"], "/hello/SCF");
    assert_eq!(v["queryString"]["id"], json!(["1", "2"]));
    assert_eq!(v["queryString"]["foo"], "bar");
    assert_eq!(v["isBase64Encoded"], false);
    assert_eq!(v["headers"]["Content-Type"], "text/plain");
    assert_eq!(v["requestContext"]["identity"]["secretId"], "42");
    assert_eq!(v["new"]["nested"]["key"], 1);

    let v = edited(
        "ckafka",
        &["Records[1].Ckafka.msgBody=changed", "Records[2]={}"],
    )
    .unwrap();
    assert_eq!(v["Records"][1]["Ckafka"]["msgBody"], "changed");
    assert_eq!(v["Records"][2], json!({}));
}

#[test]
fn bad_changes_are_errors_that_say_which() {
    let cases = [
        ("no-equals-sign", "expected path=value"),
        ("Records[9].x=1", "index 9 is past the end of a list of 2"),
        ("Records.x=1", "cannot take key `x` of a list"),
        (
            "Records[0].Ckafka.offset[0]=1",
            "cannot take index 0 of a number",
        ),
        ("Records[x]=1", "`[x]` is not an index"),
        ("Records[0=1", "`[` without `]`"),
        ("a..b=1", "empty key"),
    ];
    for (change, needle) in cases {
        let e = edited("ckafka", &[change]).unwrap_err();
        assert!(e.contains(needle), "{change}: {e}");
    }
    let many: Vec<String> = (0..=samples::MAX_CHANGES)
        .map(|i| format!("k{i}=1"))
        .collect();
    assert!(edit("{}", &many).unwrap_err().starts_with("at most"));
}
