//! The socket: one keep-alive connection to the runtime API and the receive arena.
//!
//! # Reconnect and retry rule
//!
//! A request is sent again on a new connection only when it is certain that the peer did not
//! receive it whole, or when receiving it twice is harmless:
//!
//! - Before a result (`response` or `error`) is written on a connection that was used before,
//!   the connection is checked without blocking; if the peer has closed it (or sent bytes
//!   nobody asked for), a new connection is opened first. This covers a peer that closes
//!   between requests without saying `Connection: close`.
//! - If writing a request fails, the request never reached the peer whole (it has a
//!   `Content-Length`), so it is written once more on a new connection.
//! - If the request was written but the connection ends before the first byte of the answer,
//!   the request may have arrived. `ready` (the first one counts) and `next` (the same event
//!   again within one invocation) are safe to repeat and are sent once more.
//! - A result is sent once more only when that end was a reset (`ECONNRESET`) before any byte
//!   of the answer: the peer's socket was already closed when the request reached it (a
//!   server that closed the idle connection just before, faster than the peek above could
//!   see), so no program read it. An orderly close (end of stream) is not retried: the server
//!   may have read the result and then gone away, and the result must not arrive twice. The
//!   one exception to the reasoning — a server that reads a result and then aborts the
//!   connection with a reset instead of answering — is not HTTP any server is known to speak.

use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Range;

use super::response::{parse_head, Chunked, Framing, Head, MAX_BODY, MAX_HEAD};
use crate::error::Error;
use crate::slab::Storage;

/// Initial size of the receive arena (the first one is the static slab).
const INITIAL_RECV: usize = crate::slab::ARENA;
/// Least free space offered to one `read` call.
const MIN_READ: usize = 4 * 1024;
/// Most slices one request is written from.
pub(crate) const MAX_PARTS: usize = 16;

/// A piece of a request: bytes, or a range of the receive arena (a request id or a part of
/// the event, sent back without copying it out).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part<'a> {
    Bytes(&'a [u8]),
    Arena(usize, usize),
}

/// Whether a request may be sent again after the connection ended before its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Repeating it is harmless (`ready`, `next`).
    Idempotent,
    /// It must not arrive twice (a result).
    Once,
}

/// A complete response; its body lies in [`Conn::buf`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Response {
    pub head: Head,
    pub body: (usize, usize),
}

impl Response {
    pub fn body_range(&self) -> Range<usize> {
        self.body.0..self.body.1
    }
}

/// The connection and its receive arena.
pub(crate) struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// Bytes received; `buf[..filled]` is valid. Always initialised.
    buf: Storage,
    filled: usize,
    /// End of the last response; bytes after it (up to `filled`) came unasked.
    consumed: usize,
    /// Has the current stream carried a request already?
    used: bool,
    /// The I/O error behind the last [`Error`], for diagnostics.
    pub last_io: Option<io::Error>,
}

impl Conn {
    /// A connection to `addr`; nothing is opened until the first request.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            stream: None,
            buf: Storage::new(crate::slab::slabs().arena(), INITIAL_RECV),
            filled: 0,
            consumed: 0,
            used: false,
            last_io: None,
        }
    }

    /// The receive arena; a [`Response`]'s ranges index into it.
    pub fn buf(&self) -> &[u8] {
        self.buf.as_slice()
    }

    /// Sends one request made of `parts` (at most [`MAX_PARTS`], written with one vectored
    /// write) and reads its response, following the module's reconnect and retry rule.
    /// Arena parts must lie in the arena as it was before the call.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn roundtrip(&mut self, parts: &[Part<'_>], retry: Retry) -> Result<Response, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.last_io = None;
            if self.stream.is_some() && self.used && retry == Retry::Once && self.peer_gone() {
                self.stream = None;
            }
            if self.stream.is_none() {
                self.connect()?;
            }
            if let Err(e) = self.write(parts) {
                self.stream = None;
                if attempt == 1 {
                    continue;
                }
                self.last_io = Some(e);
                return Err(Error::Write);
            }
            self.used = true;
            match self.read_response() {
                Ok(r) => return Ok(r),
                Err(Error::Read)
                    if attempt == 1 && (retry == Retry::Idempotent || self.reset_unread()) =>
                {
                    self.stream = None;
                }
                Err(e) => {
                    self.stream = None;
                    self.filled = 0;
                    self.consumed = 0;
                    return Err(e);
                }
            }
        }
    }

    /// Did the last read end with a reset before any byte of the answer arrived?
    fn reset_unread(&self) -> bool {
        matches!(&self.last_io, Some(e) if e.kind() == io::ErrorKind::ConnectionReset)
    }

    fn connect(&mut self) -> Result<(), Error> {
        match TcpStream::connect(self.addr) {
            Ok(s) => {
                // Each request is one write; never hold it back waiting for an ACK.
                let _ = s.set_nodelay(true);
                self.stream = Some(s);
                self.used = false;
                self.filled = 0;
                self.consumed = 0;
                Ok(())
            }
            Err(e) => {
                self.last_io = Some(e);
                Err(Error::Connect)
            }
        }
    }

    fn write(&mut self, parts: &[Part<'_>]) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        write_parts(stream, self.buf.as_slice(), parts)
    }

    /// Has the peer closed the idle connection (or sent something unasked)? One non-blocking
    /// peek; an error other than "would block" also counts as gone.
    fn peer_gone(&mut self) -> bool {
        if self.consumed < self.filled {
            return true;
        }
        let Some(stream) = self.stream.as_ref() else {
            return true;
        };
        peek_nonblocking(stream)
    }

    /// Reads more bytes into the arena, growing it when full. `Ok(0)` is end of stream.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    fn fill(&mut self, want: usize) -> Result<usize, Error> {
        if self.buf.len() - self.filled < MIN_READ.min(want) {
            self.buf.grow(self.filled, self.filled + want);
        }
        let stream = self.stream.as_mut().ok_or(Error::Read)?;
        loop {
            match stream.read(&mut self.buf.as_mut_slice()[self.filled..]) {
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.last_io = Some(e);
                    return Err(Error::Read);
                }
            }
        }
    }

    fn read_response(&mut self) -> Result<Response, Error> {
        // Forget the previous response; keep anything that arrived after it.
        super::forget_consumed(
            self.buf.as_mut_slice(),
            &mut self.consumed,
            &mut self.filled,
        );
        let head = loop {
            if self.filled > 0 {
                if let Some(h) = parse_head(&self.buf.as_slice()[..self.filled])? {
                    if (100..200).contains(&h.status) && h.status != 101 {
                        // Interim response: drop it and read the real one.
                        self.buf.as_mut_slice().copy_within(h.len..self.filled, 0);
                        self.filled -= h.len;
                        continue;
                    }
                    break h;
                }
                if self.filled >= MAX_HEAD {
                    return Err(Error::HeadTooLarge);
                }
            }
            let before = self.filled;
            match self.fill(MIN_READ) {
                Ok(0) | Err(Error::Read) if before == 0 => return Err(Error::Read),
                Ok(0) | Err(_) => return Err(Error::Truncated),
                Ok(_) => {}
            }
        };

        let start = head.len;
        let end = match head.framing {
            Framing::Length(n) => {
                let end = start + n;
                if self.buf.len() < end {
                    self.buf.grow(self.filled, end);
                }
                while self.filled < end {
                    let want = end - self.filled;
                    if self.fill(want)? == 0 {
                        return Err(Error::Truncated);
                    }
                }
                self.consumed = end;
                end
            }
            Framing::Chunked => {
                let mut dec = Chunked::new(start);
                loop {
                    let (filled, done) = dec.decode(self.buf.as_mut_slice(), self.filled)?;
                    self.filled = filled;
                    if done {
                        break;
                    }
                    if self.fill(MIN_READ)? == 0 {
                        return Err(Error::Truncated);
                    }
                }
                // Bytes after the body stay after `decoded_end`: not consumed.
                self.consumed = dec.decoded_end();
                dec.decoded_end()
            }
            Framing::UntilClose => {
                while self.fill(MIN_READ)? != 0 {
                    if self.filled - start > MAX_BODY {
                        return Err(Error::BodyTooLarge);
                    }
                }
                self.consumed = self.filled;
                self.filled
            }
        };
        if head.close {
            self.stream = None;
        }
        Ok(Response {
            head,
            body: (start, end),
        })
    }
}

/// Writes `parts` (arena parts taken from `arena`) with vectored writes until all is sent.
#[inline]
pub(crate) fn write_parts(
    stream: &mut TcpStream,
    arena: &[u8],
    parts: &[Part<'_>],
) -> io::Result<()> {
    let mut slices = [IoSlice::new(&[]); MAX_PARTS];
    let mut n = 0;
    for p in parts {
        let bytes = match *p {
            Part::Bytes(b) => b,
            Part::Arena(start, end) => &arena[start..end],
        };
        if !bytes.is_empty() {
            slices[n] = IoSlice::new(bytes);
            n += 1;
        }
    }
    let mut bufs = &mut slices[..n];
    while !bufs.is_empty() {
        match stream.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(w) => IoSlice::advance_slices(&mut bufs, w),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn peek_nonblocking(stream: &TcpStream) -> bool {
    use std::os::fd::AsFd;
    crate::sys::peer_gone_or_spoke(stream.as_fd())
}

#[cfg(not(target_os = "linux"))]
fn peek_nonblocking(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let r = stream.peek(&mut [0u8; 1]);
    let _ = stream.set_nonblocking(false);
    !matches!(r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}
