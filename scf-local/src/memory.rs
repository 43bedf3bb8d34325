//! Memory of an instance's processes, read from `/proc`.
//!
//! The cloud measures a container's cgroup; here an instance is the process tree under its
//! keeper, so its memory is the resident set of every process in that tree (the keeper
//! itself, a copy-on-write copy of scf-local, left out). Two readings feed the peak:
//! the tree's total RSS, sampled while the instance is busy, and the main process's own
//! high-water mark (`VmHWM`), which catches spikes between samples.

use std::fs;

/// Bytes in a page as `/proc/<pid>/stat` counts RSS.
fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

/// The resident memory, in bytes, of every live process under `root` (not `root` itself): an
/// instance's processes under its keeper, including those that left the bootstrap's group.
pub(crate) fn tree_rss(root: u32) -> u64 {
    let page = page_size();
    crate::tree::descendants(root)
        .into_iter()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| parse_stat(&stat))
        .map(|(_, rss_pages)| rss_pages * page)
        .sum()
}

/// Process group and RSS (pages) from the text of `/proc/<pid>/stat`.
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    // The command name (field 2) may hold spaces and parentheses: start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // After the name: state(3) ppid(4) pgrp(5) … rss(24).
    let pgrp = fields.nth(2)?.parse().ok()?;
    let rss = fields.nth(18)?.parse().ok()?;
    Some((pgrp, rss))
}

/// The peak resident memory (`VmHWM`) of one process, in bytes.
pub(crate) fn high_water_mark(pid: u32) -> u64 {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_names() {
        let stat = "1234 (a) b) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 100 1000000 250 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((1234, 250)));
    }

    #[test]
    fn reads_our_own_memory() {
        let pid = std::process::id();
        assert!(high_water_mark(pid) > 0);
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() } as u32;
        assert!(tree_rss(parent) > 0);
    }
}
