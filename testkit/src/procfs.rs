//! What `/proc` says about a process: CPU time, page faults, peak RSS, its children, whether
//! it still runs, and which processes run in a directory.
//!
//! CPU time comes from `/proc/<pid>/stat`: `utime + stime` of the process (all its threads,
//! live and exited) plus `cutime + cstime` of the children it has waited for (the `curl`s of
//! the bash bootstrap). Those are in clock ticks (10 ms here), too coarse for a 10 µs
//! invocation unless the window is long, so the process's own part is taken from the
//! scheduler's nanosecond counter instead, `/proc/<pid>/task/<tid>/schedstat` summed over its
//! threads, when the kernel has it and it agrees with `/proc/<pid>/stat` to a tick or two
//! (a thread that exited inside the window would make it disagree; then ticks are used).

use std::fs;
use std::path::Path;
use std::time::Duration;

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// One reading of a process's CPU time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu {
    /// `utime + stime` in ticks: the process itself.
    own_ticks: u64,
    /// `cutime + cstime` in ticks: its waited-for children.
    children_ticks: u64,
    /// Sum of `schedstat` run time over the live threads, in ns; `None` if unavailable.
    own_ns: Option<u64>,
}

impl Cpu {
    /// Reads the CPU time of `pid`; `None` if the process is gone.
    pub fn read(pid: u32) -> Option<Cpu> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        // `rest` starts at field 3 (state): utime is field 14, so index 11.
        let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        let own_ticks = num(11)? + num(12)?;
        let children_ticks = num(13)? + num(14)?;
        Some(Cpu {
            own_ticks,
            children_ticks,
            own_ns: schedstat_ns(pid),
        })
    }

    /// CPU time since the process started (its own, and its waited-for children's).
    pub fn total(&self) -> Duration {
        self.since(&Cpu {
            own_ticks: 0,
            children_ticks: 0,
            own_ns: self.own_ns.map(|_| 0),
        })
    }

    /// CPU time spent between the earlier reading `earlier` and `self`, in the order of
    /// [`std::time::Instant::duration_since`]: `later.since(&earlier)`.
    pub fn since(&self, earlier: &Cpu) -> Duration {
        let (later, earlier) = (self, earlier);
        let tick_ns = 1_000_000_000 / ticks_per_second();
        let own_by_ticks = later.own_ticks.saturating_sub(earlier.own_ticks) * tick_ns;
        let own = match (earlier.own_ns, later.own_ns) {
            (Some(a), Some(b)) if b >= a => {
                let precise = b - a;
                // Agreement within two ticks: the precise count is the same quantity.
                if precise.abs_diff(own_by_ticks) <= 2 * tick_ns {
                    precise
                } else {
                    own_by_ticks
                }
            }
            _ => own_by_ticks,
        };
        let children = later.children_ticks.saturating_sub(earlier.children_ticks) * tick_ns;
        Duration::from_nanos(own + children)
    }
}

/// Sum of field `field` of `/proc/<pid>/task/*/schedstat` over the live threads: 0 is the
/// time on a CPU, 1 the time spent runnable but waiting for a CPU, in ns.
fn schedstat_sum(pid: u32, field: usize) -> Option<u64> {
    let mut total = 0u64;
    for entry in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = entry.ok()?.path().join("schedstat");
        let text = fs::read_to_string(path).ok()?;
        total += text
            .split_ascii_whitespace()
            .nth(field)?
            .parse::<u64>()
            .ok()?;
    }
    Some(total)
}

fn schedstat_ns(pid: u32) -> Option<u64> {
    schedstat_sum(pid, 0)
}

/// How long the process's live threads have waited for a CPU while runnable (the machine's
/// other load showing through); `None` without schedstat.
pub fn run_delay(pid: u32) -> Option<Duration> {
    schedstat_sum(pid, 1).map(Duration::from_nanos)
}

/// Minor page faults of `pid` so far (`minflt`, field 10 of `/proc/<pid>/stat`).
pub fn minor_faults(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    // `rest` starts at field 3, so field 10 is index 7.
    rest.split_ascii_whitespace().nth(7)?.parse().ok()
}

/// Peak resident set size of `pid` in bytes (`VmHWM` in `/proc/<pid>/status`).
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The processes whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        // Field 4 (ppid) is the second after the command name.
        let ppid = stat[close + 1..]
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|f| f.parse::<u32>().ok());
        if ppid == Some(pid) {
            found.push(child);
        }
    }
    found
}

/// Whether a process is running (absent, zombie and dead count as not running).
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the command name.
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .trim_start()
        .chars()
        .next();
    !matches!(state, Some('Z') | Some('X') | None)
}

/// Running processes whose working directory is `dir` or below it.
pub fn processes_in(dir: &Path) -> Vec<u32> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cwd) = fs::read_link(entry.path().join("cwd")) {
            if cwd.starts_with(&dir) && alive(pid) {
                found.push(pid);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        let a = Cpu::read(me).unwrap();
        // Burn a little CPU so the reading moves.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = Cpu::read(me).unwrap();
        assert!(b.since(&a) > Duration::ZERO);
        assert!(peak_rss(me).unwrap() > 0);
    }

    #[test]
    fn finds_a_child() {
        let dir = std::env::temp_dir();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .current_dir(&dir)
            .spawn()
            .unwrap();
        assert!(children(std::process::id()).contains(&child.id()));
        assert!(alive(child.id()));
        assert!(processes_in(&dir).contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!alive(child.id()));
    }
}
