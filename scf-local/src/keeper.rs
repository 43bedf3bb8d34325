//! The keeper: one small process per instance that holds every process of the instance under
//! it and takes them all down with it.
//!
//! A process group is not a container: a child that calls `setsid`, or forks twice, leaves
//! the group, and when its parent exits it is reparented to init, out of reach. The keeper
//! closes both holes with two kernel features:
//!
//! - `PR_SET_CHILD_SUBREAPER`: an orphan anywhere below the keeper is reparented to the
//!   keeper instead of init, so every process the instance ever starts stays a descendant of
//!   the keeper, `setsid` or not, for as long as the keeper lives;
//! - `PR_SET_PDEATHSIG`: the keeper gets `SIGTERM` when scf-local dies, even by `SIGKILL`,
//!   and the bootstrap gets `SIGKILL` when the keeper dies.
//!
//! The process tree of an instance is therefore:
//!
//! ```text
//! scf-local ── keeper (C1: subreaper, PDEATHSIG=SIGTERM, its own process group)
//!                └── bootstrap (G: PDEATHSIG=SIGKILL, its own process group) ── its children…
//!                └── orphans of the instance, reparented here (setsid, double fork, …)
//! ```
//!
//! The keeper is made in `pre_exec`: the child std forked (C1) becomes a subreaper and forks
//! again; the grandchild (G) returns to std, which execs the bootstrap in it. C1 never
//! returns: it writes G's pid to a pipe (scf-local measures G's memory, not C1's: C1's
//! resident set is scf-local's, shared copy-on-write), closes every descriptor (which also
//! releases std's exec-error pipe, so `spawn` returns once G has exec'd, or with G's exec
//! error), and waits for signals. It reaps every process reparented to it. When G exits, or
//! on `SIGTERM` (scf-local asks, or died), it kills every descendant — `SIGKILL` to every
//! process whose parent is the keeper, reap, again, until it has no child left — and exits
//! with G's status (the same exit code, or the same signal with core dumps off), so that
//! scf-local's `wait` on the keeper reads the bootstrap's own status.
//!
//! Why not a cgroup: a writable cgroup (systemd's delegation) is not there on most machines
//! and CI runners where scf-local runs; the keeper needs nothing but Linux ≥ 3.4 (pidfds,
//! `close_range` and `sock_diag` are used where the kernel has them). Why not scf-local alone
//! as the subreaper: orphans of every instance would land on scf-local, with nothing to tell
//! which instance they belong to, and a `kill -9` of scf-local would still hand them to init.
//! What a keeper costs: a process whose memory is scf-local's, shared copy-on-write, so
//! only its page tables and the pages either side writes after the fork.
//!
//! A keeper killed with `SIGKILL` cannot act, and a function runs as the same user as its
//! keeper, so `kill -9 $PPID` from the bootstrap is enough to kill it: the bootstrap then dies
//! (its PDEATHSIG) and the rest of the tree is reparented upwards. The scf-local binary closes
//! that hole with a second, coarser net ([`adopt_orphans`]): scf-local is a subreaper too, so
//! those orphans come to it, and whenever a keeper exits it kills and reaps every child of its
//! own that is not a keeper ([`reaped`]). Library users, whose programs may have children of
//! their own, do not get that net. What neither covers: processes started for the function by
//! someone else (a daemon it asks over a socket, `systemd-run`, `at`), which were never its
//! descendants, and a keeper killed while scf-local is killed too. `PR_SET_PDEATHSIG`
//! fires when the *thread* that spawned the keeper exits: scf-local spawns from its runtime's
//! worker threads, which live as long as the runtime.
//!
//! C1 runs in a forked copy of a multi-threaded process: everything it does after the fork is
//! a raw system call or plain arithmetic on stack buffers — no allocation, no lock, no
//! panic path.

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Whether this process adopts the orphans of killed keepers; see [`adopt_orphans`].
static ADOPTING: AtomicBool = AtomicBool::new(false);

/// The pids of the keepers not reaped yet. Locked around each spawn, so that [`reaped`] never
/// sees a keeper that is forked but not yet listed.
static KEEPERS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Makes this process a child subreaper, so that when a keeper is killed (see the module
/// documentation) the processes of its instance are reparented here instead of to init, and
/// [`reaped`] kills them. Only for a program whose children are all keepers (the scf-local
/// binary): every other child of the process is killed as such an orphan.
// The command line (feature `serve`) is its only caller.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) fn adopt_orphans() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    ADOPTING.store(true, Ordering::Release);
    Ok(())
}

/// Held from before a keeper is spawned until [`Keeper::started`] lists it.
pub(crate) struct Spawning(MutexGuard<'static, Vec<u32>>);

/// Takes the lock [`Keeper::started`] needs; hold it across the spawn.
pub(crate) fn spawning() -> Spawning {
    Spawning(KEEPERS.lock().unwrap_or_else(PoisonError::into_inner))
}

/// To be called once the keeper `pid` has been reaped: forgets it and, when adopting, kills and
/// reaps every child of this process that is not a keeper (the instance's processes, if that
/// keeper was killed before it could kill them).
pub(crate) fn reaped(pid: u32) {
    if !ADOPTING.load(Ordering::Acquire) {
        return;
    }
    let mut keepers = KEEPERS.lock().unwrap_or_else(PoisonError::into_inner);
    keepers.retain(|&k| k != pid);
    let me = std::process::id();
    // Each turn kills the orphans found; their own children come here when they die, and
    // the next turn finds those. Bounded: a tree deeper than this is left to the next sweep.
    for turn in 0..64 {
        let children = crate::tree::children(me);
        if turn == 0 {
            // A keeper whose instance was dropped without waiting is reaped by the runtime,
            // unseen here: forget every listed keeper that is no longer a child.
            keepers.retain(|k| children.contains(k));
        }
        let strays: Vec<u32> = children
            .into_iter()
            .filter(|p| !keepers.contains(p))
            .collect();
        if strays.is_empty() {
            return;
        }
        for &stray in &strays {
            // SAFETY: kill and waitpid on a child of ours that is not a keeper: nobody else
            // reaps it, so its pid is its own until we do; the status goes to a stack value.
            unsafe {
                libc::kill(stray as libc::pid_t, libc::SIGKILL);
                let mut status = 0;
                libc::waitpid(stray as libc::pid_t, &mut status, 0);
            }
        }
    }
}

/// The keeper of one instance, seen from scf-local.
#[derive(Debug)]
pub(crate) struct Keeper {
    /// The keeper process (C1), scf-local's child.
    pid: u32,
    /// The bootstrap (G), the keeper's child.
    main_pid: u32,
    /// A pidfd of the keeper, when the kernel has them (5.3+): signals sent through it cannot
    /// reach another process that reused the pid.
    pidfd: Option<OwnedFd>,
}

/// The pipe through which the keeper reports the bootstrap's pid; made before the spawn.
pub(crate) struct PidPipe {
    read: OwnedFd,
    write: OwnedFd,
}

/// Makes `cmd` start a keeper that execs the program in its child (see the module
/// documentation). Returns the pipe [`Keeper::started`] reads the bootstrap's pid from.
pub(crate) fn prepare(cmd: &mut tokio::process::Command) -> io::Result<PidPipe> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both descriptors are open and now owned here alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let report = write.as_raw_fd();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child between fork and exec; `split` only makes
    // async-signal-safe system calls and touches no memory but its stack (see its docs).
    unsafe {
        cmd.pre_exec(move || split(report, parent));
    }
    Ok(PidPipe { read, write })
}

impl Keeper {
    /// The keeper started by a successful spawn of a command [`prepare`]d with `pipe`; `pid`
    /// is the spawned child's (the keeper's) pid, listed as a keeper under `spawning`.
    pub(crate) fn started(pid: u32, pipe: PidPipe, mut spawning: Spawning) -> io::Result<Keeper> {
        // Only an adopting process ever reads the list.
        if ADOPTING.load(Ordering::Acquire) {
            spawning.0.push(pid);
        }
        drop(spawning);
        drop(pipe.write);
        let mut buf = [0u8; 4];
        // The keeper wrote before it closed std's exec-error pipe, and spawn returned after
        // that: the bytes are there, no wait.
        // SAFETY: read into a 4-byte stack buffer from a descriptor we own.
        let n = unsafe { libc::read(pipe.read.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
        let main_pid = i32::from_ne_bytes(buf);
        if n != 4 || main_pid <= 0 {
            return Err(io::Error::other(
                "the keeper did not report the bootstrap's pid",
            ));
        }
        // SAFETY: pidfd_open takes a pid and flags; the keeper is our unreaped child, so the
        // pid is its own.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        let pidfd = (fd >= 0).then(|| {
            // SAFETY: a new descriptor pidfd_open returned, owned by nobody else.
            unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
        });
        Ok(Keeper {
            pid,
            main_pid: main_pid as u32,
            pidfd,
        })
    }

    /// The keeper's pid: the root of the instance's process tree.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The bootstrap's pid (its process group's id too).
    pub(crate) fn main_pid(&self) -> u32 {
        self.main_pid
    }

    /// Asks the keeper to kill every process of the instance and exit. Without a pidfd the
    /// caller must know the keeper is not reaped yet (its pid could be reused).
    pub(crate) fn stop(&self) {
        match &self.pidfd {
            // SAFETY: pidfd_send_signal with a pidfd we own, a valid signal, no siginfo.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGTERM,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                );
            },
            // SAFETY: kill has no memory preconditions; see the caller's duty above.
            None => unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
            },
        }
    }

    /// Waits, at most `limit`, until the keeper has exited (and so every process of the
    /// instance is gone); returns whether it has.
    pub(crate) fn wait_gone(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            if self.exited() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match &self.pidfd {
                Some(fd) => {
                    let mut p = libc::pollfd {
                        fd: fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    let ms = left.as_millis().clamp(1, 1000) as libc::c_int;
                    // SAFETY: poll on one pollfd we own; a pidfd is readable once its process
                    // has exited.
                    unsafe { libc::poll(&mut p, 1, ms) };
                }
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// Whether the keeper has exited (a zombie, or reaped already).
    fn exited(&self) -> bool {
        // SAFETY: waitid with WNOWAIT only looks: it neither reaps nor blocks (WNOHANG), and
        // writes into the zeroed siginfo we pass.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            // ECHILD: someone (the runtime) reaped it already.
            r != 0 || info.si_pid() != 0
        }
    }
}

// ---- In the forked child: async-signal-safe code only from here on. ----

/// The errno of the last failed call, as an `io::Error` (no allocation: an OS error code).
fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// Runs in C1, the child std forked. Makes C1 the keeper and G the bootstrap-to-be: returns
/// `Ok` in G (std then execs), never returns in C1, and returns `Err` in C1 if G cannot be
/// made (std then reports the error from `spawn` and exits C1).
///
/// # Safety
///
/// Only in a child between fork and exec, with `report` an open descriptor.
unsafe fn split(report: RawFd, parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: sigset and sigprocmask calls on stack values; the process is single-threaded.
    let old = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        // Blocked before anything else: a signal that comes early stays pending for the loop
        // below instead of killing C1 the default way.
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
        old
    };
    // SAFETY: prctl with integer arguments only.
    unsafe {
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
            return Err(last_error());
        }
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    // A fork without the C library's fork handlers (their locks may be held by threads that
    // do not exist in this copy). All pointer arguments zero: the child runs on a copy of
    // this stack, exactly like fork.
    // SAFETY: see above; the child only makes raw system calls before returning to std.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if pid < 0 {
        return Err(last_error());
    }
    if pid == 0 {
        // G. Dies with the keeper; leads a group of its own; gets the signal mask std gave.
        // SAFETY: prctl, getppid, setpgid, sigprocmask and _exit with plain arguments.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            if libc::getppid() != me {
                libc::_exit(127);
            }
            libc::setpgid(0, 0);
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
        return Ok(());
    }
    let main = pid as libc::pid_t;
    // SAFETY: write from a stack buffer to the descriptor the caller vouched for, then close
    // every descriptor (close_range, or one by one on kernels before 5.9), and name the
    // process for `ps`.
    unsafe {
        let bytes = main.to_ne_bytes();
        libc::write(report, bytes.as_ptr().cast(), bytes.len());
        close_all();
        libc::prctl(
            libc::PR_SET_NAME,
            c"scf-keeper".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        );
        // SIGCHLD must not be ignored here, or children would vanish without a status.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGCHLD, &dfl, std::ptr::null_mut());
    }
    // SAFETY: getppid has no preconditions.
    let orphaned = unsafe { libc::getppid() } != parent;
    keep(me, main, orphaned)
}

/// Closes every descriptor of this process.
///
/// # Safety
///
/// Only in the keeper, which uses no descriptor it had before.
unsafe fn close_all() {
    // SAFETY: close_range and close take integers; nothing here holds a descriptor.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) == 0 {
            return;
        }
        let mut lim: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(1 << 16) as libc::c_int
        } else {
            1024
        };
        for fd in 0..max {
            libc::close(fd);
        }
    }
}

/// The keeper's life: reap, and at G's exit or a stop signal kill everything and exit as G
/// did.
fn keep(me: libc::pid_t, main: libc::pid_t, mut stopping: bool) -> ! {
    let mut main_status: Option<libc::c_int> = None;
    // SAFETY: sigset calls on a stack value.
    let waited = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        set
    };
    loop {
        reap_dead(main, &mut main_status);
        if stopping || main_status.is_some() {
            break;
        }
        // SAFETY: sigwaitinfo on a set we own (all blocked); no siginfo wanted.
        let sig = unsafe { libc::sigwaitinfo(&waited, std::ptr::null_mut()) };
        if matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGHUP) {
            stopping = true;
        }
    }
    kill_all(me, main, &mut main_status);
    exit_as(main_status)
}

/// Reaps every child that has exited, noting G's status. Returns whether any child is left
/// (`false` once `waitpid` says there is none).
fn reap_dead(main: libc::pid_t, main_status: &mut Option<libc::c_int>) -> bool {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into our stack variable.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid == 0 {
            return true;
        }
        if pid < 0 {
            return io::Error::last_os_error().raw_os_error() != Some(libc::ECHILD);
        }
        if pid == main {
            *main_status = Some(status);
        }
    }
}

/// Kills every descendant and reaps them all: until this process has no child left.
///
/// With no child left there is no descendant either: a process below the keeper whose parent
/// dies is reparented to the keeper (a subreaper), and the dying parent stays a child, a
/// zombie, until it is reaped here. So in the usual case (G alone) this kills and reaps G and
/// reads no `/proc` at all.
fn kill_all(me: libc::pid_t, main: libc::pid_t, main_status: &mut Option<libc::c_int>) {
    loop {
        if main_status.is_none() {
            let mut status = 0;
            // SAFETY: kill has no memory preconditions. G's group is signalled only while G
            // is unreaped: until then its id cannot name another group. waitpid writes into a
            // stack value; G was sent SIGKILL, so it ends promptly.
            unsafe {
                libc::kill(-main, libc::SIGKILL);
                libc::kill(main, libc::SIGKILL);
                if libc::waitpid(main, &mut status, 0) == main {
                    *main_status = Some(status);
                }
            }
        }
        if !reap_dead(main, main_status) {
            return;
        }
        // Orphans (setsid or not) are this process's children: the scan finds them; their
        // own children come back here when they die, and the next turn finds those.
        kill_children(me);
        let mut status = 0;
        // SAFETY: waitpid writes the status into our stack variable. Every child was sent
        // SIGKILL: one exits soon.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid > 0 {
            if pid == main {
                *main_status = Some(status);
            }
            reap_dead(main, main_status);
        } else if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return; // ECHILD: nothing left.
        }
    }
}

/// Sends `SIGKILL` to every process whose parent is `me`, found in `/proc`.
fn kill_children(me: libc::pid_t) {
    // SAFETY: open of a static C string.
    let dir = unsafe {
        libc::open(
            c"/proc".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if dir < 0 {
        return;
    }
    #[repr(C, align(8))]
    struct Entries([u8; 4096]);
    let mut buf = Entries([0; 4096]);
    loop {
        // SAFETY: getdents64 fills at most the buffer's length.
        let n =
            unsafe { libc::syscall(libc::SYS_getdents64, dir, buf.0.as_mut_ptr(), buf.0.len()) };
        if n <= 0 {
            break;
        }
        let filled = buf.0.get(..n as usize).unwrap_or(&[]);
        for name in dirent_names(filled) {
            if let Some(pid) = parse_pid(name) {
                if parent_of(pid) == Some(me as u32) {
                    // SAFETY: kill has no memory preconditions; `pid` is our child (its
                    // parent is us), unreaped, so the pid is its own.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                }
            }
        }
    }
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(dir) };
}

/// The names in a buffer filled by `getdents64` (`struct linux_dirent64`: inode u64, offset
/// i64, record length u16, type u8, then the name, NUL-terminated).
fn dirent_names(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let rec = buf.get(off..)?;
        let len = u16::from_ne_bytes([*rec.get(16)?, *rec.get(17)?]) as usize;
        if len < 19 {
            return None;
        }
        let name = rec.get(19..len.min(rec.len()))?;
        off += len;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Some(&name[..end])
    })
}

/// A pid from a `/proc` entry's name: all digits, no overflow.
pub(crate) fn parse_pid(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 {
        return None;
    }
    let mut pid: u32 = 0;
    for &b in name {
        if !b.is_ascii_digit() {
            return None;
        }
        pid = pid.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(pid)
}

/// The parent pid of `pid`, read from `/proc/<pid>/stat` into stack buffers.
fn parent_of(pid: u32) -> Option<u32> {
    let mut path = [0u8; 32];
    let mut len = 0;
    for part in [b"/proc/".as_slice(), digits(pid, &mut [0; 10]), b"/stat\0"] {
        path.get_mut(len..len + part.len())?.copy_from_slice(part);
        len += part.len();
    }
    // SAFETY: `path` is NUL-terminated (the last part ends with NUL).
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // The fields up to the parent pid fit: the command name is at most 64 bytes.
    let mut stat = [0u8; 256];
    // SAFETY: read at most the buffer's length into it, then close what we opened.
    let n = unsafe {
        let n = libc::read(fd, stat.as_mut_ptr().cast(), stat.len());
        libc::close(fd);
        n
    };
    stat_ppid(stat.get(..usize::try_from(n).ok()?)?)
}

/// The decimal digits of `n`, written at the end of `buf`.
fn digits(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            return &buf[i..];
        }
    }
}

/// The parent pid (field 4) from the start of a `/proc/<pid>/stat` text: `pid (comm) state
/// ppid …`. The command name may hold spaces and parentheses: the fields start after the
/// last `)` (no later field has one).
pub(crate) fn stat_ppid(stat: &[u8]) -> Option<u32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat
        .get(close + 1..)?
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let _state = fields.next()?;
    parse_pid(fields.next()?)
}

/// Exits the way G did: its exit code, or its signal (with core dumps off: the keeper's
/// memory is a copy of scf-local's). `SIGKILL` if G was never reaped.
fn exit_as(status: Option<libc::c_int>) -> ! {
    let status = status.unwrap_or(libc::SIGKILL);
    // SAFETY: process-level calls with stack arguments; _exit never returns.
    unsafe {
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        let sig = if libc::WIFSIGNALED(status) {
            libc::WTERMSIG(status)
        } else {
            libc::SIGKILL
        };
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        // A signal whose default is not to end the process: say so the shell's way.
        libc::_exit(128 + sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_pids_from_stat() {
        // Table: (stat text, parent pid).
        let cases: [(&[u8], Option<u32>); 7] = [
            (b"1234 (bash) S 99 1234 1234 0 -1 4194560", Some(99)),
            (b"1234 (a) b) S 7 1 1 0", Some(7)),
            (b"1234 (x y (z)) R 4294967295 1", Some(4294967295)),
            (b"1234 (bash) S 4294967296 1", None),
            (b"1234 (bash) S", None),
            (b"1234 bash S 1 2", None),
            (b"1 (init) S 0 1 1", Some(0)),
        ];
        for (stat, ppid) in cases {
            assert_eq!(stat_ppid(stat), ppid, "{}", String::from_utf8_lossy(stat));
        }
    }

    #[test]
    fn pids_from_names() {
        let cases: [(&[u8], Option<u32>); 6] = [
            (b"1", Some(1)),
            (b"4194304", Some(4194304)),
            (b"self", None),
            (b"", None),
            (b"12a", None),
            (b"99999999999", None),
        ];
        for (name, pid) in cases {
            assert_eq!(parse_pid(name), pid, "{}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn digits_of_numbers() {
        for n in [0, 7, 10, 4194304, u32::MAX] {
            assert_eq!(digits(n, &mut [0; 10]), n.to_string().as_bytes());
        }
    }

    #[test]
    fn dirent_records() {
        // Two records as getdents64 lays them out: 8+8+2+1 bytes of header, then the name.
        let mut buf = Vec::new();
        for name in ["123", "self"] {
            let len = (19 + name.len() + 1).next_multiple_of(8);
            let mut rec = vec![0u8; len];
            rec[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
            rec[19..19 + name.len()].copy_from_slice(name.as_bytes());
            buf.extend(rec);
        }
        let names: Vec<&[u8]> = dirent_names(&buf).collect();
        assert_eq!(names, [b"123".as_slice(), b"self"]);
        assert_eq!(dirent_names(&buf[..10]).count(), 0);
    }

    #[test]
    fn reads_our_own_parent() {
        // SAFETY: getppid has no preconditions.
        let ppid = unsafe { libc::getppid() } as u32;
        assert_eq!(parent_of(std::process::id()), Some(ppid));
    }
}
