#!/usr/bin/env python3
"""An independent verifier of livedrop raffle proofs (algorithm livedrop-raffle-v1).

Written from docs/raffle-proof.md alone, in plain Python 3 (standard library only,
ChaCha20 included), to show that the document is enough to reimplement the draw.

    python3 docs/raffle_proof_reference.py proof.json     # or - for standard input
    curl -s https://HOST/api/raffles/ID/proof | python3 docs/raffle_proof_reference.py -
    python3 docs/raffle_proof_reference.py --vector       # print the test vector

Exit status, as `livedrop raffle verify`: 0 verified, 1 a statement does not match,
2 the proof cannot be read.
"""

import bisect
import hashlib
import itertools
import json
import re
import struct
import sys

ALGORITHM = "livedrop-raffle-v1"
MASK32 = 0xFFFFFFFF
U64 = 1 << 64
ENTRANT = re.compile(r"[0-9a-z_-]{1,64}")
HEX32 = re.compile(r"[0-9a-f]{64}")


# --- ChaCha20 (20 rounds; 64-bit block counter in words 12-13, zero nonce in 14-15) ---


def _rotl(x, n):
    return ((x << n) & MASK32) | (x >> (32 - n))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter):
    """64 keystream bytes: block `counter` of ChaCha20 under `key` with a zero nonce."""
    state = (
        [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
        + list(struct.unpack("<8I", key))
        + [counter & MASK32, counter >> 32, 0, 0]
    )
    s = list(state)
    for _ in range(10):  # 10 double rounds = 20 rounds
        _quarter(s, 0, 4, 8, 12)
        _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14)
        _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15)
        _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13)
        _quarter(s, 3, 4, 9, 14)
    return struct.pack("<16I", *((x + y) & MASK32 for x, y in zip(s, state)))


class Stream:
    """The keystream read as little-endian u64s: bytes 0-7, 8-15, ... nothing skipped."""

    def __init__(self, key):
        self.key = key
        self.counter = 0
        self.buf = b""
        self.pos = 0

    def next_u64(self):
        if self.pos == len(self.buf):
            self.buf = chacha20_block(self.key, self.counter)
            self.counter += 1
            self.pos = 0
        (x,) = struct.unpack_from("<Q", self.buf, self.pos)
        self.pos += 8
        return x


def uniform(stream, n):
    """A uniform integer in 0..n-1: reject values >= the largest multiple of n <= 2^64."""
    limit = U64 - U64 % n
    while True:
        x = stream.next_u64()
        if x < limit:
            return x % n


# --- The draw ---


def canonical_bytes(entries):
    return b"".join(b"%s:%d\n" % (e["entrant"].encode("ascii"), e["tickets"]) for e in entries)


def draw_key(seed, digest):
    return hashlib.sha256(seed + digest).digest()


def draw(seed, digest, entries, picks, trace=None):
    """Indices of the picked entries, in pick order (weighted, without replacement)."""
    weights = [e["tickets"] for e in entries]
    remaining = sum(weights)
    stream = Stream(draw_key(seed, digest))
    out = []
    while len(out) < min(picks, len(entries)) and remaining > 0:
        r = uniform(stream, remaining)
        # Picked entries weigh 0, so the first index whose running sum exceeds r is the
        # first not-yet-picked entry at which the sum of not-yet-picked tickets does.
        running = list(itertools.accumulate(weights))
        i = bisect.bisect_right(running, r)
        if trace is not None:
            trace.append((remaining, r, i))
        out.append(i)
        remaining -= weights[i]
        weights[i] = 0
    return out


def winners_wanted(prizes):
    return max((p["rank_to"] for p in prizes), default=0)


def prize_for(prizes, rank):
    for p in prizes:
        if p["rank_from"] <= rank <= p["rank_to"]:
            return p["description"]
    return ""


def prizes_problem(prizes):
    """None when the prizes cover ranks 1..W exactly once each, else a sentence."""
    nxt = 1
    for p in sorted(prizes, key=lambda p: (p["rank_from"], p["rank_to"])):
        if p["rank_from"] < 1 or p["rank_from"] > p["rank_to"] or p["rank_from"] != nxt:
            return "prizes do not cover ranks 1 to W exactly once each"
        nxt = p["rank_to"] + 1
    return None


def expected_results(seed, digest, proof):
    prizes, entries = proof["prizes"], proof["entries"]
    w = winners_wanted(prizes)
    picks = draw(seed, digest, entries, w + proof["alternates_wanted"])
    winners = [
        {
            "rank": k + 1,
            "entrant": entries[i]["entrant"],
            "tickets": entries[i]["tickets"],
            "prize": prize_for(prizes, k + 1),
        }
        for k, i in enumerate(picks[:w])
    ]
    alternates = [
        {"position": k + 1, "entrant": entries[i]["entrant"], "tickets": entries[i]["tickets"]}
        for k, i in enumerate(picks[w:])
    ]
    return winners, alternates


# --- Verification ---


def read_proof(raw):
    """The proof as a dict, or raise ValueError for what cannot be read as one."""
    proof = json.loads(raw)
    spec = {
        "algorithm": str, "raffle_id": str, "title": str, "commitment": str, "seed": str,
        "entries_digest": str, "prizes": list, "alternates_wanted": int, "entries": list,
        "winners": list, "alternates": list, "drawn_at": str,
    }
    if not isinstance(proof, dict):
        raise ValueError("not a JSON object")
    for field, kind in spec.items():
        if not isinstance(proof.get(field), kind) or isinstance(proof.get(field), bool):
            raise ValueError(f"field {field} is missing or not a {kind.__name__}")
    for item, fields in [
        ("entries", {"entrant": str, "tickets": int}),
        ("prizes", {"rank_from": int, "rank_to": int, "description": str}),
        ("winners", {"rank": int, "entrant": str, "tickets": int, "prize": str}),
        ("alternates", {"position": int, "entrant": str, "tickets": int}),
    ]:
        for x in proof[item]:
            if not isinstance(x, dict) or any(
                not isinstance(x.get(f), k) or isinstance(x.get(f), bool) for f, k in fields.items()
            ):
                raise ValueError(f"an element of {item} is not shaped like one")
    # Integer ranges as the Rust types have them: u32 ranks and counts, u64 tickets.
    u32s = [proof["alternates_wanted"]]
    u32s += [p[f] for p in proof["prizes"] for f in ("rank_from", "rank_to")]
    u32s += [w["rank"] for w in proof["winners"]] + [a["position"] for a in proof["alternates"]]
    u64s = [x["tickets"] for item in ("entries", "winners", "alternates") for x in proof[item]]
    if not all(0 <= x < 1 << 32 for x in u32s) or not all(0 <= x < U64 for x in u64s):
        raise ValueError("an integer is out of range")
    return proof


def verify(proof):
    """A list of problems; empty when the proof verifies."""
    if proof["algorithm"] != ALGORITHM:
        return [f"algorithm {proof['algorithm']!r} is not {ALGORITHM}"]
    problems = []
    seed = bytes.fromhex(proof["seed"]) if HEX32.fullmatch(proof["seed"]) else None
    if seed is None:
        problems.append("seed is not 64 lowercase hex digits")
    elif proof["commitment"] != hashlib.sha256(seed).hexdigest():
        problems.append("commitment does not match SHA-256(seed)")

    entries = proof["entries"]
    entries_ok = True
    for i, e in enumerate(entries):
        if not ENTRANT.fullmatch(e["entrant"]) or not 1 <= e["tickets"] < U64:
            problems.append(f"entries[{i}] is not a valid entry")
            entries_ok = False
        if i > 0 and entries[i - 1]["entrant"].encode() >= e["entrant"].encode():
            problems.append(f"entries are not in canonical order (or repeat) at index {i}")
            entries_ok = False
    if sum(e["tickets"] for e in entries) >= U64:
        problems.append("entries hold 2^64 tickets or more")
        entries_ok = False
    if entries_ok:
        digest = hashlib.sha256(canonical_bytes(entries)).digest()
        if proof["entries_digest"] != digest.hex():
            problems.append("entries_digest does not match the entries")
    prize_problem = prizes_problem(proof["prizes"])
    if prize_problem:
        problems.append(prize_problem)

    if seed is None or not entries_ok or prize_problem:
        problems.append("winners and alternates not checked")
        return problems
    winners, alternates = expected_results(seed, digest, proof)
    if winners != [
        {k: w[k] for k in ("rank", "entrant", "tickets", "prize")} for w in proof["winners"]
    ]:
        problems.append("winners do not match the draw")
    if alternates != [
        {k: a[k] for k in ("position", "entrant", "tickets")} for a in proof["alternates"]
    ]:
        problems.append("alternates do not match the draw")
    return problems


# --- The test vector of docs/raffle-proof.md ---


def vector():
    seed = bytes(range(32))
    entries = sorted(
        [
            {"entrant": "e-0003", "tickets": 3},
            {"entrant": "e-0005", "tickets": 10},
            {"entrant": "e-0001", "tickets": 1},
            {"entrant": "e-0004", "tickets": 4},
            {"entrant": "e-0002", "tickets": 2},
        ],
        key=lambda e: e["entrant"].encode(),
    )
    prizes = [
        {"rank_from": 1, "rank_to": 1, "description": "Grand prize"},
        {"rank_from": 2, "rank_to": 2, "description": "Runner-up"},
    ]
    canonical = canonical_bytes(entries)
    digest = hashlib.sha256(canonical).digest()
    key = draw_key(seed, digest)
    print("commitment", hashlib.sha256(seed).hexdigest())
    print("canonical ", canonical)
    print("digest    ", digest.hex())
    print("key       ", key.hex())
    print("block 0   ", chacha20_block(key, 0).hex())
    stream = Stream(key)
    for k in range(6):
        print(f"u64[{k}]    ", stream.next_u64())
    trace = []
    draw(seed, digest, entries, winners_wanted(prizes) + 2, trace)
    for k, (total, r, i) in enumerate(trace):
        print(f"pick {k + 1}: T={total} r={r} index={i} ({entries[i]['entrant']})")
    winners, alternates = expected_results(
        seed, digest, {"prizes": prizes, "entries": entries, "alternates_wanted": 2}
    )
    print("winners   ", [(w["rank"], w["entrant"], w["prize"]) for w in winners])
    print("alternates", [(a["position"], a["entrant"]) for a in alternates])


def main(argv):
    if argv[1:] == ["--vector"]:
        vector()
        return 0
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        if argv[1] == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(argv[1], "rb") as f:
                raw = f.read()
        proof = read_proof(raw)
    except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
        print(f"cannot read the proof: {e}", file=sys.stderr)
        return 2
    problems = verify(proof)
    if problems:
        print(f"NOT verified: {len(problems)} problem(s)", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    tickets = sum(e["tickets"] for e in proof["entries"])
    print(
        f"verified: {len(proof['entries'])} entries, {tickets} tickets, "
        f"{len(proof['winners'])} winner(s), {len(proof['alternates'])} alternate(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
