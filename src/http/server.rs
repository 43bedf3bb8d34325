//! Parsing the requests a WebServer image function receives, without I/O, and the fixed
//! answers that refuse one.
//!
//! [`parse_request`] reads a request head out of the bytes received so far (via `httparse`,
//! like the client's [`parse_head`](super::response::parse_head)), says how its body is framed
//! and where the `X-Scf-*` values lie. "Need more bytes" is `Ok(None)`. A `chunked` body is
//! decoded in place by the client's [`Chunked`](super::response::Chunked).
//!
//! Compiled always (so that tests can drive it in-process), linked into a bootstrap only with
//! the `image` feature, which lets `lifecycle::start` reach it.

#![cfg_attr(not(feature = "image"), allow(dead_code))]

use core::mem::MaybeUninit;

use super::response::{lookup, trim, FramingHeaders, MAX_HEAD, MAX_HEADERS};

/// Largest request body (event) accepted, in bytes: above the platform's 6 MB limit on a
/// synchronous invocation's event, far below any function's memory.
pub const MAX_EVENT: usize = 16 * 1024 * 1024;

/// The `X-Scf-*` request headers the server reads, by meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum ScfHeader {
    /// `X-Scf-Request-Id`.
    RequestId = 0,
    /// `X-Scf-Memory`, MB.
    Memory = 1,
    /// `X-Scf-Timeout`, seconds.
    Timeout = 2,
    /// `X-Scf-Name`.
    Name = 3,
    /// `X-Scf-Version`.
    Version = 4,
    /// `X-Scf-Namespace`.
    Namespace = 5,
    /// `X-Scf-Region`.
    Region = 6,
    /// `X-Scf-Appid`.
    Appid = 7,
    /// `X-Scf-Uin`.
    Uin = 8,
}

/// Number of [`ScfHeader`] variants.
pub(crate) const SCF_HEADERS: usize = 9;

/// What a request header means to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    ContentLength,
    TransferEncoding,
    Connection,
    Expect,
    Scf(ScfHeader),
}

/// Every request header name the server reads (lower case), with its meaning.
const KNOWN: [(&[u8], Known); 13] = [
    (b"content-length", Known::ContentLength),
    (b"transfer-encoding", Known::TransferEncoding),
    (b"connection", Known::Connection),
    (b"expect", Known::Expect),
    (b"x-scf-request-id", Known::Scf(ScfHeader::RequestId)),
    (b"x-scf-memory", Known::Scf(ScfHeader::Memory)),
    (b"x-scf-timeout", Known::Scf(ScfHeader::Timeout)),
    (b"x-scf-name", Known::Scf(ScfHeader::Name)),
    (b"x-scf-version", Known::Scf(ScfHeader::Version)),
    (b"x-scf-namespace", Known::Scf(ScfHeader::Namespace)),
    (b"x-scf-region", Known::Scf(ScfHeader::Region)),
    (b"x-scf-appid", Known::Scf(ScfHeader::Appid)),
    (b"x-scf-uin", Known::Scf(ScfHeader::Uin)),
];

/// How a request's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// `Content-Length` bytes (0 when neither header is sent).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head; values are offsets into the parsed buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestHead {
    /// Length of the head, blank line included; the body starts here.
    pub len: usize,
    pub body: BodyFraming,
    /// Close the connection after answering (`Connection: close`, or HTTP/1.0 without
    /// `keep-alive`).
    pub close: bool,
    /// `Expect: 100-continue`: answer `100 Continue` before reading the body.
    pub expect_continue: bool,
    /// Where each [`ScfHeader`]'s value lies (start, end), if present.
    pub fields: [Option<(u32, u32)>; SCF_HEADERS],
}

impl RequestHead {
    /// The value of `h` in `buf` (the buffer this head was parsed from), if present.
    pub fn field<'b>(&self, buf: &'b [u8], h: ScfHeader) -> Option<&'b [u8]> {
        self.fields[h as usize].map(|(s, e)| &buf[s as usize..e as usize])
    }
}

/// Why a request is refused; each is one fixed answer, after which the connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a valid HTTP/1.x request, or contradictory framing: `400`.
    BadRequest,
    /// No complete head (or body) in time: `408`.
    Timeout,
    /// A body over [`MAX_EVENT`]: `413`.
    TooLarge,
    /// A head over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] headers: `431`.
    HeadTooLarge,
    /// A transfer coding other than `chunked`: `501`.
    Unsupported,
}

impl Refusal {
    /// The status code.
    #[cfg(test)]
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::Timeout => 408,
            Refusal::TooLarge => 413,
            Refusal::HeadTooLarge => 431,
            Refusal::Unsupported => 501,
        }
    }

    /// The whole answer.
    pub fn answer(self) -> &'static [u8] {
        match self {
            Refusal::BadRequest => ANSWER_400,
            Refusal::Timeout => ANSWER_408,
            Refusal::TooLarge => ANSWER_413,
            Refusal::HeadTooLarge => ANSWER_431,
            Refusal::Unsupported => ANSWER_501,
        }
    }
}

/// The fixed answers: status line, a plain-text body, and the connection closed. Each
/// `Content-Length` is checked by a test.
const ANSWER_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 12\r\n\r\nbad request\n";
const ANSWER_408: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 16\r\n\r\nrequest timeout\n";
const ANSWER_413: &[u8] = b"HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 16\r\n\r\nevent too large\n";
const ANSWER_431: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 23\r\n\r\nrequest head too large\n";
const ANSWER_501: &[u8] = b"HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 28\r\n\r\nunsupported transfer coding\n";

/// The interim answer to `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Header slots on the stack; more headers are parsed again with [`MAX_HEADERS`] on the heap.
const FEW_HEADERS: usize = 16;

/// Parses a request head from the start of `buf`: `Ok(None)` when more bytes are needed (the
/// caller enforces [`MAX_HEAD`] on a partial head).
#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
pub(crate) fn parse_request(buf: &[u8]) -> Result<Option<RequestHead>, Refusal> {
    let mut few = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; FEW_HEADERS];
    match parse_with(buf, &mut few) {
        Err(Refusal::HeadTooLarge) if buf.len() <= MAX_HEAD => parse_with_many(buf),
        r => r,
    }
}

#[cold]
#[inline(never)]
fn parse_with_many(buf: &[u8]) -> Result<Option<RequestHead>, Refusal> {
    let mut many = Vec::with_capacity(MAX_HEADERS);
    many.resize_with(MAX_HEADERS, MaybeUninit::uninit);
    parse_with(buf, &mut many)
}

#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
fn parse_with<'b>(
    buf: &'b [u8],
    headers: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<RequestHead>, Refusal> {
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, headers)
    {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::HeadTooLarge),
        Err(_) => return Err(Refusal::BadRequest),
    };
    if len > MAX_HEAD {
        return Err(Refusal::HeadTooLarge);
    }
    let mut framing = FramingHeaders::new(req.version == Some(0));
    let mut expect_continue = false;
    let mut fields = [None; SCF_HEADERS];
    let base = buf.as_ptr() as usize;
    for h in req.headers.iter() {
        let value = trim(h.value);
        match lookup(&KNOWN, h.name.as_bytes()) {
            Some(Known::ContentLength) => framing
                .content_length(value)
                .map_err(|_| Refusal::BadRequest)?,
            Some(Known::TransferEncoding) => framing
                .transfer_encoding(value)
                .map_err(|_| Refusal::Unsupported)?,
            Some(Known::Connection) => framing.connection(value),
            Some(Known::Expect) => expect_continue = value.eq_ignore_ascii_case(b"100-continue"),
            Some(Known::Scf(f)) => {
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
        close,
        ..
    } = framing;
    let body = match (chunked, length) {
        // Both present is a request-smuggling vector (RFC 9112 §6.3): refused.
        (true, Some(_)) => return Err(Refusal::BadRequest),
        (true, None) => BodyFraming::Chunked,
        (false, Some(n)) if n > MAX_EVENT => return Err(Refusal::TooLarge),
        (false, n) => BodyFraming::Length(n.unwrap_or(0)),
    };
    Ok(Some(RequestHead {
        len,
        body,
        close,
        expect_continue,
        fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(buf: &[u8], h: ScfHeader) -> Option<String> {
        let head = parse_request(buf).unwrap().unwrap();
        head.field(buf, h)
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
    }

    #[test]
    fn heads_parse_to_their_framing_and_fields() {
        type Check = fn(&[u8], Result<Option<RequestHead>, Refusal>);
        let cases: &[(&str, &[u8], Check)] = &[
            ("partial", b"POST /event-invoke HTTP/1.1\r\nHost: x\r\n", |_, r| {
                assert_eq!(r, Ok(None))
            }),
            (
                "length",
                b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
                |_, r| {
                    let h = r.unwrap().unwrap();
                    assert_eq!((h.len, h.body, h.close), (38, BodyFraming::Length(5), false));
                },
            ),
            ("no body", b"GET / HTTP/1.1\r\n\r\n", |_, r| {
                assert_eq!(r.unwrap().unwrap().body, BodyFraming::Length(0))
            }),
            (
                "chunked",
                b"POST / HTTP/1.1\r\ntransfer-encoding: Chunked\r\n\r\n",
                |_, r| assert_eq!(r.unwrap().unwrap().body, BodyFraming::Chunked),
            ),
            (
                "close",
                b"POST / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n",
                |_, r| assert!(r.unwrap().unwrap().close),
            ),
            ("http/1.0 closes", b"POST / HTTP/1.0\r\n\r\n", |_, r| {
                assert!(r.unwrap().unwrap().close)
            }),
            (
                "http/1.0 keep-alive",
                b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                |_, r| assert!(!r.unwrap().unwrap().close),
            ),
            (
                "expect",
                b"POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
                |_, r| assert!(r.unwrap().unwrap().expect_continue),
            ),
            (
                "scf headers",
                b"POST / HTTP/1.1\r\nx-scf-request-id:  abc \r\nX-SCF-MEMORY: 128\r\nX-Scf-Timeout: 3\r\nX-Scf-Name: f\r\nX-Scf-Uin: 42\r\n\r\n",
                |buf, _| {
                    assert_eq!(field(buf, ScfHeader::RequestId).as_deref(), Some("abc"));
                    assert_eq!(field(buf, ScfHeader::Memory).as_deref(), Some("128"));
                    assert_eq!(field(buf, ScfHeader::Timeout).as_deref(), Some("3"));
                    assert_eq!(field(buf, ScfHeader::Name).as_deref(), Some("f"));
                    assert_eq!(field(buf, ScfHeader::Uin).as_deref(), Some("42"));
                    assert_eq!(field(buf, ScfHeader::Region), None);
                },
            ),
            ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", |_, r| {
                assert_eq!(r, Err(Refusal::BadRequest))
            }),
            ("a response", b"HTTP/1.1 200 OK\r\n\r\n", |_, r| {
                assert_eq!(r, Err(Refusal::BadRequest))
            }),
            (
                "both framings",
                b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                |_, r| assert_eq!(r, Err(Refusal::BadRequest)),
            ),
            (
                "two lengths",
                b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                |_, r| assert_eq!(r, Err(Refusal::BadRequest)),
            ),
            (
                "signed length",
                b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
                |_, r| assert_eq!(r, Err(Refusal::BadRequest)),
            ),
            (
                "gzip",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                |_, r| assert_eq!(r, Err(Refusal::Unsupported)),
            ),
            (
                "too long",
                b"POST / HTTP/1.1\r\nContent-Length: 16777217\r\n\r\n",
                |_, r| assert_eq!(r, Err(Refusal::TooLarge)),
            ),
        ];
        for (name, buf, check) in cases {
            eprintln!("{name}");
            check(buf, parse_request(buf));
        }
    }

    #[test]
    fn many_headers_up_to_the_limit() {
        let head = |n: usize| {
            let mut h = b"POST / HTTP/1.1\r\n".to_vec();
            for i in 0..n {
                h.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
            }
            h.extend_from_slice(b"X-Scf-Request-Id: last\r\n\r\n");
            h
        };
        let ok = head(MAX_HEADERS - 1);
        assert_eq!(field(&ok, ScfHeader::RequestId).as_deref(), Some("last"));
        assert_eq!(
            parse_request(&head(MAX_HEADERS)),
            Err(Refusal::HeadTooLarge)
        );
    }

    /// Property: any bytes, prefixes of a valid request and mutated ones give a head or a
    /// refusal, never a panic, never offsets outside the input, never a body over the bound.
    #[test]
    fn parser_never_panics() {
        let valid = b"POST /event-invoke HTTP/1.1\r\nX-Scf-Request-Id: 1\r\nTransfer-Encoding: chunked\r\nX-Scf-Memory: 128\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        crate::http::response::tests::mutations(valid, |input| {
            if let Ok(Some(h)) = parse_request(input) {
                assert!(h.len <= input.len());
                for (s, e) in h.fields.iter().flatten() {
                    assert!(s <= e && (*e as usize) <= input.len());
                }
                if let BodyFraming::Length(n) = h.body {
                    assert!(n <= MAX_EVENT);
                }
            }
        });
    }

    #[test]
    fn refusals_are_whole_http_answers() {
        for r in [
            Refusal::BadRequest,
            Refusal::Timeout,
            Refusal::TooLarge,
            Refusal::HeadTooLarge,
            Refusal::Unsupported,
        ] {
            let text = std::str::from_utf8(r.answer()).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(
                head.starts_with(&format!("HTTP/1.1 {} ", r.status())),
                "{text}"
            );
            assert!(
                head.contains(&format!("\r\nContent-Length: {}", body.len())),
                "{text}"
            );
            assert!(head.contains("\r\nConnection: close"), "{text}");
        }
    }
}
