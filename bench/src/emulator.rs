//! One sample of one contender under `scf-local run`: the same windows as the in-harness
//! server, driven through the emulator's `POST /invoke`, so that the emulator's own cost
//! shows beside the bootstrap's.
//!
//! exec → ready cannot be seen from outside the emulator: the cold figure here is
//! `POST /invoke` → result on a freshly started `scf-local run`, which includes the
//! emulator starting the instance. The bootstrap's CPU time and RSS are read from `/proc`
//! through its pid (a child of `scf-local`); the emulator's own CPU time per invocation is
//! read the same way from the `scf-local` process. Bootstraps of AWS's dialect run under
//! `scf-local run --api aws`, which drives the same lifecycle through AWS's runtime API and
//! answers `POST /invoke` with the same `Result` JSON.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use scf_local::{Dialect, HeaderStyle};

use crate::measure::{Config, Live, Running, Sample, Warm};
use crate::Workspace;
use scf_testkit::http::{Conn, Start};
use scf_testkit::is_aws;
use scf_testkit::process;
use scf_testkit::procfs::{self, Cpu};
use scf_testkit::runtime_api::echo_reply;

/// Builds `scf-local` (release) if its package is in the workspace; the reason otherwise.
pub fn build(ws: &Workspace) -> Result<PathBuf, String> {
    if !ws.root.join("scf-local/Cargo.toml").is_file() {
        return Err(
            "scf-local is not in this workspace (no scf-local/Cargo.toml under its root)".into(),
        );
    }
    eprintln!("== building scf-local");
    eprintln!("   $ cargo build --release -p scf-local");
    let status = Command::new("cargo")
        .current_dir(&ws.root)
        .args(["build", "--release", "-p", "scf-local"])
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build --release -p scf-local` failed ({status})"
        ));
    }
    let bin = ws.target.join("release/scf-local");
    // `run` must exist: older states of scf-local had only `invoke`.
    let help = Command::new(&bin)
        .args(["run", "--help"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !help.status.success() {
        return Err("this scf-local has no `run` command yet".into());
    }
    Ok(bin)
}

/// A started `scf-local run` with its address.
pub(crate) struct Emulator {
    pub(crate) proc: Running,
    pub(crate) addr: String,
}

impl Emulator {
    /// Starts `scf-local run` on `code_dir` (port 0) and waits until it names its address.
    pub(crate) fn start(bin: &Path, code_dir: &Path, dialect: Dialect) -> Result<Emulator, String> {
        use std::os::unix::process::CommandExt;

        let mut cmd = Command::new(bin);
        cmd.arg("run").arg(code_dir).args([
            "--port",
            "0",
            "--timeout",
            "60",
            "--idle-timeout",
            "3600",
        ]);
        if is_aws(dialect) {
            cmd.args(["--api", "aws"]);
        } else {
            // tencent_scf panics without these (the platform no longer sets the first).
            cmd.args(["--env", "SCF_NAMESPACE=default"])
                .args(["--env", "TENCENTCLOUD_APPID=1250000000"])
                .args(["--env", "TENCENTCLOUD_UIN=100000000001"]);
            let walkthrough = Dialect::Scf {
                headers: HeaderStyle::Walkthrough,
            };
            if dialect == walkthrough {
                cmd.args(["--headers", "walkthrough"]);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0);
        // The emulator names its endpoint on stderr: "... on http://127.0.0.1:PORT/invoke ...";
        // the kit keeps draining the rest so that it never blocks on a full pipe.
        let (child, addr) = process::spawn_server(&mut cmd, Duration::from_secs(60), None)
            .map_err(|e| format!("scf-local: {e}"))?;
        let proc = Running::new(child, false);
        Ok(Emulator { proc, addr })
    }

    /// Ends the emulator the way a user does (Ctrl-C), so it shuts its instance down.
    pub(crate) fn stop(mut self, bootstrap: Option<u32>) {
        self.proc.signal(libc::SIGINT);
        if !self.proc.wait_for(Duration::from_secs(5)) {
            self.proc.signal(libc::SIGKILL);
        }
        if let Some(pid) = bootstrap {
            if procfs::peak_rss(pid).is_some() {
                // SAFETY: kill has no memory-safety preconditions. The emulator started the
                // bootstrap in its own process group; it is still there, so kill that group.
                unsafe {
                    libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                }
            }
        }
    }
}

/// An HTTP client of `POST /invoke` on one keep-alive connection.
struct Client {
    conn: Conn,
}

impl Client {
    fn connect(addr: &str) -> Result<Client, String> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        Ok(Client {
            conn: Conn::new(stream),
        })
    }

    /// Posts `request` (head and event); `full` parses the result JSON and compares the
    /// echo, otherwise only the status and the success code are checked.
    fn invoke(&mut self, request: &[u8], expected: Option<&str>, full: bool) -> Result<(), String> {
        self.conn
            .write_all_vectored(&[request])
            .map_err(|e| format!("POST /invoke: {e}"))?;
        let msg = self
            .conn
            .read_message()
            .map_err(|e| format!("POST /invoke: {e}"))?
            .ok_or("scf-local closed the connection")?;
        let body = self.conn.body(&msg);
        let outcome = check_result(&msg.start, body, expected, full);
        self.conn.consume(msg);
        outcome
    }
}

pub(crate) fn check_result(
    start: &Start,
    body: &[u8],
    expected: Option<&str>,
    full: bool,
) -> Result<(), String> {
    let shown = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    if *start != Start::Response(200) {
        return Err(format!("POST /invoke answered {start:?}: {}", shown()));
    }
    if full {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("result is not JSON: {e}"))?;
        let result = &v["Result"];
        let wrong = expected.is_some_and(|e| result["RetMsg"] != e);
        if result["InvokeResult"] != 0 || wrong {
            return Err(format!("invocation failed: {}", shown()));
        }
    } else {
        // The result JSON's `InvokeResult` follows `RetMsg`: look near the end only.
        let tail = &body[body.len().saturating_sub(1024)..];
        let ok = tail.windows(16).any(|w| w == b"\"InvokeResult\":0");
        if !ok {
            return Err(format!("invocation failed: {}", shown()));
        }
    }
    Ok(())
}

/// `POST /invoke` with `event` as its body, head and body in one buffer.
pub(crate) fn invoke_request(event: &[u8]) -> Vec<u8> {
    post_request("/invoke", event)
}

/// `POST path` with `event` as its JSON body, head and body in one buffer.
pub(crate) fn post_request(path: &str, event: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        event.len()
    )
    .into_bytes();
    req.extend_from_slice(event);
    req
}

/// A bootstrap kept warm by a running `scf-local run`.
pub struct EmuInstance {
    emu: Option<Emulator>,
    client: Client,
    /// The bootstrap's pid.
    pid: u32,
    small: (Vec<u8>, Option<String>),
    large: (Vec<u8>, Option<String>),
}

impl Drop for EmuInstance {
    fn drop(&mut self) {
        if let Some(emu) = self.emu.take() {
            emu.stop(Some(self.pid));
        }
    }
}

/// Starts `scf-local run` (with `--api aws` for AWS's dialect) on the bootstrap in
/// `code_dir`, makes the cold call and measures it; the instance stays up for warm windows.
pub fn start(
    bin: &Path,
    code_dir: &Path,
    cfg: &Config,
    dialect: Dialect,
    echo: bool,
) -> Result<(Sample, EmuInstance), String> {
    let emu = Emulator::start(bin, code_dir, dialect)?;
    let pack = |event: &[u8]| {
        (
            invoke_request(event),
            echo.then(|| String::from_utf8_lossy(&echo_reply(event)).into_owned()),
        )
    };
    let small = pack(&cfg.small);
    let large = pack(&cfg.large);
    let mut client = match Client::connect(&emu.addr) {
        Ok(c) => c,
        Err(e) => {
            emu.stop(None);
            return Err(e);
        }
    };
    let t0 = Instant::now();
    if let Err(e) = client.invoke(&small.0, small.1.as_deref(), true) {
        emu.stop(None);
        return Err(e);
    }
    let first = t0.elapsed();
    // scf-local runs each instance under a keeper process that holds every process of the
    // instance (scf-local/src/keeper.rs): the bootstrap is the keeper's first child.
    let emu_pid = emu.proc.pid();
    let bootstrap = procfs::children(emu_pid)
        .first()
        .and_then(|&keeper| procfs::children(keeper).first().copied());
    let Some(pid) = bootstrap else {
        emu.stop(None);
        return Err("no bootstrap process under scf-local's keeper".into());
    };
    let instance = EmuInstance {
        emu: Some(emu),
        client,
        pid,
        small,
        large,
    };
    // Between invocations the bootstrap waits in `/next`: its CPU time so far is the cold
    // start's (a moment to let bash reap the curl that posted the result).
    thread::sleep(Duration::from_millis(20));
    let sample = Sample {
        ready: None,
        first,
        cold_cpu: Cpu::read(pid).map(|c| c.total()),
        cold_wait: procfs::run_delay(pid),
        warm: None,
    };
    Ok((sample, instance))
}

impl Live for EmuInstance {
    fn warmup(&mut self, large: bool, count: u64) -> Result<(), String> {
        let (req, expected) = if large { &self.large } else { &self.small };
        for _ in 0..count {
            self.client.invoke(req, expected.as_deref(), false)?;
        }
        Ok(())
    }

    fn window(&mut self, large: bool, length: Duration) -> Result<Warm, String> {
        let (req, expected) = if large { &self.large } else { &self.small };
        let emu_pid = self.emu.as_ref().ok_or("scf-local is gone")?.proc.pid();
        let c0 = Cpu::read(self.pid).ok_or("the bootstrap is gone")?;
        let e0 = Cpu::read(emu_pid).ok_or("scf-local is gone")?;
        let start = Instant::now();
        let mut count = 0u64;
        while count < 1 || start.elapsed() < length {
            self.client.invoke(req, expected.as_deref(), count == 0)?;
            count += 1;
        }
        let elapsed = start.elapsed();
        let c1 = Cpu::read(self.pid).ok_or("the bootstrap is gone")?;
        let e1 = Cpu::read(emu_pid).ok_or("scf-local is gone")?;
        Ok(Warm::new(
            count,
            elapsed,
            c1.since(&c0),
            Some(e1.since(&e0)),
        ))
    }

    fn peak_rss(&self) -> Option<u64> {
        procfs::peak_rss(self.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_checks() {
        let ok =
            br#"{"Result":{"RetMsg":"Echoing request: 'x'","InvokeResult":0},"RequestId":"r"}"#;
        let s = Start::Response(200);
        assert!(check_result(&s, ok, Some("Echoing request: 'x'"), true).is_ok());
        assert!(check_result(&s, ok, Some("Echoing request: 'x'"), false).is_ok());
        assert!(check_result(&s, ok, Some("Echoing request: 'y'"), true).is_err());
        let failed = br#"{"Result":{"RetMsg":"","InvokeResult":430},"RequestId":"r"}"#;
        assert!(check_result(&s, failed, Some(""), false).is_err());
        assert!(check_result(&Start::Response(400), ok, Some(""), false).is_err());
        // An outside contender: any successful answer.
        assert!(check_result(&s, ok, None, true).is_ok());
        assert!(check_result(&s, failed, None, true).is_err());
    }
}
