//! The one fake runtime API: the platform's side of SCF's protocol, or of AWS Lambda's
//! ([`crate::Dialect`], the workspace's one `Dialect`).
//!
//! [`ApiServer`] is the benchmark's in-harness server, with as little work per request as
//! possible, so that what is measured is the bootstrap; [`ScriptedApi`] is the same API
//! driven one request at a time by a test. Both read with [`Conn`] and build the `/next`
//! answer with [`next_head`].
//!
//! - One thread accepts; one thread serves each connection (a keep-alive bootstrap has one;
//!   the bash bootstrap opens one per `curl`).
//! - The answer to `/runtime/invocation/next` is built once per [`Plan`] (head and event in
//!   one buffer) and written with one system call; the answer to a POST is a constant.
//! - Events are handed out by a counter under a mutex: during a warm window a bootstrap's
//!   `/next` never waits for the harness thread, which sleeps until the window ends.
//! - Each result is checked: its length and its last bytes always, its whole content for the
//!   first result of every plan (a full compare of every 1 MB result would be the server's
//!   largest cost); a plan made with [`Plan::accepting_any`] (a user's function, which does
//!   not echo) checks only that the result is not a posted error.
//!
//! Under AWS's dialect there is no ready call: a bootstrap is ready when it first asks for an
//! event, so the first `GET /2018-06-01/runtime/invocation/next` of a generation is its ready
//! (`Tally::ready_at`). Every event carries the same request id, [`REQUEST_ID`], and a result
//! posted for another id fails the sample.
//!
//! A *generation* is one bootstrap process: [`ApiServer::begin`] starts a new one and turns
//! away connections of the previous process still waiting for an event.

mod scripted;

pub use scripted::{After, Request, ScriptedApi, Send, WAIT};

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{Conn, Route, Start};
use crate::protocol::{is_aws, FUNCTION_ARN, REQUEST_ID, TRACE_ID};
use crate::{Dialect, HeaderStyle};

/// The answer to every accepted POST (SCF).
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
/// The answer to every accepted POST (AWS, like its Runtime Interface Emulator's).
const ACCEPTED: &[u8] = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n\
      Content-Length: 15\r\n\r\n{\"status\":\"OK\"}";
/// The answer to a result for an unknown request id (AWS).
const INVALID_ID: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\
      Content-Length: 68\r\n\r\n{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}";
/// The answer to an unknown path.
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
/// The answer to an accepted POST.
fn accepted(dialect: Dialect) -> &'static [u8] {
    if is_aws(dialect) {
        ACCEPTED
    } else {
        OK
    }
}

/// An event to hand out, and the answer expected for it.
pub struct Plan {
    /// The whole `/next` answer: head and event.
    next_answer: Vec<u8>,
    /// `Echoing request: '<event>'`, or `None`: any response is accepted (a posted error
    /// still fails).
    expected: Option<Vec<u8>>,
}

impl Plan {
    /// A plan that hands out `event` in `dialect`.
    ///
    /// Under AWS's dialect the deadline (`Lambda-Runtime-Deadline-Ms`, milliseconds since the
    /// epoch) is fixed when the plan is made, 15 minutes ahead (Lambda's longest timeout):
    /// the answer is built once, and no bootstrap here does more with the deadline than read
    /// it.
    pub fn new(event: &[u8], dialect: Dialect) -> Plan {
        let deadline_ms = is_aws(dialect).then(|| now_ms() + 900_000);
        let mut next_answer = next_head(dialect, REQUEST_ID, deadline_ms, event.len()).into_bytes();
        next_answer.extend_from_slice(event);
        Plan {
            next_answer,
            expected: Some(echo_reply(event)),
        }
    }

    /// A plan that hands out `event` in `dialect` and accepts any response to it: for a
    /// function that does not keep the echo contract (a user's own). A posted error, a
    /// result for another request id, or an exited bootstrap still fail the sample.
    pub fn accepting_any(event: &[u8], dialect: Dialect) -> Plan {
        Plan {
            expected: None,
            ..Plan::new(event, dialect)
        }
    }
}

/// Milliseconds since the Unix epoch (AWS's deadline unit).
pub fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// The head of a `200` answer to `/runtime/invocation/next` in `dialect`, for an event of
/// `len` bytes with request id `id`: SCF's three headers in the dialect's spelling (memory
/// 128 MB, time limit 3000 ms), or AWS's four (`deadline_ms`, milliseconds since the epoch;
/// the kit's [`FUNCTION_ARN`] and [`TRACE_ID`]). Both faces of the fake build their answers
/// with it.
pub fn next_head(dialect: Dialect, id: &str, deadline_ms: Option<u128>, len: usize) -> String {
    if is_aws(dialect) {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
             Lambda-Runtime-Aws-Request-Id: {id}\r\n\
             Lambda-Runtime-Deadline-Ms: {}\r\n\
             Lambda-Runtime-Invoked-Function-Arn: {FUNCTION_ARN}\r\n\
             Lambda-Runtime-Trace-Id: {TRACE_ID}\r\nContent-Length: {len}\r\n\r\n",
            deadline_ms.unwrap_or_else(|| now_ms() + 900_000),
        )
    } else {
        let walkthrough = Dialect::Scf {
            headers: HeaderStyle::Walkthrough,
        };
        let (id_name, memory, time) = if dialect == walkthrough {
            (
                "Scf_Runtime_Request_Id",
                "Scf_Runtime_Memory_Limit_In_Mb",
                "Scf_Runtime_Time_Limit_In_Ms",
            )
        } else {
            ("request_id", "memory_limit_in_mb", "time_limit_in_ms")
        };
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{id_name}: {id}\r\n\
             {memory}: 128\r\n{time}: 3000\r\nContent-Length: {len}\r\n\r\n"
        )
    }
}

/// The reply of the echo contract every bootstrap measured or tested here keeps (the
/// walkthrough's `index.sh`): `Echoing request: '<event>'`.
pub fn echo_reply(event: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(event.len() + 19);
    v.extend_from_slice(b"Echoing request: '");
    v.extend_from_slice(event);
    v.push(b'\'');
    v
}

/// What happened in one window (or the cold start) of one generation.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// When `POST /runtime/init/ready` (SCF) or the first `/next` (AWS) was read in full.
    pub ready_at: Option<Instant>,
    /// `GET /runtime/invocation/next` requests received.
    pub polls: u64,
    /// Events handed out.
    pub delivered: u64,
    /// Results (responses or errors) received.
    pub results: u64,
    /// When the first and the last result were read in full.
    pub first_result_at: Option<Instant>,
    /// See `first_result_at`.
    pub last_result_at: Option<Instant>,
    /// The first wrong result or posted error, if any.
    pub failure: Option<String>,
}

struct State {
    generation: u64,
    plan: Option<Arc<Plan>>,
    /// Events still to hand out in this window.
    to_deliver: u64,
    /// The next result is compared in full.
    check_fully: bool,
    /// The harness thread waits for results: wake it.
    harness_waiting: bool,
    tally: Tally,
}

struct Shared {
    dialect: Dialect,
    state: Mutex<State>,
    /// Signalled when there are events to hand out or the generation changed.
    events: Condvar,
    /// Signalled (only when the harness waits) on ready and results.
    results: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A connection thread never panics while holding the lock; if one did, the state is
        // still consistent counters, so go on with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The in-harness runtime API server on 127.0.0.1.
pub struct ApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl ApiServer {
    /// Binds a port chosen by the OS and starts accepting, speaking `dialect`.
    pub fn start(dialect: Dialect) -> io::Result<ApiServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            dialect,
            state: Mutex::new(State {
                generation: 0,
                plan: None,
                to_deliver: 0,
                check_fully: true,
                harness_waiting: false,
                tally: Tally::default(),
            }),
            events: Condvar::new(),
            results: Condvar::new(),
        });
        let accept_shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("api-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(ApiServer { addr, shared })
    }

    /// The port bootstraps connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The dialect it speaks.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// Starts a new generation (a new bootstrap process) that will get `count` events of
    /// `plan`. Connections of the previous generation are turned away.
    pub fn begin(&self, plan: Arc<Plan>, count: u64) {
        let mut s = self.shared.lock();
        s.generation += 1;
        s.tally = Tally::default();
        s.plan = Some(plan);
        s.to_deliver = count;
        s.check_fully = true;
        drop(s);
        self.shared.events.notify_all();
    }

    /// Within the current generation, starts a window: `count` more events of `plan`, with a
    /// fresh tally (`ready_at` is kept).
    pub fn window(&self, plan: Arc<Plan>, count: u64) {
        let mut s = self.shared.lock();
        let ready_at = s.tally.ready_at;
        s.tally = Tally {
            ready_at,
            ..Tally::default()
        };
        s.plan = Some(plan);
        s.to_deliver = count;
        s.check_fully = true;
        drop(s);
        self.shared.events.notify_all();
    }

    /// Stops handing out events in this window.
    pub fn stop(&self) {
        self.shared.lock().to_deliver = 0;
    }

    /// The tally so far.
    pub fn tally(&self) -> Tally {
        self.shared.lock().tally.clone()
    }

    /// Waits until `done` holds for the tally, a failure is recorded, `alive` says the
    /// bootstrap is gone, or `timeout` passes; returns the tally then.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut alive: impl FnMut() -> bool,
        done: impl Fn(&Tally) -> bool,
    ) -> Result<Tally, String> {
        let deadline = Instant::now() + timeout;
        let mut s = self.shared.lock();
        loop {
            if s.tally.failure.is_some() || done(&s.tally) {
                s.harness_waiting = false;
                return Ok(s.tally.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                s.harness_waiting = false;
                return Err(format!("timed out after {timeout:?}"));
            }
            if !alive() {
                s.harness_waiting = false;
                return Err("the bootstrap exited".into());
            }
            s.harness_waiting = true;
            // Wake up now and then to see whether the bootstrap is still alive.
            let slice = (deadline - now).min(Duration::from_millis(50));
            s = self
                .shared
                .results
                .wait_timeout(s, slice)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let generation = shared.lock().generation;
        let shared = Arc::clone(&shared);
        // A failed spawn drops the connection: the bootstrap sees it and the harness reports.
        let _ = thread::Builder::new()
            .name("api-conn".into())
            .spawn(move || serve(stream, &shared, generation));
    }
}

/// Serves one connection until it closes, errs, or belongs to a past generation. Paths of
/// the other dialect are answered 404, like unknown ones.
fn serve(stream: TcpStream, shared: &Shared, generation: u64) {
    let dialect = shared.dialect;
    let mut conn = Conn::new(stream);
    loop {
        let msg = match conn.read_message() {
            Ok(Some(msg)) => msg,
            Ok(None) | Err(_) => return,
        };
        let close = msg.close;
        let written = match msg.start {
            Start::Request(Route::Ready) if !is_aws(dialect) => {
                let mut s = shared.lock();
                if s.generation != generation {
                    return;
                }
                s.tally.ready_at.get_or_insert_with(Instant::now);
                wake_harness(shared, s);
                conn.consume(msg);
                conn.write_all_vectored(&[OK])
            }
            Start::Request(Route::Next(d)) if is_aws(d) == is_aws(dialect) => {
                // Under AWS's dialect the first `/next` is the ready.
                let ready = is_aws(dialect).then(Instant::now);
                conn.consume(msg);
                let Some(plan) = next_event(shared, generation, ready) else {
                    return;
                };
                conn.write_all_vectored(&[&plan.next_answer])
            }
            Start::Request(route @ (Route::Response(d) | Route::Error(d)))
                if is_aws(d) == is_aws(dialect) =>
            {
                let now = Instant::now();
                let mut s = shared.lock();
                if s.generation != generation {
                    return;
                }
                let failure = if matches!(route, Route::Error(_)) {
                    Some(format!(
                        "posted an error: {}",
                        String::from_utf8_lossy(conn.body(&msg))
                    ))
                } else {
                    let full = s.check_fully;
                    s.check_fully = false;
                    s.plan
                        .as_ref()
                        .and_then(|p| p.expected.as_ref())
                        .and_then(|e| check(e, conn.body(&msg), full))
                };
                let t = &mut s.tally;
                t.results += 1;
                t.first_result_at.get_or_insert(now);
                t.last_result_at = Some(now);
                if t.failure.is_none() {
                    t.failure = failure;
                }
                wake_harness(shared, s);
                conn.consume(msg);
                conn.write_all_vectored(&[accepted(dialect)])
            }
            Start::Request(Route::UnknownId) if is_aws(dialect) => {
                let mut s = shared.lock();
                if s.generation != generation {
                    return;
                }
                s.tally
                    .failure
                    .get_or_insert_with(|| "posted a result for an unknown request id".into());
                wake_harness(shared, s);
                conn.consume(msg);
                conn.write_all_vectored(&[INVALID_ID])
            }
            Start::Request(_) | Start::Response(_) => {
                conn.consume(msg);
                conn.write_all_vectored(&[NOT_FOUND])
            }
        };
        if written.is_err() || close {
            return;
        }
    }
}

fn wake_harness(shared: &Shared, s: MutexGuard<'_, State>) {
    let waiting = s.harness_waiting;
    drop(s);
    if waiting {
        shared.results.notify_all();
    }
}

/// Long poll: waits for an event of `generation`; `None` once that generation is over.
/// `ready`: when the request was read, if it counts as the ready (AWS's first `/next`).
fn next_event(shared: &Shared, generation: u64, ready: Option<Instant>) -> Option<Arc<Plan>> {
    let mut s = shared.lock();
    if s.generation == generation {
        s.tally.polls += 1;
        if let Some(t) = ready {
            s.tally.ready_at.get_or_insert(t);
        }
        if s.harness_waiting {
            shared.results.notify_all();
        }
    }
    loop {
        if s.generation != generation {
            return None;
        }
        if s.to_deliver > 0 {
            s.to_deliver -= 1;
            s.tally.delivered += 1;
            return s.plan.clone();
        }
        s = shared.events.wait(s).unwrap_or_else(|e| e.into_inner());
    }
}

/// Compares a result with the expected reply: in full, or by length and last bytes.
fn check(expected: &[u8], got: &[u8], full: bool) -> Option<String> {
    let tail = expected.len().min(64);
    let same = expected.len() == got.len()
        && expected[expected.len() - tail..] == got[got.len() - tail..]
        && (!full || expected == got);
    if same {
        None
    } else {
        let shown = &got[..got.len().min(120)];
        Some(format!(
            "wrong result ({} bytes, expected {}): {}",
            got.len(),
            expected.len(),
            String::from_utf8_lossy(shown)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SCF;
    use std::io::{Read, Write};

    fn roundtrip(s: &mut TcpStream, req: &[u8]) -> Vec<u8> {
        exchange(s, req).1
    }

    /// Sends a request, returns the answer's status and body.
    fn exchange(s: &mut TcpStream, req: &[u8]) -> (Start, Vec<u8>) {
        s.write_all(req).unwrap();
        let mut conn = Conn::new(s.try_clone().unwrap());
        let m = conn.read_message().unwrap().unwrap();
        (m.start, conn.body(&m).to_vec())
    }

    /// The tally once `server` has its first result.
    fn one_result(server: &ApiServer) -> Tally {
        server
            .wait_until(Duration::from_secs(5), || true, |t| t.results == 1)
            .unwrap()
    }

    /// A POST of `body` to `path`.
    fn post(path: &str, body: &[u8]) -> Vec<u8> {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        req
    }

    #[test]
    fn constant_answers_have_their_lengths() {
        for answer in [OK, ACCEPTED, INVALID_ID, NOT_FOUND] {
            let text = std::str::from_utf8(answer).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap();
            assert_eq!(length.parse::<usize>().unwrap(), body.len(), "{text}");
        }
    }

    #[test]
    fn aws_event_carries_the_lambda_headers() {
        let plan = Plan::new(b"{}", Dialect::Aws);
        let text = String::from_utf8(plan.next_answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "{}");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
                .unwrap_or_else(|| panic!("no {name} in {head}"))
                .to_string()
        };
        assert_eq!(header("Lambda-Runtime-Aws-Request-Id"), REQUEST_ID);
        assert_eq!(header("Lambda-Runtime-Invoked-Function-Arn"), FUNCTION_ARN);
        assert!(header("Lambda-Runtime-Trace-Id").starts_with("Root=1-"));
        let deadline: u128 = header("Lambda-Runtime-Deadline-Ms").parse().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(deadline > now);
        assert_eq!(header("Content-Length"), "2");
    }

    #[test]
    fn scf_event_spells_the_headers_as_asked() {
        let head = |dialect: Dialect| {
            let text = String::from_utf8(Plan::new(b"{}", dialect).next_answer).unwrap();
            text.split_once("\r\n\r\n").unwrap().0.to_string()
        };
        let doc = head(SCF);
        assert!(
            doc.contains(&format!("\r\nrequest_id: {REQUEST_ID}\r\n")),
            "{doc}"
        );
        assert!(doc.contains("\r\nmemory_limit_in_mb: 128\r\n"), "{doc}");
        assert!(doc.contains("\r\ntime_limit_in_ms: 3000\r\n"), "{doc}");
        let walkthrough = head(Dialect::Scf {
            headers: HeaderStyle::Walkthrough,
        });
        assert!(
            walkthrough.contains(&format!("\r\nScf_Runtime_Request_Id: {REQUEST_ID}\r\n")),
            "{walkthrough}"
        );
        assert!(walkthrough.contains("\r\nScf_Runtime_Memory_Limit_In_Mb: 128\r\n"));
        assert!(walkthrough.contains("\r\nScf_Runtime_Time_Limit_In_Ms: 3000\r\n"));
        assert!(is_aws(Dialect::Aws) && !is_aws(SCF));
    }

    #[test]
    fn serves_one_aws_invocation() {
        let server = ApiServer::start(Dialect::Aws).unwrap();
        server.begin(Arc::new(Plan::new(b"{\"a\":1}", Dialect::Aws)), 1);
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        let (status, event) = exchange(
            &mut s,
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
        );
        assert_eq!(status, Start::Response(200));
        assert_eq!(event, b"{\"a\":1}");
        let path = format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/response");
        let (status, body) = exchange(&mut s, &post(&path, &echo_reply(&event)));
        assert_eq!(status, Start::Response(202));
        assert_eq!(body, b"{\"status\":\"OK\"}");
        let t = one_result(&server);
        assert!(t.ready_at.is_some(), "the first /next is the ready");
        assert!(t.failure.is_none(), "{:?}", t.failure);
    }

    #[test]
    fn aws_result_for_another_id_fails() {
        let server = ApiServer::start(Dialect::Aws).unwrap();
        server.begin(Arc::new(Plan::new(b"x", Dialect::Aws)), 1);
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        roundtrip(
            &mut s,
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
        );
        let path = "/2018-06-01/runtime/invocation/another-id/response";
        let (status, _) = exchange(&mut s, &post(path, b"Echoing request: 'x'"));
        assert_eq!(status, Start::Response(400));
        let t = one_result(&server);
        assert!(t.failure.unwrap().contains("unknown request id"));
    }

    #[test]
    fn accepting_any_takes_any_response_but_not_an_error() {
        for (path, fails) in [
            ("/runtime/invocation/response", false),
            ("/runtime/invocation/error", true),
        ] {
            let server = ApiServer::start(SCF).unwrap();
            server.begin(Arc::new(Plan::accepting_any(b"{}", SCF)), 1);
            let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
            roundtrip(&mut s, &post("/runtime/init/ready", b" "));
            roundtrip(&mut s, b"GET /runtime/invocation/next HTTP/1.1\r\n\r\n");
            roundtrip(&mut s, &post(path, b"not an echo"));
            let t = one_result(&server);
            assert_eq!(t.failure.is_some(), fails, "{path}: {:?}", t.failure);
        }
    }

    #[test]
    fn the_other_dialect_is_not_found() {
        let scf = ApiServer::start(SCF).unwrap();
        scf.begin(Arc::new(Plan::new(b"x", SCF)), 1);
        let mut s = TcpStream::connect(("127.0.0.1", scf.port())).unwrap();
        let (status, _) = exchange(
            &mut s,
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
        );
        assert_eq!(status, Start::Response(404));
        let aws = ApiServer::start(Dialect::Aws).unwrap();
        aws.begin(Arc::new(Plan::new(b"x", Dialect::Aws)), 1);
        let mut s = TcpStream::connect(("127.0.0.1", aws.port())).unwrap();
        let (status, _) = exchange(&mut s, &post("/runtime/init/ready", b" "));
        assert_eq!(status, Start::Response(404));
        assert_eq!(aws.tally().polls, 0);
        assert!(aws.tally().ready_at.is_none());
    }

    #[test]
    fn serves_one_invocation() {
        let server = ApiServer::start(SCF).unwrap();
        server.begin(Arc::new(Plan::new(b"{\"a\":1}", SCF)), 1);
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        roundtrip(
            &mut s,
            b"POST /runtime/init/ready HTTP/1.1\r\nContent-Length: 1\r\n\r\n ",
        );
        let event = roundtrip(&mut s, b"GET /runtime/invocation/next HTTP/1.1\r\n\r\n");
        assert_eq!(event, b"{\"a\":1}");
        let reply = echo_reply(&event);
        let mut req = format!(
            "POST /runtime/invocation/response HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        )
        .into_bytes();
        req.extend_from_slice(&reply);
        roundtrip(&mut s, &req);
        let t = one_result(&server);
        assert!(t.ready_at.is_some());
        assert_eq!(t.delivered, 1);
        assert!(t.failure.is_none(), "{:?}", t.failure);
    }

    #[test]
    fn wrong_result_is_recorded() {
        let server = ApiServer::start(SCF).unwrap();
        server.begin(Arc::new(Plan::new(b"x", SCF)), 1);
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        roundtrip(&mut s, b"GET /runtime/invocation/next HTTP/1.1\r\n\r\n");
        roundtrip(
            &mut s,
            b"POST /runtime/invocation/response HTTP/1.1\r\nContent-Length: 2\r\n\r\nno",
        );
        let t = one_result(&server);
        assert!(t.failure.unwrap().contains("wrong result"));
    }

    #[test]
    fn past_generation_is_turned_away() {
        let server = ApiServer::start(SCF).unwrap();
        server.begin(Arc::new(Plan::new(b"x", SCF)), 0);
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        s.write_all(b"GET /runtime/invocation/next HTTP/1.1\r\n\r\n")
            .unwrap();
        // Let the connection thread start waiting, then start a new generation.
        thread::sleep(Duration::from_millis(100));
        server.begin(Arc::new(Plan::new(b"y", SCF)), 1);
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(
            rest.is_empty(),
            "the old connection must be closed unanswered"
        );
        assert_eq!(server.tally().delivered, 0);
    }

    #[test]
    fn echo_reply_is_the_walkthrough_echo() {
        assert_eq!(echo_reply(b"{}"), b"Echoing request: '{}'");
    }

    #[test]
    fn check_compares() {
        assert!(check(b"abc", b"abc", true).is_none());
        assert!(check(b"abc", b"abd", false).is_some());
        assert!(check(b"abc", b"ab", false).is_some());
        let mut long = vec![b'a'; 200];
        let expected = long.clone();
        long[0] = b'b';
        assert!(check(&expected, &long, false).is_none());
        assert!(check(&expected, &long, true).is_some());
    }
}
