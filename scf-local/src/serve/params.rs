//! The parameters of one API call: the JSON body of a POST, or the flattened form
//! (`Environment.Variables.0.Key=A`) of a GET query or a form-encoded POST, turned into the
//! same JSON tree.
//!
//! Parameters the emulator does not know are ignored, so newer SDKs (which add optional
//! parameters) keep working. Numbers may come as strings: a GET query has nothing else.
//!
//! Input is bounded before it is trusted: a form has at most [`MAX_PARAMS`] parameters, each
//! name at most [`MAX_KEY_BYTES`] bytes and [`MAX_DEPTH`] dotted levels (beyond:
//! `InvalidParameter`), so the tree built from it is shallow and small; a JSON body is parsed
//! by serde_json, which refuses nesting deeper than 128 levels. Nothing here recurses deeper
//! than the tree, and an array index is only sorted, never used as a length.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The most dotted levels in a form parameter's name. The deepest real SCF parameter has
/// five (`Environment.Variables.0.Key` has four); ten leaves room for newer ones.
pub const MAX_DEPTH: usize = 10;

/// The most parameters in one form (a query or a form body). A function's environment,
/// the longest list, is capped by the platform at 4 KB in all, a few hundred variables.
pub const MAX_PARAMS: usize = 1000;

/// The longest parameter name in a form, in bytes (after decoding).
pub const MAX_KEY_BYTES: usize = 256;

/// How much of a parameter an error message shows, in bytes.
const SHOWN_BYTES: usize = 64;

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
    /// numeric segments array items. At most [`MAX_PARAMS`] parameters, names of at most
    /// [`MAX_KEY_BYTES`] bytes and [`MAX_DEPTH`] levels (`InvalidParameter` beyond).
    pub fn from_form(query: &str) -> Result<Params, ApiError> {
        let mut root = Value::Object(Map::new());
        for (n, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
            if n == MAX_PARAMS {
                return Err(ApiError::new(
                    "InvalidParameter",
                    format!("more than {MAX_PARAMS} parameters"),
                ));
            }
            let raw_key = pair.split_once('=').map_or(pair, |(k, _)| k);
            // Checked before decoding too: an escape is three bytes for one, so a longer name
            // cannot decode to an allowed one.
            if raw_key.len() > 3 * MAX_KEY_BYTES {
                return Err(key_too_long(raw_key));
            }
            let (k, v) = decode_pair(pair)?;
            if k.len() > MAX_KEY_BYTES {
                return Err(key_too_long(&k));
            }
            let segments: Vec<&str> = k.split('.').collect();
            if segments.len() > MAX_DEPTH {
                return Err(ApiError::new(
                    "InvalidParameter",
                    format!(
                        "the parameter `{}` has more than {MAX_DEPTH} levels",
                        shown(&k)
                    ),
                ));
            }
            let mut node = &mut root;
            for (i, seg) in segments.iter().enumerate() {
                let Value::Object(map) = node else {
                    return Err(conflict(&k));
                };
                if i + 1 == segments.len() {
                    if map.insert((*seg).to_owned(), Value::String(v)).is_some() {
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
            _ => Err(ApiError::new(
                "InvalidParameter",
                "the parameters are a list, not named",
            )),
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
        format!(
            "the parameter `{}` is given twice or conflicts with another",
            shown(key)
        ),
    )
}

fn key_too_long(key: &str) -> ApiError {
    ApiError::new(
        "InvalidParameter",
        format!(
            "the parameter name `{}…` is longer than {MAX_KEY_BYTES} bytes",
            shown(key)
        ),
    )
}

/// The start of `s`, for an error message: at most [`SHOWN_BYTES`], cut at a character.
fn shown(s: &str) -> &str {
    let mut end = s.len().min(SHOWN_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Objects whose keys are all array indexes (`0`, `1`, …) become arrays, in index order (an
/// index is a sort key, not a position: `A.7=x` alone is `[x]`). Recurses once per level of
/// the tree, which [`Params::from_form`] keeps within [`MAX_DEPTH`].
fn arrays(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let indexed = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
            if indexed {
                let mut items: Vec<(usize, Value)> = map
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(usize::MAX), v))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| arrays(v)).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

/// Decodes one `name=value` of an `application/x-www-form-urlencoded` form with the
/// `form_urlencoded` crate: `+` is a space, `%XX` a byte. The crate is lenient where the API
/// is not: it keeps a `%` that does not start an escape (`%zz`, `%+1`) as it is, and puts
/// U+FFFD in place of bytes that are not UTF-8; both are refused here (`InvalidParameter`).
fn decode_pair(pair: &str) -> Result<(String, String), ApiError> {
    let bytes = pair.as_bytes();
    if let Some(i) = (0..bytes.len()).find(|&i| {
        bytes[i] == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    }) {
        return Err(ApiError::new(
            "InvalidParameter",
            format!("bad %-escape in {:?}", shown(&pair[i..])),
        ));
    }
    let (k, v) = form_urlencoded::parse(bytes).next().unwrap_or_default();
    // A U+FFFD the input did not hold, as itself or as the escape of its three bytes, is
    // one the decoding put in place of bytes that are not UTF-8. (An escaped EF BF BD is
    // always a whole character: a literal character cannot complete a sequence of escapes.)
    let replacements = |s: &str| s.matches('\u{FFFD}').count();
    let put = replacements(&k) + replacements(&v);
    if put > 0 && put > replacements(pair) + pair.to_ascii_uppercase().matches("%EF%BF%BD").count()
    {
        return Err(ApiError::new(
            "InvalidParameter",
            "parameters must be UTF-8",
        ));
    }
    Ok((k.into_owned(), v.into_owned()))
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
        assert_eq!(
            Params::from_form("A=%5a%5A").unwrap().str("A").unwrap(),
            Some("ZZ")
        );
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

    #[test]
    fn form_bounds() {
        let deep = |levels: usize| format!("{}=1", vec!["a"; levels].join("."));
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("P{i}=1"))
                .collect::<Vec<_>>()
                .join("&")
        };
        let long = |n: usize| format!("{}=1", "k".repeat(n));
        // (query, accepted)
        let table: &[(String, bool)] = &[
            ("Environment.Variables.0.Key=A".into(), true),
            (deep(MAX_DEPTH), true),
            (deep(MAX_DEPTH + 1), false),
            (deep(5000), false),
            (many(MAX_PARAMS), true),
            (many(MAX_PARAMS + 1), false),
            (long(MAX_KEY_BYTES), true),
            (long(MAX_KEY_BYTES + 1), false),
            ("k".repeat(100_000), false),
            (format!("{}=1", "%6B".repeat(MAX_KEY_BYTES + 1)), false),
            ("A.99999999=1".into(), true),
            ("A.18446744073709551615=1&A.0=2".into(), true),
            ("0=a&1=b".into(), false),
        ];
        for (query, accepted) in table {
            let got = Params::from_form(query);
            assert_eq!(got.is_ok(), *accepted, "{}: {got:?}", shown(query));
            if let Err(e) = got {
                assert_eq!(e.code, "InvalidParameter");
                assert!(e.message.len() < 200, "{}", e.message);
            }
        }
        // An index sorts; it does not size the array.
        let p = Params::from_form("A.99999999=x&A.3=y").unwrap();
        assert_eq!(Value::Object(p.0), json!({"A": ["y", "x"]}));
    }

    #[test]
    fn escapes() {
        // (query, the value of A, or None where the form is refused)
        let table: &[(&str, Option<&str>)] = &[
            ("A=b+c%21", Some("b c!")),
            ("A=a=b", Some("a=b")),
            ("A", Some("")),
            ("A=%e4%BD%A0", Some("你")),
            ("A=%EF%BF%BD", Some("\u{FFFD}")),
            ("A=\u{FFFD}%ef%bf%bd", Some("\u{FFFD}\u{FFFD}")),
            // `%+1` is not an escape: `from_str_radix` took it as 0x01.
            ("A=%+1", None),
            ("A=%-1", None),
            ("A=%1", None),
            ("A=%", None),
            ("%+1=x", None),
            // Bytes that are not UTF-8.
            ("A=%FF", None),
            ("A=%E4%BD", None),
            ("A=%E2%EF%BF%BD", None),
            ("A=%C3%28", None),
        ];
        for (query, value) in table {
            let got = Params::from_form(query);
            match value {
                Some(value) => assert_eq!(got.unwrap().str("A").unwrap(), Some(*value), "{query}"),
                None => assert_eq!(got.unwrap_err().code, "InvalidParameter", "{query}"),
            }
        }
    }

    #[test]
    fn deep_json_is_refused() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let e = Params::from_json(deep.as_bytes()).unwrap_err();
        assert_eq!(e.code, "InvalidParameter.Payload");
    }

    #[test]
    fn error_messages_are_short() {
        let value = format!("A=%z{}", "x".repeat(1_000_000));
        let e = Params::from_form(&value).unwrap_err();
        assert!(e.message.len() < 200, "{}", e.message.len());
    }
}
