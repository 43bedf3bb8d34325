//! The parameters of one API call: the JSON body of a POST, or the flattened form
//! (`Environment.Variables.0.Key=A`) of a GET query or a form-encoded POST, turned into the
//! same JSON tree.
//!
//! Parameters the emulator does not know are ignored, so newer SDKs (which add optional
//! parameters) keep working. Numbers may come as strings: a GET query has nothing else.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The parameters of a call (or a nested object of them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// Parses a JSON body: one object (`InvalidParameter.Payload` otherwise).
    pub fn from_json(body: &[u8]) -> Result<Params, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Params(map)),
            Ok(_) => Err(ApiError::new(
                "InvalidParameter.Payload",
                "the body must be a JSON object of the action's parameters",
            )),
            Err(e) => Err(ApiError::new(
                "InvalidParameter.Payload",
                format!("the body is not JSON: {e}"),
            )),
        }
    }

    /// Parses a form-encoded query (`a=1&B.0.C=x`): dotted names become nested objects,
    /// numeric segments array items.
    pub fn from_form(query: &str) -> Result<Params, ApiError> {
        let mut root = Value::Object(Map::new());
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode_component(k)?, decode_component(v)?);
            let mut node = &mut root;
            let segments: Vec<&str> = k.split('.').collect();
            for (i, seg) in segments.iter().enumerate() {
                let Value::Object(map) = node else {
                    return Err(conflict(&k));
                };
                if i + 1 == segments.len() {
                    if map
                        .insert((*seg).to_owned(), Value::String(v.clone()))
                        .is_some()
                    {
                        return Err(conflict(&k));
                    }
                    break;
                }
                node = map
                    .entry((*seg).to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
        }
        match arrays(root) {
            Value::Object(map) => Ok(Params(map)),
            _ => Err(conflict(query)),
        }
    }

    /// The value of `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// Whether `key` is present (and not null).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A string parameter.
    pub fn str(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::wrong_type(key, "a string")),
        }
    }

    /// A string parameter that must be there (`MissingParameter` otherwise; an empty
    /// string counts as missing).
    pub fn required_str(&self, key: &str) -> Result<&str, ApiError> {
        self.str(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing(key))
    }

    /// An integer parameter (a JSON number without fraction, or a string of one).
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let wrong = || ApiError::wrong_type(key, "an integer");
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(wrong),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| wrong()),
            Some(_) => Err(wrong()),
        }
    }

    /// A nested object parameter.
    pub fn object(&self, key: &str) -> Result<Option<Params>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Params(map.clone()))),
            Some(_) => Err(ApiError::wrong_type(key, "an object")),
        }
    }

    /// An array of objects parameter.
    pub fn objects(&self, key: &str) -> Result<Vec<Params>, ApiError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => Ok(Params(map.clone())),
                    _ => Err(ApiError::wrong_type(key, "an array of objects")),
                })
                .collect(),
            Some(_) => Err(ApiError::wrong_type(key, "an array of objects")),
        }
    }
}

fn conflict(key: &str) -> ApiError {
    ApiError::new(
        "InvalidParameter",
        format!("the parameter `{key}` is given twice or conflicts with another"),
    )
}

/// Objects whose keys are all array indexes (`0`, `1`, …) become arrays, in index order.
fn arrays(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let indexed: Option<Vec<(usize, Value)>> = if map.is_empty() {
                None
            } else {
                map.iter()
                    .map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v.clone())))
                    .collect()
            };
            match indexed {
                Some(mut items) => {
                    items.sort_by_key(|(i, _)| *i);
                    Value::Array(items.into_iter().map(|(_, v)| arrays(v)).collect())
                }
                None => Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect()),
            }
        }
        other => other,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte.
pub fn decode_component(s: &str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::new("InvalidParameter", format!("bad %-escape in {s:?}"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::new("InvalidParameter", "parameters must be UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_to_json() {
        let p = Params::from_form(
            "FunctionName=CustomRuntime-Bash&Timeout=3&Environment.Variables.1.Key=B\
             &Environment.Variables.0.Key=A&Environment.Variables.0.Value=b+c%21\
             &Code.ZipFile=UEs%3D",
        )
        .unwrap();
        assert_eq!(
            Value::Object(p.0.clone()),
            json!({
                "FunctionName": "CustomRuntime-Bash",
                "Timeout": "3",
                "Environment": {"Variables": [{"Key": "A", "Value": "b c!"}, {"Key": "B"}]},
                "Code": {"ZipFile": "UEs="},
            })
        );
        assert_eq!(p.int("Timeout").unwrap(), Some(3));
        assert!(Params::from_form("A=1&A=2").is_err());
        assert!(Params::from_form("A=1&A.B=2").is_err());
        assert!(Params::from_form("A=%zz").is_err());
        assert_eq!(Params::from_form("").unwrap(), Params::default());
    }

    #[test]
    fn json_body() {
        let p = Params::from_json(br#"{"Timeout": 3, "Name": "x", "Bad": 1.5}"#).unwrap();
        assert_eq!(p.int("Timeout").unwrap(), Some(3));
        assert_eq!(p.str("Name").unwrap(), Some("x"));
        assert_eq!(p.int("Bad").unwrap_err().code, "InvalidParameterValue");
        assert_eq!(p.str("Timeout").unwrap_err().code, "InvalidParameterValue");
        assert_eq!(p.required_str("Nope").unwrap_err().code, "MissingParameter");
        assert_eq!(
            Params::from_json(b"[1]").unwrap_err().code,
            "InvalidParameter.Payload"
        );
        assert_eq!(
            Params::from_json(b"{").unwrap_err().code,
            "InvalidParameter.Payload"
        );
        assert_eq!(Params::from_json(b"").unwrap(), Params::default());
    }
}
