//! AWS's Lambda Runtime Interface Emulator (RIE), the one the runtime's tests run under and
//! the benchmark measures against: taken out of a pinned `aws-sam-cli` wheel from PyPI,
//! once per cache folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The `aws-sam-cli` release whose RIE is used (pinned so that a new release cannot change
/// the emulator under the tests and the benchmark; raise it on purpose).
pub const SAM_CLI_VERSION: &str = "1.170.0";
/// Where RIE is inside the wheel.
pub const IN_WHEEL: &str = "samcli/local/rapid/aws-lambda-rie-x86_64";
/// RIE's invoke path (the Lambda `Invoke` API's, for the one function it runs).
pub const INVOKE: &str = "/2015-03-31/functions/function/invocations";
/// Bound on the download.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(300);
/// The largest RIE taken out of the wheel.
const MAX_RIE: u64 = 256 << 20;

/// RIE's executable in `cache` (`<cache>/rie-<version>/aws-lambda-rie-x86_64`), downloaded
/// and taken out of the wheel the first time. Several processes may do it at once: each
/// works in a folder of its own and renames the binary into place (atomic; the same file
/// wins either way). The error says what to do when pip or PyPI cannot be reached.
pub fn binary(cache: &Path) -> Result<PathBuf, String> {
    let rie = path(cache);
    if rie.is_file() {
        return Ok(rie);
    }
    let dir = rie.parent().expect("a folder");
    let work = dir.join(format!("rie-work-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let outcome = download(&work, &rie);
    let _ = std::fs::remove_dir_all(&work);
    outcome.map(|()| rie)
}

/// Where [`binary`] keeps RIE in `cache` (it may not be there yet).
pub fn path(cache: &Path) -> PathBuf {
    cache
        .join(format!("rie-{SAM_CLI_VERSION}"))
        .join("aws-lambda-rie-x86_64")
}

fn download(work: &Path, rie: &Path) -> Result<(), String> {
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--quiet", "-d"])
        .arg(work)
        .arg(format!("aws-sam-cli=={SAM_CLI_VERSION}"))
        .stdin(Stdio::null());
    let out = crate::process::run_bounded(&mut pip, DOWNLOAD_LIMIT);
    if !out.status.success() {
        return Err(format!(
            "RIE comes from the aws-sam-cli wheel, and `python3 -m pip download --no-deps \
             aws-sam-cli=={SAM_CLI_VERSION}` failed ({}): is python3 with pip installed \
             (scripts/setup.sh installs it) and PyPI reachable? {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let wheel = std::fs::read_dir(work)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .ok_or_else(|| format!("pip left no wheel in {}", work.display()))?;
    // A wheel is a zip: take the one member, bounded in size.
    let file = std::fs::File::open(&wheel).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("the wheel: {e}"))?;
    let mut member = archive
        .by_name(IN_WHEEL)
        .map_err(|e| format!("{IN_WHEEL} in the wheel: {e}"))?;
    if member.size() > MAX_RIE {
        return Err(format!("{IN_WHEEL} is {} bytes", member.size()));
    }
    let part = work.join("aws-lambda-rie-x86_64");
    let mut out = std::fs::File::create(&part).map_err(|e| e.to_string())?;
    std::io::copy(&mut std::io::Read::take(&mut member, MAX_RIE), &mut out)
        .map_err(|e| format!("unpacking RIE: {e}"))?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&part, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    std::fs::rename(&part, rie).map_err(|e| format!("{}: {e}", rie.display()))
}
