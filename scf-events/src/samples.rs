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
    "mps" => "MPS (media processing) trigger: a workflow task",
    "clb" => "CLB trigger: request",
    "clb-response" => "CLB trigger: integration response (what the function returns)",
    "eventbridge" => "EventBridge: an event from the TDMQ connector",
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

/// Most `path=value` changes [`edit`] applies at once.
#[cfg(feature = "edit")]
pub const MAX_CHANGES: usize = 64;

/// Returns `json` with each change `path=value` applied, as compact JSON text.
///
/// `path` is the notation of [`EventError::path`](crate::EventError::path) where the `types`
/// feature has it: keys joined by `.`, list indexes as `[n]` (`Records[0].CMQ.msgBody`,
/// `headers.Content-Type`). A key that is missing is added; an index must exist, or be
/// the list's length to append. `value` is taken as JSON when it parses as JSON (`true`,
/// `42`, `["a","b"]`, `"quoted"`), as a string otherwise (`/hello/SCF`).
#[cfg(feature = "edit")]
pub fn edit(json: &str, changes: &[String]) -> Result<String, String> {
    use serde_json::Value;

    if changes.len() > MAX_CHANGES {
        return Err(format!(
            "at most {MAX_CHANGES} changes, not {}",
            changes.len()
        ));
    }
    let mut root: Value =
        serde_json::from_str(json).map_err(|e| format!("the event is not JSON: {e}"))?;
    for change in changes {
        let (path, text) = change
            .split_once('=')
            .ok_or_else(|| format!("`{change}`: expected path=value"))?;
        let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
        let mut at = &mut root;
        for step in steps(path).map_err(|e| format!("`{path}`: {e}"))? {
            at = child(at, step).map_err(|e| format!("`{path}`: {e}"))?;
        }
        *at = value;
    }
    Ok(root.to_string())
}

/// The member `step` names of `at`, added when missing (a key under a null makes it an
/// object: the parent was just added).
#[cfg(feature = "edit")]
fn child(at: &mut serde_json::Value, step: Step) -> Result<&mut serde_json::Value, String> {
    use serde_json::Value;

    if at.is_null() && matches!(step, Step::Key(_)) {
        *at = Value::Object(serde_json::Map::new());
    }
    match (step, at) {
        (Step::Key(k), Value::Object(map)) => Ok(map.entry(k).or_insert(Value::Null)),
        (Step::Index(i), Value::Array(list)) => {
            if i == list.len() {
                list.push(Value::Null);
            }
            let n = list.len();
            list.get_mut(i)
                .ok_or_else(|| format!("index {i} is past the end of a list of {n}"))
        }
        (step, other) => Err(format!(
            "cannot take {} of {}",
            step.describe(),
            kind(other)
        )),
    }
}

#[cfg(feature = "edit")]
fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// One step of an [`edit`] path.
#[cfg(feature = "edit")]
enum Step {
    Key(String),
    Index(usize),
}

#[cfg(feature = "edit")]
impl Step {
    fn describe(&self) -> String {
        match self {
            Step::Key(k) => format!("key `{k}`"),
            Step::Index(i) => format!("index {i}"),
        }
    }
}

#[cfg(feature = "edit")]
fn steps(path: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Step::Key(key.to_owned()));
        } else if rest.is_empty() {
            return Err("empty key".to_owned());
        }
        while let Some(tail) = rest.strip_prefix('[') {
            let (n, after) = tail.split_once(']').ok_or("`[` without `]`")?;
            out.push(Step::Index(
                n.parse().map_err(|_| format!("`[{n}]` is not an index"))?,
            ));
            rest = after;
        }
        if !rest.is_empty() {
            return Err(format!("unexpected `{rest}`"));
        }
    }
    Ok(out)
}
