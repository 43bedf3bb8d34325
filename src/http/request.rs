//! The requests the runtime sends, built once at start.
//!
//! Each request is a fixed head prefix (request line, `Host`, `User-Agent`, and for POSTs
//! everything up to the `Content-Length` value), the length digits, and the body: three
//! slices written with one vectored write, so the warm path formats nothing but a number.
//!
//! Results are encoded here too ([`result_parts`], [`Body`], the AWS error types), for the
//! loop (`lifecycle.rs`) and the panic hook (`panic.rs`) alike.

use crate::function::Outcome;
use crate::http::conn::{Part, MAX_PARTS};
use crate::slab::{Storage, REQUESTS};
use crate::Reply;

/// `User-Agent` of every request, fixed at compile time.
pub(crate) const USER_AGENT: &str = concat!("scf-bootstrap/", env!("CARGO_PKG_VERSION"));

/// Which runtime API the bootstrap speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Tencent Cloud SCF: `/runtime/...`, a ready call, no request id in paths.
    Scf,
    /// AWS Lambda: `/2018-06-01/runtime/...`, no ready call, the request id in result paths,
    /// errors as JSON.
    Aws,
}

/// Longest `Host` value accepted (`host:port`): any IP address with its port fits, and names
/// of up to 90 bytes. With it, every head fits in [`Requests`].
pub(crate) const MAX_HOST: usize = 96;
// All the heads of one dialect fit in the requests' slab ([`crate::slab::REQUESTS`]): four
// heads with a `Host` each (at most 170 bytes besides it) and two request-line starts;
// `longest_host_fits` checks it.
const _: () = assert!(4 * (MAX_HOST + 170) + 2 * 40 <= REQUESTS);

/// Ends the `Lambda-Runtime-Function-Error-Type` header and starts `Content-Length`.
pub(crate) const ERROR_TYPE_END: &[u8] = b"\r\nContent-Length: ";

/// AWS `errorType` of a handler's error.
pub(crate) const HANDLER_ERROR: &[u8] = b"HandlerError";
/// AWS `errorType` of a handler's panic.
#[cfg_attr(panic = "immediate-abort", allow(dead_code))]
pub(crate) const PANIC: &[u8] = b"Panic";
/// AWS `errorType` of an event whose headers the runtime cannot use.
pub(crate) const INVALID_EVENT: &[u8] = b"Runtime.InvalidEvent";
/// AWS `errorType` of a failed init phase.
pub(crate) const INIT_ERROR: &[u8] = b"Runtime.InitError";

/// Where a head lies in [`Requests`]' bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Span(u16, u16);

/// The request heads for one runtime API address, in one fixed array: building the
/// runtime's at start allocates nothing (they take the static slab; later ones, such as the
/// panic hook's, are on the heap).
///
/// A result head is split around the request id (AWS puts it in the path; for SCF the part
/// after the id is empty) and ends with `Content-Length: `. An AWS error head ends with
/// `Lambda-Runtime-Function-Error-Type: ` instead, followed by the error type and
/// [`ERROR_TYPE_END`].
pub(crate) struct Requests {
    pub dialect: Dialect,
    bytes: Storage,
    len: usize,
    ready: Span,
    next: Span,
    response: (Span, Span),
    error: (Span, Span),
    init_error: Span,
}

impl Requests {
    /// Builds the requests for a `Host` header value such as `127.0.0.1:9000` (at most
    /// [`MAX_HOST`] bytes).
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn new(dialect: Dialect, host: &[u8]) -> Requests {
        assert!(host.len() <= MAX_HOST, "host too long");
        let mut r = Requests {
            dialect,
            bytes: Storage::new(crate::slab::slabs().requests(), REQUESTS),
            len: 0,
            ready: Span::default(),
            next: Span::default(),
            response: (Span::default(), Span::default()),
            error: (Span::default(), Span::default()),
            init_error: Span::default(),
        };
        const INVOCATION: &[u8] = b"/2018-06-01/runtime/invocation/";
        const AWS_ERROR: &[u8] =
            b"Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: ";
        match dialect {
            Dialect::Scf => {
                // The cloud rejects an empty ready body; the walkthrough sends one space.
                r.ready = r.head(
                    host,
                    b"POST",
                    &[b"/runtime/init/ready"],
                    b"Content-Length: 1\r\n\r\n ",
                );
                r.next = r.head(host, b"GET", &[b"/runtime/invocation/next"], b"\r\n");
                r.response.0 = r.head(
                    host,
                    b"POST",
                    &[b"/runtime/invocation/response"],
                    b"Content-Length: ",
                );
                r.error.0 = r.head(
                    host,
                    b"POST",
                    &[b"/runtime/invocation/error"],
                    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ",
                );
            }
            Dialect::Aws => {
                r.next = r.head(host, b"GET", &[INVOCATION, b"next"], b"\r\n");
                r.response.0 = r.put(&[b"POST ", INVOCATION]);
                r.response.1 = r.head(host, b"", &[b"/response"], b"Content-Length: ");
                r.error.0 = r.put(&[b"POST ", INVOCATION]);
                r.error.1 = r.head(host, b"", &[b"/error"], AWS_ERROR);
                r.init_error = r.head(
                    host,
                    b"POST",
                    &[b"/2018-06-01/runtime/init/error"],
                    AWS_ERROR,
                );
            }
        }
        r
    }

    /// Appends `parts`; their span.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    fn put(&mut self, parts: &[&[u8]]) -> Span {
        let start = self.len;
        for p in parts {
            self.bytes.as_mut_slice()[self.len..self.len + p.len()].copy_from_slice(p);
            self.len += p.len();
        }
        Span(start as u16, self.len as u16)
    }

    /// `method path HTTP/1.1`, `Host`, `User-Agent`, then `extra`. An empty `method` starts
    /// with the path (the rest of a line begun elsewhere).
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    fn head(&mut self, host: &[u8], method: &[u8], path: &[&[u8]], extra: &[u8]) -> Span {
        let start = self.len;
        if !method.is_empty() {
            self.put(&[method, b" "]);
        }
        self.put(path);
        self.put(&[b" HTTP/1.1\r\nHost: ", host]);
        self.put(&[b"\r\nUser-Agent: ", USER_AGENT.as_bytes(), b"\r\n", extra]);
        Span(start as u16, self.len as u16)
    }

    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    fn get(&self, s: Span) -> &[u8] {
        &self.bytes.as_slice()[s.0 as usize..s.1 as usize]
    }

    /// SCF: `POST /runtime/init/ready`, complete with its body `" "`. AWS: empty.
    pub fn ready(&self) -> &[u8] {
        self.get(self.ready)
    }

    /// `GET .../runtime/invocation/next`, complete.
    pub fn next(&self) -> &[u8] {
        self.get(self.next)
    }

    /// `POST .../runtime/invocation/[<id>/]response`: before and after the request id.
    pub fn response(&self) -> (&[u8], &[u8]) {
        (self.get(self.response.0), self.get(self.response.1))
    }

    /// `POST .../runtime/invocation/[<id>/]error`: before and after the request id.
    pub fn error(&self) -> (&[u8], &[u8]) {
        (self.get(self.error.0), self.get(self.error.1))
    }

    /// AWS: `POST /2018-06-01/runtime/init/error` up to the error type. SCF: empty (there is
    /// no such endpoint; an init failure is reported by exiting).
    pub fn init_error(&self) -> &[u8] {
        self.get(self.init_error)
    }
}

/// Appends `{"errorType":"<kind>","errorMessage":"<message>"}` (AWS's error body) to `out`.
pub(crate) fn aws_error_body(kind: &[u8], message: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"errorType\":\"");
    json_escape(kind, out);
    out.extend_from_slice(b"\",\"errorMessage\":\"");
    json_escape(message, out);
    out.extend_from_slice(b"\"}");
}

/// Appends `s` escaped for a JSON string. Bytes that are not UTF-8 are kept as they are;
/// handlers' messages come from `Display`, so they are UTF-8.
fn json_escape(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// The `Content-Length` value of a body and the blank line that ends the head.
pub(crate) struct LengthLine {
    buf: [u8; LENGTH_LINE],
    len: usize,
}

impl LengthLine {
    /// `"<len>\r\n\r\n"`.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn new(len: usize) -> LengthLine {
        let mut buf = [0u8; LENGTH_LINE];
        let mut digits = itoa::Buffer::new();
        let d = digits.format(len).as_bytes();
        buf[..d.len()].copy_from_slice(d);
        buf[d.len()..d.len() + 4].copy_from_slice(b"\r\n\r\n");
        LengthLine {
            buf,
            len: d.len() + 4,
        }
    }

    /// The bytes to write.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Room for the digits of `usize::MAX` and `"\r\n\r\n"`.
const LENGTH_LINE: usize = 24;
const _: () = assert!(usize::MAX.ilog10() as usize + 1 + 4 <= LENGTH_LINE);

/// The parts of a result request: the head's text around the request id (AWS), the error
/// type (AWS errors), the length, then the body's parts. Used by the loop and by the panic
/// hook. Returns the parts and how many there are.
#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
pub(crate) fn result_parts<'a>(
    requests: &'a Requests,
    outcome: Outcome,
    request_id: Part<'a>,
    error_type: &'a [u8],
    len: &'a LengthLine,
    body: Body<'a>,
) -> ([Part<'a>; MAX_PARTS], usize) {
    let (before_id, after_id) = match outcome {
        Outcome::Success => requests.response(),
        Outcome::Failure => requests.error(),
    };
    let mut parts = [Part::Bytes(&[]); MAX_PARTS];
    let head: &[Part<'a>] = match (requests.dialect, outcome) {
        (Dialect::Scf, _) => &[Part::Bytes(before_id)],
        (Dialect::Aws, Outcome::Success) => {
            &[Part::Bytes(before_id), request_id, Part::Bytes(after_id)]
        }
        (Dialect::Aws, Outcome::Failure) => &[
            Part::Bytes(before_id),
            request_id,
            Part::Bytes(after_id),
            Part::Bytes(error_type),
            Part::Bytes(ERROR_TYPE_END),
        ],
    };
    parts[..head.len()].copy_from_slice(head);
    parts[head.len()] = Part::Bytes(len.as_bytes());
    let n = head.len() + 1;
    let n = match body {
        Body::Bytes(b) => {
            parts[n] = Part::Bytes(b);
            n + 1
        }
        Body::Reply(r) => r.parts(&mut parts, n),
    };
    (parts, n)
}

/// A result's body.
#[derive(Clone, Copy)]
pub(crate) enum Body<'a> {
    Bytes(&'a [u8]),
    /// The reply, with any parts of the event it sends without copying.
    Reply(&'a Reply),
}

// The longest result: an AWS error head (5 parts), the length, and a reply.
const _: () = assert!(5 + 1 + 2 * crate::reply::MAX_SPLICES < MAX_PARTS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scf_heads() {
        let r = Requests::new(Dialect::Scf, b"127.0.0.1:9000");
        let ready = String::from_utf8(r.ready().to_vec()).unwrap();
        assert!(ready.starts_with("POST /runtime/init/ready HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"));
        assert!(ready.ends_with("\r\nContent-Length: 1\r\n\r\n "));
        let next = String::from_utf8(r.next().to_vec()).unwrap();
        assert!(next.starts_with("GET /runtime/invocation/next HTTP/1.1\r\n"));
        assert!(next.ends_with("\r\n\r\n"));
        let (before, after) = r.response();
        assert!(before.starts_with(b"POST /runtime/invocation/response HTTP/1.1\r\n"));
        assert!(before.ends_with(b"Content-Length: ") && after.is_empty());
        let (before, after) = r.error();
        assert!(before.ends_with(b"Content-Length: ") && after.is_empty());
        assert!(r.init_error().is_empty());
    }

    #[test]
    fn aws_heads() {
        let r = Requests::new(Dialect::Aws, b"127.0.0.1:9001");
        assert!(r.ready().is_empty());
        assert!(r
            .next()
            .starts_with(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"));
        let (before, after) = r.response();
        assert_eq!(before, b"POST /2018-06-01/runtime/invocation/");
        assert!(after.starts_with(b"/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"));
        let (_, after) = r.error();
        assert!(after.starts_with(b"/error HTTP/1.1\r\n"));
        assert!(after.ends_with(b"Lambda-Runtime-Function-Error-Type: "));
        assert!(r
            .init_error()
            .starts_with(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\n"));
    }

    #[test]
    fn longest_host_fits() {
        let host = [b'h'; MAX_HOST];
        for d in [Dialect::Scf, Dialect::Aws] {
            let r = Requests::new(d, &host);
            assert!(r.next().ends_with(b"\r\n\r\n"));
        }
    }

    #[test]
    fn length_lines() {
        assert_eq!(LengthLine::new(0).as_bytes(), b"0\r\n\r\n");
        assert_eq!(
            LengthLine::new(usize::MAX).as_bytes(),
            b"18446744073709551615\r\n\r\n"
        );
    }

    #[test]
    fn aws_error_bodies() {
        let mut out = Vec::new();
        aws_error_body(b"Panic", b"a \"quote\", a \\ and\nlines\x01", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"errorType":"Panic","errorMessage":"a \"quote\", a \\ and\nlines\u0001"}"#
        );
    }
}
