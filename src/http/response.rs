//! Parsing runtime API responses, without I/O.
//!
//! [`parse_head`] reads a response head out of the bytes received so far and says how the
//! body is framed; [`Chunked`] decodes a `chunked` body in place, in the same buffer, so an
//! event is never copied. "Need more bytes" is `Ok(None)` / `Ok(false)`, not an error.

use core::mem::MaybeUninit;

use crate::error::Error;

/// Largest response head accepted, in bytes. The runtime API sends a handful of short headers.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most headers accepted in one response head.
pub const MAX_HEADERS: usize = 64;
/// Largest response body accepted, in bytes: ten times the platform's largest event (6 MB).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Response headers the runtime reads, by meaning. Each matches every spelling listed in its
/// doc, case-insensitively: SCF's documented one, the walkthrough's `Scf_Runtime_*` one, and
/// for the request id AWS Lambda's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Field {
    /// `request_id`, `Scf_Runtime_Request_Id` or `Lambda-Runtime-Aws-Request-Id`.
    RequestId = 0,
    /// `memory_limit_in_mb` or `Scf_Runtime_Memory_Limit_In_Mb`.
    MemoryLimitInMb = 1,
    /// `time_limit_in_ms` or `Scf_Runtime_Time_Limit_In_Ms`.
    TimeLimitInMs = 2,
    /// `Lambda-Runtime-Deadline-Ms` (AWS): the deadline in milliseconds since the epoch.
    DeadlineMs = 3,
    /// `Lambda-Runtime-Invoked-Function-Arn` (AWS).
    FunctionArn = 4,
    /// `Lambda-Runtime-Trace-Id` (AWS).
    TraceId = 5,
    /// `Lambda-Runtime-Client-Context` (AWS).
    ClientContext = 6,
}

/// Number of [`Field`] variants.
pub const FIELDS: usize = 7;

/// What a response header means to the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    ContentLength,
    TransferEncoding,
    Connection,
    Field(Field),
}

/// Every header name the runtime reads (lower case), with its meaning: one flat table looked
/// up once per header, stopping at the first name of the same length and spelling.
const KNOWN: [(&[u8], Known); 14] = [
    (b"content-length", Known::ContentLength),
    (b"transfer-encoding", Known::TransferEncoding),
    (b"connection", Known::Connection),
    (b"request_id", Known::Field(Field::RequestId)),
    (b"scf_runtime_request_id", Known::Field(Field::RequestId)),
    (
        b"lambda-runtime-aws-request-id",
        Known::Field(Field::RequestId),
    ),
    (b"memory_limit_in_mb", Known::Field(Field::MemoryLimitInMb)),
    (
        b"scf_runtime_memory_limit_in_mb",
        Known::Field(Field::MemoryLimitInMb),
    ),
    (b"time_limit_in_ms", Known::Field(Field::TimeLimitInMs)),
    (
        b"scf_runtime_time_limit_in_ms",
        Known::Field(Field::TimeLimitInMs),
    ),
    (
        b"lambda-runtime-deadline-ms",
        Known::Field(Field::DeadlineMs),
    ),
    (
        b"lambda-runtime-invoked-function-arn",
        Known::Field(Field::FunctionArn),
    ),
    (b"lambda-runtime-trace-id", Known::Field(Field::TraceId)),
    (
        b"lambda-runtime-client-context",
        Known::Field(Field::ClientContext),
    ),
];

/// The meaning of header `name`, if the runtime reads it.
#[inline]
fn known(name: &[u8]) -> Option<Known> {
    lookup(&KNOWN, name)
}

/// The meaning `table` gives header `name`, if any. `name` is an HTTP token, as `httparse`
/// checks: then comparing bytes with bit 5 set is comparing them ignoring ASCII case, for
/// names made of lower-case letters, digits, `-` and `_` as the tables' are (the only other
/// bytes equal to those under that mask, CR, DEL and a few control bytes, are not token
/// bytes). It is a third of the instructions of `eq_ignore_ascii_case`, and this runs for
/// every header of every message.
#[inline]
pub(crate) fn lookup<T: Copy>(table: &[(&[u8], T)], name: &[u8]) -> Option<T> {
    let first = *name.first()? | 0x20;
    table
        .iter()
        .find(|(n, _)| {
            n.len() == name.len()
                && n[0] | 0x20 == first
                && name
                    .iter()
                    .zip(n.iter())
                    .all(|(&a, &b)| a | 0x20 == b | 0x20)
        })
        .map(|&(_, k)| k)
}

/// How the body after a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` bytes (0 for `204`, `304` and `1xx`).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs until the peer closes the connection.
    UntilClose,
}

/// A parsed response head. Header values are kept as offsets into the parsed buffer, so
/// nothing is copied and the buffer can still be borrowed mutably afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Length of the head in bytes, including the blank line; the body starts here.
    pub len: usize,
    /// How the body is delimited.
    pub framing: Framing,
    /// The connection cannot be reused after this response (`Connection: close`, HTTP/1.0
    /// without keep-alive, or a body delimited by close).
    pub close: bool,
    /// Where each [`Field`]'s value lies in the buffer (start, end), if present.
    pub fields: [Option<(u32, u32)>; FIELDS],
}

impl Head {
    /// The value of `field` in `buf` (the buffer this head was parsed from), if present.
    pub fn field<'b>(&self, buf: &'b [u8], field: Field) -> Option<&'b [u8]> {
        self.fields[field as usize].map(|(s, e)| &buf[s as usize..e as usize])
    }
}

/// Parses a response head from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a head (read more and call again), and an
/// error for bytes that are not a valid head, a head with more than [`MAX_HEADERS`] headers,
/// or inconsistent framing headers. The caller enforces [`MAX_HEAD`] on partial heads.
#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, Error> {
    // Room for a few headers on the stack (the runtime API sends half a dozen): 64 slots
    // would be 2 KB of stack, and every stack page a cold start reaches is a page fault.
    // More headers than that are parsed again with room for MAX_HEADERS on the heap.
    let mut few = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; FEW_HEADERS];
    match parse_with(buf, &mut few) {
        Err(Error::TooManyHeaders) => parse_with_many(buf),
        r => r,
    }
}

/// Header slots on the stack.
const FEW_HEADERS: usize = 16;

#[cold]
#[inline(never)]
fn parse_with_many(buf: &[u8]) -> Result<Option<Head>, Error> {
    let mut many = Vec::with_capacity(MAX_HEADERS);
    many.resize_with(MAX_HEADERS, MaybeUninit::uninit);
    parse_with(buf, &mut many)
}

#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
fn parse_with<'b>(
    buf: &'b [u8],
    headers: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<Head>, Error> {
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, headers);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Error::TooManyHeaders),
        Err(_) => return Err(Error::Malformed),
    };
    if len > MAX_HEAD {
        return Err(Error::HeadTooLarge);
    }
    let status = res.code.ok_or(Error::Malformed)?;
    let mut framing = FramingHeaders::new(res.version == Some(0));
    let mut fields = [None; FIELDS];
    let base = buf.as_ptr() as usize;

    for h in res.headers.iter() {
        let value = trim(h.value);
        match known(h.name.as_bytes()) {
            Some(Known::ContentLength) => framing
                .content_length(value)
                .map_err(|_| Error::BadContentLength)?,
            Some(Known::TransferEncoding) => framing
                .transfer_encoding(value)
                .map_err(|_| Error::UnsupportedTransferEncoding)?,
            Some(Known::Connection) => framing.connection(value),
            Some(Known::Field(f)) => {
                let start = value.as_ptr() as usize - base;
                // `len <= MAX_HEAD`, so offsets fit in u32.
                fields[f as usize] = Some((start as u32, (start + value.len()) as u32));
            }
            None => {}
        }
    }
    let FramingHeaders {
        length,
        chunked,
        mut close,
        ..
    } = framing;

    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        if length.is_some() {
            // RFC 9112 §6.3: both present is a smuggling vector; refuse it.
            return Err(Error::BadContentLength);
        }
        Framing::Chunked
    } else if let Some(n) = length {
        if n > MAX_BODY {
            return Err(Error::BodyTooLarge);
        }
        Framing::Length(n)
    } else {
        close = true;
        Framing::UntilClose
    };

    Ok(Some(Head {
        status,
        len,
        framing,
        close,
        fields,
    }))
}

/// What a head's framing headers say (`Content-Length`, `Transfer-Encoding`, `Connection`),
/// gathered one header at a time: the same rules for the responses the client reads and the
/// requests the WebServer shape reads. Values come trimmed.
pub(crate) struct FramingHeaders {
    /// The `Content-Length`, if one was sent.
    pub(crate) length: Option<usize>,
    /// `Transfer-Encoding: chunked` was sent.
    pub(crate) chunked: bool,
    /// The connection closes after this message: HTTP/1.0 without `keep-alive`, or
    /// `Connection: close`.
    pub(crate) close: bool,
    http10: bool,
}

/// A framing header that cannot be honoured.
#[derive(Debug)]
pub(crate) enum FramingFault {
    /// A `Content-Length` that is not a number, or two that differ (RFC 9112 §6.3: the
    /// message cannot be delimited).
    BadLength,
    /// A transfer coding other than `chunked` alone, which would leave the body unreadable:
    /// an error rather than a silent misread.
    Unsupported,
}

impl FramingHeaders {
    /// Nothing seen yet, for a message of HTTP/1.0 (`http10`, closing by default) or 1.1.
    #[inline(always)]
    pub(crate) fn new(http10: bool) -> FramingHeaders {
        FramingHeaders {
            length: None,
            chunked: false,
            close: http10,
            http10,
        }
    }

    /// A `Content-Length` value.
    #[inline(always)]
    pub(crate) fn content_length(&mut self, value: &[u8]) -> Result<(), FramingFault> {
        let n = parse_decimal(value).ok_or(FramingFault::BadLength)?;
        if self.length.is_some_and(|m| m != n) {
            return Err(FramingFault::BadLength);
        }
        self.length = Some(n);
        Ok(())
    }

    /// A `Transfer-Encoding` value: only `chunked`, once.
    #[inline(always)]
    pub(crate) fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), FramingFault> {
        if value.eq_ignore_ascii_case(b"chunked") && !self.chunked {
            self.chunked = true;
            Ok(())
        } else {
            Err(FramingFault::Unsupported)
        }
    }

    /// A `Connection` value: `close` closes; `keep-alive` keeps an HTTP/1.0 connection open.
    #[inline(always)]
    pub(crate) fn connection(&mut self, value: &[u8]) {
        for token in value.split(|&b| b == b',') {
            let token = trim(token);
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") && self.http10 {
                self.close = false;
            }
        }
    }
}

/// Parses an unsigned decimal number with no sign and no spaces; `None` on anything else or
/// on overflow.
pub fn parse_decimal(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n: usize = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((b - b'0') as usize)?;
    }
    Some(n)
}

/// `s` without leading and trailing spaces and tabs.
#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, with this many bytes left.
    Data(usize),
    /// Expecting the CRLF that ends a chunk's data.
    DataEnd,
    /// After the last chunk: skipping trailer lines until the empty one.
    Trailers,
    /// The body is complete.
    Done,
}

/// An in-place decoder for a `chunked` body.
///
/// The decoded body is moved down so that it always occupies `buf[start..decoded_end]`,
/// contiguous, right after the head; raw bytes not yet decoded follow it.
#[derive(Clone, Copy, Debug)]
pub struct Chunked {
    /// End of the decoded body (exclusive).
    write: usize,
    /// Start of the raw bytes not yet decoded.
    read: usize,
    start: usize,
    state: ChunkState,
}

impl Chunked {
    /// A decoder for a body that starts at `start` in the buffer.
    pub fn new(start: usize) -> Chunked {
        Chunked {
            write: start,
            read: start,
            start,
            state: ChunkState::Size,
        }
    }

    /// End of the decoded body: it lies in `buf[start..decoded_end()]`.
    pub fn decoded_end(&self) -> usize {
        self.write
    }

    /// Decodes as much of `buf[..filled]` as possible and moves the raw bytes still to be
    /// decoded down to right after the decoded body. Returns the new `filled` and whether the
    /// body is complete; when it is, `buf[decoded_end()..filled]` holds bytes that came after
    /// the body.
    pub fn decode(&mut self, buf: &mut [u8], filled: usize) -> Result<(usize, bool), Error> {
        loop {
            match self.state {
                ChunkState::Size => match httparse::parse_chunk_size(&buf[self.read..filled]) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.read += used;
                        let size = usize::try_from(size).map_err(|_| Error::BodyTooLarge)?;
                        if size == 0 {
                            self.state = ChunkState::Trailers;
                        } else if size > MAX_BODY - (self.write - self.start) {
                            return Err(Error::BodyTooLarge);
                        } else {
                            self.state = ChunkState::Data(size);
                        }
                    }
                    Ok(httparse::Status::Partial) => {
                        if filled - self.read > 1024 {
                            return Err(Error::BadChunk);
                        }
                        break;
                    }
                    Err(_) => return Err(Error::BadChunk),
                },
                ChunkState::Data(left) => {
                    let n = left.min(filled - self.read);
                    if n == 0 {
                        break;
                    }
                    buf.copy_within(self.read..self.read + n, self.write);
                    self.read += n;
                    self.write += n;
                    self.state = if n == left {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - n)
                    };
                }
                ChunkState::DataEnd => {
                    if filled - self.read < 2 {
                        break;
                    }
                    if &buf[self.read..self.read + 2] != b"\r\n" {
                        return Err(Error::BadChunk);
                    }
                    self.read += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    match buf[self.read..filled].iter().position(|&b| b == b'\n') {
                        Some(i) => {
                            let line = &buf[self.read..self.read + i];
                            self.read += i + 1;
                            if line.is_empty() || line == b"\r" {
                                self.state = ChunkState::Done;
                            }
                        }
                        None => {
                            if filled - self.read > MAX_HEAD {
                                return Err(Error::HeadTooLarge);
                            }
                            break;
                        }
                    }
                }
                ChunkState::Done => break,
            }
        }
        // Move the undecoded tail down so the buffer only ever holds body + one partial chunk.
        let filled = if self.read > self.write {
            buf.copy_within(self.read..filled, self.write);
            let moved = self.read - self.write;
            self.read = self.write;
            filled - moved
        } else {
            filled
        };
        Ok((filled, self.state == ChunkState::Done))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes a whole chunked body fed in pieces of `step` bytes; returns the body.
    fn dechunk(raw: &[u8], step: usize) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; raw.len()];
        let mut dec = Chunked::new(0);
        let mut filled = 0;
        let mut fed = 0;
        loop {
            let n = step.min(raw.len() - fed);
            buf[filled..filled + n].copy_from_slice(&raw[fed..fed + n]);
            filled += n;
            fed += n;
            let (f, done) = dec.decode(&mut buf, filled)?;
            filled = f;
            if done {
                return Ok(buf[..dec.decoded_end()].to_vec());
            }
            if n == 0 {
                return Err(Error::Truncated);
            }
        }
    }

    macro_rules! head_tests {
        ($($name:ident, $bytes:expr, |$h:ident| $body:block)+) => {$(
            #[test]
            fn $name() {
                let buf: &[u8] = $bytes;
                let $h = parse_head(buf);
                $body
            }
        )+};
    }

    head_tests! {
        content_length, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", |h| {
            let h = h.unwrap().unwrap();
            assert_eq!((h.status, h.framing, h.close), (200, Framing::Length(5), false));
            assert_eq!(h.len, 38);
        }
        chunked, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", |h| {
            assert_eq!(h.unwrap().unwrap().framing, Framing::Chunked);
        }
        until_close, b"HTTP/1.1 200 OK\r\n\r\n", |h| {
            let h = h.unwrap().unwrap();
            assert_eq!((h.framing, h.close), (Framing::UntilClose, true));
        }
        connection_close, b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", |h| {
            assert!(h.unwrap().unwrap().close);
        }
        http10_closes, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", |h| {
            assert!(h.unwrap().unwrap().close);
        }
        http10_keep_alive, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", |h| {
            assert!(!h.unwrap().unwrap().close);
        }
        no_content, b"HTTP/1.1 204 No Content\r\n\r\n", |h| {
            assert_eq!(h.unwrap().unwrap().framing, Framing::Length(0));
        }
        partial, b"HTTP/1.1 200 OK\r\nContent-Len", |h| {
            assert_eq!(h, Ok(None));
        }
        empty, b"", |h| {
            assert_eq!(h, Ok(None));
        }
        garbage, b"SSH-2.0-OpenSSH\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::Malformed));
        }
        bad_length, b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::BadContentLength));
        }
        negative_length, b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::BadContentLength));
        }
        conflicting_lengths, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::BadContentLength));
        }
        same_lengths, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", |h| {
            assert_eq!(h.unwrap().unwrap().framing, Framing::Length(5));
        }
        length_and_chunked, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::BadContentLength));
        }
        gzip, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::UnsupportedTransferEncoding));
        }
        huge_length, b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::BodyTooLarge));
        }
        overflowing_length, b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", |h| {
            assert_eq!(h, Err(Error::BadContentLength));
        }
    }

    #[test]
    fn fields_in_both_spellings_any_case() {
        for (raw, id) in [
            (&b"HTTP/1.1 200 OK\r\nrequest_id: abc\r\nmemory_limit_in_mb: 128\r\ntime_limit_in_ms: 3000\r\nContent-Length: 0\r\n\r\n"[..], "abc"),
            (&b"HTTP/1.1 200 OK\r\nScf_Runtime_Request_Id:  xyz \r\nSCF_RUNTIME_MEMORY_LIMIT_IN_MB: 128\r\nscf_runtime_time_limit_in_ms: 3000\r\nContent-Length: 0\r\n\r\n"[..], "xyz"),
        ] {
            let h = parse_head(raw).unwrap().unwrap();
            assert_eq!(h.field(raw, Field::RequestId), Some(id.as_bytes()));
            assert_eq!(h.field(raw, Field::MemoryLimitInMb), Some(&b"128"[..]));
            assert_eq!(h.field(raw, Field::TimeLimitInMs), Some(&b"3000"[..]));
        }
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            parse_head(raw)
                .unwrap()
                .unwrap()
                .field(raw, Field::RequestId),
            None
        );
    }

    #[test]
    fn known_names_match_in_any_case_and_nothing_else() {
        assert_eq!(known(b"Content-Length"), Some(Known::ContentLength));
        assert_eq!(known(b"TRANSFER-ENCODING"), Some(Known::TransferEncoding));
        assert_eq!(known(b"Connection"), Some(Known::Connection));
        assert_eq!(known(b"REQUEST_ID"), Some(Known::Field(Field::RequestId)));
        assert_eq!(
            known(b"Scf_Runtime_Request_Id"),
            Some(Known::Field(Field::RequestId))
        );
        assert_eq!(
            known(b"Lambda-Runtime-Aws-Request-Id"),
            Some(Known::Field(Field::RequestId))
        );
        // Same length as a known name, other spelling; a prefix; nothing.
        assert_eq!(known(b"connectioN"), Some(Known::Connection));
        assert_eq!(known(b"connectiox"), None);
        assert_eq!(known(b"request_i"), None);
        assert_eq!(known(b""), None);
        // Every field has a name, and every name is lower case.
        for f in FIELD_ORDER {
            assert!(KNOWN.iter().any(|(_, k)| *k == Known::Field(f)), "{f:?}");
            assert_eq!(FIELD_ORDER[f as usize], f);
        }
        // The masked comparison's premise: known names are lower-case letters, `-` and `_`.
        assert!(KNOWN.iter().all(|(n, _)| n
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b == b'-' || b == b'_')));
    }

    #[test]
    fn known_agrees_with_eq_ignore_ascii_case_on_tokens() {
        // Every known name with any one byte replaced by any token byte.
        const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\
                               abcdefghijklmnopqrstuvwxyz";
        let oracle = |name: &[u8]| {
            KNOWN
                .iter()
                .find(|(n, _)| name.eq_ignore_ascii_case(n))
                .map(|&(_, k)| k)
        };
        for (n, _) in KNOWN {
            for i in 0..n.len() {
                for &t in TCHAR.iter().filter(|b| !b.is_ascii_whitespace()) {
                    let mut name = n.to_vec();
                    name[i] = t;
                    assert_eq!(
                        known(&name),
                        oracle(&name),
                        "{}",
                        String::from_utf8_lossy(&name)
                    );
                }
            }
        }
    }

    const FIELD_ORDER: [Field; FIELDS] = [
        Field::RequestId,
        Field::MemoryLimitInMb,
        Field::TimeLimitInMs,
        Field::DeadlineMs,
        Field::FunctionArn,
        Field::TraceId,
        Field::ClientContext,
    ];

    #[test]
    fn more_headers_than_the_stack_slots_up_to_the_limit() {
        for n in [
            FEW_HEADERS - 2,
            FEW_HEADERS - 1,
            FEW_HEADERS,
            MAX_HEADERS - 1,
        ] {
            let mut raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
            for _ in 0..n - 1 {
                raw.extend_from_slice(b"X-A: b\r\n");
            }
            raw.extend_from_slice(b"request_id: last\r\n\r\nhi");
            let head = parse_head(&raw).unwrap().unwrap();
            assert_eq!(
                head.field(&raw, Field::RequestId),
                Some(&b"last"[..]),
                "{n}"
            );
            assert_eq!(head.framing, Framing::Length(2));
            assert_eq!(&raw[head.len..], b"hi");
            // A partial head with that many headers is still "need more bytes".
            assert_eq!(parse_head(&raw[..head.len - 1]), Ok(None), "{n}");
        }
    }

    #[test]
    fn too_many_headers() {
        let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..=MAX_HEADERS {
            raw.extend_from_slice(b"X-A: b\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&raw), Err(Error::TooManyHeaders));
    }

    #[test]
    fn chunked_bodies() {
        let raw = b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, 100] {
            assert_eq!(dechunk(raw, step).unwrap(), b"hello world!", "step {step}");
        }
        assert_eq!(dechunk(b"0\r\n\r\n", 1).unwrap(), b"");
        // Leftover bytes after the body stay after it.
        let mut buf = raw.to_vec();
        let mut dec = Chunked::new(0);
        let (filled, done) = dec.decode(&mut buf, raw.len()).unwrap();
        assert!(done);
        assert_eq!(&buf[dec.decoded_end()..filled], b"NEXT");
    }

    #[test]
    fn bad_chunks() {
        assert_eq!(
            dechunk(b"zz\r\nhello\r\n0\r\n\r\n", 4),
            Err(Error::BadChunk)
        );
        assert_eq!(dechunk(b"5\r\nhelloXX0\r\n\r\n", 4), Err(Error::BadChunk));
        assert_eq!(dechunk(b"5\r\nhel", 2), Err(Error::Truncated));
        assert_eq!(
            dechunk(b"fffffffffffffffffff\r\n", 64),
            Err(Error::BadChunk),
            "size overflow"
        );
        assert_eq!(dechunk(b"7fffffff\r\n", 64), Err(Error::BodyTooLarge));
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"6291456"), Some(6291456));
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b"1 "), None);
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
    }

    /// A tiny deterministic generator, so the property tests need no dependency.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Calls `check` on every prefix of `valid`, on 20,000 copies of it with up to four random
    /// bytes changed, cut at a random length, and on 20,000 runs of random bytes.
    pub(crate) fn mutations(valid: &[u8], mut check: impl FnMut(&[u8])) {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for cut in 0..valid.len() {
            check(&valid[..cut]);
        }
        for _ in 0..20_000 {
            let mut input = valid.to_vec();
            for _ in 0..(rng.next() % 4 + 1) {
                let i = (rng.next() as usize) % input.len();
                input[i] = rng.next() as u8;
            }
            let cut = (rng.next() as usize) % (input.len() + 1);
            check(&input[..cut]);
            let garbage: Vec<u8> = (0..rng.next() % 200).map(|_| rng.next() as u8).collect();
            check(&garbage);
        }
    }

    /// Property: any bytes, any prefix of a valid response, and valid responses with random
    /// bytes changed give `Ok` or an error, never a panic, and never offsets outside the input.
    #[test]
    fn parser_never_panics() {
        let valid = b"HTTP/1.1 200 OK\r\nrequest_id: 1\r\nTransfer-Encoding: chunked\r\nmemory_limit_in_mb: 128\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let check = |input: &[u8]| {
            if let Ok(Some(h)) = parse_head(input) {
                assert!(h.len <= input.len());
                for (s, e) in h.fields.iter().flatten() {
                    assert!(s <= e && (*e as usize) <= input.len());
                }
                if h.framing == Framing::Chunked {
                    let mut buf = input.to_vec();
                    let mut dec = Chunked::new(h.len);
                    if let Ok((filled, _)) = dec.decode(&mut buf, input.len()) {
                        assert!(dec.decoded_end() <= filled && filled <= input.len());
                    }
                }
            }
        };
        mutations(valid, check);
    }
}
