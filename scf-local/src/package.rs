//! The code package: a directory, or a zip unpacked into a temporary directory.
//!
//! The platform starts the executable `bootstrap` at the root of the package (docs/protocol.md
//! section 1). Unpacking keeps each entry's Unix mode, so a `bootstrap` zipped without its
//! execute bit fails here as it would in the cloud, but never with setuid, setgid or sticky
//! bits. A zip is refused when an entry's name would land outside the directory, when a link,
//! resolved component by component against the unpacked tree, leads outside it, when an entry
//! lies below a link (writes never follow one), when two entries have one name, and when it
//! is over the platform's 500 MB or [`MAX_ENTRIES`] entries.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::result::Status;

/// The file the platform starts.
pub const BOOTSTRAP: &str = "bootstrap";

/// The start file of a web function, which an image shape runs before `bootstrap` when no
/// command is given.
pub const SCF_BOOTSTRAP: &str = "scf_bootstrap";

/// The platform's limit on unpacked code: 500 MB.
///
/// The quota page (cloud.tencent.com/document/product/583/11637) gives "maximum code size
/// (including bound layers) per function before compression: 500MB". The bytes written are
/// counted, not the sizes the zip declares, so a zip bomb stops here too.
pub const UNPACKED_LIMIT: u64 = 500 * 1024 * 1024;

/// The most entries a zip may have. The platform states none; this is far above real
/// packages (a large `node_modules` has tens of thousands of files) and keeps a zip of empty
/// entries from making millions of inodes.
pub const MAX_ENTRIES: usize = 100_000;

/// The most links followed to resolve one link: Linux's own bound (`MAXSYMLINKS`).
pub const MAX_LINK_HOPS: u32 = 40;

/// The longest link target: Linux's `PATH_MAX`.
pub const MAX_LINK_TARGET: u64 = 4096;

/// The most path components looked at to resolve all the links of one package. A link can
/// cost at most `(MAX_LINK_HOPS + 1) * MAX_LINK_TARGET / 2` steps; this bounds the sum over
/// many links (about a second of `lstat` calls) and is far above what real packages need.
pub const MAX_RESOLVE_STEPS: u64 = 1 << 22;

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
    /// A link whose target, resolved against the unpacked tree, leads outside it (or cannot
    /// be resolved within [`MAX_LINK_HOPS`] and [`MAX_RESOLVE_STEPS`]).
    UnsafeLink {
        /// The link's name in the zip.
        entry: String,
        /// Its target, as archived.
        target: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An entry lies below another that is a link or a file: writing it would go through a
    /// link, or fail.
    UnderNonDirectory {
        /// The entry below.
        entry: String,
        /// The link or file it lies below.
        parent: String,
    },
    /// Two entries name one path (as unpacking writes them: `a`, `./a` and `a/` are one).
    Duplicate(String),
    /// The zip has more than [`MAX_ENTRIES`] entries; holds how many.
    TooManyEntries(usize),
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
            PackageError::UnsafeLink {
                entry,
                target,
                reason,
            } => write!(f, "zip entry {entry:?} is a link to {target:?}, which {reason}"),
            PackageError::UnderNonDirectory { entry, parent } => write!(
                f,
                "zip entry {entry:?} lies below {parent:?}, which is a link or a file: unpacking never writes through a link"
            ),
            PackageError::Duplicate(name) => write!(
                f,
                "zip entry {name:?} appears twice (`a`, `./a` and `a/` name one path)"
            ),
            PackageError::TooManyEntries(n) => write!(
                f,
                "the zip has {n} entries, over scf-local's limit of {MAX_ENTRIES}"
            ),
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
        Package::unzip(io::BufReader::new(file), true)
    }

    /// Opens the code of an image shape ([`crate::Shape::Image`], [`crate::Shape::Job`]):
    /// a directory in place, or a zip unpacked, with no `bootstrap` required (an image
    /// names its command; see [`Package::image_command`]).
    pub fn open_image(path: &Path) -> Result<Package, PackageError> {
        let meta = fs::metadata(path).map_err(|e| PackageError::Unreadable(path.into(), e))?;
        if !meta.is_dir() {
            let file =
                fs::File::open(path).map_err(|e| PackageError::Unreadable(path.into(), e))?;
            return Package::unzip(io::BufReader::new(file), false);
        }
        let root = path
            .canonicalize()
            .map_err(|e| PackageError::Unreadable(path.into(), e))?;
        Ok(Package {
            root,
            unpack_time: Duration::ZERO,
            _unpacked: None,
        })
    }

    /// The program an image shape runs when its configuration names none: the code root's
    /// `scf_bootstrap` (the web function's start file), else its `bootstrap`.
    pub fn image_command(&self) -> PathBuf {
        let scf_bootstrap = self.root.join(SCF_BOOTSTRAP);
        if scf_bootstrap.is_file() {
            scf_bootstrap
        } else {
            self.bootstrap()
        }
    }

    /// Unpacks a zip held in memory (the `Code.ZipFile` of the cloud API).
    pub fn from_zip_bytes(bytes: &[u8]) -> Result<Package, PackageError> {
        Package::unzip(io::Cursor::new(bytes), true)
    }

    fn unzip<R: Read + io::Seek>(reader: R, need_bootstrap: bool) -> Result<Package, PackageError> {
        let started = Instant::now();
        let archive =
            zip::ZipArchive::new(reader).map_err(|e| PackageError::InvalidZip(e.to_string()))?;
        // The zip crate keeps the last of two entries with one name and forgets the first
        // (`unzip` shows the first): find the name in the raw central directory.
        if archive.has_duplicate_names() {
            let start = archive.central_directory_start();
            let name = first_duplicate_name(archive.into_inner(), start);
            return Err(PackageError::Duplicate(name.unwrap_or_else(|| "?".into())));
        }
        let mut archive = archive;
        let dir = crate::scratch::tempdir("code").map_err(PackageError::Io)?;
        let root = dir.path().canonicalize().map_err(PackageError::Io)?;
        extract(&mut archive, &root)?;
        if need_bootstrap {
            check_bootstrap(&root)?;
        }
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
///
/// This is also the name two entries are compared by: `a`, `./a`, `a/` and `a//` are one.
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

/// Why a link cannot be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkFault {
    /// The target (or a link met on the way) is an absolute path.
    Absolute,
    /// Resolved step by step, it climbs above the root.
    Outside,
    /// It takes more than [`MAX_LINK_HOPS`] links to resolve (a loop, or nearly).
    TooManyHops,
    /// Resolving all the package's links would take more than [`MAX_RESOLVE_STEPS`] steps.
    TooComplex,
    /// A link met on the way could not be read.
    Unreadable,
}

impl LinkFault {
    fn reason(self) -> &'static str {
        match self {
            LinkFault::Absolute => "is an absolute path",
            LinkFault::Outside => "resolves outside the code directory",
            LinkFault::TooManyHops => "takes more than 40 links to resolve",
            LinkFault::TooComplex => {
                "cannot be resolved within the bound on steps for one package's links"
            }
            LinkFault::Unreadable => "cannot be resolved",
        }
    }
}

/// One step of a path being resolved.
enum Step {
    Parent,
    Name(OsString),
}

/// Pushes the steps of `target` to the front of `todo`, in order; `Err` if it is absolute.
fn prepend_steps(todo: &mut VecDeque<Step>, target: &Path) -> Result<(), LinkFault> {
    let mut steps = Vec::new();
    for c in target.components() {
        match c {
            Component::Normal(name) => steps.push(Step::Name(name.to_owned())),
            Component::ParentDir => steps.push(Step::Parent),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(LinkFault::Absolute),
        }
    }
    for step in steps.into_iter().rev() {
        todo.push_front(step);
    }
    Ok(())
}

/// Resolves a link found in directory `dir` (its components below `root`) with target `target`
/// against the real tree under `root`, one component at a time, as the kernel would: a link met
/// on the way is read and its target resolved in its turn (at most [`MAX_LINK_HOPS`] of them),
/// and `..` above `root` is an escape. A component that does not exist (or is not a directory)
/// ends the real walk: the rest is taken as written, since nothing can be found below it.
///
/// `budget` counts the steps left for the whole package, so that many links each nearly
/// looping cannot keep the unpacking busy.
fn resolve_inside(
    root: &Path,
    dir: &Path,
    target: &Path,
    budget: &mut u64,
) -> Result<(), LinkFault> {
    let mut at: Vec<OsString> = dir.iter().map(|c| c.to_owned()).collect();
    let mut todo = VecDeque::new();
    prepend_steps(&mut todo, target)?;
    let mut hops = 0u32;
    let mut real = true;
    while let Some(step) = todo.pop_front() {
        *budget = budget.checked_sub(1).ok_or(LinkFault::TooComplex)?;
        let name = match step {
            Step::Parent => {
                at.pop().ok_or(LinkFault::Outside)?;
                continue;
            }
            Step::Name(name) => name,
        };
        if !real {
            at.push(name);
            continue;
        }
        let mut path = root.to_path_buf();
        path.extend(&at);
        path.push(&name);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(LinkFault::TooManyHops);
                }
                let next = fs::read_link(&path).map_err(|_| LinkFault::Unreadable)?;
                prepend_steps(&mut todo, &next)?;
            }
            Ok(meta) => {
                real = meta.is_dir();
                at.push(name);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                real = false;
                at.push(name);
            }
            Err(_) => return Err(LinkFault::Unreadable),
        }
    }
    Ok(())
}

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// What an entry of the zip makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Link,
}

/// An entry of the zip, read from the central directory before anything is written.
struct Planned {
    index: usize,
    name: String,
    rel: PathBuf,
    kind: Kind,
    mode: Option<u32>,
}

/// The mode an unpacked directory gets: the archived permission bits with the owner's `rwx`
/// ensured (the directory must stay usable), never setuid, setgid or sticky.
fn dir_mode(archived: Option<u32>) -> u32 {
    archived.map_or(0o700, |m| (m & 0o777) | 0o700)
}

/// Makes `dir` and any missing parent, each new one mode 0700 (their final mode comes last).
fn make_dirs(dir: &Path) -> Result<(), PackageError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(PackageError::Io)
}

/// The first name that appears twice in the central directory, read from its raw headers
/// (the zip crate keeps one entry per name, so duplicates are gone from its index).
fn first_duplicate_name<R: Read + io::Seek>(mut reader: R, start: u64) -> Option<String> {
    const CENTRAL_HEADER: u32 = 0x0201_4b50;
    reader.seek(io::SeekFrom::Start(start)).ok()?;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..=MAX_ENTRIES {
        let mut head = [0u8; 46];
        reader.read_exact(&mut head).ok()?;
        if u32::from_le_bytes([head[0], head[1], head[2], head[3]]) != CENTRAL_HEADER {
            return None;
        }
        let field = |at: usize| u64::from(u16::from_le_bytes([head[at], head[at + 1]]));
        let (name_len, rest) = (field(28), field(30) + field(32));
        let mut name = vec![0u8; name_len as usize];
        reader.read_exact(&mut name).ok()?;
        reader.seek(io::SeekFrom::Current(rest as i64)).ok()?;
        if !seen.insert(name.clone()) {
            return Some(String::from_utf8_lossy(&name).into_owned());
        }
    }
    None
}

/// Reads the central directory and checks the entries as a whole, before anything is
/// written: their number, their declared sizes, no two with one name, none below a file or
/// a link (writes never go through a link, whatever the order of the entries).
fn plan<R: Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
) -> Result<Vec<Planned>, PackageError> {
    if archive.len() > MAX_ENTRIES {
        return Err(PackageError::TooManyEntries(archive.len()));
    }
    let overlapping = archive
        .has_overlapping_files()
        .map_err(|e| PackageError::InvalidZip(e.to_string()))?;
    if overlapping {
        return Err(PackageError::InvalidZip(
            "entries share their compressed data (a zip bomb's trick)".into(),
        ));
    }
    let mut declared: u64 = 0;
    let mut planned = Vec::with_capacity(archive.len());
    let mut by_path: BTreeMap<PathBuf, (Kind, usize)> = BTreeMap::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| PackageError::InvalidZip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| PackageError::InvalidZip(e.to_string()))?
            .into_owned();
        let rel = safe_relative(&name).ok_or_else(|| PackageError::UnsafeEntry(name.clone()))?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let mode = entry.unix_mode();
        let kind = if entry.is_dir() {
            Kind::Dir
        } else if mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
            Kind::Link
        } else {
            Kind::File
        };
        if kind == Kind::Link && entry.size() > MAX_LINK_TARGET {
            return Err(PackageError::UnsafeLink {
                entry: name,
                target: format!("({} bytes)", entry.size()),
                reason: "is longer than 4096 bytes",
            });
        }
        declared = declared.saturating_add(entry.size());
        if declared > UNPACKED_LIMIT {
            return Err(PackageError::TooLarge);
        }
        if by_path.insert(rel.clone(), (kind, planned.len())).is_some() {
            return Err(PackageError::Duplicate(name));
        }
        planned.push(Planned {
            index,
            name,
            rel,
            kind,
            mode,
        });
    }
    for p in &planned {
        for ancestor in p.rel.ancestors().skip(1) {
            if let Some(&(kind, at)) = by_path.get(ancestor) {
                if kind != Kind::Dir {
                    return Err(PackageError::UnderNonDirectory {
                        entry: p.name.clone(),
                        parent: planned[at].name.clone(),
                    });
                }
            }
        }
    }
    Ok(planned)
}

fn extract<R: Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    root: &Path,
) -> Result<(), PackageError> {
    let planned = plan(archive)?;
    // The sizes in the zip are claims: count what is written.
    let mut total: u64 = 0;
    let mut links = Vec::new();
    for p in &planned {
        let dest = root.join(&p.rel);
        match p.kind {
            Kind::Dir => make_dirs(&dest)?,
            Kind::Link => {
                let mut entry = archive
                    .by_index(p.index)
                    .map_err(|e| PackageError::InvalidZip(e.to_string()))?;
                let mut target = String::new();
                (&mut entry)
                    .take(MAX_LINK_TARGET + 1)
                    .read_to_string(&mut target)
                    .map_err(|e| PackageError::InvalidZip(format!("entry {:?}: {e}", p.name)))?;
                total = total.saturating_add(target.len() as u64);
                let refused = if target.len() as u64 > MAX_LINK_TARGET {
                    Some("is longer than 4096 bytes")
                } else if target.is_empty() || target.contains('\0') {
                    Some("is not a path")
                } else if Path::new(&target).has_root() {
                    Some(LinkFault::Absolute.reason())
                } else {
                    None
                };
                if let Some(reason) = refused {
                    return Err(PackageError::UnsafeLink {
                        entry: p.name.clone(),
                        target,
                        reason,
                    });
                }
                links.push((p, target));
            }
            Kind::File => {
                if let Some(parent) = dest.parent() {
                    make_dirs(parent)?;
                }
                let mut entry = archive
                    .by_index(p.index)
                    .map_err(|e| PackageError::InvalidZip(e.to_string()))?;
                // No link exists yet and none is ever above an entry (see `plan`); O_NOFOLLOW
                // and O_EXCL say so again at the last component.
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .mode(0o600)
                    .open(&dest)
                    .map_err(PackageError::Io)?;
                let room = UNPACKED_LIMIT - total.min(UNPACKED_LIMIT);
                let copied = io::copy(&mut (&mut entry).take(room + 1), &mut out)
                    .map_err(|e| PackageError::InvalidZip(format!("entry {:?}: {e}", p.name)))?;
                total = total.saturating_add(copied);
                if total > UNPACKED_LIMIT {
                    return Err(PackageError::TooLarge);
                }
                // Permission bits only: setuid, setgid and sticky are dropped.
                let perm = p.mode.map_or(0o644, |m| m & 0o777);
                out.set_permissions(fs::Permissions::from_mode(perm))
                    .map_err(PackageError::Io)?;
            }
        }
    }
    if total > UNPACKED_LIMIT {
        return Err(PackageError::TooLarge);
    }
    // Links last, so no file above is ever written through one of them; then each is resolved
    // against the tree as it now stands, all links in place, so their order does not matter.
    for (p, target) in &links {
        let dest = root.join(&p.rel);
        if let Some(parent) = dest.parent() {
            make_dirs(parent)?;
        }
        std::os::unix::fs::symlink(target, &dest).map_err(PackageError::Io)?;
    }
    let mut budget = MAX_RESOLVE_STEPS;
    for (p, target) in &links {
        let dir = p.rel.parent().unwrap_or(Path::new(""));
        resolve_inside(root, dir, Path::new(target), &mut budget).map_err(|fault| {
            PackageError::UnsafeLink {
                entry: p.name.clone(),
                target: target.clone(),
                reason: fault.reason(),
            }
        })?;
    }
    // Directory modes last, so a read-only directory did not stop the files below it. No
    // link is above any of them (see `plan`), so setting a mode follows none.
    for p in planned.iter().filter(|p| p.kind == Kind::Dir) {
        fs::set_permissions(
            root.join(&p.rel),
            fs::Permissions::from_mode(dir_mode(p.mode)),
        )
        .map_err(PackageError::Io)?;
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
/// (or directory, recursively) at the root under its own name, keeping its permission bits
/// (never setuid, setgid or sticky). Returns the size of the zip in bytes. The zip appears
/// whole or not at all.
///
/// The rules of unpacking hold for what is packed: no two entries with one name (an include
/// named `bootstrap`, or two includes with one base name, are refused); a link inside an
/// included directory is stored as a link if it resolves inside that directory, component by
/// component, and refused otherwise; anything but files, directories and links is refused.
/// The paths given (`bootstrap` and each include) are followed if they are links.
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
    let mut packer = Packer {
        zip: zip::ZipWriter::new(tmp.reopen().map_err(|e| PackError(e.to_string()))?),
        names: BTreeSet::new(),
        budget: MAX_RESOLVE_STEPS,
    };
    packer.add_file(bootstrap, BOOTSTRAP, 0o755)?;
    for path in include {
        let name = path
            .file_name()
            .ok_or_else(|| PackError(format!("cannot include {}", path.display())))?
            .to_string_lossy()
            .into_owned();
        let meta = fs::metadata(path)
            .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?;
        if meta.is_dir() {
            let root = path
                .canonicalize()
                .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?;
            packer.add_tree(&root, Path::new(""), &name, meta.permissions().mode())?;
        } else if meta.is_file() {
            packer.add_file(path, &name, meta.permissions().mode())?;
        } else {
            return Err(PackError(format!(
                "{} is not a file or a directory",
                path.display()
            )));
        }
    }
    let file = packer
        .zip
        .finish()
        .map_err(|e| PackError(format!("cannot write the zip: {e}")))?;
    let size = file.metadata().map_err(|e| PackError(e.to_string()))?.len();
    drop(file);
    tmp.persist(out)
        .map_err(|e| PackError(format!("cannot write {}: {}", out.display(), e.error)))?;
    Ok(size)
}

/// The zip being written by [`pack`], with the names already in it.
struct Packer {
    zip: zip::ZipWriter<fs::File>,
    names: BTreeSet<String>,
    budget: u64,
}

impl Packer {
    /// Claims `name` in the zip, or fails if an entry has it already.
    fn claim(&mut self, name: &str) -> Result<(), PackError> {
        if self.names.insert(name.to_owned()) {
            Ok(())
        } else {
            Err(PackError(format!(
                "two entries would be named {name} in the zip"
            )))
        }
    }

    /// Adds the directory `rel` of the included tree at `root` (whose own name in the zip is
    /// `name`), and everything below it; links are not followed.
    fn add_tree(
        &mut self,
        root: &Path,
        rel: &Path,
        name: &str,
        mode: u32,
    ) -> Result<(), PackError> {
        self.claim(name)?;
        let options =
            zip::write::SimpleFileOptions::default().unix_permissions(dir_mode(Some(mode)));
        self.zip
            .add_directory(name, options)
            .map_err(|e| PackError(format!("cannot add {name}: {e}")))?;
        let dir = root.join(rel);
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| PackError(format!("cannot read {}: {e}", dir.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| PackError(format!("cannot read {}: {e}", dir.display())))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let file_name = entry.file_name();
            let child = format!("{name}/{}", file_name.to_string_lossy());
            let child_rel = rel.join(&file_name);
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)
                .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?;
            let kind = meta.file_type();
            if kind.is_symlink() {
                self.add_link(root, rel, &path, &child)?;
            } else if kind.is_dir() {
                self.add_tree(root, &child_rel, &child, meta.permissions().mode())?;
            } else if kind.is_file() {
                self.add_file(&path, &child, meta.permissions().mode())?;
            } else {
                return Err(PackError(format!(
                    "{} is not a file, a directory or a link",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// Adds the link at `path` (in directory `rel` of the included tree at `root`) as a link,
    /// if it resolves inside that tree.
    fn add_link(
        &mut self,
        root: &Path,
        rel: &Path,
        path: &Path,
        name: &str,
    ) -> Result<(), PackError> {
        let target = fs::read_link(path)
            .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?;
        if let Err(fault) = resolve_inside(root, rel, &target, &mut self.budget) {
            let reason = match fault {
                LinkFault::Outside => "resolves outside the included directory",
                other => other.reason(),
            };
            return Err(PackError(format!(
                "{} is a link to {}, which {reason}",
                path.display(),
                target.display()
            )));
        }
        let target = target.to_str().ok_or_else(|| {
            PackError(format!(
                "{} is a link to a name that is not UTF-8",
                path.display()
            ))
        })?;
        self.claim(name)?;
        let options = zip::write::SimpleFileOptions::default();
        self.zip
            .add_symlink(name, target, options)
            .map_err(|e| PackError(format!("cannot add {name}: {e}")))
    }

    /// Adds the regular file at `path` with permission bits `mode` (setuid, setgid and sticky
    /// dropped).
    fn add_file(&mut self, path: &Path, name: &str, mode: u32) -> Result<(), PackError> {
        self.claim(name)?;
        let mut input = fs::File::open(path)
            .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?;
        let len = input
            .metadata()
            .map_err(|e| PackError(format!("cannot read {}: {e}", path.display())))?
            .len();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode & 0o777)
            .large_file(len >= u32::MAX as u64);
        self.zip
            .start_file(name, options)
            .map_err(|e| PackError(format!("cannot add {name}: {e}")))?;
        io::copy(&mut input, &mut self.zip)
            .map_err(|e| PackError(format!("cannot add {name}: {e}")))?;
        self.zip.flush().map_err(|e| PackError(e.to_string()))?;
        Ok(())
    }
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

    /// A zip of `entries` (name, mode with its type bits, data or link target): a mode with
    /// the directory bit is a directory, with the link bit a link, else a file.
    fn zip_of(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, mode, data) in entries {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            if mode & S_IFMT == DIR {
                w.add_directory(*name, options.unix_permissions(mode & 0o7777))
                    .unwrap();
            } else if mode & S_IFMT == S_IFLNK {
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
            assert!(
                matches!(
                    err,
                    PackageError::UnsafeEntry(_) | PackageError::UnsafeLink { .. }
                ),
                "{err}"
            );
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

    const LINK: u32 = S_IFLNK | 0o777;
    const DIR: u32 = 0o040000;

    /// One entry of a test zip: name, mode (with its type bits), data or link target.
    type Row = (&'static str, u32, &'static [u8]);

    /// What a hostile archive must give.
    #[derive(Debug)]
    enum Refused {
        Link(&'static str),
        Under(&'static str),
        Duplicate(&'static str),
        Entry,
    }

    #[test]
    fn unzip_refuses_hostile_archives_by_entry_name() {
        let boot: Row = ("bootstrap", 0o755, b"#!/bin/sh\n");
        #[rustfmt::skip]
        let cases: &[(&str, Vec<Row>, Refused)] = &[
            ("a chain through `l -> .` that climbs out",
             vec![boot, ("l", LINK, b"."), ("data", LINK, b"l/l/l/l/../../../../etc/hostname")],
             Refused::Link("data")),
            ("the same chain, the user listed first",
             vec![("data", LINK, b"l/l/l/l/../../../../etc/hostname"), ("l", LINK, b"."), boot],
             Refused::Link("data")),
            ("a bootstrap reached through the chain",
             vec![("l", LINK, b"."), ("bootstrap", LINK, b"l/l/l/../../../bin/true")],
             Refused::Link("bootstrap")),
            ("a link into a directory's link that climbs out",
             vec![boot, ("d/up", LINK, b".."), ("x", LINK, b"d/up/d/up/d/up/..")],
             Refused::Link("x")),
            ("a dangling component, then `..` out",
             vec![boot, ("x", LINK, b"missing/../../etc")],
             Refused::Link("x")),
            ("a link to `..` from the root", vec![boot, ("up", LINK, b"..")], Refused::Link("up")),
            ("an absolute link", vec![boot, ("abs", LINK, b"/etc")], Refused::Link("abs")),
            ("a link loop", vec![boot, ("a", LINK, b"b"), ("b", LINK, b"a")], Refused::Link("a")),
            ("a link to itself", vec![boot, ("s", LINK, b"s/x")], Refused::Link("s")),
            ("an empty link", vec![boot, ("e", LINK, b"")], Refused::Link("e")),
            ("a file written through an absolute link",
             vec![boot, ("l", LINK, b"/tmp"), ("l/passwd", 0o644, b"x")],
             Refused::Under("l/passwd")),
            ("a file written through an inside link, link first",
             vec![boot, ("sub/", DIR | 0o755, b""), ("l", LINK, b"sub"), ("l/x", 0o644, b"x")],
             Refused::Under("l/x")),
            ("a file written through an inside link, link last",
             vec![boot, ("l/x", 0o644, b"x"), ("sub/", DIR | 0o755, b""), ("l", LINK, b"sub")],
             Refused::Under("l/x")),
            ("a directory entry through a link",
             vec![boot, ("l", LINK, b"."), ("l/d/", DIR | 0o755, b"")],
             Refused::Under("l/d/")),
            ("a file below a file", vec![boot, ("f", 0o644, b"x"), ("f/g", 0o644, b"y")],
             Refused::Under("f/g")),
            ("`a` and `./a`", vec![boot, ("a", 0o644, b"1"), ("./a", 0o644, b"2")],
             Refused::Duplicate("./a")),
            ("`bootstrap` and `./bootstrap`",
             vec![boot, ("./bootstrap", 0o755, b"#!/bin/sh\nexit 1\n")],
             Refused::Duplicate("./bootstrap")),
            ("a directory `a/` and a file `a`",
             vec![boot, ("a/", DIR | 0o755, b""), ("a", 0o644, b"x")],
             Refused::Duplicate("a")),
            ("a file and a link of one name", vec![boot, ("a", 0o644, b"x"), ("a/", LINK, b".")],
             Refused::Duplicate("a/")),
            ("`..` in a name", vec![boot, ("../x", 0o644, b"")], Refused::Entry),
            ("an absolute name", vec![boot, ("/abs", 0o644, b"")], Refused::Entry),
            ("`..` below the root", vec![boot, ("a/../../x", 0o644, b"")], Refused::Entry),
        ];
        for (what, entries, want) in cases {
            let err = Package::from_zip_bytes(&zip_of(entries)).unwrap_err();
            let ok = match (&err, want) {
                (PackageError::UnsafeLink { entry, .. }, Refused::Link(n)) => entry == n,
                (PackageError::UnderNonDirectory { entry, .. }, Refused::Under(n)) => entry == n,
                (PackageError::Duplicate(entry), Refused::Duplicate(n)) => entry == n,
                (PackageError::UnsafeEntry(_), Refused::Entry) => true,
                _ => false,
            };
            assert!(ok, "{what}: got {err:?}, want {want:?}");
            assert_eq!(err.status(), Status::ContainerInitError, "{what}");
        }
    }

    #[test]
    fn unzip_keeps_links_that_resolve_inside() {
        let bytes = zip_of(&[
            ("real/bootstrap", 0o755, b"#!/bin/sh\n"),
            ("l", LINK, b"."),
            ("bootstrap", LINK, b"l/l/real/../real/bootstrap"),
            ("d/up", LINK, b".."),
            ("d/same", LINK, b"up/d/up/real"),
            ("dangling", LINK, b"nothing/here"),
        ]);
        let package = Package::from_zip_bytes(&bytes).unwrap();
        let target = fs::canonicalize(package.bootstrap()).unwrap();
        assert_eq!(target, package.root().join("real/bootstrap"));
    }

    #[test]
    fn unzip_refuses_two_entries_with_the_very_same_name_naming_it() {
        // ZipWriter refuses a duplicate: write two names of one length, then make them equal.
        let mut bytes = zip_of(&[
            ("bootstrap", 0o755, b"#!/bin/sh\n"),
            ("dupAAAA", 0o644, b"first"),
            ("dupBBBB", 0o644, b"second"),
        ]);
        let mut i = 0;
        while let Some(at) = bytes[i..].windows(7).position(|w| w == b"dupBBBB") {
            bytes[i + at..i + at + 7].copy_from_slice(b"dupAAAA");
            i += at + 7;
        }
        let err = Package::from_zip_bytes(&bytes).unwrap_err();
        assert!(
            matches!(&err, PackageError::Duplicate(n) if n == "dupAAAA"),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("\"dupAAAA\" appears twice"),
            "{err}"
        );
    }

    #[test]
    fn unzip_drops_setuid_setgid_and_sticky_and_keeps_directories_private() {
        let bytes = zip_of(&[
            ("bootstrap", 0o6755, b"#!/bin/sh\n"),
            ("tool", 0o4711, b"x"),
            ("shared/", DIR | 0o3777, b""),
            ("ro/", DIR | 0o555, b""),
            ("ro/f", 0o444, b"x"),
            ("implicit/deep/f", 0o644, b"x"),
        ]);
        let package = Package::from_zip_bytes(&bytes).unwrap();
        let root = package.root();
        let mode = |p: &str| fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("bootstrap"), 0o755);
        assert_eq!(mode("tool"), 0o711);
        assert_eq!(mode("shared"), 0o777);
        assert_eq!(mode("ro"), 0o755);
        assert_eq!(mode("ro/f"), 0o444);
        assert_eq!(mode("implicit"), 0o700);
        assert_eq!(mode("implicit/deep"), 0o700);
        assert_eq!(mode(""), 0o700);
    }

    #[test]
    fn unzip_bounds_entries_sizes_and_shared_data() {
        // Over the entry limit (empty entries, so the zip stays small).
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..=MAX_ENTRIES {
            w.start_file(format!("{i}"), stored).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let err = Package::from_zip_bytes(&bytes).unwrap_err();
        assert!(
            matches!(err, PackageError::TooManyEntries(n) if n == MAX_ENTRIES + 1),
            "{err}"
        );

        // Two entries sharing one compressed block (the overlapping-files bomb).
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("bootstrap", deflated).unwrap();
        w.write_all(&[b'#'; 4096]).unwrap();
        w.shallow_copy_file("bootstrap", "copy").unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let err = Package::from_zip_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains("zip bomb"), "{err}");

        // A link target over PATH_MAX.
        let long = "a/".repeat(2100);
        let bytes = zip_of(&[("bootstrap", 0o755, b""), ("l", LINK, long.as_bytes())]);
        let err = Package::from_zip_bytes(&bytes).unwrap_err();
        assert!(
            matches!(&err, PackageError::UnsafeLink { entry, .. } if entry == "l"),
            "{err}"
        );
    }

    #[test]
    fn unzip_refuses_a_declared_size_over_the_limit_before_writing() {
        let mut bytes = zip_of(&[("bootstrap", 0o755, b"#!/bin/sh\n")]);
        // The central directory says 1.75 GB uncompressed (offset 24 of its header).
        let at = bytes
            .windows(4)
            .rposition(|w| w == 0x0201_4b50u32.to_le_bytes())
            .unwrap();
        bytes[at + 24..at + 28].copy_from_slice(&0x7000_0000u32.to_le_bytes());
        let err = Package::from_zip_bytes(&bytes).unwrap_err();
        assert!(matches!(err, PackageError::TooLarge), "{err}");
    }

    #[test]
    fn link_resolution_steps() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("d")).unwrap();
        std::os::unix::fs::symlink(".", root.join("l")).unwrap();
        std::os::unix::fs::symlink("..", root.join("d/up")).unwrap();
        let check = |dir: &str, target: &str| {
            let mut budget = MAX_RESOLVE_STEPS;
            resolve_inside(root, Path::new(dir), Path::new(target), &mut budget)
        };
        assert_eq!(check("", "d"), Ok(()));
        assert_eq!(check("d", "../d"), Ok(()));
        assert_eq!(check("", "l/l/l/d/up/d"), Ok(()));
        assert_eq!(check("", "l/l/l/../x"), Err(LinkFault::Outside));
        assert_eq!(check("d", "up/.."), Err(LinkFault::Outside));
        assert_eq!(check("", "d/up/d/up/d/up/.."), Err(LinkFault::Outside));
        assert_eq!(check("", "/etc"), Err(LinkFault::Absolute));
        assert_eq!(check("", &"l/".repeat(41)), Err(LinkFault::TooManyHops));
        let mut budget = 3;
        let r = resolve_inside(root, Path::new(""), Path::new("a/b/c/d"), &mut budget);
        assert_eq!(r, Err(LinkFault::TooComplex));
    }
}
