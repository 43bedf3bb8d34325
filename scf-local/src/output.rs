//! The instance's stdout and stderr, collected for the log.
//!
//! Both streams go into one pipe, so their lines keep the order the process wrote them in.
//! A task reads the pipe as data arrives (a process writing 10 MB never blocks on it); the
//! invocation, once its result is in, drains what is still in the pipe itself. Every read
//! and append happens under one lock, so whatever the process wrote before posting its
//! result is in that invocation's log, and nothing after it is.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;

/// The write end given to the process as stdout and stderr, and the read end we keep.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: F_SETFL on a descriptor we own; only the read end becomes non-blocking.
    let rc = unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((read, write))
}

struct Buffer {
    bytes: Vec<u8>,
    /// Bytes kept at most (the log tail); 0 keeps all.
    keep: usize,
    eof: bool,
}

impl Buffer {
    fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        // Only the tail is ever returned; drop the front in batches to stay cheap.
        if self.keep != 0 && self.bytes.len() > self.keep * 2 + 64 * 1024 {
            let cut = self.bytes.len() - self.keep;
            self.bytes.drain(..cut);
        }
    }
}

/// The collected output of one instance.
pub(crate) struct Output {
    fd: AsyncFd<OwnedFd>,
    buffer: Mutex<Buffer>,
}

impl Output {
    /// Starts collecting from the read end of [`pipe`]. `keep` bounds what is kept.
    pub(crate) fn start(read: OwnedFd, keep: usize) -> io::Result<(Arc<Output>, JoinHandle<()>)> {
        // SAFETY: an OwnedFd keeps its descriptor open, and always the same one, until it is
        // dropped, which happens only with the AsyncFd that owns it.
        let fd = unsafe { AsyncFd::register_with_interest(read, tokio::io::Interest::READABLE) }
            .map_err(|e| io::Error::other(e.to_string()))?;
        let out = Arc::new(Output {
            fd,
            buffer: Mutex::new(Buffer {
                bytes: Vec::new(),
                keep,
                eof: false,
            }),
        });
        let task = tokio::spawn(read_loop(out.clone()));
        Ok((out, task))
    }

    /// Reads what the pipe holds now into the buffer; returns whether the pipe is at its end.
    fn drain(&self) -> io::Result<bool> {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        if buffer.eof {
            return Ok(true);
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            // SAFETY: reading into a stack buffer of the given length from a descriptor we own.
            let n =
                unsafe { libc::read(self.fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
            match n {
                0 => {
                    buffer.eof = true;
                    return Ok(true);
                }
                n if n > 0 => buffer.push(&chunk[..n as usize]),
                _ => {
                    let e = io::Error::last_os_error();
                    match e.kind() {
                        io::ErrorKind::WouldBlock => return Ok(false),
                        io::ErrorKind::Interrupted => continue,
                        _ => return Err(e),
                    }
                }
            }
        }
    }

    /// Everything written since the last call (bounded by `keep`).
    pub(crate) fn take(&self) -> Vec<u8> {
        let _ = self.drain();
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let keep = buffer.keep;
        let mut bytes = std::mem::take(&mut buffer.bytes);
        if keep != 0 && bytes.len() > keep {
            bytes.drain(..bytes.len() - keep);
        }
        bytes
    }
}

async fn read_loop(out: Arc<Output>) {
    loop {
        let Ok(mut guard) = out.fd.readable().await else {
            return;
        };
        match out.drain() {
            Ok(false) => guard.clear_ready(),
            Ok(true) | Err(_) => return,
        }
    }
}
