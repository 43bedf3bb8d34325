//! The accept loop every HTTP server of scf-local shares: the runtime APIs (SCF and AWS), the
//! `run` endpoint and the TencentCloud API of `serve`.
//!
//! Each server is bounded by its [`Limits`]: how many connections it holds at once (a
//! connection beyond the cap is accepted and closed at once, so the peer sees it refused
//! instead of waiting in the backlog), how long a request head may take to arrive and how
//! long a keep-alive connection may sit idle (hyper's header-read timer, which also runs
//! while an idle connection waits for its next head; a request being answered, such as a
//! long poll for the next event, is not idle), how long a write of the answer may wait for
//! the peer to read (a peer that stops reading is dropped with its buffered answer, instead
//! of holding both until the connection cap is reached), and how many bytes a head may have. An
//! optional [`Admit`] check decides, before any byte is read, whether a connection is served
//! at all (the runtime API admits only the processes of its instance).
//!
//! A server speaks plain HTTP or, with [`Transport::Tls`], HTTPS (rustls), under the same
//! limits: the TLS handshake must end within `head_timeout` and holds one of the connection
//! slots meanwhile, and a client that sends plain HTTP to the TLS port gets a plain `400`
//! saying to use `https://` instead of a TLS alert it cannot read (or a hang).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{timeout_at, Instant, Sleep};
use tokio_rustls::TlsAcceptor;

/// A complete answer.
pub(crate) type Answer = Response<Full<Bytes>>;

/// Decides whether an accepted connection is served; a refused one is closed before any of
/// its bytes is read. Called once per connection, in the connection's own task.
pub(crate) type Admit = Arc<dyn Fn(&TcpStream) -> bool + Send + Sync>;

/// The bounds of one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Connections held at once; one more is accepted and closed at once.
    pub(crate) max_connections: usize,
    /// How long a request head may take to arrive, counted from the end of the previous
    /// answer on a keep-alive connection (so also the idle timeout); and how long one write
    /// of an answer may wait for the peer to make room by reading.
    pub(crate) head_timeout: Duration,
    /// The largest request head, in bytes (hyper's read buffer; at least 8 KB).
    pub(crate) max_head_bytes: usize,
}

impl Limits {
    /// The smallest head buffer hyper accepts.
    const MIN_HEAD_BYTES: usize = 8 * 1024;
}

impl Default for Limits {
    /// 256 connections, 30 s for a head or an idle keep-alive, 64 KB heads.
    fn default() -> Self {
        Limits {
            max_connections: 256,
            head_timeout: Duration::from_secs(30),
            max_head_bytes: 64 * 1024,
        }
    }
}

/// A `Host` header value split into its host (an IP address, or a name) and its port, if it
/// gives one: `127.0.0.1:9000`, `[::1]`, `localhost:80`. `None` when it is malformed (an
/// unclosed `[`, something after `]` that is not `:port`, a port that is not a number).
pub(crate) fn split_host(host: &str) -> Option<(Result<IpAddr, &str>, Option<u16>)> {
    let port = |p: &str| p.parse::<u16>().ok();
    match host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`: only an IPv6 address goes in brackets.
        Some(rest) => {
            let (v6, after) = rest.split_once(']')?;
            let ip = IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?);
            match after {
                "" => Some((Ok(ip), None)),
                _ => Some((Ok(ip), Some(port(after.strip_prefix(':')?)?))),
            }
        }
        None => {
            let (name, port) = match host.rsplit_once(':') {
                Some((name, p)) => (name, Some(port(p)?)),
                None => (host, None),
            };
            let ip = name.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| name);
            Some((ip, port))
        }
    }
}

/// How a server's connections speak.
#[derive(Clone)]
pub(crate) enum Transport {
    /// Plain HTTP/1.1.
    Plain,
    /// HTTP/1.1 over TLS, with this server configuration.
    // Only `serve` makes TLS servers; the library without it keeps the one loop.
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    Tls(TlsAcceptor),
}

/// The first byte of a TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Accepts connections on `listener` and serves each over plain HTTP/1.1 keep-alive within
/// `limits`, answering every request with `handle`, until `shutdown` completes; the open
/// connections then end.
pub(crate) async fn serve_until<H, F>(
    listener: TcpListener,
    limits: Limits,
    admit: Option<Admit>,
    shutdown: impl Future<Output = ()>,
    handle: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    serve_over(listener, Transport::Plain, limits, admit, shutdown, handle).await
}

/// Accepts connections on `listener` and serves each over HTTP/1.1 keep-alive, plain or over
/// TLS as `transport` says, within `limits`, answering every request with `handle`, until
/// `shutdown` completes; the open connections then end.
pub(crate) async fn serve_over<H, F>(
    listener: TcpListener,
    transport: Transport,
    limits: Limits,
    admit: Option<Admit>,
    shutdown: impl Future<Output = ()>,
    handle: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of descriptors and the like: wait instead of spinning; peers see
                // refused connections meanwhile.
                Err(_) => { tokio::time::sleep(Duration::from_millis(10)).await; continue }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        // Over the cap: closed at once (the peer reads EOF), never left waiting.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        let admit = admit.clone();
        let transport = transport.clone();
        connections.spawn(async move {
            let _slot = slot;
            if admit.is_some_and(|admit| !admit(&stream)) {
                return;
            }
            match transport {
                Transport::Plain => serve_connection(stream, limits, handle).await,
                Transport::Tls(acceptor) => {
                    // The handshake is bounded as a head is: within `head_timeout`, holding
                    // its slot; hyper's timer then bounds the first head as usual.
                    let deadline = Instant::now() + limits.head_timeout;
                    let mut first = [0u8; 1];
                    match timeout_at(deadline, stream.peek(&mut first)).await {
                        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {}
                        Ok(Ok(1)) => return refuse_plain_http(stream, limits, deadline).await,
                        _ => return,
                    }
                    if let Ok(Ok(tls)) = timeout_at(deadline, acceptor.accept(stream)).await {
                        serve_connection(tls, limits, handle).await;
                    }
                }
            }
        });
    }
    connections.abort_all();
}

/// Serves one connection (plain or TLS) over HTTP/1.1 keep-alive within `limits`.
async fn serve_connection<I, H, F>(io: I, limits: Limits, handle: H)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let service = service_fn(move |req| {
        let answer = handle(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let _ = http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(limits.max_head_bytes.max(Limits::MIN_HEAD_BYTES))
        .serve_connection(
            WriteDeadline::new(TokioIo::new(io), limits.head_timeout),
            service,
        )
        .await;
}

/// The answer to plain HTTP on a TLS port: its head, then its body.
const PLAIN_HTTP_HEAD: &str = "HTTP/1.1 400 Bad Request\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\
    Connection: close\r\n\
    Content-Length: 77\r\n\r\n";
const PLAIN_HTTP_BODY: &str =
    "this port speaks HTTPS only: send the request to https:// instead of http://\n";
const _: () = assert!(PLAIN_HTTP_BODY.len() == 77);

/// Answers a plain HTTP request on a TLS port with a `400` that says so, then reads what the
/// client sent (at most a head's worth, until `deadline`) so the close does not reset the
/// answer away before the client reads it.
async fn refuse_plain_http(mut stream: TcpStream, limits: Limits, deadline: Instant) {
    let answer = async {
        stream.write_all(PLAIN_HTTP_HEAD.as_bytes()).await?;
        stream.write_all(PLAIN_HTTP_BODY.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut left = limits.max_head_bytes.max(Limits::MIN_HEAD_BYTES);
        while left > 0 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => left = left.saturating_sub(n),
            }
        }
        Ok::<_, io::Error>(())
    };
    let _ = timeout_at(deadline, answer).await;
}

/// [`serve_until`] in a task of its own, until the task is aborted (which also ends every open
/// connection).
pub(crate) fn spawn<H, F>(
    listener: TcpListener,
    limits: Limits,
    admit: Option<Admit>,
    handle: H,
) -> JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    tokio::spawn(serve_until(
        listener,
        limits,
        admit,
        std::future::pending(),
        handle,
    ))
}

/// A connection whose writes may not stall for longer than `limit`: while the peer leaves
/// no room (it stopped reading), a write waits at most that long, then fails with
/// `TimedOut`, which ends the connection. Any progress restarts the clock.
struct WriteDeadline<T> {
    io: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(io: T, limit: Duration) -> Self {
        WriteDeadline {
            io,
            limit,
            stalled: None,
        }
    }

    /// The outcome of a write that returned `poll`: progress clears the clock, a stall
    /// starts it (once) and fails when it runs out.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let clock = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match clock.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer did not read its answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for WriteDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for WriteDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}

/// Reads and drops the body of a request answered without it, in the background, so a client
/// that sends its whole body before it reads (most do) reads the answer instead of a reset:
/// at most `most` bytes within `within`, then the connection closes. Nothing is kept. A
/// client that waits for `100 Continue` has sent nothing: its body is dropped at once.
pub fn drain(mut body: Incoming, headers: &hyper::HeaderMap, most: u64, within: Duration) {
    use http_body_util::BodyExt as _;
    let waits = headers
        .get(hyper::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if waits {
        return;
    }
    let deadline = Instant::now() + within;
    tokio::spawn(async move {
        let mut read = 0u64;
        while read <= most {
            match timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    read += frame.data_ref().map_or(0, |d| d.len() as u64);
                }
                _ => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    #[test]
    fn host_values() {
        use std::net::IpAddr;
        let v4 = |s: &str| Ok(s.parse::<IpAddr>().unwrap());
        type Parts<'a> = Option<(Result<IpAddr, &'a str>, Option<u16>)>;
        // Table: (Host value, its parts or None when malformed).
        let cases: [(&str, Parts); 12] = [
            ("127.0.0.1:9000", Some((v4("127.0.0.1"), Some(9000)))),
            ("127.0.0.1", Some((v4("127.0.0.1"), None))),
            ("[::1]:80", Some((v4("::1"), Some(80)))),
            ("[::1]", Some((v4("::1"), None))),
            ("localhost:9000", Some((Err("localhost"), Some(9000)))),
            ("rebind.example", Some((Err("rebind.example"), None))),
            ("", Some((Err(""), None))),
            // An IPv6 address without brackets is a name (`:`) and a port: no address.
            ("::1", Some((Err(":"), Some(1)))),
            ("[::1]x", None),
            ("[::1]:", None),
            ("[nope]:1", None),
            ("127.0.0.1:99999", None),
        ];
        for (host, want) in cases {
            assert_eq!(split_host(host), want, "{host:?}");
        }
    }

    /// A peer that asks for a large answer and never reads it is dropped once a write has
    /// waited for `head_timeout`; a peer that reads gets the whole answer.
    #[test]
    fn a_peer_that_does_not_read_is_dropped() {
        const SIZE: usize = 64 * 1024 * 1024;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            head_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let body = Bytes::from(vec![b'x'; SIZE]);
        // The server runs on a thread of its own for the rest of the test process.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                serve_until(
                    listener,
                    limits,
                    None,
                    std::future::pending(),
                    move |_req| {
                        let body = body.clone();
                        async move { Response::new(Full::new(body)) }
                    },
                )
                .await;
            });
        });

        let ask = || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s
        };
        // Reads at once: the whole answer, and the connection stays open (keep-alive).
        let mut reader = ask();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            reader.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let mut got = vec![0u8; SIZE];
        reader.read_exact(&mut got).unwrap();
        assert!(got.iter().all(|&b| b == b'x'));

        // Does not read for well past the limit: the server gives up and closes.
        let mut idle = ask();
        std::thread::sleep(Duration::from_millis(1500));
        let mut read = 0;
        let mut chunk = vec![0u8; 1 << 20];
        let closed = loop {
            match idle.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => read += n,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        assert!(closed, "the connection stayed open after {read} bytes");
        assert!(read < SIZE, "the whole answer arrived ({read} bytes)");
    }
}
