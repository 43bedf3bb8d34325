//! The platform's side of a WebServer image function: wait for its HTTP server to listen,
//! then `POST` each event to it with the platform's `X-Scf-*` headers (docs/protocol.md,
//! "Image shapes (platform side)").
//!
//! - The listen is found by connecting to the port, as the platform's health check does;
//!   attempts back off from 1 ms to 20 ms, and the caller bounds the whole wait. The
//!   listening socket must be held by a process of the instance (another local process that
//!   took the free port first would otherwise be sent the events), and on a non-loopback
//!   address (the platform connects from outside the instance).
//! - One connection at a time, kept alive between invocations (the platform sends one event
//!   at a time to an instance); a connection the server closed is opened again for the next
//!   event.
//! - The answer is bounded: its head by hyper's buffer limit, its body by the response limit
//!   (beyond it the invocation ends with 407 without reading further).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::config::FunctionConfig;
use crate::tree::{self, Listener};

/// The path the platform posts events to.
pub(crate) const EVENT_PATH: &str = "/event-invoke";

/// What the function's server answered.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A 2xx status, with this body.
    Ok(Bytes),
    /// Any other status, with this body.
    Failed(u16, Bytes),
    /// A body over the response limit.
    TooLarge,
    /// No answer: the connection failed or was closed; the reason.
    Unanswered(String),
}

struct Connection {
    sender: SendRequest<Full<Bytes>>,
    task: JoinHandle<()>,
}

/// The client of one instance's server.
pub(crate) struct Client {
    addr: SocketAddr,
    conn: Mutex<Option<Connection>>,
}

/// A free port on every address, for one instance's server: bound, read and released. Another
/// process may take it in between; the listen then fails and the instance reports it.
pub(crate) fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    Ok(listener.local_addr()?.port())
}

impl Client {
    pub(crate) fn new(port: u16) -> Client {
        Client {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            conn: Mutex::new(None),
        }
    }

    /// The port the server must listen on.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Returns once a connection to the port succeeds and the listening socket is held by a
    /// process of the instance (under the keeper `root`; its bootstrap `main` looked at
    /// first): `Ok`, keeping the connection for the first event, or `Err` when the instance
    /// listens on a loopback address only. A port another process took in the meantime counts
    /// as not listening. Never returns while nothing listens: the caller bounds the wait.
    pub(crate) async fn wait_listening(&self, root: u32, main: u32) -> Result<(), String> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Ok(conn) = self.connect().await {
                match tree::listener_on(root, main, self.port()) {
                    Listener::Instance => {
                        *self.conn.lock().await = Some(conn);
                        return Ok(());
                    }
                    Listener::InstanceLoopbackOnly => {
                        conn.task.abort();
                        return Err(format!(
                            "the server listens on a loopback address only: the platform reaches it on 0.0.0.0:{}, so listen on 0.0.0.0 (port {} here)",
                            crate::config::PLATFORM_IMAGE_PORT,
                            self.port()
                        ));
                    }
                    Listener::Other => conn.task.abort(),
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    async fn connect(&self) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        // `X-Scf-Request-Id`, as the platform's documentation spells it: a server that
        // matches header names by case still finds them.
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection { sender, task })
    }

    /// Posts one event with `headers` and reads the answer, its body up to `limit` bytes.
    pub(crate) async fn post(
        &self,
        headers: &[(&'static str, String)],
        event: Bytes,
        limit: usize,
    ) -> Answer {
        let mut slot = self.conn.lock().await;
        let reusable = slot
            .as_ref()
            .is_some_and(|c| !c.sender.is_closed() && c.sender.is_ready());
        if !reusable {
            if let Some(old) = slot.take() {
                old.task.abort();
            }
            match self.connect().await {
                Ok(conn) => *slot = Some(conn),
                Err(e) => {
                    return Answer::Unanswered(format!("cannot connect to {}: {e}", self.addr))
                }
            }
        }
        let Some(conn) = slot.as_mut() else {
            return Answer::Unanswered("no connection".to_owned());
        };
        let mut request = hyper::Request::post(EVENT_PATH)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = match request.body(Full::new(event)) {
            Ok(r) => r,
            Err(e) => return Answer::Unanswered(format!("cannot build the request: {e}")),
        };
        let response = match conn.sender.send_request(request).await {
            Ok(r) => r,
            Err(e) => {
                if let Some(old) = slot.take() {
                    old.task.abort();
                }
                return Answer::Unanswered(format!("the server gave no answer: {e}"));
            }
        };
        let status = response.status().as_u16();
        let body = match Limited::new(response.into_body(), limit).collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => {
                // The connection is mid-body: never reuse it.
                if let Some(old) = slot.take() {
                    old.task.abort();
                }
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return Answer::TooLarge;
                }
                return Answer::Unanswered(format!("the answer's body broke off: {e}"));
            }
        };
        if (200..300).contains(&status) {
            Answer::Ok(body)
        } else {
            Answer::Failed(status, body)
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.get_mut().take() {
            conn.task.abort();
        }
    }
}

/// The `X-Scf-*` headers of one event, as the platform sends them.
pub(crate) fn event_headers(cfg: &FunctionConfig, request_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-scf-request-id", request_id.to_owned()),
        ("x-scf-memory", cfg.memory_mb.to_string()),
        // Seconds, the unit of the function's `Timeout`.
        (
            "x-scf-timeout",
            crate::instance::timeout_secs(cfg).to_string(),
        ),
        ("x-scf-version", "$LATEST".to_owned()),
        ("x-scf-name", cfg.function_name.clone()),
        ("x-scf-namespace", "default".to_owned()),
        ("x-scf-region", cfg.region.clone()),
        ("x-scf-appid", crate::instance::APPID.to_owned()),
        ("x-scf-uin", crate::instance::UIN.to_owned()),
    ]
}

/// The platform's error when nothing listens within the limit, with the port scf-local gave.
pub(crate) fn listen_timeout_message(limit: Duration, port: u16) -> String {
    format!(
        "The request timed out in {}ms.Please confirm your http server have enabled listening on port {}. (scf-local gave it port {port} in ${} and ${})",
        limit.as_millis(),
        crate::config::PLATFORM_IMAGE_PORT,
        crate::config::IMAGE_PORT_ENVS[0],
        crate::config::IMAGE_PORT_ENVS[1],
    )
}
