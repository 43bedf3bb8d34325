//! The reply buffer a handler writes its result into.

use core::fmt;
use std::io;

use crate::http::conn::Part;
use crate::slab::Storage;

/// Most parts of the event one reply can send back without copying them.
pub const MAX_SPLICES: usize = 4;
/// Parts of the event shorter than this are copied: below it a copy costs less than one more
/// slice in the write.
pub const SPLICE_MIN: usize = 4096;

/// The function's result, written by the handler. The runtime clears and reuses the same
/// buffer for every invocation, so a warm reply no larger than an earlier one allocates
/// nothing.
///
/// Write with [`extend_from_slice`](Reply::extend_from_slice) / [`push_str`](Reply::push_str),
/// or through [`std::io::Write`] (e.g. `serde_json::to_writer(&mut *reply, &value)`) or
/// [`core::fmt::Write`] (`write!(reply, …)`); neither can fail.
///
/// To send part of the event back, [`extend_from_event`](Reply::extend_from_event) does it
/// without copying: the runtime writes that part straight from its receive buffer.
pub struct Reply {
    buf: Storage,
    len: usize,
    /// The event being handled: its address, length and offset in the receive arena.
    event: (usize, usize, usize),
    /// Parts of the event to send after `at` bytes of `buf`: (at, arena start, arena end).
    splices: [(usize, usize, usize); MAX_SPLICES],
    spliced: usize,
    /// Bytes in `splices`.
    spliced_len: usize,
}

impl Default for Reply {
    fn default() -> Reply {
        Reply::with_capacity(0)
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("bytes", &self.as_bytes())
            .field("spliced", &self.spliced)
            .finish()
    }
}

impl Reply {
    /// An empty reply with room for `capacity` bytes (on the heap).
    pub fn with_capacity(capacity: usize) -> Reply {
        let mut buf = Storage::empty();
        if capacity > 0 {
            buf.grow(0, capacity);
        }
        Reply {
            buf,
            len: 0,
            event: (0, 0, 0),
            splices: [(0, 0, 0); MAX_SPLICES],
            spliced: 0,
            spliced_len: 0,
        }
    }

    /// The runtime's reply: the static slab first.
    pub(crate) fn for_runtime() -> Reply {
        let mut r = Reply::with_capacity(0);
        r.buf = Storage::new(crate::slab::slabs().reply(), crate::slab::REPLY);
        r
    }

    /// Appends bytes.
    #[inline]
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            self.buf.grow(self.len, end);
        }
        self.buf.as_mut_slice()[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }

    /// Appends a string.
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    /// Appends `part`, which should be a part of the event being handled, without copying it:
    /// the runtime writes it from its receive buffer when it posts the reply. Anything else —
    /// bytes that are not inside the event, parts shorter than [`SPLICE_MIN`], more than
    /// [`MAX_SPLICES`] parts, a reply used outside the runtime — is copied, as by
    /// [`extend_from_slice`](Reply::extend_from_slice). Parts sent this way are not in
    /// [`as_bytes`](Reply::as_bytes).
    #[inline]
    pub fn extend_from_event(&mut self, part: &[u8]) {
        let (base, len, offset) = self.event;
        let start = part.as_ptr() as usize;
        let inside = len > 0 && start >= base && start + part.len() <= base + len;
        if !inside || part.len() < SPLICE_MIN || self.spliced == MAX_SPLICES {
            return self.extend_from_slice(part);
        }
        let at = offset + (start - base);
        self.splices[self.spliced] = (self.len, at, at + part.len());
        self.spliced += 1;
        self.spliced_len += part.len();
    }

    /// The bytes written so far, without parts of the event appended by
    /// [`extend_from_event`](Reply::extend_from_event) (see [`is_spliced`](Reply::is_spliced)).
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf.as_slice()[..self.len]
    }

    /// Whether parts of the event were appended without copying.
    pub fn is_spliced(&self) -> bool {
        self.spliced > 0
    }

    /// Length of the reply in bytes, parts of the event included.
    pub fn len(&self) -> usize {
        self.len + self.spliced_len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets what was written, keeping the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
        self.spliced = 0;
        self.spliced_len = 0;
    }

    /// Starts an invocation: clears the reply and records where the event lies (its address
    /// and length, and its offset in the receive arena).
    pub(crate) fn begin(&mut self, event: &[u8], arena_offset: usize) {
        self.clear();
        self.event = (event.as_ptr() as usize, event.len(), arena_offset);
    }

    /// Ends an invocation: parts of the old event can no longer be referred to.
    pub(crate) fn end(&mut self) {
        self.event = (0, 0, 0);
    }

    /// Appends the reply's pieces to `parts` from index `n`: owned bytes and arena ranges, in
    /// order. Returns the new count. `parts` has room for `2 * MAX_SPLICES + 1` more.
    pub(crate) fn parts<'a>(&'a self, parts: &mut [Part<'a>], mut n: usize) -> usize {
        let bytes = self.as_bytes();
        let mut from = 0;
        for &(at, start, end) in &self.splices[..self.spliced] {
            parts[n] = Part::Bytes(&bytes[from..at]);
            parts[n + 1] = Part::Arena(start, end);
            n += 2;
            from = at;
        }
        parts[n] = Part::Bytes(&bytes[from..]);
        n + 1
    }
}

impl io::Write for Reply {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Write for Reply {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flatten(r: &Reply, arena: &[u8]) -> Vec<u8> {
        let mut parts = [Part::Bytes(&[]); 2 * MAX_SPLICES + 1];
        let n = r.parts(&mut parts, 0);
        let mut out = Vec::new();
        for p in &parts[..n] {
            match *p {
                Part::Bytes(b) => out.extend_from_slice(b),
                Part::Arena(s, e) => out.extend_from_slice(&arena[s..e]),
            }
        }
        out
    }

    #[test]
    fn writes_grow_and_clear_keeps_room() {
        let mut r = Reply::default();
        r.push_str("abc");
        std::io::Write::write_all(&mut r, b"def").unwrap();
        fmt::Write::write_fmt(&mut r, format_args!("{}", 42)).unwrap();
        assert_eq!(r.as_bytes(), b"abcdef42");
        assert_eq!(r.len(), 8);
        r.extend_from_slice(&[7; 10_000]);
        assert_eq!(r.len(), 10_008);
        r.clear();
        assert!(r.is_empty());
        assert!(r.buf.len() >= 10_008);
    }

    #[test]
    fn parts_of_the_event_are_spliced_not_copied() {
        // The arena: 10 bytes of head, then the event.
        let mut arena = b"HEAD......".to_vec();
        arena.extend((0..20_000).map(|i| (i % 251) as u8));
        let event = &arena[10..];
        let mut r = Reply::default();
        r.begin(event, 10);
        r.push_str("<");
        r.extend_from_event(event);
        r.push_str("|");
        r.extend_from_event(&event[5000..10_000]);
        r.extend_from_event(&event[..100]); // short: copied
        r.push_str(">");
        assert_eq!(r.spliced, 2);
        assert_eq!(r.len(), 1 + 20_000 + 1 + 5000 + 100 + 1);
        let mut want = b"<".to_vec();
        want.extend_from_slice(event);
        want.push(b'|');
        want.extend_from_slice(&event[5000..10_000]);
        want.extend_from_slice(&event[..100]);
        want.push(b'>');
        assert_eq!(flatten(&r, &arena), want);
        assert_eq!(r.as_bytes().len(), 1 + 1 + 100 + 1);
        r.clear();
        assert_eq!(flatten(&r, &arena), b"");
    }

    #[test]
    fn bytes_outside_the_event_or_past_the_slots_are_copied() {
        let arena = vec![9u8; 50_000];
        let event = &arena[..40_000];
        let other = vec![1u8; 5000];
        let mut r = Reply::default();
        r.begin(event, 0);
        r.extend_from_event(&other);
        r.extend_from_event(&arena[39_000..45_000]); // runs past the event
        for i in 0..MAX_SPLICES + 1 {
            r.extend_from_event(&event[i * 5000..(i + 1) * 5000]);
        }
        assert_eq!(r.spliced, MAX_SPLICES);
        assert_eq!(r.as_bytes().len(), 5000 + 6000 + 5000);
        assert_eq!(r.len(), 5000 + 6000 + 5 * 5000);
        // Outside the runtime nothing is ever spliced.
        let mut plain = Reply::default();
        plain.extend_from_event(event);
        assert!(!plain.is_spliced());
        assert_eq!(plain.as_bytes(), event);
    }
}
