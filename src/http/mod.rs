//! The HTTP/1.1 client, one concern per file.
//!
//! - [`response`]: the response parser, sans I/O: head (via `httparse`), framing
//!   (`Content-Length`, `chunked`, until-close) and an in-place chunked decoder.
//! - [`request`]: the bytes of each request the runtime sends, built once at start.
//! - `server` (the `webserver` feature): the WebServer image shape's request parser, sans
//!   I/O, and its fixed refusals.
//! - [`conn`]: the socket: one keep-alive `TcpStream`, vectored writes, the receive arena and
//!   the reconnect/retry rule.

pub(crate) mod conn;
pub(crate) mod request;
pub mod response;
pub(crate) mod server;

/// Forgets the message in the first `*consumed` bytes of `buf[..*filled]`, keeping anything
/// that arrived after it at the start of `buf`: what the client does before each response
/// and the WebServer shape before each request.
#[inline(always)]
pub(crate) fn forget_consumed(buf: &mut [u8], consumed: &mut usize, filled: &mut usize) {
    if *consumed > 0 {
        // Usually nothing arrived after it: no copy (and no call to the copy's code).
        if *consumed < *filled {
            buf.copy_within(*consumed..*filled, 0);
        }
        *filled -= *consumed;
        *consumed = 0;
    }
}
