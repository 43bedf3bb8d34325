//! Commands run under a time bound: past it, the command (its whole process group, when it
//! leads one) is killed, so a hung test ends with what the command printed instead of
//! hanging the suite.

use std::borrow::BorrowMut;
use std::io::{BufRead as _, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Waits for `child` to exit, at most `limit`. Past it, kills its process group if it leads
/// one (else the child alone) and reaps it. Returns its status, and whether it had to be
/// killed.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> (ExitStatus, bool) {
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    // A scoped waiter blocks in wait and says when it is done, so nothing polls; a kill ends
    // its wait, and the scope joins it.
    let (status, killed) = thread::scope(|scope| {
        let waiter = scope.spawn(move || {
            let status = child.wait();
            let _ = tx.send(());
            status
        });
        let killed = rx.recv_timeout(limit).is_err();
        if killed {
            kill(pid);
        }
        (waiter.join().expect("the waiter does not panic"), killed)
    });
    (status.expect("wait for a child"), killed)
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
///
/// `cmd` may be given by value or as `&mut Command` (a builder chain).
pub fn run_bounded(mut cmd: impl BorrowMut<Command>, limit: Duration) -> Output {
    let cmd = cmd.borrow_mut();
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
    let (status, killed) = wait_bounded(&mut child, limit);
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

/// Starts a server that names its address on stderr (scf-local's `run` and `serve`: a line
/// holding `http://HOST:PORT/…`): spawns `cmd` with stderr piped, waits at most `limit` for
/// that line, and returns the child and `HOST:PORT`. The rest of stderr is drained on a
/// thread so the server never blocks on it; with `echo`, each line goes to this process's
/// stderr after that prefix (for a test's log). A server that ends its stderr or stays silent
/// past `limit` is killed, and the error says what it printed.
pub fn spawn_server(
    cmd: &mut Command,
    limit: Duration,
    echo: Option<&'static str>,
) -> Result<(Child, String), String> {
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut before = String::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(prefix) = echo {
                eprintln!("{prefix}{line}");
            }
            if sent {
                continue;
            }
            match line.split("http://").nth(1) {
                Some(rest) => {
                    let addr = rest.split(['/', ' ']).next().unwrap_or("").to_owned();
                    sent = tx.send(Ok(addr)).is_ok();
                }
                None => before.push_str(&line),
            }
        }
        if !sent {
            let _ = tx.send(Err(before));
        }
    });
    let outcome = match rx.recv_timeout(limit) {
        Ok(Ok(addr)) => return Ok((child, addr)),
        Ok(Err(printed)) => format!("{cmd:?} ended its stderr without an address: {printed}"),
        Err(_) => format!("{cmd:?} named no address within {limit:?}"),
    };
    let _ = child.kill();
    let _ = child.wait();
    Err(outcome)
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
        let mut child = Command::new("sh")
            .args(["-c", "sleep 600 & wait"])
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (status, killed) = wait_bounded(&mut child, Duration::from_millis(100));
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
    fn a_server_is_found_by_the_address_it_names() {
        let script =
            "echo starting >&2; echo 'listening on http://127.0.0.1:9/invoke' >&2; exec sleep 600";
        let (mut child, addr) = spawn_server(
            Command::new("sh").args(["-c", script]),
            Duration::from_secs(30),
            None,
        )
        .unwrap();
        assert_eq!(addr, "127.0.0.1:9");
        child.kill().unwrap();
        child.wait().unwrap();
        let silent = spawn_server(
            Command::new("sh").args(["-c", "echo no address >&2"]),
            Duration::from_secs(30),
            None,
        );
        assert!(silent.unwrap_err().contains("no address"));
        let slow = spawn_server(
            Command::new("sleep").arg("600"),
            Duration::from_millis(100),
            None,
        );
        assert!(slow.unwrap_err().contains("within"));
    }

    #[test]
    #[should_panic(expected = "did not finish within")]
    fn run_bounded_fails_past_its_bound() {
        run_bounded(Command::new("sleep").arg("600"), Duration::from_millis(100));
    }
}
