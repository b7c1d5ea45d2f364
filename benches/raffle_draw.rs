//! The raffle draw and its proof (`livedrop-raffle-v1`, docs/raffle-proof.md) over 10^4,
//! 10^5 and 10^6 entrants: canonical sort, digest, draw, whole proof (sort, validate,
//! digest, draw), proof JSON and its size, and verification from that JSON (parse, check,
//! recompute). The goal
//! is a draw with its proof over 1,000,000 entrants within 1 s.
//!
//! In the same run, the peer mechanism: the naive draw that expands every ticket into a
//! list of entrant indices and picks from it with `rand` (`choose`), removing each picked
//! entrant's tickets before the next pick; it makes the same number of picks and is
//! compared with livedrop's draw alone (Fenwick tree over the ticket counts).
//!
//! Run: `cargo bench --bench raffle_draw`. `BENCH_REPS` repetitions per measurement
//! (default 3; the median is reported).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use livedrop::raffle::proof::{self, Entry, Prize};
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// Entrant counts measured.
const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
/// Tickets per entrant are drawn from 1..=MAX_TICKETS: a spread like that of paid entries
/// where a few big buyers hold many times a casual buyer's tickets.
const MAX_TICKETS: u64 = 50;
/// The picks: a grand prize, nine more winners and 50 alternates (a gated drop of ten
/// units with a deep waiting list).
const ALTERNATES: u32 = 50;

fn prizes() -> Vec<Prize> {
    vec![
        Prize {
            rank_from: 1,
            rank_to: 1,
            description: "Grand prize".to_string(),
        },
        Prize {
            rank_from: 2,
            rank_to: 10,
            description: "One unit of the drop".to_string(),
        },
    ]
}

/// `n` entrants with pseudonyms like the server's (`e-` and 16 hex digits) and 1 to 50
/// tickets each, in no particular order, from a fixed generator.
fn entries(n: usize) -> Vec<Entry> {
    let mut gen = ChaCha20Rng::seed_from_u64(n as u64);
    (0..n)
        .map(|_| Entry {
            entrant: format!("e-{:016x}", gen.next_u64()),
            tickets: 1 + gen.next_u64() % MAX_TICKETS,
        })
        .collect()
}

/// The naive draw: one slot per ticket, holding its entrant's index; each pick is a
/// uniform slot (`choose`), and the picked entrant's slots are removed before the next.
fn naive_draw(entries: &[Entry], picks: usize, rng: &mut ChaCha20Rng) -> Vec<usize> {
    let mut slots: Vec<u32> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        slots.extend(std::iter::repeat_n(i as u32, e.tickets as usize));
    }
    let mut out = Vec::with_capacity(picks);
    while out.len() < picks {
        let Some(&i) = slots.choose(rng) else { break };
        slots.retain(|&s| s != i);
        out.push(i as usize);
    }
    out
}

/// The median of `reps` runs of `f`, and the last run's result.
fn median<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        let out = black_box(f());
        times.push(t.elapsed());
        last = Some(out);
    }
    times.sort();
    (times[times.len() / 2], last.unwrap())
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

fn main() {
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3);
    // A fixed seed, so every run draws the same picks.
    let seed: [u8; 32] = Sha256::digest(b"livedrop raffle_draw bench").into();
    let picks = proof::winners_wanted(&prizes()) as usize + ALTERNATES as usize;

    println!("raffle draw, {picks} picks (10 winners, {ALTERNATES} alternates), median of {reps}");
    println!();
    println!(
        "| entrants | tickets | sort ms | digest ms | draw ms | proof ms (sort+check+digest+draw) | JSON ms | JSON MB | verify_json ms | naive draw ms | naive / draw |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let unsorted = entries(n);
        let mut sorted = unsorted.clone();
        proof::sort_entries(&mut sorted);
        let tickets: u64 = sorted.iter().map(|e| e.tickets).sum();

        let mut to_sort: Vec<Vec<Entry>> = (0..reps).map(|_| unsorted.clone()).collect();
        let (t_sort, _) = median(reps, || {
            let mut e = to_sort.pop().unwrap();
            proof::sort_entries(&mut e);
            e
        });
        let (t_digest, digest_hex) = median(reps, || proof::entries_digest(&sorted));
        let digest: [u8; 32] = hex::decode(&digest_hex).unwrap().try_into().unwrap();
        let (t_draw, drawn) = median(reps, || proof::draw(&seed, &digest, &sorted, picks));
        assert_eq!(drawn.len(), picks);

        // The whole proof from the entries as the store hands them over (unsorted); the
        // clone of the input is taken outside the timing.
        let mut inputs: Vec<Vec<Entry>> = (0..reps).map(|_| unsorted.clone()).collect();
        let (t_proof, p) = median(reps, || {
            proof::build_proof(
                "bench",
                "Bench raffle",
                &seed,
                prizes(),
                ALTERNATES,
                inputs.pop().unwrap(),
                "2025-01-01T00:00:00+00:00",
            )
            .unwrap()
        });
        assert_eq!(p.entries_digest, digest_hex);

        let (t_json, json) = median(reps, || serde_json::to_vec(&p).unwrap());
        let (t_verify, summary) = median(reps, || proof::verify_json(&json));
        let summary = summary.unwrap();
        assert_eq!((summary.entries, summary.tickets), (n, tickets));

        let (t_naive, naive) = median(reps, || {
            let mut rng = ChaCha20Rng::from_seed(seed);
            naive_draw(&sorted, picks, &mut rng)
        });
        assert_eq!(naive.len(), picks);

        println!(
            "| {n} | {tickets} | {} | {} | {} | {} | {} | {:.1} | {} | {} | {:.0}× |",
            ms(t_sort),
            ms(t_digest),
            ms(t_draw),
            ms(t_proof),
            ms(t_json),
            json.len() as f64 / 1e6,
            ms(t_verify),
            ms(t_naive),
            t_naive.as_secs_f64() / t_draw.as_secs_f64(),
        );
    }
}
