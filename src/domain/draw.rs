//! The raffle draw and its proof: algorithm `livedrop-raffle-v1` (docs/raffle-proof.md).
//!
//! A raffle is drawn by *commit-reveal*, so that anyone can check afterwards that the
//! draw was neither chosen nor redone by the operator:
//!
//! 1. **Commit.** When the raffle is created the server draws a secret 32-byte seed and
//!    publishes only its [`commitment`], SHA-256(seed). The seed is fixed from then on.
//! 2. **Freeze.** When entry closes, the entry list (one [`Entry`] per entrant: a
//!    per-raffle pseudonym and a ticket count) is put in canonical order
//!    ([`sort_entries`]), serialised byte-exactly ([`canonical_bytes`]) and digested
//!    ([`entries_digest`]).
//! 3. **Reveal and draw.** The draw reveals the seed. The [`draw_key`] is
//!    SHA-256(seed ‖ digest); it keys a ChaCha20 stream from which [`draw`] makes a
//!    weighted selection without replacement: each pick takes an entrant with probability
//!    proportional to its tickets among those not yet picked. The first picks are the
//!    winners (ranks 1, 2, … and their [`Prize`]s), the next ones the alternates.
//! 4. **Check.** The [`Proof`] states all of the above. [`verify`] (and [`verify_json`],
//!    behind `livedrop raffle verify`) recomputes the commitment, the digest and the
//!    draw from the seed and the entries and lists every statement that does not match.
//!
//! The result is a pure function of the seed, committed before anyone entered, and the
//! frozen entries; the seed was secret until the list was frozen. This module is pure:
//! no I/O, no clock, no global randomness.

use std::cmp::Ordering;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The name of this algorithm, stated in every proof.
pub const ALGORITHM: &str = "livedrop-raffle-v1";

/// The longest pseudonym, in bytes (pseudonyms are ASCII).
pub const MAX_ENTRANT_LEN: usize = 64;

/// At most this many problems of one kind (entries, winners, alternates) are listed by
/// [`verify`]; the rest are counted in one closing sentence.
const MAX_LISTED: usize = 50;

/// One entrant of a raffle and its tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The entrant's pseudonym in this raffle: 1 to 64 characters of `[0-9a-z_-]`.
    pub entrant: String,
    /// At least 1.
    pub tickets: u64,
}

/// A prize for the ranks `rank_from..=rank_to` (1-based, inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prize {
    pub rank_from: u32,
    pub rank_to: u32,
    pub description: String,
}

/// A winner: the pick with this rank (rank 1 is the first pick).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Winner {
    pub rank: u32,
    pub entrant: String,
    pub tickets: u64,
    /// The description of the prize whose ranks contain `rank`.
    pub prize: String,
}

/// An alternate: the picks after the winners, in order (position 1 is the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternate {
    pub position: u32,
    pub entrant: String,
    pub tickets: u64,
}

/// The proof document of a drawn raffle. Unknown fields are ignored when read, so later
/// versions may add informational fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    pub raffle_id: String,
    pub title: String,
    /// Lowercase hex SHA-256 of the seed, published before the raffle opened.
    pub commitment: String,
    /// Lowercase hex, 32 bytes.
    pub seed: String,
    /// Lowercase hex SHA-256 of the canonical serialisation of `entries`.
    pub entries_digest: String,
    pub prizes: Vec<Prize>,
    pub alternates_wanted: u32,
    /// In canonical order.
    pub entries: Vec<Entry>,
    pub winners: Vec<Winner>,
    pub alternates: Vec<Alternate>,
    /// When the draw ran (RFC 3339); informational.
    pub drawn_at: String,
}

/// What a successful verification covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedSummary {
    pub entries: usize,
    pub tickets: u64,
    pub winners: usize,
    pub alternates: usize,
}

/// Why [`verify_json`] did not verify a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not JSON, or cut short.
    #[error("the proof is not valid JSON: {0}")]
    Malformed(String),
    /// Valid JSON, but not shaped like a proof (a missing field, a wrong type).
    #[error("the proof is not a livedrop raffle proof: {0}")]
    NotAProof(String),
    /// A readable proof whose statements do not all match the recomputation.
    #[error("the proof does not verify: {}", .0.join("; "))]
    Mismatch(Vec<String>),
}

impl VerifyError {
    /// The exit status of `livedrop raffle verify`: 1 for a mismatch, 2 for a proof that
    /// cannot be read.
    pub fn exit_code(&self) -> i32 {
        match self {
            VerifyError::Mismatch(_) => 1,
            VerifyError::Malformed(_) | VerifyError::NotAProof(_) => 2,
        }
    }
}

/// Lowercase hex SHA-256 of the seed: what is published before the raffle opens.
pub fn commitment(seed: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(seed))
}

/// Whether `s` is a well-formed pseudonym: 1 to 64 characters of `[0-9a-z_-]`.
pub fn is_valid_entrant(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ENTRANT_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-' || b == b'_')
}

/// Put entries in canonical order: by entrant, ascending by bytes.
pub fn sort_entries(entries: &mut [Entry]) {
    // Unstable is enough: pseudonyms are unique (a duplicate is refused right after).
    entries.sort_unstable_by(|a, b| a.entrant.as_bytes().cmp(b.entrant.as_bytes()));
}

/// The canonical serialisation of entries, in the order given (which should be the
/// canonical one): per entry `entrant`, `:`, tickets in decimal without leading zeros,
/// `\n`. No entries, no bytes.
pub fn canonical_bytes(entries: &[Entry]) -> Vec<u8> {
    let len = entries.iter().map(|e| e.entrant.len() + 8).sum();
    let mut out = Vec::with_capacity(len);
    for e in entries {
        push_line(&mut out, e);
    }
    out
}

/// Lowercase hex SHA-256 of [`canonical_bytes`] (computed without building them whole).
pub fn entries_digest(entries: &[Entry]) -> String {
    hex::encode(digest_of(entries))
}

/// The number of winners the prizes call for: the highest `rank_to` (0 without prizes).
pub fn winners_wanted(prizes: &[Prize]) -> u32 {
    prizes.iter().map(|p| p.rank_to).max().unwrap_or(0)
}

/// Check that the prizes cover ranks `1..=W` exactly once each, in contiguous ranges
/// with `rank_from <= rank_to` (in any order in the list). No prizes is accepted (W = 0).
pub fn check_prizes(prizes: &[Prize]) -> Result<(), String> {
    let mut sorted: Vec<&Prize> = prizes.iter().collect();
    sorted.sort_by_key(|p| (p.rank_from, p.rank_to));
    let mut next: u64 = 1;
    for p in sorted {
        let name = quote(&p.description);
        if p.rank_from == 0 {
            return Err(format!("prize {name} starts at rank 0; ranks start at 1"));
        }
        if p.rank_from > p.rank_to {
            return Err(format!(
                "prize {name} has rank_from {} after rank_to {}",
                p.rank_from, p.rank_to
            ));
        }
        match u64::from(p.rank_from).cmp(&next) {
            Ordering::Less => {
                return Err(format!(
                    "prize {name} (ranks {} to {}) overlaps another prize",
                    p.rank_from, p.rank_to
                ))
            }
            Ordering::Greater => return Err(format!("no prize covers rank {next}")),
            Ordering::Equal => {}
        }
        next = u64::from(p.rank_to) + 1;
    }
    Ok(())
}

/// The key of the draw's ChaCha20 stream: SHA-256(seed ‖ digest), 64 bytes in.
pub fn draw_key(seed: &[u8; 32], digest: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(digest);
    h.finalize().into()
}

/// Weighted selection without replacement of up to `picks` entries (fewer when there are
/// fewer entries); returns their indices into `entries`, in pick order.
///
/// `entries` must be in canonical order and `digest` the raw SHA-256 of their canonical
/// serialisation. The stream is ChaCha20 keyed with [`draw_key`] (zero nonce, block
/// counter from 0) read as little-endian u64s. Each pick draws `r = uniform(T)` where `T`
/// is the number of tickets not yet picked, and takes the first not-yet-picked entry at
/// which the running sum of not-yet-picked tickets exceeds `r`.
///
/// Entries with 0 tickets are never picked (validation rejects them anyway). If the total
/// number of tickets does not fit in a u64 the draw is undefined and nothing is picked.
pub fn draw(seed: &[u8; 32], digest: &[u8; 32], entries: &[Entry], picks: usize) -> Vec<usize> {
    let Some(mut remaining) = total_tickets(entries) else {
        return Vec::new();
    };
    let wanted = picks.min(entries.len());
    let mut out = Vec::with_capacity(wanted);
    if wanted == 0 {
        return out;
    }
    let mut rng = ChaCha20Rng::from_seed(draw_key(seed, digest));
    let mut tree = Fenwick::new(entries);
    while out.len() < wanted && remaining > 0 {
        let r = uniform(&mut rng, remaining);
        let i = tree.first_above(r);
        let Some(e) = entries.get(i) else { break };
        tree.subtract(i, e.tickets);
        remaining -= e.tickets;
        out.push(i);
    }
    out
}

/// Sort and validate the entries, digest them, draw, and state it all in a proof.
///
/// `entries` may come in any order. Fails, with a sentence, on invalid prizes, an invalid
/// pseudonym, a duplicate entrant, an entry with 0 tickets, or more than `u64::MAX`
/// tickets in all.
pub fn build_proof(
    raffle_id: &str,
    title: &str,
    seed: &[u8; 32],
    prizes: Vec<Prize>,
    alternates_wanted: u32,
    mut entries: Vec<Entry>,
    drawn_at: &str,
) -> Result<Proof, String> {
    check_prizes(&prizes).map_err(|e| format!("prizes: {e}"))?;
    sort_entries(&mut entries);
    let check = check_entries(&entries, 1);
    if let Some(problem) = check.problems.into_iter().next() {
        return Err(problem);
    }
    let digest = digest_of(&entries);
    let picks = draw(
        seed,
        &digest,
        &entries,
        picks_wanted(&prizes, alternates_wanted),
    );
    let (winners, alternates) = assign(&prizes, alternates_wanted, &entries, &picks);
    Ok(Proof {
        algorithm: ALGORITHM.to_string(),
        raffle_id: raffle_id.to_string(),
        title: title.to_string(),
        commitment: commitment(seed),
        seed: hex::encode(seed),
        entries_digest: hex::encode(digest),
        prizes,
        alternates_wanted,
        entries,
        winners,
        alternates,
        drawn_at: drawn_at.to_string(),
    })
}

/// Recompute a proof from its seed and entries and compare every statement: the
/// algorithm, the seed's form, the commitment, the entries (form, canonical order, no
/// duplicates, no 0 tickets), the digest, the prizes, and the winners and alternates
/// (count, order, rank or position, entrant, tickets, prize). Returns every mismatch as a
/// sentence naming the field; entry indices count from 0, as in the JSON array.
///
/// `raffle_id`, `title` and `drawn_at` are informational and not checked.
pub fn verify(proof: &Proof) -> Result<VerifiedSummary, Vec<String>> {
    if proof.algorithm != ALGORITHM {
        return Err(vec![format!(
            "algorithm {} is not supported (this verifier knows {ALGORITHM})",
            quote(&proof.algorithm)
        )]);
    }
    let mut problems = Vec::new();

    let seed = parse_hex32(&proof.seed);
    match &seed {
        None => problems.push("seed is not 64 lowercase hex digits (32 bytes)".to_string()),
        Some(seed) => {
            if !is_hex32(&proof.commitment) {
                problems.push("commitment is not 64 lowercase hex digits".to_string());
            } else if proof.commitment != commitment(seed) {
                problems.push("commitment does not match SHA-256(seed)".to_string());
            }
        }
    }

    let check = check_entries(&proof.entries, MAX_LISTED);
    let entries_ok = check.problems.is_empty();
    problems.extend(check.problems);
    let digest = digest_of(&proof.entries);
    if !is_hex32(&proof.entries_digest) {
        problems.push("entries_digest is not 64 lowercase hex digits".to_string());
    } else if proof.entries_digest != hex::encode(digest) {
        problems.push("entries_digest does not match the entries".to_string());
    }

    let prizes_ok = match check_prizes(&proof.prizes) {
        Ok(()) => true,
        Err(e) => {
            problems.push(format!("prizes: {e}"));
            false
        }
    };

    match (&seed, entries_ok, prizes_ok) {
        (Some(seed), true, true) => {
            let picks = draw(
                seed,
                &digest,
                &proof.entries,
                picks_wanted(&proof.prizes, proof.alternates_wanted),
            );
            let (winners, alternates) = assign(
                &proof.prizes,
                proof.alternates_wanted,
                &proof.entries,
                &picks,
            );
            compare_winners(&winners, &proof.winners, &mut problems);
            compare_alternates(&alternates, &proof.alternates, &mut problems);
        }
        _ => problems.push(
            "winners and alternates were not checked: the draw cannot be recomputed until \
             the problems above are fixed"
                .to_string(),
        ),
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(VerifiedSummary {
        entries: proof.entries.len(),
        tickets: check.total.unwrap_or(0),
        winners: proof.winners.len(),
        alternates: proof.alternates.len(),
    })
}

/// Read a proof from JSON, without verifying it.
pub fn parse_proof(bytes: &[u8]) -> Result<Proof, VerifyError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => VerifyError::NotAProof(e.to_string()),
        _ => VerifyError::Malformed(e.to_string()),
    })
}

/// Read a proof from JSON and [`verify`] it. Never panics, whatever the bytes.
pub fn verify_json(bytes: &[u8]) -> Result<VerifiedSummary, VerifyError> {
    let proof = parse_proof(bytes)?;
    verify(&proof).map_err(VerifyError::Mismatch)
}

// ---------------------------------------------------------------------------------------
// Internals.

/// Append one canonical line: `entrant:tickets\n`.
fn push_line(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(e.entrant.as_bytes());
    out.push(b':');
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = e.tickets;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.push(b'\n');
}

/// SHA-256 of the canonical serialisation, fed to the hasher in 64 KiB chunks.
fn digest_of(entries: &[Entry]) -> [u8; 32] {
    const CHUNK: usize = 64 * 1024;
    let mut hasher = Sha256::new();
    let mut buf = Vec::with_capacity(CHUNK + 128);
    for e in entries {
        push_line(&mut buf, e);
        if buf.len() >= CHUNK {
            hasher.update(&buf);
            buf.clear();
        }
    }
    hasher.update(&buf);
    hasher.finalize().into()
}

fn total_tickets(entries: &[Entry]) -> Option<u64> {
    entries
        .iter()
        .try_fold(0u64, |sum, e| sum.checked_add(e.tickets))
}

/// How many picks the prizes and alternates call for.
fn picks_wanted(prizes: &[Prize], alternates_wanted: u32) -> usize {
    let n = u64::from(winners_wanted(prizes)) + u64::from(alternates_wanted);
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A uniform integer in `0..n` from the stream, by rejection: values at or above the
/// largest multiple of `n` that fits in 2^64 are drawn again. One u64 is read per attempt,
/// also when `n` is 1. `n` must be at least 1 (0 gives 0 without reading).
fn uniform<R: RngCore>(rng: &mut R, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // 2^64 mod n, computed in u64: ((2^64 - 1) mod n + 1) mod n.
    let excess = (u64::MAX % n + 1) % n;
    loop {
        let x = rng.next_u64();
        // Accepted when x < 2^64 - excess; every value is when n divides 2^64.
        if excess == 0 || x < excess.wrapping_neg() {
            return x % n;
        }
    }
}

/// A Fenwick (binary indexed) tree over the ticket counts: prefix sums, point updates
/// and "first index whose prefix sum exceeds r" in O(log n).
struct Fenwick {
    /// 1-based; `tree[0]` is unused. Every node is a sum of some tickets, so none
    /// overflows when the total fits in a u64.
    tree: Vec<u64>,
}

impl Fenwick {
    fn new(entries: &[Entry]) -> Self {
        let n = entries.len();
        let mut tree = Vec::with_capacity(n + 1);
        tree.push(0);
        tree.extend(entries.iter().map(|e| e.tickets));
        for i in 1..=n {
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                tree[parent] += tree[i];
            }
        }
        Fenwick { tree }
    }

    fn len(&self) -> usize {
        self.tree.len() - 1
    }

    /// Take `w` from the weight of entry `index` (0-based).
    fn subtract(&mut self, index: usize, w: u64) {
        let mut i = index + 1;
        while i < self.tree.len() {
            self.tree[i] -= w;
            i += i & i.wrapping_neg();
        }
    }

    /// The smallest 0-based index whose prefix sum (inclusive) exceeds `r`; the length
    /// when no prefix does.
    fn first_above(&self, mut r: u64) -> usize {
        let n = self.len();
        if n == 0 {
            return 0;
        }
        // Descend: `pos` is the largest 1-based position with prefix sum <= r so far.
        let mut pos = 0;
        let mut step = 1usize << n.ilog2();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= r {
                pos = next;
                r -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }
}

/// Winners and alternates from the picks, winners first.
fn assign(
    prizes: &[Prize],
    alternates_wanted: u32,
    entries: &[Entry],
    picks: &[usize],
) -> (Vec<Winner>, Vec<Alternate>) {
    let w = usize::try_from(winners_wanted(prizes)).unwrap_or(usize::MAX);
    let a = usize::try_from(alternates_wanted).unwrap_or(usize::MAX);
    let picked = |k: usize| picks.get(k).and_then(|&i| entries.get(i));
    let winners = (0..w.min(picks.len()))
        .zip(1u32..)
        .filter_map(|(k, rank)| {
            picked(k).map(|e| Winner {
                rank,
                entrant: e.entrant.clone(),
                tickets: e.tickets,
                prize: prize_for(prizes, rank).to_string(),
            })
        })
        .collect();
    let alternates = (w..w.saturating_add(a).min(picks.len()))
        .zip(1u32..)
        .filter_map(|(k, position)| {
            picked(k).map(|e| Alternate {
                position,
                entrant: e.entrant.clone(),
                tickets: e.tickets,
            })
        })
        .collect();
    (winners, alternates)
}

fn prize_for(prizes: &[Prize], rank: u32) -> &str {
    prizes
        .iter()
        .find(|p| p.rank_from <= rank && rank <= p.rank_to)
        .map_or("", |p| p.description.as_str())
}

/// The problems of an entry list, at most `limit` listed, and its ticket total.
struct EntryCheck {
    problems: Vec<String>,
    total: Option<u64>,
}

fn check_entries(entries: &[Entry], limit: usize) -> EntryCheck {
    let mut listed = Listed::new(limit);
    let mut total = Some(0u64);
    for (i, e) in entries.iter().enumerate() {
        if !is_valid_entrant(&e.entrant) {
            listed.add(|| {
                format!(
                    "entries[{i}] has an invalid entrant {}: pseudonyms are 1 to \
                     {MAX_ENTRANT_LEN} characters of 0-9, a-z, '-' and '_'",
                    quote(&e.entrant)
                )
            });
        }
        if e.tickets == 0 {
            listed.add(|| format!("entries[{i}] ({}) has 0 tickets", name(&e.entrant)));
        }
        total = total.and_then(|t| t.checked_add(e.tickets));
        if let Some(prev) = i.checked_sub(1).and_then(|p| entries.get(p)) {
            match prev.entrant.as_bytes().cmp(e.entrant.as_bytes()) {
                Ordering::Less => {}
                Ordering::Equal => {
                    listed.add(|| format!("duplicate entrant at index {i} ({})", name(&e.entrant)))
                }
                Ordering::Greater => listed.add(|| {
                    format!(
                        "entries are not in canonical order at index {i} ({} sorts before {})",
                        name(&e.entrant),
                        name(&prev.entrant)
                    )
                }),
            }
        }
    }
    let mut problems = listed.finish("entries");
    if total.is_none() {
        problems.push(format!(
            "entries hold more than {} tickets in all",
            u64::MAX
        ));
    }
    EntryCheck { problems, total }
}

fn compare_winners(expected: &[Winner], stated: &[Winner], problems: &mut Vec<String>) {
    if expected.len() != stated.len() {
        problems.push(format!(
            "winners: expected {}, proof has {}",
            expected.len(),
            stated.len()
        ));
    }
    let mut listed = Listed::new(MAX_LISTED);
    for (n, (e, s)) in (1usize..).zip(expected.iter().zip(stated)) {
        if s.rank != e.rank {
            listed.add(|| format!("winner {n} has rank {} but should have {}", s.rank, e.rank));
        }
        if s.entrant != e.entrant {
            listed.add(|| {
                format!(
                    "winner {n} is {} but the draw gives {}",
                    name(&s.entrant),
                    name(&e.entrant)
                )
            });
        } else if s.tickets != e.tickets {
            listed.add(|| {
                format!(
                    "winner {n} ({}) is stated with {} tickets but has {} in the entries",
                    name(&e.entrant),
                    s.tickets,
                    e.tickets
                )
            });
        }
        if s.prize != e.prize {
            listed.add(|| {
                format!(
                    "winner {n} is given the prize {} but rank {} wins {}",
                    quote(&s.prize),
                    e.rank,
                    quote(&e.prize)
                )
            });
        }
    }
    problems.extend(listed.finish("winners"));
}

fn compare_alternates(expected: &[Alternate], stated: &[Alternate], problems: &mut Vec<String>) {
    if expected.len() != stated.len() {
        problems.push(format!(
            "alternates: expected {}, proof has {}",
            expected.len(),
            stated.len()
        ));
    }
    let mut listed = Listed::new(MAX_LISTED);
    for (n, (e, s)) in (1usize..).zip(expected.iter().zip(stated)) {
        if s.position != e.position {
            listed.add(|| {
                format!(
                    "alternate {n} has position {} but should have {}",
                    s.position, e.position
                )
            });
        }
        if s.entrant != e.entrant {
            listed.add(|| {
                format!(
                    "alternate {n} is {} but the draw gives {}",
                    name(&s.entrant),
                    name(&e.entrant)
                )
            });
        } else if s.tickets != e.tickets {
            listed.add(|| {
                format!(
                    "alternate {n} ({}) is stated with {} tickets but has {} in the entries",
                    name(&e.entrant),
                    s.tickets,
                    e.tickets
                )
            });
        }
    }
    problems.extend(listed.finish("alternates"));
}

/// Problem sentences, at most `limit` of them; the rest only counted.
struct Listed {
    limit: usize,
    list: Vec<String>,
    more: usize,
}

impl Listed {
    fn new(limit: usize) -> Self {
        Listed {
            limit,
            list: Vec::new(),
            more: 0,
        }
    }

    fn add(&mut self, sentence: impl FnOnce() -> String) {
        if self.list.len() < self.limit {
            self.list.push(sentence());
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self, what: &str) -> Vec<String> {
        if self.more > 0 {
            self.list
                .push(format!("{what}: {} more problems not listed", self.more));
        }
        self.list
    }
}

/// A pseudonym as it reads in a sentence: bare when well-formed, else quoted.
fn name(s: &str) -> String {
    if is_valid_entrant(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// Any text from a proof, quoted and escaped, cut at 80 characters.
fn quote(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

fn is_hex32(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if !is_hex32(s) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector of docs/raffle-proof.md.
    fn vector_seed() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    fn vector_entries() -> Vec<Entry> {
        [
            ("e-0003", 3),
            ("e-0005", 10),
            ("e-0001", 1),
            ("e-0004", 4),
            ("e-0002", 2),
        ]
        .into_iter()
        .map(|(e, t)| Entry {
            entrant: e.to_string(),
            tickets: t,
        })
        .collect()
    }

    fn vector_prizes() -> Vec<Prize> {
        vec![
            Prize {
                rank_from: 1,
                rank_to: 1,
                description: "Grand prize".to_string(),
            },
            Prize {
                rank_from: 2,
                rank_to: 2,
                description: "Runner-up".to_string(),
            },
        ]
    }

    fn vector_proof() -> Proof {
        build_proof(
            "0190f5a0-7c1e-7a3b-9d2e-4f5a6b7c8d9e",
            "Test vector",
            &vector_seed(),
            vector_prizes(),
            2,
            vector_entries(),
            "2025-01-01T00:00:00+00:00",
        )
        .unwrap()
    }

    // The values below were printed by this code and are reproduced independently by
    // docs/raffle_proof_reference.py; docs/raffle-proof.md states them as its test vector.
    const VECTOR_COMMITMENT: &str =
        "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd";
    const VECTOR_CANONICAL: &str = "e-0001:1\ne-0002:2\ne-0003:3\ne-0004:4\ne-0005:10\n";
    const VECTOR_DIGEST: &str = "7c7b8fd114446dbf9b3ee32fba03483ae34335034da6ebfe8f78dab7a7aff6c0";
    const VECTOR_KEY: &str = "5ea50dd923efbaf7e84a207a4f7766dd32bac6dcdc995fc7620045ef45796268";
    const VECTOR_U64S: [u64; 6] = [
        12408601620328265437,
        1509505858462035249,
        11984061767888636775,
        5310785779300879250,
        13998912598382099427,
        1865962521324620303,
    ];

    #[test]
    fn the_documented_test_vector_is_reproduced() {
        let p = vector_proof();
        assert_eq!(p.commitment, VECTOR_COMMITMENT);
        assert_eq!(canonical_bytes(&p.entries), VECTOR_CANONICAL.as_bytes());
        assert_eq!(p.entries_digest, VECTOR_DIGEST);
        let digest: [u8; 32] = hex::decode(&p.entries_digest).unwrap().try_into().unwrap();
        let key = draw_key(&vector_seed(), &digest);
        assert_eq!(hex::encode(key), VECTOR_KEY);

        // The stream: ChaCha20 keystream bytes 8k..8k+8 as a little-endian u64.
        let mut rng = ChaCha20Rng::from_seed(key);
        assert_eq!(VECTOR_U64S.map(|_| rng.next_u64()), VECTOR_U64S);

        // Each pick: r = uniform(T) on the remaining tickets T (no rejection here), and the
        // index it lands on.
        let mut rng = ChaCha20Rng::from_seed(key);
        let rs: Vec<u64> = [20, 10, 6, 3].map(|t| uniform(&mut rng, t)).to_vec();
        assert_eq!(rs, [17, 9, 3, 2]);
        assert_eq!(draw(&vector_seed(), &digest, &p.entries, 4), [4, 3, 2, 1]);

        let winners: Vec<_> = p
            .winners
            .iter()
            .map(|w| (w.rank, w.entrant.as_str(), w.tickets, w.prize.as_str()))
            .collect();
        assert_eq!(
            winners,
            [
                (1, "e-0005", 10, "Grand prize"),
                (2, "e-0004", 4, "Runner-up")
            ]
        );
        let alternates: Vec<_> = p
            .alternates
            .iter()
            .map(|a| (a.position, a.entrant.as_str(), a.tickets))
            .collect();
        assert_eq!(alternates, [(1, "e-0003", 3), (2, "e-0002", 2)]);

        let json = serde_json::to_vec(&p).unwrap();
        let summary = verify_json(&json).unwrap();
        assert_eq!(
            summary,
            VerifiedSummary {
                entries: 5,
                tickets: 20,
                winners: 2,
                alternates: 2
            }
        );
    }

    #[test]
    fn the_document_states_the_vector() {
        let doc = include_str!("../../docs/raffle-proof.md");
        let json = doc
            .split("```json\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .expect("a JSON block in the document");
        let stated: Proof = serde_json::from_str(json).unwrap();
        assert_eq!(stated, vector_proof());
        for value in [
            VECTOR_COMMITMENT,
            VECTOR_DIGEST,
            VECTOR_KEY,
            &VECTOR_CANONICAL.replace('\n', "\\n"),
        ] {
            assert!(doc.contains(value), "{value} is not in the document");
        }
        for value in VECTOR_U64S {
            assert!(
                doc.contains(&format!("| {value} |")),
                "{value} is not in the document"
            );
        }
    }

    /// A deterministic 32-byte seed for draw number `k`: SHA-256 of its little-endian bytes.
    fn nth_seed(k: u64) -> [u8; 32] {
        Sha256::digest(k.to_le_bytes()).into()
    }

    /// `count` as a share of `n`, checked against `p` within `sigmas` binomial standard
    /// deviations sqrt(p(1-p)/n).
    fn assert_share(what: &str, count: u64, n: u64, p: f64, sigmas: f64) {
        let share = count as f64 / n as f64;
        let tolerance = sigmas * (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (share - p).abs() <= tolerance,
            "{what}: {count} of {n} = {share:.4}, expected {p:.4} ± {tolerance:.4}"
        );
    }

    #[test]
    fn picks_follow_the_ticket_weights() {
        // Tickets 1, 2 and 7 of 10: the first pick is each entrant with probability 0.1,
        // 0.2, 0.7. After the 7-ticket entrant, the second pick is among 1 and 2 tickets:
        // 1/3 and 2/3.
        //
        // Tolerance: 5 binomial standard deviations per share. With N = 20,000 draws that
        // is ±0.0106 on 0.1, ±0.0141 on 0.2, ±0.0162 on 0.7 and, over the ~14,000 draws
        // whose first pick holds 7 tickets, ±0.020 on 1/3. A correct draw leaves that
        // band with probability under 6e-7 per share; the seeds are fixed, so the test is
        // deterministic either way. A draw ignoring the weights (1/3 each) or off by one
        // ticket (e.g. 2/10 instead of 1/10) is far outside.
        const DRAWS: u64 = 20_000;
        const SIGMAS: f64 = 5.0;
        let entries: Vec<Entry> = [("e-a", 1), ("e-b", 2), ("e-c", 7)]
            .into_iter()
            .map(|(e, t)| Entry {
                entrant: e.to_string(),
                tickets: t,
            })
            .collect();
        let digest = digest_of(&entries);
        let mut first = [0u64; 3];
        let mut second_after_c = [0u64; 3];
        for k in 0..DRAWS {
            let picks = draw(&nth_seed(k), &digest, &entries, 2);
            assert_eq!(picks.len(), 2);
            assert_ne!(picks[0], picks[1], "picked twice");
            first[picks[0]] += 1;
            if picks[0] == 2 {
                second_after_c[picks[1]] += 1;
            }
        }
        for (i, p) in [0.1, 0.2, 0.7].into_iter().enumerate() {
            assert_share(&format!("first pick {i}"), first[i], DRAWS, p, SIGMAS);
        }
        assert_eq!(second_after_c[2], 0);
        let after_c = first[2];
        assert_share(
            "second pick 0 after 2",
            second_after_c[0],
            after_c,
            1.0 / 3.0,
            SIGMAS,
        );
        assert_share(
            "second pick 1 after 2",
            second_after_c[1],
            after_c,
            2.0 / 3.0,
            SIGMAS,
        );
    }

    /// The draw as docs/raffle-proof.md states it, without the Fenwick tree: a linear
    /// running sum over the not-yet-picked entries.
    fn draw_by_running_sum(seed: &[u8; 32], digest: &[u8; 32], entries: &[Entry]) -> Vec<usize> {
        let mut rng = ChaCha20Rng::from_seed(draw_key(seed, digest));
        let mut picked = vec![false; entries.len()];
        let mut remaining: u64 = entries.iter().map(|e| e.tickets).sum();
        let mut out = Vec::new();
        while remaining > 0 {
            let r = uniform(&mut rng, remaining);
            let mut sum = 0;
            let i = (0..entries.len())
                .filter(|&i| !picked[i])
                .find(|&i| {
                    sum += entries[i].tickets;
                    sum > r
                })
                .unwrap();
            picked[i] = true;
            remaining -= entries[i].tickets;
            out.push(i);
        }
        out
    }

    #[test]
    fn the_tree_picks_as_the_running_sum_does() {
        for case in 0..200u64 {
            let seed = nth_seed(case);
            // Sizes 1 to 40 and ticket counts 1 to 50 (some up to 2^40), from the seed.
            let mut gen = ChaCha20Rng::from_seed(nth_seed(case + 1_000_000));
            let n = 1 + (gen.next_u64() % 40) as usize;
            let mut entries: Vec<Entry> = (0..n)
                .map(|i| Entry {
                    entrant: format!("e-{i:04}"),
                    tickets: if case % 10 == 0 {
                        1 + gen.next_u64() % (1 << 40)
                    } else {
                        1 + gen.next_u64() % 50
                    },
                })
                .collect();
            sort_entries(&mut entries);
            let digest = digest_of(&entries);
            let picks = draw(&seed, &digest, &entries, n);
            assert_eq!(
                picks,
                draw_by_running_sum(&seed, &digest, &entries),
                "case {case}"
            );
            // A full draw is a permutation.
            let mut sorted = picks.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "case {case}");
        }
    }

    /// Yields the given values, then panics.
    struct Scripted(std::vec::IntoIter<u64>);

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            unreachable!("the draw reads u64s only")
        }
        fn next_u64(&mut self) -> u64 {
            self.0.next().expect("read more values than scripted")
        }
        fn fill_bytes(&mut self, _: &mut [u8]) {
            unreachable!("the draw reads u64s only")
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), rand::Error> {
            unreachable!("the draw reads u64s only")
        }
    }

    #[test]
    fn uniform_rejects_exactly_the_incomplete_last_range() {
        // n = 3: 2^64 mod 3 = 1, so only u64::MAX is redrawn.
        let mut rng = Scripted(vec![u64::MAX, u64::MAX - 1].into_iter());
        assert_eq!(uniform(&mut rng, 3), (u64::MAX - 1) % 3);
        // n = 2^63 + 1: 2^64 mod n = 2^63 - 1, so values from n up are redrawn.
        let n = (1u64 << 63) + 1;
        let mut rng = Scripted(vec![n, u64::MAX, n - 1].into_iter());
        assert_eq!(uniform(&mut rng, n), n - 1);
        // Powers of two and n = 1 never redraw, but still read one value.
        let mut rng = Scripted(vec![u64::MAX, 7].into_iter());
        assert_eq!(uniform(&mut rng, 1 << 32), u64::from(u32::MAX));
        assert_eq!(uniform(&mut rng, 1), 0);
        assert!(rng.0.next().is_none());
    }

    #[test]
    fn uniform_stays_below_n() {
        let mut rng = ChaCha20Rng::from_seed(nth_seed(0));
        let mut seen = [0u32; 3];
        for _ in 0..30_000 {
            let x = uniform(&mut rng, 3);
            assert!(x < 3, "uniform(3) gave {x}");
            seen[x as usize] += 1;
        }
        // Each about 10,000; sd ≈ 82, so ±1,000 is over 12 sd.
        assert!(
            seen.iter().all(|&c| (9_000..=11_000).contains(&c)),
            "{seen:?}"
        );
    }

    fn mismatches(p: &Proof) -> Vec<String> {
        verify(p).expect_err("a changed proof verified")
    }

    // A changed ticket count, a changed seed and swapped winners are covered end to end in
    // tests/it/raffles.rs; these are the other ways to change a proof.

    #[test]
    fn a_removed_entry_is_caught_by_the_digest() {
        let p = vector_proof();
        // Removing an entrant who did not place: the winners may well stay the same, the
        // digest does not.
        let mut t = p.clone();
        t.entries.retain(|e| e.entrant != "e-0001");
        let problems = mismatches(&t);
        assert!(
            problems.iter().any(|m| m.contains("entries_digest")),
            "{problems:?}"
        );
        // And with the digest recomputed to match, the draw changes with it.
        t.entries_digest = entries_digest(&t.entries);
        let problems = mismatches(&t);
        assert!(
            problems
                .iter()
                .any(|m| m.contains("winner") || m.contains("alternate")),
            "{problems:?}"
        );
    }

    #[test]
    fn reordered_entries_are_caught() {
        let mut t = vector_proof();
        t.entries.swap(0, 4);
        let problems = mismatches(&t);
        assert!(
            problems.iter().any(|m| m.contains("canonical order")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|m| m.contains("not checked")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_duplicated_entrant_is_caught() {
        let mut t = vector_proof();
        let copy = t.entries[1].clone();
        t.entries.insert(1, copy);
        let problems = mismatches(&t);
        assert!(
            problems.iter().any(|m| m.contains("duplicate")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_prize_moved_to_another_rank_is_caught() {
        let mut t = vector_proof();
        let (a, b) = (t.winners[0].prize.clone(), t.winners[1].prize.clone());
        t.winners[0].prize = b;
        t.winners[1].prize = a;
        let problems = mismatches(&t);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|m| m.contains("prize")), "{problems:?}");
    }

    #[test]
    fn unreadable_proofs_are_told_apart_from_wrong_ones() {
        let json = serde_json::to_vec(&vector_proof()).unwrap();
        for cut in [0, 1, json.len() / 2, json.len() - 1] {
            assert!(
                matches!(verify_json(&json[..cut]), Err(VerifyError::Malformed(_))),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            verify_json(b"\xff\xfe not json"),
            Err(VerifyError::Malformed(_))
        ));
        for other in [&br#"{"hello": "world"}"#[..], b"[1, 2, 3]", b"null", b"42"] {
            assert!(
                matches!(verify_json(other), Err(VerifyError::NotAProof(_))),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        // A proof-shaped document with a wrongly typed field is not a proof either.
        let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        v["entries"][0]["tickets"] = serde_json::json!("1");
        let e = verify_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(e, VerifyError::NotAProof(_)), "{e}");
        assert_eq!(e.exit_code(), 2);
        // Unknown fields are ignored (later versions may add informational ones).
        v["entries"][0]["tickets"] = serde_json::json!(1);
        v["note"] = serde_json::json!("informational");
        assert!(verify_json(&serde_json::to_vec(&v).unwrap()).is_ok());
    }
}
