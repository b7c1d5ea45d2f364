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
    entries.sort_by(|a, b| a.entrant.as_bytes().cmp(b.entrant.as_bytes()));
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

    #[test]
    fn print_vector() {
        let p = vector_proof();
        let digest: [u8; 32] = hex::decode(&p.entries_digest).unwrap().try_into().unwrap();
        let key = draw_key(&vector_seed(), &digest);
        let mut rng = ChaCha20Rng::from_seed(key);
        println!("commitment {}", p.commitment);
        println!(
            "canonical {:?}",
            String::from_utf8(canonical_bytes(&p.entries)).unwrap()
        );
        println!("digest {}", p.entries_digest);
        println!("key {}", hex::encode(key));
        for _ in 0..4 {
            println!("u64 {}", rng.next_u64());
        }
        println!("{}", serde_json::to_string_pretty(&p).unwrap());
    }
}
