//! The reply buffer a handler writes its result into.

use core::fmt;
use std::io;

/// The function's result, written by the handler. The runtime clears and reuses the same
/// buffer for every invocation, so a warm reply no larger than an earlier one allocates
/// nothing.
///
/// Write with [`extend_from_slice`](Reply::extend_from_slice) / [`push_str`](Reply::push_str),
/// or through [`std::io::Write`] (e.g. `serde_json::to_writer(&mut *reply, &value)`) or
/// [`core::fmt::Write`] (`write!(reply, …)`); neither can fail.
#[derive(Debug, Default)]
pub struct Reply {
    buf: Vec<u8>,
}

impl Reply {
    /// An empty reply with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Reply {
        Reply {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Appends bytes.
    #[inline]
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends a string.
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forgets what was written, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The underlying vector, for APIs that want one.
    pub fn as_mut_vec(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

impl io::Write for Reply {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Write for Reply {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
