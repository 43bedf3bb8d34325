//! The accept loop every HTTP server of scf-local shares: the runtime APIs (SCF and AWS), the
//! `run` endpoint and the TencentCloud API of `serve`.
//!
//! Each server is bounded by its [`Limits`]: how many connections it holds at once (a
//! connection beyond the cap is accepted and closed at once, so the peer sees it refused
//! instead of waiting in the backlog), how long a request head may take to arrive and how
//! long a keep-alive connection may sit idle (hyper's header-read timer, which also runs
//! while an idle connection waits for its next head; a request being answered, such as a
//! long poll for the next event, is not idle), and how many bytes a head may have. An
//! optional [`Admit`] check decides, before any byte is read, whether a connection is served
//! at all (the runtime API admits only the processes of its instance).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

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
    /// answer on a keep-alive connection (so also the idle timeout).
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

/// Accepts connections on `listener` and serves each over HTTP/1.1 keep-alive within
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
        connections.spawn(async move {
            let _slot = slot;
            if admit.is_some_and(|admit| !admit(&stream)) {
                return;
            }
            let service = service_fn(move |req| {
                let answer = handle(req);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout)
                .max_buf_size(limits.max_head_bytes.max(Limits::MIN_HEAD_BYTES))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    connections.abort_all();
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
