//! The documented sample of each trigger's event, by name: what `scf-local invoke
//! --event-example <name>` and `cargo scf invoke --event-example <name>` send.
//!
//! The files are `samples/<name>.json` in this crate, compiled in with `include_str!`; this
//! module needs no dependency, so the emulator links it without serde's derive or `http`
//! (`default-features = false`). The crate's tests parse every sample with its type and check
//! that it serializes back to the same JSON.

/// One sample event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The name it is asked for by: `apigw`, `timer`, `cmq-topic`, …
    pub name: &'static str,
    /// The trigger, in the platform's words.
    pub trigger: &'static str,
    /// The event, JSON text.
    pub json: &'static str,
}

macro_rules! samples {
    ($($name:literal => $trigger:literal),+ $(,)?) => {
        /// Every sample, in the order `--list` shows them.
        pub const ALL: &[Sample] = &[$(Sample {
            name: $name,
            trigger: $trigger,
            json: include_str!(concat!("../samples/", $name, ".json")),
        }),+];
    };
}

samples! {
    "apigw" => "API Gateway trigger: integration request",
    "apigw-response" => "API Gateway trigger: integration response (what the function returns)",
    "timer" => "Timer trigger",
    "cos" => "COS trigger",
    "cls" => "CLS trigger (data: base64 of gzip of JSON)",
    "ckafka" => "CKafka trigger",
    "cmq-topic" => "CMQ topic trigger",
    "cmq-queue" => "CMQ queue trigger",
}

/// The sample called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Sample> {
    ALL.iter().find(|s| s.name == name)
}

/// The sample called `name`, or an error message that lists the names there are.
pub fn lookup(name: &str) -> Result<&'static Sample, String> {
    find(name).ok_or_else(|| format!("no sample event called `{name}`; there are: {}", names()))
}

/// The names, comma-separated: `apigw, apigw-response, timer, …`.
pub fn names() -> String {
    let mut out = String::new();
    for (i, s) in ALL.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(s.name);
    }
    out
}

/// One line per sample, `name  trigger`, for a `--list`.
pub fn listing() -> String {
    let width = ALL.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for s in ALL {
        out.push_str(&format!("{:width$}  {}\n", s.name, s.trigger));
    }
    out
}
