//! The checks of the parameters several actions share (`Namespace`, `FunctionName`,
//! `MemorySize`, `Timeout`, `InitTimeout`, `Description`, `Environment`, `Runtime`,
//! `Qualifier`), with the platform's rules.

use super::error::ApiError;
use super::params::Params;
use crate::config::limits::{
    memory_size_allowed, DESCRIPTION_MAX_CHARS, ENV_LIMIT, INIT_TIMEOUT_MAX_SECS,
    INIT_TIMEOUT_MIN_SECS, MEMORY_RULE, TIMEOUT_MAX_SECS, TIMEOUT_MIN_SECS,
};
use crate::config::RESERVED_ENV_PREFIXES;

/// The one runtime the emulator runs.
pub const CUSTOM_RUNTIME: &str = "CustomRuntime";

pub(super) fn namespace(p: &Params) -> Result<String, ApiError> {
    let ns = p.str("Namespace")?.unwrap_or("default");
    let ns = if ns.is_empty() { "default" } else { ns };
    let valid = ns.len() <= 30
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(ApiError::new(
            "InvalidParameterValue.Namespace",
            format!("the namespace {ns:?} is not 1-30 letters, digits, - and _"),
        ));
    }
    Ok(ns.to_owned())
}

/// The platform's rule: 2-60 characters, letters, digits, `-` and `_`, starting with a
/// letter and not ending with `-` or `_`.
pub(super) fn check_function_name(name: &str) -> Result<(), ApiError> {
    let b = name.as_bytes();
    let valid = (2..=60).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        && b[b.len() - 1].is_ascii_alphanumeric();
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidParameter.FunctionName",
            format!(
                "the function name {name:?} must be 2-60 letters, digits, - and _, start with a \
                 letter and end with a letter or digit"
            ),
        ))
    }
}

pub(super) fn memory_size(p: &Params) -> Result<Option<u32>, ApiError> {
    let Some(mb) = p.int("MemorySize")? else {
        return Ok(None);
    };
    if memory_size_allowed(mb) {
        Ok(Some(mb as u32))
    } else {
        Err(ApiError::new(
            "InvalidParameterValue.MemorySize",
            format!("MemorySize must be {MEMORY_RULE}, not {mb}"),
        ))
    }
}

pub(super) fn timeout(p: &Params) -> Result<Option<u32>, ApiError> {
    seconds(
        p,
        "Timeout",
        TIMEOUT_MIN_SECS..=TIMEOUT_MAX_SECS,
        "LimitExceeded.Timeout",
    )
}

pub(super) fn init_timeout(p: &Params) -> Result<Option<u32>, ApiError> {
    seconds(
        p,
        "InitTimeout",
        INIT_TIMEOUT_MIN_SECS..=INIT_TIMEOUT_MAX_SECS,
        "LimitExceeded.InitTimeout",
    )
}

/// A whole number of seconds within `range`: `over` beyond, `InvalidParameterValue` below.
fn seconds(
    p: &Params,
    key: &str,
    range: std::ops::RangeInclusive<u32>,
    over: &'static str,
) -> Result<Option<u32>, ApiError> {
    let (min, max) = (*range.start(), *range.end());
    match p.int(key)? {
        None => Ok(None),
        Some(s) if s > i64::from(max) => Err(ApiError::new(
            over,
            format!("{key} must be at most {max} seconds, not {s}"),
        )),
        Some(s) if s < i64::from(min) => Err(ApiError::new(
            "InvalidParameterValue",
            format!("{key} must be {min} to {max} seconds, not {s}"),
        )),
        Some(s) => Ok(Some(s as u32)),
    }
}

pub(super) fn description(p: &Params) -> Result<Option<String>, ApiError> {
    match p.str("Description")? {
        Some(d) if d.chars().count() > DESCRIPTION_MAX_CHARS => Err(ApiError::new(
            "InvalidParameterValue.Description",
            "Description is at most 1000 characters",
        )),
        d => Ok(d.map(str::to_owned)),
    }
}

/// `Environment.Variables`: `[{Key, Value}]`. User variables may not use the platform's
/// reserved prefixes and take at most 4 KB in all, as in the cloud.
pub(super) fn environment(p: &Params) -> Result<Option<Vec<(String, String)>>, ApiError> {
    let Some(env) = p.object("Environment")? else {
        return Ok(None);
    };
    let invalid = |m: String| ApiError::new("InvalidParameterValue.Environment", m);
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut total = 0;
    for var in env.objects("Variables")? {
        let k = var.str("Key")?.unwrap_or("");
        let v = var.str("Value")?.unwrap_or("");
        if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
            return Err(invalid(format!("invalid variable name {k:?}")));
        }
        if vars.iter().any(|(name, _)| name == k) {
            return Err(invalid(format!("the variable {k} is given twice")));
        }
        if RESERVED_ENV_PREFIXES.iter().any(|p| k.starts_with(p)) {
            return Err(ApiError::new(
                "InvalidParameterValue.EnvironmentSystemProtect",
                format!(
                    "the variable {k} uses a prefix the platform reserves ({})",
                    RESERVED_ENV_PREFIXES.join(", ")
                ),
            ));
        }
        total += k.len() + v.len();
        vars.push((k.to_owned(), v.to_owned()));
    }
    if total > ENV_LIMIT {
        return Err(ApiError::new(
            "InvalidParameterValue.EnvironmentExceededLimit",
            format!("the variables take {total} bytes, over the platform's 4 KB"),
        ));
    }
    Ok(Some(vars))
}

pub(super) fn runtime(p: &Params, required: bool) -> Result<(), ApiError> {
    match p.str("Runtime")? {
        None if required => Err(ApiError::new(
            "MissingParameter.Runtime",
            "Runtime is required: scf-local runs \"CustomRuntime\" functions",
        )),
        Some(r) if r != CUSTOM_RUNTIME => Err(ApiError::new(
            "InvalidParameterValue.Runtime",
            format!(
                "the runtime {r:?} is not emulated: scf-local runs \"CustomRuntime\" functions \
                 (an executable `bootstrap` in the zip)"
            ),
        )),
        _ => Ok(()),
    }
}
pub(super) fn qualifier(p: &Params, also: &str) -> Result<(), ApiError> {
    match p.str("Qualifier")? {
        None | Some("") | Some("$LATEST") => Ok(()),
        Some(q) if q == also => Ok(()),
        Some(q) => Err(ApiError::new(
            "InvalidParameterValue.Qualifier",
            format!("the version {q} does not exist: scf-local has $LATEST only"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};
    #[test]
    fn function_names() {
        for ok in [
            "ab",
            "CustomRuntime-Bash",
            "a_1",
            &format!("a{}", "b".repeat(59)),
        ] {
            assert!(check_function_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "1abc",
            "ab-",
            "ab_",
            "a b",
            "",
            &format!("a{}", "b".repeat(60)),
        ] {
            assert_eq!(
                check_function_name(bad).unwrap_err().code,
                "InvalidParameter.FunctionName",
                "{bad}"
            );
        }
    }

    #[test]
    fn memory_sizes() {
        let m = |v: i64| memory_size(&Params(Map::from_iter([("MemorySize".into(), json!(v))])));
        assert_eq!(m(64).unwrap(), Some(64));
        assert_eq!(m(3072).unwrap(), Some(3072));
        assert!(m(100).is_err());
        assert!(m(3200).is_err());
    }

    #[test]
    fn environment_rules() {
        let env = |vars: Value| {
            environment(&Params(Map::from_iter([(
                "Environment".into(),
                json!({ "Variables": vars }),
            )])))
        };
        assert_eq!(
            env(json!([{"Key": "A", "Value": "1"}])).unwrap(),
            Some(vec![("A".into(), "1".into())])
        );
        assert_eq!(
            env(json!([{"Key": "SCF_X", "Value": "1"}]))
                .unwrap_err()
                .code,
            "InvalidParameterValue.EnvironmentSystemProtect"
        );
        assert_eq!(
            env(json!([{"Key": "A", "Value": "x".repeat(5000)}]))
                .unwrap_err()
                .code,
            "InvalidParameterValue.EnvironmentExceededLimit"
        );
        assert_eq!(
            env(json!([{"Value": "1"}])).unwrap_err().code,
            "InvalidParameterValue.Environment"
        );
    }
}
