//! Commands run under a time bound: past it, the command (its whole process group, when it
//! leads one) is killed, so a hung test ends with what the command printed instead of
//! hanging the suite.

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Waits for `child` to exit, at most `limit`. Past it, kills its process group if it leads
/// one (else the child alone) and reaps it. Returns the child (its pipes untouched), its
/// status, and whether it had to be killed.
pub fn wait_bounded(mut child: Child, limit: Duration) -> (Child, ExitStatus, bool) {
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    // The waiter owns the child while it waits and hands it back with the status; a channel
    // tells the caller when, so nothing polls.
    thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send((child, status));
    });
    let (killed, (child, status)) = match rx.recv_timeout(limit) {
        Ok(done) => (false, done),
        Err(_) => {
            kill(pid);
            (true, rx.recv().expect("the waiter hands the child back"))
        }
    };
    (child, status.expect("wait for a child"), killed)
}

/// SIGKILL to the process group led by `pid`, or to `pid` alone if it leads none.
fn kill(pid: libc::pid_t) {
    // SAFETY: kill has no memory-safety preconditions. `pid` is a child not yet reaped (its
    // waiter is still blocked in wait), so neither it nor its group id can have been reused.
    unsafe {
        if libc::kill(-pid, libc::SIGKILL) != 0 {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Runs `cmd` to its end in a process group of its own, its stdout and stderr piped and
/// read as it goes (a large output never blocks it). Past `limit` the group is killed (a
/// command's own children go too) and the test fails with what it printed.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let (_, status, killed) = wait_bounded(child, limit);
    let output = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(
        !killed,
        "{cmd:?} did not finish within {limit:?}; it printed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_ends_gives_its_output() {
        let out = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"out\n"[..], &b"err\n"[..])
        );
    }

    #[test]
    fn a_command_past_its_bound_is_killed_with_its_group() {
        let child = Command::new("sh")
            .args(["-c", "sleep 600 & wait"])
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (mut child, status, killed) = wait_bounded(child, Duration::from_millis(100));
        assert!(killed);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
        // The background `sleep` held the pipe open; killed with the group, it lets go.
        let mut rest = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }

    #[test]
    #[should_panic(expected = "did not finish within")]
    fn run_bounded_fails_past_its_bound() {
        run_bounded(Command::new("sleep").arg("600"), Duration::from_millis(100));
    }
}
