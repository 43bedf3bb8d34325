//! The requests the runtime sends, built once at start.
//!
//! Each request is a fixed head prefix (request line, `Host`, `User-Agent`, and for POSTs
//! everything up to the `Content-Length` value), the length digits, and the body: three
//! slices written with one vectored write, so the warm path formats nothing but a number.

/// `User-Agent` of every request, fixed at compile time.
pub(crate) const USER_AGENT: &str = concat!("scf-bootstrap/", env!("CARGO_PKG_VERSION"));

/// The request heads for one runtime API address.
pub(crate) struct Requests {
    /// `POST /runtime/init/ready`, complete with its body `" "`.
    pub ready: Vec<u8>,
    /// `GET /runtime/invocation/next`, complete.
    pub next: Vec<u8>,
    /// `POST /runtime/invocation/response` up to the `Content-Length` value.
    pub response: Vec<u8>,
    /// `POST /runtime/invocation/error` up to the `Content-Length` value.
    pub error: Vec<u8>,
}

impl Requests {
    /// Builds the requests for a `Host` header value such as `127.0.0.1:9000`.
    pub fn new(host: &[u8]) -> Requests {
        let head = |method: &str, path: &str, extra: &str| {
            let mut v = Vec::with_capacity(128 + host.len());
            for part in [method, " ", path, " HTTP/1.1\r\nHost: "] {
                v.extend_from_slice(part.as_bytes());
            }
            v.extend_from_slice(host);
            for part in ["\r\nUser-Agent: ", USER_AGENT, "\r\n", extra] {
                v.extend_from_slice(part.as_bytes());
            }
            v
        };
        // The cloud rejects an empty ready body; the walkthrough sends one space.
        let ready = head("POST", "/runtime/init/ready", "Content-Length: 1\r\n\r\n ");
        Requests {
            ready,
            next: head("GET", "/runtime/invocation/next", "\r\n"),
            response: head("POST", "/runtime/invocation/response", "Content-Length: "),
            error: head(
                "POST",
                "/runtime/invocation/error",
                "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ",
            ),
        }
    }
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
    fn heads() {
        let r = Requests::new(b"127.0.0.1:9000");
        let ready = String::from_utf8(r.ready).unwrap();
        assert!(ready.starts_with("POST /runtime/init/ready HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"));
        assert!(ready.ends_with("\r\nContent-Length: 1\r\n\r\n "));
        let next = String::from_utf8(r.next).unwrap();
        assert!(next.starts_with("GET /runtime/invocation/next HTTP/1.1\r\n"));
        assert!(next.ends_with("\r\n\r\n"));
        assert!(r.response.ends_with(b"Content-Length: "));
        assert!(r.error.ends_with(b"Content-Length: "));
        assert_eq!(LengthLine::new(0).as_bytes(), b"0\r\n\r\n");
        assert_eq!(
            LengthLine::new(usize::MAX).as_bytes(),
            b"18446744073709551615\r\n\r\n"
        );
    }
}
