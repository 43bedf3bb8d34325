//! Every sample event parses with its type, borrows its strings, and serializes back to the
//! same JSON; bad and hostile events are errors that name the field, never panics.

use std::io::Read as _;

use scf_events::apigw::{self, IntegrationResponse, Values};
use scf_events::ckafka::Ckafka;
use scf_events::clb::{self, Flag};
use scf_events::cls::{Cls, LogData};
use scf_events::cmq::{Cmq, Tags};
use scf_events::cos::Cos;
use scf_events::mps::Mps;
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
    assert!(samples::ALL.len() >= 11);
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

#[test]
fn mps_sample_round_trips_with_task_input_and_output_kept_as_json() {
    let json = sample("mps");
    let m = round_trip::<Mps>("mps", json);
    assert_eq!(m.event_type, "WorkflowTask");
    assert!(m.edit_media_task_event.is_none());
    let w = m.workflow_task_event.as_ref().unwrap();
    assert_eq!(w.status, "FINISH");
    let input = w.input_info.as_ref().unwrap();
    assert_eq!(
        input.cos_input_info.as_ref().unwrap().object,
        "/uploads/clip.mp4"
    );
    let meta = w.meta_data.as_ref().unwrap();
    assert_eq!((meta.width, meta.height), (1280, 720));
    assert_eq!(meta.video_stream_set[0].fps, 30);
    assert_eq!(meta.audio_stream_set[0].sampling_rate, 44100);

    let steps = &w.media_process_result_set;
    assert_eq!(steps.len(), 3);
    let transcode = steps[0].transcode_task.as_ref().unwrap();
    assert_eq!(transcode.status, "SUCCESS");
    // The step's output is the event's own text, borrowed: parse it as you need.
    let out = transcode.output.unwrap();
    assert!(borrowed_from(json, out.get()));
    let out: Value = serde_json::from_str(out.get()).unwrap();
    assert_eq!(out["Path"], "/out/clip_transcode_10.mp4");
    // A failed step: `Output` is null, the step's other fields say why.
    let gif = steps[1].animated_graphic_task.as_ref().unwrap();
    assert_eq!((gif.status.as_ref(), gif.err_code), ("FAIL", 30010));
    assert_eq!(gif.output, None);
    assert!(steps[1].transcode_task.is_none());
    assert_eq!(w.ai_analysis_result_set.unwrap().get(), "[]");
}

/// Whether `part` lies inside `whole`'s bytes (borrowed from it, not a copy).
fn borrowed_from(whole: &[u8], part: &str) -> bool {
    let range = whole.as_ptr_range();
    range.start <= part.as_ptr() && part.as_bytes().as_ptr_range().end <= range.end
}

#[test]
fn mps_edit_media_task_event_parses() {
    let json = br#"{"EventType":"EditMediaTask","EditMediaTaskEvent":{"TaskId":"t-1","Status":"FINISH","ErrCode":0,"Message":"","Input":{"FileInfoSet":[]},"Output":null}}"#;
    let m = parse::<Mps>(json).unwrap();
    let e = m.edit_media_task_event.unwrap();
    assert_eq!((e.task_id.as_ref(), e.status.as_ref()), ("t-1", "FINISH"));
    assert_eq!(e.input.unwrap().get(), r#"{"FileInfoSet":[]}"#);
    assert_eq!(e.output, None);
    assert!(m.workflow_task_event.is_none());
}

#[test]
fn a_bad_field_beside_json_kept_raw_is_still_named_by_path() {
    let e = parse::<Mps>(
        br#"{"EventType":"WorkflowTask","WorkflowTaskEvent":{"TaskId":"t","Status":"FINISH","MediaProcessResultSet":[{"Type":"Transcode","TranscodeTask":{"Status":"FAIL","Input":{"a":1},"ErrCode":"x"}}]}}"#,
    )
    .unwrap_err();
    assert_eq!(e.trigger(), "mps");
    assert_eq!(
        e.path(),
        "WorkflowTaskEvent.MediaProcessResultSet[0].TranscodeTask.ErrCode"
    );
}

#[test]
fn hostile_nesting_in_json_kept_raw_is_taken_whole_without_recursion() {
    // serde_json skips over a raw value without recursing; whoever parses it later meets
    // the recursion limit there.
    let (open, close) = ("[".repeat(100_000), "]".repeat(100_000));
    let event = format!(
        r#"{{"EventType":"EditMediaTask","EditMediaTaskEvent":{{"TaskId":"t","Status":"FINISH","Output":{open}{close}}}}}"#
    );
    let m = parse::<Mps>(event.as_bytes()).unwrap();
    let out = m.edit_media_task_event.unwrap().output.unwrap();
    assert_eq!(out.get().len(), 200_000);
    let e = serde_json::from_str::<Value>(out.get()).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
}

#[test]
fn clb_request_sample_round_trips_and_reads_clb_headers() {
    let json = sample("clb");
    let r = round_trip::<clb::Request>("clb", json);
    assert_eq!(r.method(), Some("POST"));
    assert_eq!(r.uri(), Some("/scf_location"));
    assert_eq!(r.header("x-real-ip"), r.client_ip());
    assert!(r.headers.keys().all(|k| k.is_borrowed()));
    assert_eq!(r.is_base64_encoded, Some(Flag::Text("false".into())));
    assert!(!r.is_base64());
    let payload: Value = serde_json::from_str(r.payload.unwrap().get()).unwrap();
    assert_eq!(payload["key2"], "abc");
}

#[test]
fn clb_base64_flag_is_a_boolean_or_a_string() {
    for (flag, is) in [
        ("true", true),
        ("false", false),
        (r#""true""#, true),
        (r#""TRUE""#, true),
        (r#""false""#, false),
    ] {
        let json = format!(r#"{{"headers":{{}},"payload":"aGk=","isBase64Encoded":{flag}}}"#);
        let r = parse::<clb::Request>(json.as_bytes()).unwrap();
        assert_eq!(r.is_base64(), is, "{flag}");
    }
    let r = parse::<clb::Request>(b"{}").unwrap();
    assert!(!r.is_base64() && r.payload.is_none() && r.headers.is_empty());
    let e = parse::<clb::Request>(br#"{"isBase64Encoded":1}"#).unwrap_err();
    assert_eq!(e.path(), "isBase64Encoded");
}

#[test]
fn clb_response_sample_round_trips_with_a_header_of_several_values() {
    let r = round_trip::<clb::IntegrationResponse>("clb-response", sample("clb-response"));
    assert_eq!(r.status_code, 200);
    assert_eq!(
        r.headers.get("Key").unwrap().iter().collect::<Vec<_>>(),
        ["value1", "value2", "value3"]
    );
    assert!(matches!(r.headers.get("Content-Type"), Some(Values::One(v)) if v == "text/html"));
}

#[test]
fn handlers_of_mps_and_clb_events_get_their_samples_and_fail_on_bad_ones() {
    use scf_bootstrap::{Context, Environment, IntoOutcome as _, Outcome, Reply};
    use std::collections::BTreeMap;
    use std::time::Instant;

    fn finished(event: Mps<'_>, _: &Context<'_>, reply: &mut Reply) {
        let task = event.workflow_task_event.unwrap();
        reply.push_str(&task.task_id);
    }
    // A CLB function answers with an integration response.
    fn hello(req: clb::Request<'_>, _: &Context<'_>, reply: &mut Reply) -> Result<(), String> {
        let body = format!(
            "{} {}",
            req.method().unwrap_or("?"),
            req.uri().unwrap_or("/")
        );
        let headers = BTreeMap::from([("Content-Type".into(), Values::One("text/plain".into()))]);
        let response = clb::IntegrationResponse {
            is_base64_encoded: false,
            status_code: 200,
            headers,
            body: body.as_str().into(),
        };
        reply.push_str(&serde_json::to_string(&response).map_err(|e| e.to_string())?);
        Ok(())
    }

    let env = Environment::default();
    let ctx = Context::new("req-1", 128, 3000, Instant::now(), &env);
    let mut reply = Reply::default();
    let mut run = |h: &mut dyn FnMut(&[u8], &Context<'_>, &mut Reply) -> scf_events::Handled,
                   event: &[u8]| {
        reply.clear();
        let outcome = h(event, &ctx, &mut reply).into_outcome(&mut reply);
        (
            outcome,
            String::from_utf8(reply.as_bytes().to_vec()).unwrap(),
        )
    };

    let mut mps = scf_events::handler::<Mps, _, _>(finished);
    let (outcome, text) = run(&mut mps, sample("mps"));
    assert_eq!(outcome, Outcome::Success);
    assert!(
        text.ends_with("-WorkflowTask-8e3b1c0d2f4a5b6c7d8e9f0a1b2c3d4et0"),
        "{text}"
    );
    let (outcome, text) = run(&mut mps, br#"{"EventType":7}"#);
    assert_eq!(outcome, Outcome::Failure);
    assert!(text.starts_with("bad mps event at `EventType`"), "{text}");

    let mut clb = scf_events::handler::<clb::Request, _, _>(hello);
    let (outcome, text) = run(&mut clb, sample("clb"));
    assert_eq!(outcome, Outcome::Success);
    let r = parse::<clb::IntegrationResponse>(text.as_bytes()).unwrap();
    assert_eq!(
        (r.status_code, r.body.as_ref()),
        (200, "POST /scf_location")
    );
    let (outcome, text) = run(&mut clb, br#"{"headers":{"X-Method":["GET"]}}"#);
    assert_eq!(outcome, Outcome::Failure);
    assert!(
        text.starts_with("bad clb event at `headers.X-Method`"),
        "{text}"
    );
}

#[test]
fn eventbridge_sample_round_trips_and_its_data_reads_as_tdmq() {
    use scf_events::eventbridge::{EventBridge, Tdmq};

    let json = sample("eventbridge");
    let e = round_trip::<EventBridge>("eventbridge", json);
    assert_eq!(e.r#type, "connector:tdmq");
    assert!(e.source.is_borrowed());
    assert_eq!(e.millis(), Some(1_615_430_559_146));
    assert!(e.subject.as_ref().unwrap().starts_with("qcs::tdmq:"));
    let m: Tdmq = e.data_as().unwrap();
    assert_eq!(m.msg_body, "Hello from TDMQ!");
    assert!(m.msg_body.is_borrowed());
    assert_eq!(m.topic_type.as_deref(), Some("0"));
    assert_eq!(m.topic, "persistent://appid/namespace/topic-1");
}

#[test]
fn eventbridge_reads_the_pages_spelling_and_batches() {
    use scf_events::eventbridge::{EventBridge, Tdmq};

    // The page's sample spells `subject` as `subjuect`; written back as `subject`.
    let e = parse::<EventBridge>(
        br#"{"id":"1","type":"t","source":"s","subjuect":"qcs::x","time":"soon"}"#,
    )
    .unwrap();
    assert_eq!(e.subject.as_deref(), Some("qcs::x"));
    assert_eq!(e.millis(), None);
    assert!(serde_json::to_string(&e)
        .unwrap()
        .contains(r#""subject":"qcs::x""#));
    // No data: `data_as` sees `null`.
    assert_eq!(e.data_as::<Option<Tdmq>>().unwrap(), None);
    let err = e.data_as::<Tdmq>().unwrap_err();
    assert_eq!(err.path(), "data");

    // Batch delivery: an array of envelopes; the error path names the element.
    let batch = format!("[{0},{0}]", samples::find("eventbridge").unwrap().json);
    let events = parse::<Vec<EventBridge>>(batch.as_bytes()).unwrap();
    assert_eq!(events.len(), 2);
    let err =
        parse::<Vec<EventBridge>>(br#"[{"id":"1","type":"t","source":"s"},{"id":2}]"#).unwrap_err();
    assert_eq!((err.trigger(), err.path()), ("eventbridge", "[1].id"));

    // A bad field inside `data` is named with its path under `data`.
    let e = parse::<EventBridge>(
        br#"{"id":"1","type":"t","source":"s","data":{"topic":"a","msgBody":7}}"#,
    )
    .unwrap();
    let err = e.data_as::<Tdmq>().unwrap_err();
    assert_eq!(err.path(), "data.msgBody");
    assert!(
        err.to_string()
            .starts_with("bad eventbridge event at `data.msgBody`"),
        "{err}"
    );
}

#[test]
fn a_handler_of_an_eventbridge_batch_gets_every_message() {
    use scf_bootstrap::{Context, Environment, IntoOutcome as _, Outcome, Reply};
    use scf_events::eventbridge::{EventBridge, Tdmq};
    use std::time::Instant;

    fn bodies(
        events: Vec<EventBridge<'_>>,
        _: &Context<'_>,
        reply: &mut Reply,
    ) -> Result<(), String> {
        for e in events {
            let m: Tdmq = e.data_as().map_err(|e| e.to_string())?;
            reply.push_str(&m.msg_body);
            reply.push_str(";");
        }
        Ok(())
    }

    let env = Environment::default();
    let ctx = Context::new("req-1", 128, 3000, Instant::now(), &env);
    let mut reply = Reply::default();
    let mut h = scf_events::handler::<Vec<EventBridge>, _, _>(bodies);
    let batch = format!("[{0},{0}]", samples::find("eventbridge").unwrap().json);
    let outcome = h(batch.as_bytes(), &ctx, &mut reply).into_outcome(&mut reply);
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(reply.as_bytes(), b"Hello from TDMQ!;Hello from TDMQ!;");

    reply.clear();
    let bad = br#"[{"id":"1","type":"t","source":"s","data":{"topic":"a"}}]"#;
    let outcome = h(bad, &ctx, &mut reply).into_outcome(&mut reply);
    assert_eq!(outcome, Outcome::Failure);
    let text = String::from_utf8(reply.as_bytes().to_vec()).unwrap();
    assert!(
        text.starts_with("bad eventbridge event at `data`: missing field `msgBody`"),
        "{text}"
    );
}
