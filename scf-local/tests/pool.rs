//! The instance pool through the library, with the Rust `echo` bootstrap: many warm
//! invocations in a row and in parallel, the concurrency limit, idle reclaim, and nothing
//! leaked. One test function, so that the process-wide `TMPDIR` it sets is its own.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use scf_local::{FunctionConfig, Package, Pool, Status};

/// Processes whose parent is this test process and that still run.
fn our_children() -> Vec<u32> {
    children(std::process::id())
        .into_iter()
        .filter(|&pid| alive(pid))
        .collect()
}

fn assert_nothing_left(scratch: &Scratch) {
    let until = Instant::now() + Duration::from_secs(5);
    while !our_children().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        our_children().is_empty(),
        "instances left running: {:?}",
        our_children()
    );
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
}

async fn echo_many(pool: &Pool, from: usize, count: usize) {
    for i in from..from + count {
        let event = format!(r#"{{"i":{i},"key1":"test value 1"}}"#);
        let r = pool.invoke(Bytes::from(event.clone())).await;
        assert_eq!(r.status, Status::Success, "{}: {}", i, r.to_json());
        assert_eq!(r.ret_msg, format!("Echoing request: '{event}'"));
        assert!(r.err_msg.is_empty());
    }
}

#[test]
fn pool_under_load_reuses_instances_and_leaks_nothing() {
    let echo = echo_bootstrap();
    let scratch = Scratch::new();
    // Before any thread of this test binary creates a temporary file.
    std::env::set_var("TMPDIR", scratch.tmp());
    let zip = pack(&scratch, &echo, &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    rt.block_on(async {
        // 10 000 sequential invocations: one cold start, then the same warm instance.
        let package = Package::open(&zip).unwrap();
        let pool = Pool::new(FunctionConfig::default(), package).unwrap();
        echo_many(&pool, 0, 10_000).await;
        assert_eq!(pool.stats().live, 1);
        assert_eq!(pool.stats().idle, 1);
        pool.shutdown().await;
        assert_eq!(pool.stats().live, 0);
        drop(pool);
    });
    assert_nothing_left(&scratch);

    rt.block_on(async {
        // 1 000 invocations from 8 callers at once: at most 8 instances.
        let package = Package::open(&zip).unwrap();
        let config = FunctionConfig {
            max_instances: 8,
            ..FunctionConfig::default()
        };
        let pool = Pool::new(config, package).unwrap();
        let callers: Vec<_> = (0..8)
            .map(|c| {
                let pool = pool.clone();
                tokio::spawn(async move { echo_many(&pool, c * 125, 125).await })
            })
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        let stats = pool.stats();
        assert!(stats.live >= 1 && stats.live <= 8, "{stats:?}");
        assert_eq!(stats.idle, stats.live);
        pool.shutdown().await;
        assert_eq!(pool.stats().live, 0);
    });
    assert_nothing_left(&scratch);

    rt.block_on(async {
        // Beyond the concurrency limit: 432 at once, while the one instance is busy.
        let code = scratch.copy_fixture("sleepy");
        let config = FunctionConfig {
            max_instances: 1,
            timeout: Duration::from_secs(1),
            ..FunctionConfig::default()
        };
        let pool = Pool::new(config, Package::open(&code).unwrap()).unwrap();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.invoke(Bytes::from_static(b"{}")).await })
        };
        // Wait (bounded) until the first call holds the only instance.
        let until = Instant::now() + Duration::from_secs(60);
        while pool.stats().live == 0 {
            assert!(
                Instant::now() < until,
                "the first call never took an instance"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let refused = pool.invoke(Bytes::from_static(b"{}")).await;
        assert_eq!(refused.status, Status::ConcurrencyLimitReached);
        assert_eq!(refused.invoke_result(), 432);
        let timed_out = busy.await.unwrap();
        assert_eq!(timed_out.status, Status::TimeLimitReached);
        // The timed-out instance was recycled.
        assert_eq!(pool.stats().live, 0);
        pool.shutdown().await;
    });
    assert_nothing_left(&scratch);

    rt.block_on(async {
        // Idle instances are reclaimed; the next call starts cold again.
        let package = Package::open(&zip).unwrap();
        let config = FunctionConfig {
            idle_timeout: Duration::from_millis(100),
            ..FunctionConfig::default()
        };
        let pool = Pool::new(config, package).unwrap();
        let r = pool.invoke(Bytes::from_static(b"{}")).await;
        assert!(r.log.contains("Init Report"));
        let r = pool.invoke(Bytes::from_static(b"{}")).await;
        assert!(!r.log.contains("Init Report"));
        let until = Instant::now() + Duration::from_secs(10);
        while pool.stats().live > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(pool.stats().live, 0, "the idle instance was not reclaimed");
        let r = pool.invoke(Bytes::from_static(b"{}")).await;
        assert!(r.succeeded());
        assert!(r.log.contains("Init Report"), "no cold start after reclaim");
        // Dropping the pool without shutdown still stops its instances.
        drop(pool);
    });
    drop(rt);
    assert_nothing_left(&scratch);

    // An event over 6 MB is refused before any instance starts (406).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = Pool::new(FunctionConfig::default(), Package::open(&zip).unwrap()).unwrap();
        let big = Bytes::from(vec![b' '; 6 * 1024 * 1024 + 1]);
        let r = pool.invoke(big).await;
        assert_eq!(r.status, Status::RequestTooLarge);
        assert_eq!(pool.stats().live, 0);
    });
    drop(rt);
    assert_nothing_left(&scratch);
}
