//! The runtime's errors: a small `Copy` enum with static descriptions.
//!
//! Nothing on an error path allocates or formats: every variant carries a `&'static str`
//! description, and the I/O error that caused it (if any) is described separately by
//! [`describe_io`], which maps the common kinds to fixed text.

use core::fmt;
use std::io;

/// Why a request to the runtime API failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The TCP connection to the runtime API could not be opened.
    Connect,
    /// Writing a request failed; nothing complete reached the peer.
    Write,
    /// Reading a response failed, or the peer closed the connection before a byte of the
    /// response arrived.
    Read,
    /// The peer closed the connection in the middle of a response.
    Truncated,
    /// The response is not valid HTTP/1.x.
    Malformed,
    /// The response head is larger than [`MAX_HEAD`](crate::MAX_HEAD) bytes.
    HeadTooLarge,
    /// The response has more headers than [`MAX_HEADERS`](crate::MAX_HEADERS).
    TooManyHeaders,
    /// The response body is larger than [`MAX_BODY`](crate::MAX_BODY) bytes.
    BodyTooLarge,
    /// `Content-Length` is missing a number, repeated with different values, or sent together
    /// with `Transfer-Encoding`.
    BadContentLength,
    /// A `chunked` body is malformed.
    BadChunk,
    /// A transfer coding other than `chunked` was used.
    UnsupportedTransferEncoding,
}

impl Error {
    /// A short description, the same text `Display` writes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Error::Connect => "cannot connect to the runtime API",
            Error::Write => "cannot send a request to the runtime API",
            Error::Read => "no response from the runtime API",
            Error::Truncated => "the runtime API closed the connection in the middle of a response",
            Error::Malformed => "malformed HTTP response from the runtime API",
            Error::HeadTooLarge => "response head from the runtime API is too large",
            Error::TooManyHeaders => "too many headers in a response from the runtime API",
            Error::BodyTooLarge => "response body from the runtime API is too large",
            Error::BadContentLength => "invalid Content-Length in a response from the runtime API",
            Error::BadChunk => "malformed chunked body in a response from the runtime API",
            Error::UnsupportedTransferEncoding => {
                "unsupported Transfer-Encoding in a response from the runtime API"
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Error {}

/// Fixed text for an I/O error, without `core::fmt` (an `io::Error`'s own `Display` pulls in
/// formatting and `strerror`). Unlisted kinds fall back to the OS error number.
pub(crate) fn describe_io(e: &io::Error, out: &mut Vec<u8>) {
    let text = match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset by peer",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::BrokenPipe => "broken pipe",
        io::ErrorKind::NotConnected => "not connected",
        io::ErrorKind::AddrNotAvailable => "address not available",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::UnexpectedEof => "connection closed by peer",
        io::ErrorKind::PermissionDenied => "permission denied",
        io::ErrorKind::OutOfMemory => "out of memory",
        _ => "",
    };
    if !text.is_empty() {
        out.extend_from_slice(text.as_bytes());
    } else if let Some(code) = e.raw_os_error() {
        out.extend_from_slice(b"os error ");
        out.extend_from_slice(itoa::Buffer::new().format(code).as_bytes());
    } else {
        out.extend_from_slice(b"I/O error");
    }
}
