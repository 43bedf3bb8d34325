//! A function's settings carried by its crate: `[package.metadata.scf]` in `Cargo.toml`,
//! an env file, and the command line, in that order (a later source wins).
//!
//! ```toml
//! [package.metadata.scf]
//! timeout = 3            # Timeout, seconds
//! init-timeout = 65      # InitTimeout, seconds
//! memory = 128           # MemorySize, MB
//!
//! [package.metadata.scf.env]
//! GREETING = "Hi"
//! ```
//!
//! `deploy` sends them to the platform; `watch` and a local `invoke` give them to the
//! emulator's instances. Cargo hands the table over as JSON (`cargo metadata`), so no TOML
//! parser is needed here.

use serde_json::Value;

use crate::deploy::Settings;
use crate::Error;

/// The keys `[package.metadata.scf]` may have.
pub const KEYS: [&str; 4] = ["timeout", "init-timeout", "memory", "env"];

/// The largest env file read: far above any real one, and a bound on a wrong path (a
/// device, a huge log) given by mistake.
pub const ENV_FILE_LIMIT: u64 = 1 << 20;

/// The most variables from any one source. The platform's own limit on the whole
/// `Environment` is 4 KB of keys and values, so this is only a bound on bad input.
pub const MAX_VARIABLES: usize = 1000;

/// Reads `[package.metadata.scf]` (`table`: its JSON from `cargo metadata`, `null` when the
/// crate has none). Unknown keys and wrong types are errors, so a typo is not silently
/// ignored.
pub fn from_metadata(table: &Value) -> Result<Settings, Error> {
    let bad = |what: String| Error::new(format!("[package.metadata.scf]: {what}"));
    let table = match table {
        Value::Null => return Ok(Settings::default()),
        Value::Object(t) => t,
        other => return Err(bad(format!("expected a table, found {other}"))),
    };
    if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown key {key:?} (it has: {})",
            KEYS.join(", ")
        )));
    }
    let number = |key: &str| -> Result<Option<u32>, Error> {
        match table.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| bad(format!("{key} must be a positive whole number, not {v}"))),
        }
    };
    let mut env = Vec::new();
    match table.get("env") {
        None => {}
        Some(Value::Object(vars)) => {
            if vars.len() > MAX_VARIABLES {
                return Err(bad(format!("env has over {MAX_VARIABLES} variables")));
            }
            for (k, v) in vars {
                let value = v
                    .as_str()
                    .ok_or_else(|| bad(format!("env.{k} must be a string (quote it), not {v}")))?;
                check_variable(k, value).map_err(|e| bad(format!("env: {e}")))?;
                env.push((k.clone(), value.to_owned()));
            }
        }
        Some(other) => return Err(bad(format!("env must be a table, not {other}"))),
    }
    Ok(Settings {
        timeout: number("timeout")?,
        init_timeout: number("init-timeout")?,
        memory_mb: number("memory")?,
        env,
    })
}

/// Checks one variable: a key that is not empty and has no `=`, and no NUL byte anywhere
/// (neither can reach a process's environment).
pub fn check_variable(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.contains(['=', '\0']) {
        return Err(format!("{key:?} is not a variable name"));
    }
    if value.contains('\0') {
        return Err(format!("the value of {key} has a NUL byte"));
    }
    Ok(())
}

/// Parses an env file: one `KEY=VALUE` a line, blank lines and `#` comments skipped, an
/// optional `export ` before the key, and a value in matching single or double quotes taken
/// without them (no escapes, no interpolation).
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected KEY=VALUE", n + 1));
        };
        let (key, value) = (key.trim(), value.trim());
        let value = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(open, close)| {
                value
                    .strip_prefix(*open)
                    .and_then(|v| v.strip_suffix(*close))
            })
            .unwrap_or(value);
        check_variable(key, value).map_err(|e| format!("line {}: {e}", n + 1))?;
        if vars.len() == MAX_VARIABLES {
            return Err(format!("over {MAX_VARIABLES} variables"));
        }
        vars.push((key.to_owned(), value.to_owned()));
    }
    Ok(vars)
}

/// Reads and parses the env file at `path`, at most [`ENV_FILE_LIMIT`] bytes.
pub fn read_env_file(path: &std::path::Path) -> Result<Vec<(String, String)>, Error> {
    use std::io::Read as _;
    let fail = |what: String| Error::new(format!("--env-file {}: {what}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut text = String::new();
    file.take(ENV_FILE_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    if text.len() as u64 > ENV_FILE_LIMIT {
        return Err(fail(format!("over {ENV_FILE_LIMIT} bytes")));
    }
    parse_env_file(&text).map_err(fail)
}

impl Settings {
    /// These settings with `later`'s on top: each number `later` gives wins, and its
    /// variables replace same-named ones (the order of first appearance is kept).
    pub fn overlay(mut self, later: Settings) -> Settings {
        self.timeout = later.timeout.or(self.timeout);
        self.init_timeout = later.init_timeout.or(self.init_timeout);
        self.memory_mb = later.memory_mb.or(self.memory_mb);
        for (k, v) in later.env {
            match self.env.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = v,
                None => self.env.push((k, v)),
            }
        }
        self
    }

    /// The emulator's configuration for these settings (the platform's defaults where
    /// unset).
    pub fn function_config(&self) -> scf_local::FunctionConfig {
        let mut config = scf_local::FunctionConfig::default();
        if let Some(t) = self.timeout {
            config.timeout = std::time::Duration::from_secs(t.into());
        }
        if let Some(t) = self.init_timeout {
            config.init_timeout = std::time::Duration::from_secs(t.into());
        }
        if let Some(m) = self.memory_mb {
            config.memory_mb = m;
        }
        config.env = self.env.clone();
        config
    }

    /// The crate's `[package.metadata.scf]`, then the env file, then the command line.
    pub fn gather(
        metadata: &Value,
        env_file: Option<&std::path::Path>,
        command_line: Settings,
    ) -> Result<Settings, Error> {
        let mut settings = from_metadata(metadata)?;
        if let Some(path) = env_file {
            settings = settings.overlay(Settings {
                env: read_env_file(path)?,
                ..Settings::default()
            });
        }
        Ok(settings.overlay(command_line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_metadata_table() {
        assert_eq!(from_metadata(&Value::Null).unwrap(), Settings::default());
        let s = from_metadata(&json!({
            "timeout": 3, "init-timeout": 65, "memory": 256,
            "env": {"GREETING": "Hi", "MODE": "dev"}
        }))
        .unwrap();
        assert_eq!(
            s,
            Settings {
                timeout: Some(3),
                init_timeout: Some(65),
                memory_mb: Some(256),
                env: vars(&[("GREETING", "Hi"), ("MODE", "dev")]),
            }
        );
        // Table: (table, the error's end).
        let cases = [
            (
                json!({"timout": 3}),
                "unknown key \"timout\" (it has: timeout, init-timeout, memory, env)",
            ),
            (
                json!({"timeout": "3"}),
                "timeout must be a positive whole number, not \"3\"",
            ),
            (
                json!({"memory": 0}),
                "memory must be a positive whole number, not 0",
            ),
            (
                json!({"memory": 1u64 << 40}),
                "memory must be a positive whole number, not 1099511627776",
            ),
            (
                json!({"env": {"N": 1}}),
                "env.N must be a string (quote it), not 1",
            ),
            (
                json!({"env": ["A=1"]}),
                "env must be a table, not [\"A=1\"]",
            ),
            (
                json!({"env": {"A=B": "1"}}),
                "env: \"A=B\" is not a variable name",
            ),
            (json!(7), "expected a table, found 7"),
        ];
        for (table, want) in cases {
            let err = from_metadata(&table).unwrap_err().to_string();
            assert_eq!(err, format!("[package.metadata.scf]: {want}"));
        }
    }

    #[test]
    fn env_files() {
        let text = "# comment\n\nA=1\nexport B = two words \nC=\"quoted # not a comment\"\nD='x'\nE=\nF=a=b\n";
        assert_eq!(
            parse_env_file(text).unwrap(),
            vars(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "quoted # not a comment"),
                ("D", "x"),
                ("E", ""),
                ("F", "a=b")
            ])
        );
        assert_eq!(
            parse_env_file("A=1\nnot a pair\n").unwrap_err(),
            "line 2: expected KEY=VALUE"
        );
        assert_eq!(
            parse_env_file("=1").unwrap_err(),
            "line 1: \"\" is not a variable name"
        );
        let many = "K=V\n".repeat(MAX_VARIABLES + 1);
        assert_eq!(
            parse_env_file(&many).unwrap_err(),
            format!("over {MAX_VARIABLES} variables")
        );
    }

    #[test]
    fn env_file_size_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.env");
        std::fs::write(&big, "#".repeat(ENV_FILE_LIMIT as usize + 1)).unwrap();
        let err = read_env_file(&big).unwrap_err().to_string();
        assert!(
            err.ends_with(&format!(": over {ENV_FILE_LIMIT} bytes")),
            "{err}"
        );
        let err = read_env_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().starts_with("--env-file "), "{err}");
    }

    #[test]
    fn later_sources_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(&file, "A=file\nB=file\n").unwrap();
        let s = Settings::gather(
            &json!({"timeout": 3, "memory": 64, "env": {"A": "meta", "C": "meta"}}),
            Some(&file),
            Settings {
                memory_mb: Some(128),
                env: vars(&[("B", "flag")]),
                ..Settings::default()
            },
        )
        .unwrap();
        assert_eq!(
            s,
            Settings {
                timeout: Some(3),
                init_timeout: None,
                memory_mb: Some(128),
                env: vars(&[("A", "file"), ("C", "meta"), ("B", "flag")]),
            }
        );
    }
}
