//! Outside contenders: a user's own function, given on the command line as
//! `--contender NAME=PATH[,api=scf|aws][,check=any|echo]`, measured like the built-in ones.
//!
//! PATH is a `bootstrap` file, a code directory with `bootstrap` at its root, or a deploy zip.
//! A zip is unpacked as the platform would, by scf-local's [`scf_local::Package`] (bounded
//! sizes and entry counts, no paths or links out of the code root); a directory is used in
//! place; a lone file is copied into `<target>/bench/outside/<NAME>/bootstrap`. The deploy
//! zip size of a file or directory is that of the zip `scf-local pack` would make.
//!
//! The answers of an outside contender are not checked against the echo contract unless
//! `check=echo` is given: any response is accepted, and a posted error, an exit, a result for
//! an unknown request id or a timeout fail the sample.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use scf_local::{Dialect, Package};

use crate::contenders::{file_size, stripped_size, Built, Contender, State, ALL};
use crate::Workspace;
use scf_testkit::SCF;

/// Most outside contenders in one run.
pub const MAX: usize = 8;
/// Longest contender name.
const MAX_NAME: usize = 32;

/// One `--contender` as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Its name in the report.
    pub name: String,
    /// The bootstrap file, code directory or zip.
    pub path: PathBuf,
    /// The runtime API it speaks.
    pub dialect: Dialect,
    /// Check its answers against the echo contract.
    pub echo: bool,
}

/// Parses `NAME=PATH[,api=scf|aws][,check=any|echo]` (PATH may not hold a comma).
pub fn parse(spec: &str) -> Result<Spec, String> {
    let (name, rest) = spec
        .split_once('=')
        .ok_or_else(|| format!("`{spec}`: expected NAME=PATH[,api=scf|aws][,check=any|echo]"))?;
    check_name(name)?;
    let mut parts = rest.split(',');
    let path = parts.next().unwrap_or_default();
    if path.is_empty() {
        return Err(format!("`{spec}`: no PATH after `{name}=`"));
    }
    let mut out = Spec {
        name: name.to_string(),
        path: PathBuf::from(path),
        dialect: SCF,
        echo: false,
    };
    for opt in parts {
        match opt.split_once('=') {
            Some(("api", "scf")) => out.dialect = SCF,
            Some(("api", "aws")) => out.dialect = Dialect::Aws,
            Some(("check", "any")) => out.echo = false,
            Some(("check", "echo")) => out.echo = true,
            _ => {
                return Err(format!(
                    "`{spec}`: unknown option `{opt}` (api=scf, api=aws, check=any or check=echo)"
                ))
            }
        }
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<(), String> {
    let fine = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if name.is_empty() || name.len() > MAX_NAME || !name.bytes().all(fine) || name.starts_with('.')
    {
        return Err(format!(
            "contender name `{name}`: 1 to {MAX_NAME} of A-Z a-z 0-9 - _ . (not starting with .)"
        ));
    }
    if ALL.iter().any(|c| c.0 == name) {
        return Err(format!(
            "contender name `{name}` is a built-in contender's; choose another"
        ));
    }
    Ok(())
}

/// Checks a list of specs together: count and distinct names.
pub fn check_all(specs: &[Spec]) -> Result<(), String> {
    if specs.len() > MAX {
        return Err(format!("at most {MAX} --contender in one run"));
    }
    for (i, s) in specs.iter().enumerate() {
        if specs[..i].iter().any(|o| o.name == s.name) {
            return Err(format!("two contenders are called `{}`", s.name));
        }
    }
    Ok(())
}

/// Whether the file starts like a zip archive.
fn looks_like_zip(path: &Path) -> Result<bool, String> {
    let mut head = [0u8; 4];
    let mut f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let n = f
        .read(&mut head)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(n == 4 && (head == *b"PK\x03\x04" || head == *b"PK\x05\x06"))
}

/// Makes the contender's code directory ready and measures its sizes. A path that is not
/// there, a zip that does not unpack safely, or a package without a `bootstrap` is an error.
pub fn prepare(ws: &Workspace, spec: &Spec) -> Result<Contender, String> {
    let err = |e: &dyn std::fmt::Display| format!("--contender {}: {e}", spec.name);
    let meta =
        fs::metadata(&spec.path).map_err(|e| err(&format!("{}: {e}", spec.path.display())))?;
    let out = ws.target.join("bench/outside");
    fs::create_dir_all(&out).map_err(|e| err(&format!("{}: {e}", out.display())))?;
    let zip = out.join(format!("{}.zip", spec.name));
    let (package, kind) = if meta.is_dir() {
        (
            Package::open(&spec.path).map_err(|e| err(&e))?,
            "code directory",
        )
    } else if looks_like_zip(&spec.path).map_err(|e| err(&e))? {
        (
            Package::open(&spec.path).map_err(|e| err(&e))?,
            "deploy zip",
        )
    } else {
        let dir = out.join(&spec.name);
        // A fresh directory: nothing from an earlier run is left beside the bootstrap.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| err(&format!("{}: {e}", dir.display())))?;
        let bootstrap = dir.join("bootstrap");
        fs::copy(&spec.path, &bootstrap).map_err(|e| err(&format!("copy: {e}")))?;
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&bootstrap, fs::Permissions::from_mode(0o755))
                .map_err(|e| err(&e))?;
        }
        (Package::open(&dir).map_err(|e| err(&e))?, "bootstrap file")
    };
    let root = package.root().to_path_buf();
    let zip_size = if kind == "deploy zip" {
        file_size(&spec.path)?
    } else {
        let include: Vec<PathBuf> = fs::read_dir(&root)
            .map_err(|e| err(&e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.file_name().is_some_and(|n| n != "bootstrap"))
            .collect();
        scf_local::package::pack(&package.bootstrap(), &include, &zip).map_err(|e| err(&e))?
    };
    let size = stripped_size(&package.bootstrap())?;
    eprintln!(
        "   {}: {kind} {}, bootstrap {size} bytes, zip {zip_size} bytes",
        spec.name,
        spec.path.display()
    );
    Ok(Contender {
        // The names live for the whole run; a handful of short strings.
        id: Box::leak(spec.name.clone().into_boxed_str()),
        name: Box::leak(spec.name.clone().into_boxed_str()),
        dialect: spec.dialect,
        how: format!("yours: {kind} {}", spec.path.display()),
        echo: spec.echo,
        state: State::Ready(Built {
            dir: root,
            size,
            zip_size,
            package: Some(package),
        }),
    })
}

/// Whether `id` is an outside contender's (not one of [`ALL`]).
pub fn is_outside(id: &str) -> bool {
    !ALL.iter().any(|c| c.0 == id)
}

/// The last lines of a bootstrap's log, on one line (`⏎` between lines, `|` escaped for a
/// Markdown table): at most the last 2 KiB and 6 lines.
pub fn log_tail(log: &Path) -> String {
    use std::io::{Seek, SeekFrom};
    const MAX_BYTES: u64 = 2048;
    let Ok(mut f) = fs::File::open(log) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)));
    let mut buf = Vec::new();
    let _ = f.take(MAX_BYTES).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(6)..];
    tail.join(" ⏎ ").replace('|', "\\|")
}

/// The event the user asked for: `--event FILE` or `--event-example NAME`, changed by each
/// `--set path=value`. At most [`MAX_EVENT`] bytes, and JSON.
pub fn load_event(
    file: Option<&Path>,
    example: Option<&str>,
    set: &[String],
) -> Result<Option<Vec<u8>>, String> {
    let text = match (file, example) {
        (Some(_), Some(_)) => return Err("--event and --event-example exclude each other".into()),
        (Some(path), None) => {
            let f = fs::File::open(path).map_err(|e| format!("--event {}: {e}", path.display()))?;
            let mut buf = Vec::new();
            f.take(MAX_EVENT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("--event {}: {e}", path.display()))?;
            if buf.len() as u64 > MAX_EVENT {
                return Err(format!(
                    "--event {}: larger than {MAX_EVENT} bytes",
                    path.display()
                ));
            }
            String::from_utf8(buf).map_err(|_| format!("--event {}: not UTF-8", path.display()))?
        }
        (None, Some(name)) => scf_events::samples::lookup(name)
            .map_err(|e| format!("--event-example: {e}"))?
            .json
            .to_string(),
        (None, None) if set.is_empty() => return Ok(None),
        (None, None) => return Err("--set needs --event or --event-example".into()),
    };
    let text = if set.is_empty() {
        text
    } else {
        scf_events::samples::edit(&text, set).map_err(|e| format!("--set {e}"))?
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| format!("the event is not JSON: {e}"))?;
    Ok(Some(text.into_bytes()))
}

/// Largest event accepted: 6 MiB, the size of SCF's largest synchronous invocation request.
pub const MAX_EVENT: u64 = 6 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let s = parse("mine=target/x/bootstrap").unwrap();
        assert_eq!(
            (s.name.as_str(), s.path.as_path(), s.dialect, s.echo),
            ("mine", Path::new("target/x/bootstrap"), SCF, false)
        );
        let s = parse("a.b-c_1=f.zip,api=aws,check=echo").unwrap();
        assert_eq!((s.dialect, s.echo), (Dialect::Aws, true));
        for bad in [
            "mine",
            "=x",
            "mine=",
            "mine=x,api=gcp",
            "mine=x,speed=fast",
            "ours=x",
            "floor=x",
            ".hidden=x",
            "a/b=x",
            &format!("{}=x", "n".repeat(33)),
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let two = [parse("a=x").unwrap(), parse("a=y").unwrap()];
        assert!(check_all(&two).unwrap_err().contains("two contenders"));
        let many: Vec<Spec> = (0..=MAX)
            .map(|i| parse(&format!("c{i}=x")).unwrap())
            .collect();
        assert!(check_all(&many).is_err());
        assert!(check_all(&many[..MAX]).is_ok());
    }

    #[test]
    fn events() {
        assert_eq!(load_event(None, None, &[]).unwrap(), None);
        let e = load_event(
            None,
            Some("apigw"),
            &["httpMethod=GET".into(), "path=/hello/SCF".into()],
        )
        .unwrap()
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&e).unwrap();
        assert_eq!(
            (v["httpMethod"].as_str(), v["path"].as_str()),
            (Some("GET"), Some("/hello/SCF"))
        );
        assert!(load_event(None, Some("nope"), &[])
            .unwrap_err()
            .contains("apigw"));
        assert!(load_event(None, None, &["a=b".into()]).is_err());
        let dir = std::env::temp_dir().join(format!("scf-bench-event-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        fs::write(&bad, "{not json").unwrap();
        assert!(load_event(Some(&bad), None, &[])
            .unwrap_err()
            .contains("not JSON"));
        let big = dir.join("big.json");
        fs::write(&big, vec![b' '; MAX_EVENT as usize + 1]).unwrap();
        assert!(load_event(Some(&big), None, &[])
            .unwrap_err()
            .contains("larger"));
        let good = dir.join("good.json");
        fs::write(&good, r#"{"k":1}"#).unwrap();
        assert_eq!(
            load_event(Some(&good), None, &[]).unwrap().unwrap(),
            br#"{"k":1}"#
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn log_tails_are_short_single_lines() {
        let dir = std::env::temp_dir().join(format!("scf-bench-log-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("x.log");
        let mut text = String::new();
        for i in 0..1000 {
            text += &format!("line {i} | x\n");
        }
        fs::write(&log, text).unwrap();
        let tail = log_tail(&log);
        assert!(tail.starts_with("line 994 \\| x ⏎ "), "{tail}");
        assert!(tail.ends_with("line 999 \\| x"), "{tail}");
        assert!(!tail.contains('\n'));
        assert_eq!(log_tail(&dir.join("missing.log")), "");
        let _ = fs::remove_dir_all(&dir);
    }
}
