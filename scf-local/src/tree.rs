//! An instance's process tree, read from `/proc`: which processes are the instance's (every
//! descendant of its keeper, see [`crate::keeper`]), how much memory they hold, and whether
//! one of them holds the client end of a TCP connection (the runtime API admits only those).
//!
//! Who is at the other end of a loopback connection: the kernel lists every TCP socket of the
//! network namespace in `/proc/net/tcp` (`tcp6` for IPv6 ones) with its local and remote
//! address and its inode; the client's socket is the line whose local address is our peer's
//! and whose remote address is ours; the process holding it has a descriptor that reads
//! `socket:[<inode>]` under `/proc/<pid>/fd`. Only the instance's processes are searched.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::keeper::{parse_pid, stat_ppid};

/// The pid of every live process under `root` (not `root` itself), by one scan of `/proc`.
pub(crate) fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in dir.flatten() {
        let Some(pid) = parse_pid(entry.file_name().as_encoded_bytes()) else {
            continue;
        };
        let Ok(stat) = fs::read(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(ppid) = stat_ppid(&stat) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut todo = vec![root];
    let mut seen = HashSet::from([root]);
    while let Some(pid) = todo.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(child) {
                found.push(child);
                todo.push(child);
            }
        }
    }
    found
}

/// Whether the client end of the loopback connection `peer` → `local` (as our side sees it)
/// is held by a process under `root`. False when the socket or its holder cannot be found.
pub(crate) fn holds_client_socket(root: u32, peer: SocketAddr, local: SocketAddr) -> bool {
    let Some(inode) = client_socket_inode(peer, local) else {
        return false;
    };
    let wanted = format!("socket:[{inode}]");
    descendants(root).into_iter().any(|pid| {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.flatten().any(|fd| {
            fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == wanted.as_str())
        })
    })
}

/// The inode of the socket whose local address is `peer` and remote address `local`.
fn client_socket_inode(peer: SocketAddr, local: SocketAddr) -> Option<u64> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .into_iter()
        .find_map(|table| {
            let text = fs::read_to_string(table).ok()?;
            text.lines()
                .skip(1)
                .filter_map(parse_tcp_line)
                .find(|s| same(s.local, peer) && same(s.remote, local) && s.inode != 0)
                .map(|s| s.inode)
        })
}

/// The same endpoint, an IPv4-mapped IPv6 address being its IPv4 one.
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && canon(a.ip()) == canon(b.ip())
}

/// One socket of `/proc/net/tcp` or `tcp6`.
#[derive(Debug, PartialEq, Eq)]
struct TcpSocket {
    local: SocketAddr,
    remote: SocketAddr,
    inode: u64,
}

/// A line of `/proc/net/tcp{,6}`: `sl local_address rem_address st tx_queue:rx_queue tr:tm->when
/// retrnsmt uid timeout inode …`, addresses as `HEX:PORT`.
fn parse_tcp_line(line: &str) -> Option<TcpSocket> {
    let mut fields = line.split_ascii_whitespace();
    let _slot = fields.next()?;
    let local = parse_endpoint(fields.next()?)?;
    let remote = parse_endpoint(fields.next()?)?;
    // st, queues, timer, retransmits, uid, timeout, then the inode.
    let inode = fields.nth(6)?.parse().ok()?;
    Some(TcpSocket {
        local,
        remote,
        inode,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6) and a port. The kernel prints each 32-bit
/// word of the address as a number in the machine's byte order; the port as a plain number.
fn parse_endpoint(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address as this machine's kernel prints it.
    fn v4_hex(ip: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip))
    }

    #[test]
    fn tcp_lines() {
        let lo = v4_hex([127, 0, 0, 1]);
        let any = v4_hex([0, 0, 0, 0]);
        let mapped: String = [
            [0u8, 0, 0, 0],
            [0, 0, 0, 0],
            [0, 0, 0xff, 0xff],
            [127, 0, 0, 1],
        ]
        .iter()
        .map(|w| v4_hex(*w))
        .collect();
        let v6_lo: String = [[0u8, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
            .iter()
            .map(|w| v4_hex(*w))
            .collect();
        // Table: (line, parsed).
        let cases = [
            (
                format!("   0: {lo}:9C40 {lo}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 20 4 30 10 -1"),
                Some(("127.0.0.1:40000", "127.0.0.1:8080", 123456)),
            ),
            (
                format!("   1: {any}:1F90 {any}:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0000000000000000 100 0 0 10 0"),
                Some(("0.0.0.0:8080", "0.0.0.0:0", 42)),
            ),
            (
                format!("   2: {mapped}:9C40 {mapped}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 77 1"),
                Some(("[::ffff:127.0.0.1]:40000", "[::ffff:127.0.0.1]:8080", 77)),
            ),
            (
                format!("   3: {v6_lo}:0016 {v6_lo}:C350 06 00000000:00000000 03:00000000 00000000     0        0 0 3"),
                Some(("[::1]:22", "[::1]:50000", 0)),
            ),
            // The header line, a short line, bad hex.
            ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode".to_owned(), None),
            (format!("   4: {lo}:9C40 {lo}:1F90 01"), None),
            ("   5: XYZ:9C40 0100007F:1F90 01 0:0 0:0 0 0 0 1".to_owned(), None),
        ];
        for (line, want) in cases {
            let got = parse_tcp_line(&line);
            let want = want.map(|(l, r, inode)| TcpSocket {
                local: l.parse().unwrap(),
                remote: r.parse().unwrap(),
                inode,
            });
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn mapped_addresses_are_the_same_endpoint() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        let other: SocketAddr = "127.0.0.1:81".parse().unwrap();
        assert!(same(v4, mapped) && same(mapped, v4));
        assert!(!same(v4, other));
    }

    #[test]
    fn finds_the_holder_of_a_loopback_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        let local = server.local_addr().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(client_socket_inode(peer, local).is_some());
        // This process holds the client end: it is under our parent, not under us.
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() } as u32;
        assert!(holds_client_socket(parent, peer, local));
        assert!(!holds_client_socket(std::process::id(), peer, local));
    }
}
