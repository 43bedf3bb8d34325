//! An instance's process tree, read from `/proc`: which processes are the instance's (every
//! descendant of its keeper, see [`crate::keeper`]), how much memory they hold, and whether
//! one of them holds the client end of a TCP connection (the runtime API admits only those).
//!
//! Who is at the other end of a loopback connection: the client's socket is the one whose
//! local address is our peer's and whose remote address is ours. The kernel finds it by that
//! pair and tells its inode through `sock_diag` netlink (one hash lookup, what `ss` uses);
//! where netlink is not allowed, `/proc/net/tcp` (`tcp6`) lists every TCP socket of the
//! network namespace with its addresses and inode (slower: TIME_WAIT sockets are listed too,
//! thousands on a busy machine). The process holding the socket has a descriptor that reads
//! `socket:[<inode>]` under `/proc/<pid>/fd`. Only the instance's processes are searched.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

use crate::keeper::{parse_pid, stat_ppid};

/// Every live process's children, by one scan of `/proc`.
fn children_by_parent() -> HashMap<u32, Vec<u32>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return children;
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
    children
}

/// The pids of the children of `pid`.
pub(crate) fn children(pid: u32) -> Vec<u32> {
    children_by_parent().remove(&pid).unwrap_or_default()
}

/// The pid of every live process under `root` (not `root` itself), by one scan of `/proc`.
pub(crate) fn descendants(root: u32) -> Vec<u32> {
    let children = children_by_parent();
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

/// The client end of a connection, as the kernel knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ClientSocket {
    /// The socket's inode (`socket:[inode]` in `/proc/<pid>/fd`).
    inode: u64,
    /// The user that made it.
    uid: u32,
}

/// Whether the client end of the loopback connection `peer` → `local` (as our side sees it)
/// is held by a process under `root`. False when the socket or its holder cannot be found.
/// A socket made by another user is refused before any process is looked at: an instance's
/// processes run as this process's user. `likely`, a process under `root` (the bootstrap),
/// is looked at first: when it holds the socket, the tree is not read.
pub(crate) fn holds_client_socket(
    root: u32,
    likely: u32,
    peer: SocketAddr,
    local: SocketAddr,
) -> bool {
    let Some(socket) = client_socket(peer, local) else {
        return false;
    };
    held_under(root, likely, socket)
}

/// Whether `socket` was made by this process's user and a process under `root` holds it
/// (`likely` looked at first).
fn held_under(root: u32, likely: u32, socket: ClientSocket) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if socket.uid != unsafe { libc::geteuid() } {
        return false;
    }
    let wanted = format!("socket:[{}]", socket.inode);
    let holds = |pid: u32| {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.flatten().any(|fd| {
            fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == wanted.as_str())
        })
    };
    // `likely` counts only while it is under `root` (a pid of an exited bootstrap could name
    // another process by now).
    if holds(likely) && parent_is(likely, root) {
        return true;
    }
    descendants(root).into_iter().any(holds)
}

/// Who listens on TCP `port`, for a WebServer image function's instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listener {
    /// A process under the instance's keeper, on every address (or on a non-loopback one).
    Instance,
    /// A process under the keeper, but on a loopback address only: the platform, which
    /// connects from outside the instance, would not reach it.
    InstanceLoopbackOnly,
    /// Nobody, or a process that is not the instance's.
    Other,
}

/// Who listens on `port` (see [`Listener`]), by `/proc/net/tcp{,6}`; a listening socket is
/// one bound to `port` with no remote end.
pub(crate) fn listener_on(root: u32, likely: u32, port: u16) -> Listener {
    let mut loopback_only = None;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        let listening = text.lines().skip(1).filter_map(parse_tcp_line).filter(|s| {
            s.local.port() == port && s.remote.port() == 0 && s.remote.ip().is_unspecified()
        });
        for s in listening {
            let socket = ClientSocket {
                inode: s.inode,
                uid: s.uid,
            };
            if s.inode != 0 && held_under(root, likely, socket) {
                let loopback = s.local.ip().is_loopback();
                loopback_only = Some(loopback_only.unwrap_or(true) && loopback);
            }
        }
    }
    match loopback_only {
        Some(false) => Listener::Instance,
        Some(true) => Listener::InstanceLoopbackOnly,
        None => Listener::Other,
    }
}

/// Whether the parent of `pid` is `parent`.
fn parent_is(pid: u32, parent: u32) -> bool {
    fs::read(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat_ppid(&stat) == Some(parent))
}

/// The socket whose local address is `peer` and remote address `local`.
fn client_socket(peer: SocketAddr, local: SocketAddr) -> Option<ClientSocket> {
    match diag_socket(peer, local) {
        Ok(found) => found,
        Err(_) => proc_net_socket(peer, local),
    }
}

/// [`client_socket`] through `/proc/net/tcp` and `/proc/net/tcp6`.
fn proc_net_socket(peer: SocketAddr, local: SocketAddr) -> Option<ClientSocket> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .into_iter()
        .find_map(|table| {
            let text = fs::read_to_string(table).ok()?;
            text.lines()
                .skip(1)
                .filter_map(parse_tcp_line)
                .find(|s| same(s.local, peer) && same(s.remote, local) && s.inode != 0)
                .map(|s| ClientSocket {
                    inode: s.inode,
                    uid: s.uid,
                })
        })
}

/// `SOCK_DIAG_BY_FAMILY` (linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLMSG_ERROR` (linux/netlink.h).
const NLMSG_ERROR: u16 = 2;

/// [`client_socket`] through `sock_diag` netlink: `Ok(None)` when the kernel knows no such
/// socket, `Err` when netlink cannot be used (the caller then reads `/proc/net`).
fn diag_socket(peer: SocketAddr, local: SocketAddr) -> io::Result<Option<ClientSocket>> {
    // SAFETY: socket takes integers; a descriptor it returns is ours alone.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor, owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: setsockopt reads a timeval of the size we pass.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    // An IPv4 client, or an IPv6 one (possibly connected to an IPv4-mapped address).
    let mapped = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    for (src, dst) in [(peer, local), (mapped(peer), mapped(local))] {
        if let Some(socket) = diag_query(&sock, src, dst)? {
            return Ok(Some(socket));
        }
    }
    Ok(None)
}

/// One `SOCK_DIAG_BY_FAMILY` request for the TCP socket with local address `src` and remote
/// address `dst` (both of one family), or `None` if there is none.
fn diag_query(
    sock: &OwnedFd,
    src: SocketAddr,
    dst: SocketAddr,
) -> io::Result<Option<ClientSocket>> {
    let req = diag_request(src, dst).ok_or_else(|| io::Error::other("mixed families"))?;
    // SAFETY: send from a buffer we own, of its length, to the kernel (a zeroed sockaddr_nl
    // with its family set addresses the kernel).
    let sent = unsafe {
        let mut kernel: libc::sockaddr_nl = std::mem::zeroed();
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        libc::sendto(
            sock.as_raw_fd(),
            req.as_ptr().cast(),
            req.len(),
            0,
            (&raw const kernel).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = [0u8; 1024];
    // SAFETY: recv into a buffer we own, at most its length.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    parse_diag_answer(buf.get(..n as usize).unwrap_or(&[]))
}

/// The request: `nlmsghdr` (16 bytes) then `inet_diag_req_v2` (family, protocol, ext, pad,
/// states, then `inet_diag_sockid`: ports and addresses in network order, interface, and the
/// "no cookie" cookie).
fn diag_request(src: SocketAddr, dst: SocketAddr) -> Option<[u8; 72]> {
    let (family, src_ip, dst_ip) = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let pad = |a: Ipv4Addr| {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&a.octets());
                b
            };
            (libc::AF_INET, pad(s), pad(d))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => (libc::AF_INET6, s.octets(), d.octets()),
        _ => return None,
    };
    let mut m = [0u8; 72];
    m[0..4].copy_from_slice(&72u32.to_ne_bytes());
    m[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    m[16] = family as u8;
    m[17] = libc::IPPROTO_TCP as u8;
    m[20..24].copy_from_slice(&u32::MAX.to_ne_bytes()); // every state
    m[24..26].copy_from_slice(&src.port().to_be_bytes());
    m[26..28].copy_from_slice(&dst.port().to_be_bytes());
    m[28..44].copy_from_slice(&src_ip);
    m[44..60].copy_from_slice(&dst_ip);
    m[64..72].copy_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    Some(m)
}

/// The socket in the answer to [`diag_request`]: an `inet_diag_msg` (its uid at byte 64, its
/// inode at byte 68) after the 16-byte header, or an error message (`ENOENT`: no such socket).
fn parse_diag_answer(msg: &[u8]) -> io::Result<Option<ClientSocket>> {
    let field = |at: usize| -> Option<[u8; 4]> { msg.get(at..at + 4)?.try_into().ok() };
    let kind = msg
        .get(4..6)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .ok_or_else(|| io::Error::other("short netlink answer"))?;
    if kind == NLMSG_ERROR {
        let errno = field(16).map_or(0, i32::from_ne_bytes);
        return match -errno {
            libc::ENOENT => Ok(None),
            e => Err(io::Error::from_raw_os_error(e)),
        };
    }
    if kind != SOCK_DIAG_BY_FAMILY {
        return Err(io::Error::other("unexpected netlink answer"));
    }
    let short = || io::Error::other("short netlink answer");
    let uid = u32::from_ne_bytes(field(16 + 64).ok_or_else(short)?);
    let inode = u64::from(u32::from_ne_bytes(field(16 + 68).ok_or_else(short)?));
    Ok((inode != 0).then_some(ClientSocket { inode, uid }))
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
    uid: u32,
    inode: u64,
}

/// A line of `/proc/net/tcp{,6}`: `sl local_address rem_address st tx_queue:rx_queue tr:tm->when
/// retrnsmt uid timeout inode …`, addresses as `HEX:PORT`.
fn parse_tcp_line(line: &str) -> Option<TcpSocket> {
    let mut fields = line.split_ascii_whitespace();
    let _slot = fields.next()?;
    let local = parse_endpoint(fields.next()?)?;
    let remote = parse_endpoint(fields.next()?)?;
    // st, queues, timer, retransmits, then the uid; timeout, then the inode.
    let uid = fields.nth(4)?.parse().ok()?;
    let inode = fields.nth(1)?.parse().ok()?;
    Some(TcpSocket {
        local,
        remote,
        uid,
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
                Some(("127.0.0.1:40000", "127.0.0.1:8080", 1000, 123456)),
            ),
            (
                format!("   1: {any}:1F90 {any}:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0000000000000000 100 0 0 10 0"),
                Some(("0.0.0.0:8080", "0.0.0.0:0", 0, 42)),
            ),
            (
                format!("   2: {mapped}:9C40 {mapped}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 77 1"),
                Some(("[::ffff:127.0.0.1]:40000", "[::ffff:127.0.0.1]:8080", 1000, 77)),
            ),
            (
                format!("   3: {v6_lo}:0016 {v6_lo}:C350 06 00000000:00000000 03:00000000 00000000     0        0 0 3"),
                Some(("[::1]:22", "[::1]:50000", 0, 0)),
            ),
            // The header line, a short line, bad hex.
            ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode".to_owned(), None),
            (format!("   4: {lo}:9C40 {lo}:1F90 01"), None),
            ("   5: XYZ:9C40 0100007F:1F90 01 0:0 0:0 0 0 0 1".to_owned(), None),
        ];
        for (line, want) in cases {
            let got = parse_tcp_line(&line);
            let want = want.map(|(l, r, uid, inode)| TcpSocket {
                local: l.parse().unwrap(),
                remote: r.parse().unwrap(),
                uid,
                inode,
            });
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn netlink_answers() {
        // Table: (answer bytes, inode or error).
        let header = |kind: u16| {
            let mut m = vec![0u8; 16];
            m[4..6].copy_from_slice(&kind.to_ne_bytes());
            m
        };
        let mut found = header(SOCK_DIAG_BY_FAMILY);
        found.resize(16 + 72, 0);
        found[80..84].copy_from_slice(&1000u32.to_ne_bytes());
        found[84..88].copy_from_slice(&4242u32.to_ne_bytes());
        let mut enoent = header(NLMSG_ERROR);
        enoent.extend((-libc::ENOENT).to_ne_bytes());
        let mut eperm = header(NLMSG_ERROR);
        eperm.extend((-libc::EPERM).to_ne_bytes());
        // `None`: an error (netlink unusable, the caller reads /proc/net instead).
        let socket = ClientSocket {
            inode: 4242,
            uid: 1000,
        };
        let cases: [(&[u8], Option<Option<ClientSocket>>); 5] = [
            (&found, Some(Some(socket))),
            (&enoent, Some(None)),
            (&eperm, None),
            (&found[..40], None),
            (&[1, 2], None),
        ];
        for (i, (msg, want)) in cases.into_iter().enumerate() {
            assert_eq!(parse_diag_answer(msg).ok(), want, "case {i}");
        }
        // Requests: the ports in network order; mixed families are no request.
        let v4: SocketAddr = "127.0.0.1:258".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        let req = diag_request(v4, v4).unwrap();
        assert_eq!(
            (req[16], &req[24..28]),
            (libc::AF_INET as u8, &[1, 2, 1, 2][..])
        );
        assert_eq!(&req[28..32], &[127, 0, 0, 1]);
        assert_eq!(diag_request(v6, v6).unwrap()[16], libc::AF_INET6 as u8);
        assert!(diag_request(v4, v6).is_none());
    }

    /// What admitting one connection costs: `cargo test --release -p scf-local --lib
    /// admission_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn admission_cost() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        let local = server.local_addr().unwrap();
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() } as u32;
        let n = 200;
        let time = |f: &dyn Fn() -> bool| {
            let t = std::time::Instant::now();
            for _ in 0..n {
                assert!(f());
            }
            t.elapsed() / n
        };
        let diag = time(&|| diag_socket(peer, local).is_ok_and(|i| i.is_some()));
        let proc_net = time(&|| proc_net_socket(peer, local).is_some());
        let tree = time(&|| !descendants(parent).is_empty());
        let whole = time(&|| holds_client_socket(parent, 0, peer, local));
        let first = time(&|| holds_client_socket(parent, std::process::id(), peer, local));
        let processes = fs::read_dir("/proc").unwrap().count();
        let sockets = fs::read_to_string("/proc/net/tcp").unwrap().lines().count() - 1;
        eprintln!(
            "per connection: sock_diag {diag:?}, /proc/net/tcp {proc_net:?} ({sockets} sockets), \
             tree scan {tree:?} ({processes} /proc entries), whole check {whole:?} \
             ({} processes searched), the bootstrap holding it {first:?}",
            descendants(parent).len()
        );
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
        let socket = proc_net_socket(peer, local);
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        assert!(socket.is_some_and(|s| s.uid == me), "{socket:?}");
        // Netlink, where the machine allows it, finds the same socket.
        if let Ok(found) = diag_socket(peer, local) {
            assert_eq!(found, socket);
        }
        assert_eq!(client_socket(peer, local), socket);
        // This process holds the client end: it is under our parent, not under us.
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() } as u32;
        let me = std::process::id();
        // Table: (root, likely holder, admitted?). The likely holder is tried first, and
        // counts only as a child of the root.
        let cases = [
            (parent, 0, true),
            (parent, me, true),
            (me, me, false),
            (me, 0, false),
        ];
        for (root, likely, admitted) in cases {
            assert_eq!(
                holds_client_socket(root, likely, peer, local),
                admitted,
                "root {root}, likely {likely}"
            );
        }
    }
}
