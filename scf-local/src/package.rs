//! The code package: a directory, or a zip unpacked into a temporary directory.
//!
//! The platform starts the executable `bootstrap` at the root of the package (SCF-PROTOCOL.md
//! section 1). Unpacking keeps each entry's Unix mode, so a `bootstrap` zipped without its
//! execute bit fails here as it would in the cloud. Entries whose names or link targets would
//! land outside the directory are refused, and so is a package over the platform's 500 MB.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::result::Status;

/// The file the platform starts.
pub const BOOTSTRAP: &str = "bootstrap";

/// The platform's limit on unpacked code: 500 MB.
pub const UNPACKED_LIMIT: u64 = 500 * 1024 * 1024;

/// Why a package cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum PackageError {
    /// The path does not exist or cannot be read.
    Unreadable(PathBuf, io::Error),
    /// The file is not a zip archive the emulator can read.
    InvalidZip(String),
    /// An entry would be written outside the code directory.
    UnsafeEntry(String),
    /// The unpacked code is over 500 MB.
    TooLarge,
    /// No `bootstrap` at the root (the platform's 437 `HandlerNotFound`). Holds the path of a
    /// `bootstrap` found one folder down, a common packaging mistake.
    NoBootstrap(Option<String>),
    /// `bootstrap` is there but is not a regular file.
    BootstrapNotFile,
    /// `bootstrap` has no execute bit; holds its mode.
    NotExecutable(u32),
    /// Writing the unpacked files failed.
    Io(io::Error),
}

impl PackageError {
    /// The status code an invocation of such a package gets.
    pub fn status(&self) -> Status {
        match self {
            PackageError::NoBootstrap(_) => Status::HandlerNotFound,
            PackageError::Io(_) => Status::InternalError,
            _ => Status::ContainerInitError,
        }
    }
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackageError::Unreadable(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            PackageError::InvalidZip(e) => write!(f, "not a valid zip file: {e}"),
            PackageError::UnsafeEntry(name) => {
                write!(f, "zip entry {name:?} would be written outside the code directory")
            }
            PackageError::TooLarge => f.write_str("the unpacked code is over the platform's 500 MB"),
            PackageError::NoBootstrap(None) => {
                f.write_str("the package has no `bootstrap` at its root (437 HandlerNotFound)")
            }
            PackageError::NoBootstrap(Some(found)) => write!(
                f,
                "the package has no `bootstrap` at its root, only {found} (437 HandlerNotFound): zip the files, not their folder"
            ),
            PackageError::BootstrapNotFile => f.write_str("`bootstrap` is not a regular file"),
            PackageError::NotExecutable(mode) => write!(
                f,
                "`bootstrap` is not executable (mode {mode:04o}): chmod 755 bootstrap before packing it"
            ),
            PackageError::Io(e) => write!(f, "cannot unpack the code: {e}"),
        }
    }
}

impl std::error::Error for PackageError {}

/// A code package ready to run: a directory with an executable `bootstrap` at its root.
///
/// A package unpacked from a zip lives in a temporary directory removed when this is dropped.
#[derive(Debug)]
pub struct Package {
    root: PathBuf,
    unpack_time: Duration,
    _unpacked: Option<TempDir>,
}

impl Package {
    /// Opens a code directory in place, or unpacks a zip file.
    pub fn open(path: &Path) -> Result<Package, PackageError> {
        let meta = fs::metadata(path).map_err(|e| PackageError::Unreadable(path.into(), e))?;
        if meta.is_dir() {
            let root = path
                .canonicalize()
                .map_err(|e| PackageError::Unreadable(path.into(), e))?;
            check_bootstrap(&root)?;
            return Ok(Package {
                root,
                unpack_time: Duration::ZERO,
                _unpacked: None,
            });
        }
        let file = fs::File::open(path).map_err(|e| PackageError::Unreadable(path.into(), e))?;
        Package::unzip(io::BufReader::new(file))
    }

    /// Unpacks a zip held in memory (the `Code.ZipFile` of the cloud API).
    pub fn from_zip_bytes(bytes: &[u8]) -> Result<Package, PackageError> {
        Package::unzip(io::Cursor::new(bytes))
    }

    fn unzip<R: Read + io::Seek>(reader: R) -> Result<Package, PackageError> {
        let started = Instant::now();
        let mut archive =
            zip::ZipArchive::new(reader).map_err(|e| PackageError::InvalidZip(e.to_string()))?;
        let dir = crate::scratch::tempdir("code").map_err(PackageError::Io)?;
        let root = dir.path().canonicalize().map_err(PackageError::Io)?;
        extract(&mut archive, &root)?;
        check_bootstrap(&root)?;
        Ok(Package {
            root,
            unpack_time: started.elapsed(),
            _unpacked: Some(dir),
        })
    }

    /// The code root: the instance's working directory and `USER_CODE_ROOT`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `bootstrap`.
    pub fn bootstrap(&self) -> PathBuf {
        self.root.join(BOOTSTRAP)
    }

    /// How long unpacking took (`PullCode` of the first cold start).
    pub fn unpack_time(&self) -> Duration {
        self.unpack_time
    }
}

fn check_bootstrap(root: &Path) -> Result<(), PackageError> {
    let path = root.join(BOOTSTRAP);
    let meta = match fs::metadata(&path) {
        Ok(m) => m,
        Err(_) => return Err(PackageError::NoBootstrap(find_nested_bootstrap(root))),
    };
    if !meta.is_file() {
        return Err(PackageError::BootstrapNotFile);
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o111 == 0 {
        return Err(PackageError::NotExecutable(mode));
    }
    Ok(())
}

fn find_nested_bootstrap(root: &Path) -> Option<String> {
    let entries = fs::read_dir(root).ok()?;
    for entry in entries.flatten() {
        let candidate = entry.path().join(BOOTSTRAP);
        if entry.path().is_dir() && candidate.is_file() {
            return Some(format!(
                "{}/{BOOTSTRAP}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    None
}

/// A relative path with only normal components, or `None` if it could leave its base.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Whether a symlink at `link` (relative to the root) pointing to `target` stays inside.
fn link_stays_inside(link: &Path, target: &str) -> bool {
    let target = Path::new(target);
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = link.components().count() as i64 - 1;
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth -= 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

fn extract<R: Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    root: &Path,
) -> Result<(), PackageError> {
    let mut total: u64 = 0;
    let mut links = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| PackageError::InvalidZip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| PackageError::InvalidZip(e.to_string()))?
            .into_owned();
        let rel = safe_relative(&name).ok_or_else(|| PackageError::UnsafeEntry(name.clone()))?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let dest = root.join(&rel);
        let mode = entry.unix_mode();
        if entry.is_dir() {
            fs::create_dir_all(&dest).map_err(PackageError::Io)?;
            continue;
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(PackageError::Io)?;
        }
        if mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
            let mut target = String::new();
            entry
                .read_to_string(&mut target)
                .map_err(|e| PackageError::InvalidZip(e.to_string()))?;
            if !link_stays_inside(&rel, &target) {
                return Err(PackageError::UnsafeEntry(name));
            }
            links.push((dest, target));
            continue;
        }
        total = total.saturating_add(entry.size());
        if total > UNPACKED_LIMIT {
            return Err(PackageError::TooLarge);
        }
        let perm = mode.map_or(0o644, |m| m & 0o7777);
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(perm | 0o600)
            .open(&dest)
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => {
                    PackageError::InvalidZip(format!("entry {name:?} appears twice"))
                }
                _ => PackageError::Io(e),
            })?;
        // Never trust the declared size alone: stop at the limit while copying.
        let copied = io::copy(&mut (&mut entry).take(UNPACKED_LIMIT + 1), &mut out)
            .map_err(|e| PackageError::InvalidZip(format!("entry {name:?}: {e}")))?;
        if copied > UNPACKED_LIMIT {
            return Err(PackageError::TooLarge);
        }
        // The create mode went through the umask; set the archived mode exactly.
        fs::set_permissions(&dest, fs::Permissions::from_mode(perm)).map_err(PackageError::Io)?;
    }
    // Links last, so no file above is ever written through one of them.
    for (dest, target) in links {
        std::os::unix::fs::symlink(&target, &dest).map_err(PackageError::Io)?;
    }
    Ok(())
}

/// Why `pack` failed.
#[derive(Debug)]
pub struct PackError(pub String);

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PackError {}

/// Writes a deployable zip: `bootstrap` at the root with mode 0755, then each included file
/// (or directory, recursively) at the root under its own name, keeping its mode.
/// Returns the size of the zip in bytes. The zip appears whole or not at all.
pub fn pack(bootstrap: &Path, include: &[PathBuf], out: &Path) -> Result<u64, PackError> {
    let meta = fs::metadata(bootstrap)
        .map_err(|e| PackError(format!("cannot read {}: {e}", bootstrap.display())))?;
    if !meta.is_file() {
        return Err(PackError(format!("{} is not a file", bootstrap.display())));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".scf-local-pack-")
        .tempfile_in(parent)
        .map_err(|e| PackError(format!("cannot write in {}: {e}", parent.display())))?;
    let mut names = std::collections::BTreeSet::new();
    let mut zip = zip::ZipWriter::new(tmp.reopen().map_err(|e| PackError(e.to_string()))?);
    add_file(&mut zip, bootstrap, BOOTSTRAP, 0o755, &mut names)?;
    for path in include {
        let name = path
            .file_name()
            .ok_or_else(|| PackError(format!("cannot include {}", path.display())))?
            .to_string_lossy()
            .into_owned();
        add_path(&mut zip, path, &name, &mut names)?;
    }
    let file = zip
        .finish()
        .map_err(|e| PackError(format!("cannot write the zip: {e}")))?;
    let size = file.metadata().map_err(|e| PackError(e.to_string()))?.len();
    drop(file);
    tmp.persist(out)
        .map_err(|e| PackError(format!("cannot write {}: {}", out.display(), e.error)))?;
    Ok(size)
}

fn add_path(
    zip: &mut zip::ZipWriter<fs::File>,
    path: &Path,
    name: &str,
    names: &mut std::collections::BTreeSet<String>,
) -> Result<(), PackError> {
    let meta = fs::metadata(path)
        .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?;
    let mode = meta.permissions().mode() & 0o7777;
    if meta.is_dir() {
        let options = zip::write::SimpleFileOptions::default().unix_permissions(mode | 0o700);
        zip.add_directory(name, options)
            .map_err(|e| PackError(format!("cannot add {name}: {e}")))?;
        let mut entries: Vec<_> = fs::read_dir(path)
            .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let child = format!("{name}/{}", entry.file_name().to_string_lossy());
            add_path(zip, &entry.path(), &child, names)?;
        }
        Ok(())
    } else {
        add_file(zip, path, name, mode, names)
    }
}

fn add_file(
    zip: &mut zip::ZipWriter<fs::File>,
    path: &Path,
    name: &str,
    mode: u32,
    names: &mut std::collections::BTreeSet<String>,
) -> Result<(), PackError> {
    if !names.insert(name.to_owned()) {
        return Err(PackError(format!(
            "two files would be named {name} in the zip"
        )));
    }
    let mut input = fs::File::open(path)
        .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(mode)
        .large_file(
            fs::metadata(path)
                .map(|m| m.len() >= u32::MAX as u64)
                .unwrap_or(false),
        );
    zip.start_file(name, options)
        .map_err(|e| PackError(format!("cannot add {name}: {e}")))?;
    io::copy(&mut input, zip).map_err(|e| PackError(format!("cannot add {name}: {e}")))?;
    zip.flush().map_err(|e| PackError(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(safe_relative("a/b"), Some(PathBuf::from("a/b")));
        assert_eq!(safe_relative("./a"), Some(PathBuf::from("a")));
        assert_eq!(safe_relative("../a"), None);
        assert_eq!(safe_relative("a/../../b"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
    }

    fn zip_of(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, mode, data) in entries {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            if mode & S_IFMT == S_IFLNK {
                let target = std::str::from_utf8(data).unwrap();
                w.add_symlink(*name, target, options).unwrap();
            } else {
                w.start_file(*name, options).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn unzip_keeps_modes_and_removes_its_directory() {
        let bytes = zip_of(&[
            ("bootstrap", 0o755, b"#!/bin/sh\n"),
            ("lib/data.txt", 0o640, b"x"),
            ("link", S_IFLNK | 0o777, b"lib/data.txt"),
        ]);
        let package = Package::from_zip_bytes(&bytes).unwrap();
        let root = package.root().to_path_buf();
        let mode = |p: &str| fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("bootstrap"), 0o755);
        assert_eq!(mode("lib/data.txt"), 0o640);
        assert_eq!(
            fs::read_link(root.join("link")).unwrap(),
            Path::new("lib/data.txt")
        );
        drop(package);
        assert!(!root.exists());
    }

    #[test]
    fn unzip_refuses_escapes() {
        for entries in [
            &[("bootstrap", 0o755, &b""[..]), ("../x", 0o644, b"")][..],
            &[("bootstrap", 0o755, b""), ("/abs", 0o644, b"")],
            &[
                ("bootstrap", 0o755, b""),
                ("up", S_IFLNK | 0o777, b"../../etc"),
            ],
            &[("bootstrap", 0o755, b""), ("abs", S_IFLNK | 0o777, b"/etc")],
        ] {
            let err = Package::from_zip_bytes(&zip_of(entries)).unwrap_err();
            assert!(matches!(err, PackageError::UnsafeEntry(_)), "{err}");
        }
    }

    #[test]
    fn bootstrap_checks() {
        let err = Package::from_zip_bytes(&zip_of(&[("index.sh", 0o755, b"")])).unwrap_err();
        assert_eq!(err.status(), Status::HandlerNotFound);
        let err = Package::from_zip_bytes(&zip_of(&[("bootstrap", 0o644, b"")])).unwrap_err();
        assert!(matches!(err, PackageError::NotExecutable(0o644)), "{err}");
        let err = Package::from_zip_bytes(b"not a zip").unwrap_err();
        assert!(matches!(err, PackageError::InvalidZip(_)), "{err}");
    }

    #[test]
    fn link_targets() {
        assert!(link_stays_inside(Path::new("a"), "b"));
        assert!(link_stays_inside(Path::new("d/a"), "../b"));
        assert!(!link_stays_inside(Path::new("a"), "../b"));
        assert!(!link_stays_inside(Path::new("a"), "/etc"));
        assert!(!link_stays_inside(Path::new("d/a"), "../../b"));
    }
}
