//! The state one instance shares between the platform side and its runtime API server.
//!
//! The lifecycle of docs/protocol.md sections 2 and 4, without any HTTP:
//!
//! ```text
//! start ──ready──▶ idle ──begin(event)──▶ queued ──next──▶ fetched ──post──▶ final ──finish──▶ idle
//! ```
//!
//! - the first `ready` counts, later ones change nothing (AWS's dialect has no ready call:
//!   its first `/next` is the ready);
//! - an init error (AWS's `/runtime/init/error`, before the ready) ends the init as failed;
//! - `next` waits until an event is queued, and hands out the same event again if asked twice
//!   within one invocation;
//! - the first posted response or error is final; later posts are refused; a post that names
//!   its request id (AWS) must name the invocation the runtime holds;
//! - the process exiting ends any phase.
//!
//! A runtime API server (one per dialect, see [`crate::runtime_api`]) turns HTTP requests into
//! calls on [`Exchange`]; the instance drives the other side.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::Notify;

/// What the runtime posted as the invocation's result.
#[derive(Debug, Clone)]
pub(crate) enum Posted {
    /// `/runtime/invocation/response` with this body.
    Response(Bytes),
    /// `/runtime/invocation/error` with this body.
    Error(Bytes),
    /// A response over the limit.
    ResponseTooLarge,
}

/// An event handed to the runtime.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) request_id: std::sync::Arc<str>,
    pub(crate) event: Bytes,
    /// Wall-clock time the event was queued: `Timeout` runs from here (AWS's deadline header).
    pub(crate) queued_at: SystemTime,
    /// The caller's client context (AWS's `Lambda-Runtime-Client-Context`), if any.
    pub(crate) client_context: Option<std::sync::Arc<str>>,
}

/// Why a post was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No invocation is in progress.
    NoInvocation,
    /// This invocation already has its result.
    AlreadyFinal,
}

/// Why a post that names its request id (AWS's dialect) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefusedFor {
    /// The runtime holds no invocation: in this phase no result can be posted.
    NotRunning(Phase),
    /// The runtime holds an invocation, under another request id.
    UnknownRequestId,
}

/// Where the runtime is, for a refused post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not ready yet: no event has been asked for.
    Started,
    /// It reported an init error.
    InitError,
    /// Ready, waiting for (or not yet given) an event; no invocation ran before.
    Ready,
    /// It holds an invocation (fetched, no result yet).
    Running,
    /// The last invocation's result is final.
    ResponseSent,
}

/// How the wait for a result ended.
#[derive(Debug)]
pub(crate) enum WaitOutcome {
    Posted(Posted, Instant),
    Exited,
}

struct Current {
    delivery: Delivery,
    /// A previous invocation ran on this instance (its result is final).
    follows: bool,
    fetched: bool,
    posted: Option<(Posted, Instant)>,
}

#[derive(Default)]
struct State {
    ready: Option<Instant>,
    /// The error the runtime posted instead of becoming ready.
    init_error: Option<Bytes>,
    exited: bool,
    current: Option<Current>,
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Exchange {
    state: Mutex<State>,
    /// Wakes `/next` long polls.
    event_queued: Notify,
    /// Wakes the platform side: ready, result or exit.
    changed: Notify,
}

impl Exchange {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- runtime side (called by the runtime API server) ----

    /// `/runtime/init/ready`. Returns whether this was the first one.
    pub(crate) fn ready(&self) -> bool {
        let mut s = self.lock();
        if s.ready.is_some() {
            return false;
        }
        s.ready = Some(Instant::now());
        drop(s);
        self.changed.notify_waiters();
        true
    }

    /// AWS's `/runtime/init/error`: init failed with this error. Refused, with the phase the
    /// runtime is in, once it is ready or has already reported an init error.
    pub(crate) fn init_error(&self, error: Bytes) -> Result<(), Phase> {
        let mut s = self.lock();
        if s.init_error.is_some() {
            return Err(Phase::InitError);
        }
        if s.ready.is_some() {
            let phase = match &s.current {
                None => Phase::Ready,
                Some(cur) if cur.posted.is_some() || (!cur.fetched && cur.follows) => {
                    Phase::ResponseSent
                }
                Some(cur) if cur.fetched => Phase::Running,
                Some(_) => Phase::Ready,
            };
            return Err(phase);
        }
        s.init_error = Some(error);
        drop(s);
        self.changed.notify_waiters();
        Ok(())
    }

    /// `/runtime/invocation/next`: waits for an event with no time limit.
    pub(crate) async fn next(&self) -> Delivery {
        loop {
            let notified = self.event_queued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if let Some(cur) = s.current.as_mut() {
                    if cur.posted.is_none() {
                        cur.fetched = true;
                        return cur.delivery.clone();
                    }
                }
            }
            notified.await;
        }
    }

    /// `/runtime/invocation/response` or `/runtime/invocation/error`.
    pub(crate) fn post(&self, posted: Posted) -> Result<(), Refused> {
        let mut s = self.lock();
        let cur = s.current.as_mut().ok_or(Refused::NoInvocation)?;
        if cur.posted.is_some() {
            return Err(Refused::AlreadyFinal);
        }
        // No request id travels with a post: a runtime can only be answering an event it has
        // fetched. A post before that is a late one for the previous invocation.
        if !cur.fetched {
            return Err(if cur.follows {
                Refused::AlreadyFinal
            } else {
                Refused::NoInvocation
            });
        }
        cur.posted = Some((posted, Instant::now()));
        drop(s);
        self.changed.notify_waiters();
        Ok(())
    }

    /// AWS's `/runtime/invocation/{id}/response` or `…/error`: like [`Exchange::post`], for
    /// the invocation the runtime holds, which must be `request_id`.
    pub(crate) fn post_for(&self, request_id: &str, posted: Posted) -> Result<(), RefusedFor> {
        let mut s = self.lock();
        let ready = s.ready.is_some();
        let not_running = |phase| Err(RefusedFor::NotRunning(phase));
        let cur = match s.current.as_mut() {
            None if ready => return not_running(Phase::Ready),
            None => return not_running(Phase::Started),
            Some(cur) => cur,
        };
        if cur.posted.is_some() || (!cur.fetched && cur.follows) {
            return not_running(Phase::ResponseSent);
        }
        if !cur.fetched {
            return not_running(Phase::Ready);
        }
        if *cur.delivery.request_id != *request_id {
            return Err(RefusedFor::UnknownRequestId);
        }
        cur.posted = Some((posted, Instant::now()));
        drop(s);
        self.changed.notify_waiters();
        Ok(())
    }

    // ---- platform side (called by the instance) ----

    /// The process ended: whatever phase it was in is over.
    pub(crate) fn mark_exited(&self) {
        self.lock().exited = true;
        self.changed.notify_waiters();
    }

    pub(crate) fn is_exited(&self) -> bool {
        self.lock().exited
    }

    /// Waits for the process's exit.
    pub(crate) async fn wait_exited(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().exited {
                return;
            }
            notified.await;
        }
    }

    /// Waits for the first ready (`Some(time)`), or the process's exit or an init error
    /// (`None`; [`Exchange::init_failure`] tells which).
    pub(crate) async fn wait_ready(&self) -> Option<Instant> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let s = self.lock();
                if s.ready.is_some() {
                    return s.ready;
                }
                if s.exited || s.init_error.is_some() {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The init error the runtime posted, if it did.
    pub(crate) fn init_failure(&self) -> Option<Bytes> {
        self.lock().init_error.clone()
    }

    /// Queues an event for `/next`.
    pub(crate) fn begin(&self, delivery: Delivery) {
        let mut s = self.lock();
        let follows = s.current.is_some();
        s.current = Some(Current {
            delivery,
            follows,
            fetched: false,
            posted: None,
        });
        drop(s);
        self.event_queued.notify_waiters();
    }

    /// Waits for the result of the current invocation or the process's exit.
    pub(crate) async fn wait_outcome(&self) -> WaitOutcome {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let s = self.lock();
                if let Some((posted, at)) = s.current.as_ref().and_then(|c| c.posted.clone()) {
                    return WaitOutcome::Posted(posted, at);
                }
                if s.exited {
                    return WaitOutcome::Exited;
                }
            }
            notified.await;
        }
    }

    /// Whether the runtime fetched the current event.
    pub(crate) fn fetched(&self) -> bool {
        self.lock().current.as_ref().is_some_and(|c| c.fetched)
    }

    /// Closes the current invocation without a result (the platform gave up on it): later
    /// posts are refused as `AlreadyFinal` and `/next` waits for the next event.
    pub(crate) fn finish(&self) {
        let mut s = self.lock();
        if let Some(cur) = s.current.as_mut() {
            if cur.posted.is_none() {
                cur.posted = Some((Posted::Error(Bytes::new()), Instant::now()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn delivery(id: &str, event: &'static [u8]) -> Delivery {
        Delivery {
            request_id: id.into(),
            event: Bytes::from_static(event),
            queued_at: SystemTime::now(),
            client_context: None,
        }
    }

    #[tokio::test]
    async fn first_ready_counts() {
        let ex = Exchange::default();
        assert!(ex.ready());
        assert!(!ex.ready());
        assert!(ex.wait_ready().await.is_some());
    }

    #[tokio::test]
    async fn next_long_polls_and_repeats() {
        let ex = Arc::new(Exchange::default());
        let ex2 = ex.clone();
        let waiter = tokio::spawn(async move { ex2.next().await });
        tokio::task::yield_now().await;
        ex.begin(delivery("a", b"{}"));
        let d = waiter.await.unwrap();
        assert_eq!(&*d.request_id, "a");
        // Asked twice within one invocation: the same event.
        assert_eq!(&*ex.next().await.request_id, "a");
        assert!(ex.fetched());
    }

    #[tokio::test]
    async fn first_post_is_final() {
        let ex = Exchange::default();
        assert_eq!(
            ex.post(Posted::Response(Bytes::new())).unwrap_err(),
            Refused::NoInvocation
        );
        ex.begin(delivery("a", b"{}"));
        // Not fetched yet: nothing to answer.
        assert_eq!(
            ex.post(Posted::Response(Bytes::new())).unwrap_err(),
            Refused::NoInvocation
        );
        ex.next().await;
        ex.post(Posted::Response(Bytes::from_static(b"1"))).unwrap();
        assert_eq!(
            ex.post(Posted::Error(Bytes::new())).unwrap_err(),
            Refused::AlreadyFinal
        );
        match ex.wait_outcome().await {
            WaitOutcome::Posted(Posted::Response(b), _) => assert_eq!(&b[..], b"1"),
            other => panic!("{other:?}"),
        }
        // A late post while the next event waits unfetched belongs to the previous one.
        ex.begin(delivery("b", b"{}"));
        assert_eq!(
            ex.post(Posted::Response(Bytes::new())).unwrap_err(),
            Refused::AlreadyFinal
        );
        assert_eq!(&*ex.next().await.request_id, "b");
        ex.post(Posted::Response(Bytes::from_static(b"2"))).unwrap();
    }

    #[tokio::test]
    async fn posts_naming_an_id() {
        let ex = Exchange::default();
        let post = |id| ex.post_for(id, Posted::Response(Bytes::new()));
        assert_eq!(post("a"), Err(RefusedFor::NotRunning(Phase::Started)));
        ex.ready();
        assert_eq!(post("a"), Err(RefusedFor::NotRunning(Phase::Ready)));
        ex.begin(delivery("a", b"{}"));
        assert_eq!(post("a"), Err(RefusedFor::NotRunning(Phase::Ready)));
        ex.next().await;
        assert_eq!(post("b"), Err(RefusedFor::UnknownRequestId));
        post("a").unwrap();
        // A second result for the same id, before and after the next event is queued.
        assert_eq!(post("a"), Err(RefusedFor::NotRunning(Phase::ResponseSent)));
        ex.begin(delivery("b", b"{}"));
        assert_eq!(post("a"), Err(RefusedFor::NotRunning(Phase::ResponseSent)));
        ex.next().await;
        assert_eq!(post("a"), Err(RefusedFor::UnknownRequestId));
        post("b").unwrap();
    }

    #[tokio::test]
    async fn init_error_ends_init() {
        let ex = Exchange::default();
        ex.init_error(Bytes::from_static(b"no config")).unwrap();
        assert_eq!(
            ex.init_error(Bytes::from_static(b"again")),
            Err(Phase::InitError)
        );
        assert!(ex.wait_ready().await.is_none());
        assert_eq!(&ex.init_failure().unwrap()[..], b"no config");
        // After a ready, an init error is refused.
        let ex = Exchange::default();
        ex.ready();
        assert_eq!(ex.init_error(Bytes::new()), Err(Phase::Ready));
        ex.begin(delivery("a", b"{}"));
        ex.next().await;
        assert_eq!(ex.init_error(Bytes::new()), Err(Phase::Running));
        assert!(ex.init_failure().is_none());
    }

    #[tokio::test]
    async fn exit_ends_waits() {
        let ex = Exchange::default();
        ex.mark_exited();
        assert!(ex.wait_ready().await.is_none());
        ex.begin(delivery("a", b"{}"));
        assert!(matches!(ex.wait_outcome().await, WaitOutcome::Exited));
    }
}
