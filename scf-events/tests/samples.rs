//! Every sample event parses with its type, borrows its strings, and serializes back to the
//! same JSON; bad and hostile events are errors that name the field, never panics.

use std::io::Read as _;

use scf_events::apigw::{self, IntegrationResponse, Values};
use scf_events::ckafka::Ckafka;
use scf_events::cls::{Cls, LogData};
use scf_events::cmq::{Cmq, Tags};
use scf_events::cos::Cos;
use scf_events::timer::Timer;
use scf_events::{parse, samples, Trigger};
use serde::Serialize;
use serde_json::Value;

fn sample(name: &str) -> &'static [u8] {
    samples::find(name).unwrap().json.as_bytes()
}

/// Parses the sample `name` as `T`, checks it serializes to the same JSON, and returns it.
fn round_trip<'e, T>(name: &str, json: &'e [u8]) -> T::Event<'e>
where
    T: Trigger,
    T::Event<'e>: Serialize,
{
    let event = parse::<T>(json).unwrap_or_else(|e| panic!("sample {name}: {e}"));
    let original: Value = serde_json::from_slice(json).unwrap();
    let again = serde_json::to_value(&event).unwrap();
    assert_eq!(again, original, "sample {name} did not round-trip");
    event
}

#[test]
fn every_sample_is_json_with_a_name_and_a_trigger() {
    assert!(samples::ALL.len() >= 8);
    for s in samples::ALL {
        serde_json::from_str::<Value>(s.json).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert!(!s.trigger.is_empty());
        assert_eq!(samples::find(s.name), Some(s));
    }
}

#[test]
fn an_unknown_sample_name_lists_the_names() {
    let err = samples::lookup("apigateway").unwrap_err();
    assert!(err.contains("`apigateway`"), "{err}");
    for s in samples::ALL {
        assert!(err.contains(s.name), "{err}");
    }
    assert_eq!(samples::listing().lines().count(), samples::ALL.len());
}

#[test]
fn apigw_request_sample_round_trips_and_borrows() {
    let json = sample("apigw");
    let e = round_trip::<apigw::Request>("apigw", json);
    assert_eq!(e.http_method, "POST");
    assert_eq!(e.path, "/test/value");
    assert!(e.path.is_borrowed());
    assert_eq!(e.query_string.len(), 2);
    // Borrowed also inside the untagged `Values` and as map keys.
    assert!(
        matches!(e.query_string.get("bob"), Some(Values::One(v)) if v == "alice" && v.is_borrowed())
    );
    assert!(e.headers.keys().all(|k| k.is_borrowed()));
    assert_eq!(e.path_parameters.get("path").unwrap(), "value");
    assert_eq!(e.stage_variables.get("stage").unwrap(), "release");
    // The body has escaped quotes: it cannot be borrowed.
    let body = e.body.as_ref().unwrap();
    assert_eq!(body, r#"{"test":"body"}"#);
    assert!(!body.is_borrowed());
    let ctx = e.request_context.as_ref().unwrap();
    assert_eq!(ctx.path.as_ref().unwrap(), "/test/{path}");
    assert_eq!(
        ctx.identity.as_ref().unwrap().secret_id.as_ref().unwrap(),
        "abdcdxxxxxxxsdfs"
    );
}

#[test]
fn apigw_response_sample_round_trips() {
    let json = sample("apigw-response");
    let r = round_trip::<IntegrationResponse>("apigw-response", json);
    assert_eq!(r.status_code, 200);
    assert!(!r.is_base64_encoded);
    assert_eq!(r.headers.get("Content-Type").unwrap(), "text/html");
}

#[test]
fn timer_sample_round_trips() {
    let t = round_trip::<Timer>("timer", sample("timer"));
    assert_eq!(t.r#type, "Timer");
    assert_eq!(t.trigger_name, "EveryDay");
    assert_eq!(t.message.as_ref().unwrap(), "user define msg body");
}

#[test]
fn cos_sample_round_trips() {
    let c = round_trip::<Cos>("cos", sample("cos"));
    let r = &c.records[0];
    assert_eq!(r.cos.cos_object.size, 1029);
    assert_eq!(r.cos.cos_bucket.name, "testpic");
    assert_eq!(r.event.event_name, "cos:ObjectCreated:*");
    assert_eq!(r.event.event_time, 1545205770);
    assert!(r.cos.cos_object.meta.keys().all(|k| k.is_borrowed()));
}

#[test]
fn ckafka_sample_round_trips() {
    let k = round_trip::<Ckafka>("ckafka", sample("ckafka"));
    assert_eq!(k.records.len(), 2);
    assert_eq!(k.records[1].ckafka.offset, 37);
    assert_eq!(k.records[0].ckafka.msg_body, "Hello from Ckafka!");
}

#[test]
fn cmq_topic_and_queue_samples_round_trip() {
    let t = round_trip::<Cmq>("cmq-topic", sample("cmq-topic"));
    let m = &t.records[0].cmq;
    assert_eq!(m.r#type, "topic");
    assert_eq!(m.topic_owner, Some(1200000000));
    let tags = m.msg_tag.as_ref().unwrap();
    assert!(matches!(tags, Tags::List(_)));
    assert_eq!(tags.iter().collect::<Vec<_>>(), ["tag1", "tag2"]);

    let q = round_trip::<Cmq>("cmq-queue", sample("cmq-queue"));
    let m = &q.records[0].cmq;
    assert_eq!(m.r#type, "queue");
    assert_eq!(m.topic_name, None);
    let tags = m.msg_tag.as_ref().unwrap();
    assert!(matches!(tags, Tags::Joined(_)));
    assert_eq!(tags.iter().collect::<Vec<_>>(), ["tag1", "tag2"]);
}

#[test]
fn cls_sample_round_trips_and_its_data_is_base64_gzip_of_log_data() {
    let c = round_trip::<Cls>("cls", sample("cls"));
    use base64::Engine as _;
    let gz = base64::engine::general_purpose::STANDARD
        .decode(c.clslogs.data.as_bytes())
        .unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .take(1 << 20)
        .read_to_end(&mut json)
        .unwrap();
    let data = parse::<LogData>(&json).unwrap();
    assert_eq!(data.topic_id, "xxxx-xx-xx-xx-yyyyyyyy");
    assert_eq!(data.records.len(), 2);
    assert_eq!(data.records[0].timestamp, "1605578090000000");
}

#[test]
fn unknown_fields_are_tolerated() {
    let t = parse::<Timer>(
        br#"{"Type":"Timer","TriggerName":"t","Time":"x","Extra":{"deep":[1,2,3]},"More":null}"#,
    )
    .unwrap();
    assert_eq!(t.trigger_name, "t");
    assert_eq!(t.message, None);
}

#[test]
fn a_bad_field_is_named_with_its_json_path() {
    let e = parse::<Cos>(
        br#"{"Records":[{"cos":{"cosSchemaVersion":"1.0","cosObject":{"url":"u","key":"k","size":"big"},"cosBucket":{"region":"r","name":"n","appid":"a"}},"event":{"eventName":"n","eventVersion":"1","eventTime":1,"eventSource":"s"}}]}"#,
    )
    .unwrap_err();
    assert_eq!(e.trigger(), "cos");
    assert_eq!(e.path(), "Records[0].cos.cosObject.size");
    let text = e.to_string();
    assert!(
        text.starts_with("bad cos event at `Records[0].cos.cosObject.size`: invalid type"),
        "{text}"
    );
}

#[test]
fn a_missing_field_an_event_that_is_not_json_and_trailing_bytes_are_errors() {
    let e = parse::<Timer>(br#"{"Type":"Timer","Time":"x"}"#).unwrap_err();
    assert!(e.to_string().contains("missing field `TriggerName`"), "{e}");
    let e = parse::<Timer>(b"not json").unwrap_err();
    assert!(e.to_string().starts_with("bad timer event"), "{e}");
    let e = parse::<Timer>(br#"{"Type":"Timer","TriggerName":"t","Time":"x"} {}"#).unwrap_err();
    assert!(e.to_string().contains("trailing"), "{e}");
}

#[test]
fn hostile_nesting_is_an_error_or_skipped_never_a_stack_overflow() {
    // 100,000 levels in a field the type has: serde_json stops at its limit of 128.
    let (open, close) = ("[".repeat(100_000), "]".repeat(100_000));
    let known = format!(r#"{{"httpMethod":"GET","path":"/","queryString":{{"a":{open}{close}}}}}"#);
    let e = parse::<apigw::Request>(known.as_bytes()).unwrap_err();
    assert!(e.path().starts_with("queryString.a"), "{}", e.path());
    assert!(e.to_string().contains("recursion limit"), "{e}");
    // The same in an unknown field: serde_json skips it without recursing.
    let unknown = format!(r#"{{"Type":"Timer","TriggerName":"t","Time":"x","X":{open}{close}}}"#);
    assert_eq!(
        parse::<Timer>(unknown.as_bytes()).unwrap().trigger_name,
        "t"
    );
}
