//! Memory stays bounded under a flood of the most expensive requests: every sign-in runs
//! argon2id (~19 MiB each), so 50 clients hammering it must not take the node's memory with
//! them, and a real sign-in right after the flood is answered promptly. Against the real
//! binary, with rate limits off (the worst case: with them on, most of the flood is refused
//! before any hashing).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::recovery::start;

/// The bound the README states for a node's memory under any request mix.
const RSS_BOUND_KIB: u64 = 512 * 1024;

/// Peak resident memory of a process so far (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

#[actix_web::test]
async fn a_flood_of_sign_ins_leaves_memory_bounded_and_a_real_sign_in_answered() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), None);
    let http = reqwest::Client::new();
    let password = "the right passphrase";
    let r = http
        .post(format!("{}/api/auth/register", node.url))
        .json(&json!({"email": "flood@example.com", "password": password, "role": "buyer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // 50 clients, each sending wrong passwords (and bogus reset tokens) back to back.
    let deadline = Instant::now() + Duration::from_secs(5);
    let clients = (0..50).map(|i| {
        let (http, url) = (reqwest::Client::new(), node.url.clone());
        async move {
            let mut answered = 0u32;
            while Instant::now() < deadline {
                let r = if i % 5 == 0 {
                    http.post(format!("{url}/api/auth/password/reset"))
                        .json(&json!({"token": "nope", "password": "0123456789"}))
                        .send()
                        .await
                } else {
                    http.post(format!("{url}/api/auth/login"))
                        .json(&json!({"email": "flood@example.com", "password": "wrong guess"}))
                        .send()
                        .await
                };
                let status = r.unwrap().status().as_u16();
                assert!(matches!(status, 400 | 401), "flood answered {status}");
                answered += 1;
            }
            answered
        }
    });
    let answered: u32 = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .sum();
    assert!(answered > 50, "the flood ran ({answered} answers)");
    let peak = peak_rss_kib(node.child.id());
    assert!(
        peak < RSS_BOUND_KIB,
        "peak RSS {} MiB is over the {} MiB bound",
        peak / 1024,
        RSS_BOUND_KIB / 1024
    );

    // A real sign-in right after: answered, and within 3 s.
    let started = Instant::now();
    let r = http
        .post(format!("{}/api/auth/login", node.url))
        .json(&json!({"email": "flood@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the real sign-in took {:?}",
        started.elapsed()
    );
    eprintln!(
        "flood: {answered} answers in 5 s, peak RSS {} MiB, real sign-in after it in {:?}",
        peak / 1024,
        started.elapsed()
    );
}
