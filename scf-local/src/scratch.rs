//! Scratch directories: every temporary directory scf-local makes (an unpacked code package,
//! an instance's `TMPDIR`), private to the user and reclaimed even after a crash.
//!
//! A directory is made with mode 0700 in the system's temporary directory, named
//! `scf-local-<kind>-<pid>.<start>-<random>`, where `<pid>` and `<start>` (the process's start
//! time in clock ticks since boot, `/proc/<pid>/stat` field 22) name the scf-local process
//! that owns it. Dropping the [`TempDir`] removes it; a process killed with `SIGKILL` cannot,
//! so [`reclaim_stale`], run when scf-local starts, removes every such directory whose owner
//! is no longer running (a pid alone could have been reused: the start time tells).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use tempfile::TempDir;

/// The start of every scratch directory's name.
const PREFIX: &str = "scf-local-";

/// The start time of process `pid`, in clock ticks since boot; `None` if it is not running.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: count from the
    // last `)`. Field 3 (state) follows it; the start time is field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// `<pid>.<start>` of this process, read from `/proc` once (every instance start makes a
/// directory).
fn owner_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let pid = std::process::id();
        format!("{pid}.{}", start_time(pid).unwrap_or(0))
    })
}

/// Makes a scratch directory of `kind` (`code`, `tmp`), mode 0700, owned by this process.
pub(crate) fn tempdir(kind: &str) -> io::Result<TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{kind}-{}-", owner_tag()))
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()?;
    // The create mode went through the umask, which can only remove bits; set it exactly.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

/// Whether `name` is a scratch directory's name whose owner is not running, as far as this
/// machine's `/proc` tells.
fn is_stale(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    // `<kind>-<pid>.<start>-<random>`: the kind has no `-`.
    let mut parts = rest.splitn(3, '-');
    let (Some(kind), Some(owner), Some(_random)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some((pid, start)) = owner.split_once('.') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    !kind.is_empty() && start_time(pid) != Some(start)
}

/// Removes the scratch directories (in the system's temporary directory) left by scf-local
/// processes that are no longer running, and returns how many it removed. Only directories
/// of the current user with a scratch directory's name are touched; links are not followed.
pub fn reclaim_stale() -> usize {
    reclaim_in(&std::env::temp_dir())
}

fn reclaim_in(dir: &Path) -> usize {
    // Without /proc nothing can be told apart: leave everything.
    if start_time(std::process::id()).is_none() {
        return 0;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_stale(name) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != uid {
            continue;
        }
        // A directory of another scf-local's code may hold read-only subdirectories.
        make_writable(&path);
        if fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Gives the owner write and search permission on `dir` and every directory below it (links
/// not followed), so that it can be removed.
pub(crate) fn make_writable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_private_and_named_after_its_owner() {
        let dir = tempdir("test").unwrap();
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with(&format!("scf-local-test-{}", owner_tag())),
            "{name}"
        );
        // Its owner (this process) runs: not stale.
        assert!(!is_stale(&name));
    }

    #[test]
    fn stale_names() {
        // Table: (name, stale?). pid 0 never has a /proc entry; this process's own tag with
        // another start time is a reused pid.
        let me = std::process::id();
        let cases = [
            ("scf-local-tmp-0.1-abc".to_owned(), true),
            (format!("scf-local-tmp-{me}.1-abc"), true),
            (format!("scf-local-code-{}-abc", owner_tag()), false),
            ("scf-local-tmp-abc".to_owned(), false),
            ("scf-local-tmp-0-abc".to_owned(), false),
            ("scf-local--0.1-abc".to_owned(), false),
            ("other-tmp-0.1-abc".to_owned(), false),
            ("scf-local-tmp-x.1-abc".to_owned(), false),
        ];
        for (name, stale) in cases {
            assert_eq!(is_stale(&name), stale, "{name}");
        }
    }

    #[test]
    fn reclaims_only_stale_directories() {
        let root = tempfile::tempdir().unwrap();
        let stale = root.path().join("scf-local-tmp-0.1-abc");
        let nested = stale.join("ro");
        fs::create_dir_all(&nested).unwrap();
        fs::write(nested.join("f"), b"x").unwrap();
        fs::set_permissions(&nested, fs::Permissions::from_mode(0o500)).unwrap();
        let live = root
            .path()
            .join(format!("scf-local-tmp-{}-abc", owner_tag()));
        fs::create_dir(&live).unwrap();
        let file = root.path().join("scf-local-tmp-0.2-file");
        fs::write(&file, b"not a directory").unwrap();
        let other = root.path().join("unrelated-0.1-abc");
        fs::create_dir(&other).unwrap();

        assert_eq!(reclaim_in(root.path()), 1);
        assert!(!stale.exists());
        assert!(live.exists() && file.exists() && other.exists());
    }
}
