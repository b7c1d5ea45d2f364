//! Two nodes on one Postgres: one node at a time owns a drop's fast path (its lease, a
//! session advisory lock). The other decides its requests in the store. When the owner is
//! killed with SIGKILL under load, the survivor takes the lease over within seconds and
//! sells on the fast path; nothing acknowledged is lost and nothing is oversold.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use livedrop::auth::JwtKeys;
use livedrop::db::models::drop as drop_model;
use livedrop::db::Store;
use livedrop::domain::ids::{DropId, HoldId};
use serde_json::{json, Value};

use crate::recovery::{published_drop, start, METRICS_TOKEN};
use crate::support::{fresh_pg_database, TEST_SECRET};

/// One figure from a node's `/metrics`.
async fn metric(http: &reqwest::Client, base: &str, name: &str) -> i64 {
    let text = http
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

/// Advisory locks granted in the database: the leases, whichever node holds them.
async fn advisory_locks(store: &Store) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut c = store.read().await.unwrap();
    let livedrop::db::DbConn::Postgres(c) = &mut c else {
        unreachable!("a Postgres store")
    };
    let r: N = diesel::sql_query(
        // This test's database only: other tests hold leases on theirs at the same time.
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .get_result(&mut **c)
    .await
    .unwrap();
    r.n
}

async fn hold(http: &reqwest::Client, base: &str, drop: &str, variant: &str, token: &str) -> Value {
    let r = http
        .post(format!("{base}/api/drops/{drop}/holds"))
        .bearer_auth(token)
        .json(&json!({"variant_id": variant, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn the_drop_lease_moves_to_the_survivor_when_its_owner_is_killed_on_postgres() {
    const STOCK: i64 = 1_000;
    const BUYERS: usize = 900;
    const CONCURRENCY: usize = 32;
    /// Buyers kept back for holds after the load.
    const SPARE: usize = 60;

    let url = fresh_pg_database().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = start(dir_a.path(), Some(&url));
    let mut b = start(dir_b.path(), Some(&url));
    let store = Store::connect(&url, 2).await.unwrap();
    let keys = JwtKeys::new(TEST_SECRET.as_bytes());
    let http = crate::recovery::http_client();

    let (drop, variant) = published_drop(
        &http,
        &a.url,
        &store,
        &keys,
        STOCK,
        json!({"per_buyer_limit": 1}),
    )
    .await;

    let mut buyers = crate::recovery::buyer_tokens(&store, &keys, BUYERS + 2).await;
    let mut spare = buyers.split_off(BUYERS - SPARE);
    let mut acked: Vec<String> = Vec::new();

    // A sells first and takes the lease; B, selling next, finds it taken and has the store
    // decide. One lock in the database.
    let first = hold(&http, &a.url, &drop, &variant, &buyers.pop().unwrap()).await;
    acked.push(first["id"].as_str().unwrap().into());
    assert_eq!(metric(&http, &a.url, "livedrop_drop_leases").await, 1);
    let slow_before = metric(&http, &b.url, "livedrop_hold_batches_slow_total").await;
    let second = hold(&http, &b.url, &drop, &variant, &buyers.pop().unwrap()).await;
    acked.push(second["id"].as_str().unwrap().into());
    assert_eq!(metric(&http, &b.url, "livedrop_drop_leases").await, 0);
    assert!(
        metric(&http, &b.url, "livedrop_hold_batches_slow_total").await > slow_before,
        "B, without the lease, had the store decide"
    );
    assert_eq!(advisory_locks(&store).await, 1);

    // Both nodes under load; A is killed after a third of it, and from then on every
    // request goes to B.
    let a_dead = Arc::new(AtomicBool::new(false));
    let (url_a, url_b) = (a.url.clone(), b.url.clone());
    let mut load = futures_util::stream::iter(buyers.into_iter().enumerate())
        .map(|(i, token)| {
            let to_a = i % 2 == 0 && !a_dead.load(Ordering::SeqCst);
            let base = if to_a { url_a.clone() } else { url_b.clone() };
            let (http, drop, variant) = (http.clone(), drop.clone(), variant.clone());
            async move {
                let r = http
                    .post(format!("{base}/api/drops/{drop}/holds"))
                    .bearer_auth(token)
                    .json(&json!({"variant_id": variant, "quantity": 1}))
                    .send()
                    .await;
                let answer = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        r.json::<Value>().await.map(|b| (status, b)).ok()
                    }
                    Err(_) => None,
                };
                (to_a, answer)
            }
        })
        .buffer_unordered(CONCURRENCY);
    let mut answered = 0;
    let mut killed_at: Option<Instant> = None;
    let mut took_over_in = None;
    let mut b_fast_before = 0;
    let mut lost_on_a = 0;
    while let Some((to_a, answer)) = load.next().await {
        answered += 1;
        match answer {
            Some((201, body)) => acked.push(body["id"].as_str().unwrap().into()),
            Some((status, body)) => panic!("unexpected answer {status}: {body}"),
            None => {
                assert!(to_a && killed_at.is_some(), "only the killed node may fail");
                lost_on_a += 1;
            }
        }
        match killed_at {
            None if answered == BUYERS / 3 => {
                b_fast_before = metric(&http, &b.url, "livedrop_hold_batches_total").await;
                a.child.kill().unwrap(); // SIGKILL
                a.child.wait().unwrap();
                a_dead.store(true, Ordering::SeqCst);
                killed_at = Some(Instant::now());
            }
            // B takes the lease over while it sells.
            Some(at)
                if took_over_in.is_none()
                    && metric(&http, &b.url, "livedrop_drop_leases").await == 1 =>
            {
                took_over_in = Some(at.elapsed());
            }
            _ => {}
        }
    }
    std::mem::drop(load);
    let killed_at = killed_at.expect("A was killed under load");
    // Should the load have ended first, B keeps selling (a hold at a time) until it has
    // taken the lease over, for at most 5 s.
    while took_over_in.is_none() && killed_at.elapsed() < Duration::from_secs(5) {
        let body = hold(&http, &b.url, &drop, &variant, &spare.pop().unwrap()).await;
        acked.push(body["id"].as_str().unwrap().into());
        if metric(&http, &b.url, "livedrop_drop_leases").await == 1 {
            took_over_in = Some(killed_at.elapsed());
        }
    }
    let took_over_in = took_over_in.expect("B took the lease over within 5 s of the kill");
    assert!(
        took_over_in < Duration::from_secs(5),
        "B took the lease over {took_over_in:?} after the kill"
    );
    // B sells on the fast path now.
    let body = hold(&http, &b.url, &drop, &variant, &spare.pop().unwrap()).await;
    acked.push(body["id"].as_str().unwrap().into());
    assert!(
        metric(&http, &b.url, "livedrop_hold_batches_total").await > b_fast_before,
        "B wrote batches on the fast path after the takeover"
    );
    assert_eq!(advisory_locks(&store).await, 1, "one lease, B's");

    // Against the store: every acknowledged hold is there and active, the counters add
    // up, the active holds are exactly `held`, and nothing is oversold.
    let drop_id = drop.parse::<DropId>().unwrap();
    let mut ids = acked.clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), acked.len(), "a hold id was acknowledged twice");
    for id in &acked {
        let h = drop_model::find_hold(&store, id.parse::<HoldId>().unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged hold {id} was lost"));
        assert_eq!(h.status, "active");
    }
    let v = &drop_model::variants(&store, drop_id).await.unwrap()[0];
    assert_eq!(v.remaining + v.held + v.sold, STOCK);
    let far = chrono::Utc::now().naive_utc() + chrono::Duration::days(30);
    let active = drop_model::due_holds(&store, Some(drop_id), far, 10 * BUYERS as i64)
        .await
        .unwrap();
    assert_eq!(active.len() as i64, v.held, "active holds != held");
    assert!(
        acked.len() as i64 <= v.held,
        "an acknowledged hold is missing"
    );
    assert!(
        v.held - acked.len() as i64 <= lost_on_a,
        "holds no one asked for: held {}, acknowledged {}, lost with A {lost_on_a}",
        v.held,
        acked.len()
    );
    let state: Value = http
        .get(format!("{}/api/drops/{drop}", b.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["variants"][0]["held"], v.held, "B's view: {state}");
    eprintln!(
        "lease: B took over {took_over_in:?} after the kill; {} acknowledged, {lost_on_a} lost with A, held {}",
        acked.len(),
        v.held
    );
    b.child.kill().unwrap();
    b.child.wait().unwrap();
}
