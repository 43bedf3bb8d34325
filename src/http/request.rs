//! The requests the runtime sends, built once at start.
//!
//! Each request is a fixed head prefix (request line, `Host`, `User-Agent`, and for POSTs
//! everything up to the `Content-Length` value), the length digits, and the body: three
//! slices written with one vectored write, so the warm path formats nothing but a number.

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

/// A result request's head, around the request id (AWS) and up to the `Content-Length` value.
#[derive(Clone, Debug)]
pub(crate) struct ResultHead {
    /// Up to the request id (SCF: the whole head up to the `Content-Length` value).
    pub before_id: Vec<u8>,
    /// After the request id (SCF: empty). For an AWS error it ends with
    /// `Lambda-Runtime-Function-Error-Type: `, and the error type and [`ERROR_TYPE_END`]
    /// follow.
    pub after_id: Vec<u8>,
}

/// Ends the `Lambda-Runtime-Function-Error-Type` header and starts `Content-Length`.
pub(crate) const ERROR_TYPE_END: &[u8] = b"\r\nContent-Length: ";

/// The request heads for one runtime API address.
#[derive(Clone, Debug)]
pub(crate) struct Requests {
    pub dialect: Dialect,
    /// SCF: `POST /runtime/init/ready`, complete with its body `" "`. AWS: empty.
    pub ready: Vec<u8>,
    /// `GET .../runtime/invocation/next`, complete.
    pub next: Vec<u8>,
    /// `POST .../runtime/invocation/[<id>/]response`.
    pub response: ResultHead,
    /// `POST .../runtime/invocation/[<id>/]error`.
    pub error: ResultHead,
    /// AWS: `POST /2018-06-01/runtime/init/error` up to the error type. SCF: empty (there is
    /// no such endpoint; an init failure is reported by exiting).
    pub init_error: Vec<u8>,
}

impl Requests {
    /// Builds the requests for a `Host` header value such as `127.0.0.1:9000`.
    pub fn new(dialect: Dialect, host: &[u8]) -> Requests {
        // `method path HTTP/1.1`, Host, User-Agent, then `extra`.
        let head = |method: &str, path: &[&[u8]], extra: &str| {
            let mut v = Vec::with_capacity(160 + host.len());
            v.extend_from_slice(method.as_bytes());
            v.push(b' ');
            for p in path {
                v.extend_from_slice(p);
            }
            v.extend_from_slice(b" HTTP/1.1\r\nHost: ");
            v.extend_from_slice(host);
            for part in ["\r\nUser-Agent: ", USER_AGENT, "\r\n", extra] {
                v.extend_from_slice(part.as_bytes());
            }
            v
        };
        match dialect {
            Dialect::Scf => Requests {
                dialect,
                // The cloud rejects an empty ready body; the walkthrough sends one space.
                ready: head(
                    "POST",
                    &[b"/runtime/init/ready"],
                    "Content-Length: 1\r\n\r\n ",
                ),
                next: head("GET", &[b"/runtime/invocation/next"], "\r\n"),
                response: ResultHead {
                    before_id: head(
                        "POST",
                        &[b"/runtime/invocation/response"],
                        "Content-Length: ",
                    ),
                    after_id: Vec::new(),
                },
                error: ResultHead {
                    before_id: head(
                        "POST",
                        &[b"/runtime/invocation/error"],
                        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ",
                    ),
                    after_id: Vec::new(),
                },
                init_error: Vec::new(),
            },
            Dialect::Aws => {
                // Split a head at the request id: everything before `\0` and after it.
                let split = |h: Vec<u8>| {
                    let at = h.iter().position(|&b| b == 0).unwrap_or(h.len());
                    ResultHead {
                        before_id: h[..at].to_vec(),
                        after_id: h[at + 1..].to_vec(),
                    }
                };
                const INVOCATION: &[u8] = b"/2018-06-01/runtime/invocation/";
                Requests {
                    dialect,
                    ready: Vec::new(),
                    next: head("GET", &[INVOCATION, b"next"], "\r\n"),
                    response: split(head(
                        "POST",
                        &[INVOCATION, b"\0/response"],
                        "Content-Length: ",
                    )),
                    error: split(head(
                        "POST",
                        &[INVOCATION, b"\0/error"],
                        "Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: ",
                    )),
                    init_error: head(
                        "POST",
                        &[b"/2018-06-01/runtime/init/error"],
                        "Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: ",
                    ),
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scf_heads() {
        let r = Requests::new(Dialect::Scf, b"127.0.0.1:9000");
        let ready = String::from_utf8(r.ready).unwrap();
        assert!(ready.starts_with("POST /runtime/init/ready HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"));
        assert!(ready.ends_with("\r\nContent-Length: 1\r\n\r\n "));
        let next = String::from_utf8(r.next).unwrap();
        assert!(next.starts_with("GET /runtime/invocation/next HTTP/1.1\r\n"));
        assert!(next.ends_with("\r\n\r\n"));
        assert!(r
            .response
            .before_id
            .starts_with(b"POST /runtime/invocation/response HTTP/1.1\r\n"));
        assert!(r.response.before_id.ends_with(b"Content-Length: "));
        assert!(r.error.before_id.ends_with(b"Content-Length: "));
        assert!(r.response.after_id.is_empty() && r.error.after_id.is_empty());
        assert!(r.init_error.is_empty());
    }

    #[test]
    fn aws_heads() {
        let r = Requests::new(Dialect::Aws, b"127.0.0.1:9001");
        assert!(r.ready.is_empty());
        assert!(r
            .next
            .starts_with(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"));
        assert_eq!(
            r.response.before_id,
            b"POST /2018-06-01/runtime/invocation/"
        );
        assert!(r
            .response
            .after_id
            .starts_with(b"/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"));
        assert!(r.error.after_id.starts_with(b"/error HTTP/1.1\r\n"));
        assert!(r
            .error
            .after_id
            .ends_with(b"Lambda-Runtime-Function-Error-Type: "));
        assert!(r
            .init_error
            .starts_with(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\n"));
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
