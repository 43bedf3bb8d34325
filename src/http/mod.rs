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
