-- Raffles: commit-reveal draws anyone can verify (docs/raffle-proof.md).
-- The seed is secret until the draw; its SHA-256 (the commitment) is public from creation.
-- At close the entry list is frozen into its canonical serialisation (entries_blob) and
-- that text's SHA-256 (entries_digest) is published.
CREATE TABLE raffles (
    id TEXT PRIMARY KEY,
    storefront_id TEXT REFERENCES storefronts(id),
    created_by TEXT REFERENCES users(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    prizes TEXT NOT NULL,
    alternates BIGINT NOT NULL CHECK (alternates >= 0),
    entry TEXT NOT NULL CHECK (entry IN ('free', 'tickets')),
    tickets_per_dollar BIGINT NOT NULL CHECK (tickets_per_dollar >= 0),
    opens_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'closed', 'drawn', 'cancelled')),
    month TEXT UNIQUE,
    seed TEXT NOT NULL,
    commitment TEXT NOT NULL,
    -- Live totals while open (kept in the same transactions as the ledger rows), the
    -- frozen totals of the entry list after close.
    entrants BIGINT NOT NULL,
    tickets BIGINT NOT NULL,
    entries_digest TEXT,
    entries_blob TEXT,
    result TEXT,
    drop_id TEXT REFERENCES drops(id),
    claim_seconds BIGINT NOT NULL CHECK (claim_seconds >= 30),
    closed_at TIMESTAMP,
    drawn_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX raffles_status ON raffles (status, closes_at);
CREATE INDEX raffles_storefront ON raffles (storefront_id);
CREATE UNIQUE INDEX raffles_drop ON raffles (drop_id);

-- Who entered, under which per-raffle pseudonym (random, so not linkable across raffles).
CREATE TABLE raffle_entrants (
    raffle_id TEXT NOT NULL REFERENCES raffles(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id),
    pseudonym TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (raffle_id, user_id)
);
CREATE UNIQUE INDEX raffle_entrants_pseudonym ON raffle_entrants (raffle_id, pseudonym);

-- The ticket ledger: credits and reversals, never an edited counter. An entrant's tickets
-- in a raffle are the sum of their rows.
CREATE TABLE raffle_tickets (
    id TEXT PRIMARY KEY,
    raffle_id TEXT NOT NULL REFERENCES raffles(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('entry', 'purchase', 'reversal', 'bonus')),
    tickets BIGINT NOT NULL,
    order_id TEXT REFERENCES orders(id),
    note TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX raffle_tickets_raffle ON raffle_tickets (raffle_id, user_id);
CREATE INDEX raffle_tickets_user ON raffle_tickets (user_id, created_at);
-- One credit and one reversal per order and raffle (NULL order ids never collide).
CREATE UNIQUE INDEX raffle_tickets_order ON raffle_tickets (order_id, raffle_id, kind);
-- One free entry per account and raffle.
CREATE UNIQUE INDEX raffle_tickets_one_entry ON raffle_tickets (raffle_id, user_id) WHERE kind = 'entry';

-- The draw's picks in order: winners (rank) then alternates. On a raffle-gated drop each
-- pick that is offered a unit gets a hold; a lapsed offer passes to the next alternate.
CREATE TABLE raffle_picks (
    raffle_id TEXT NOT NULL REFERENCES raffles(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('winner', 'alternate')),
    rank BIGINT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    pseudonym TEXT NOT NULL,
    tickets BIGINT NOT NULL,
    prize TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('picked', 'waiting', 'offered', 'claimed', 'lapsed')),
    hold_id TEXT REFERENCES holds(id),
    offered_at TIMESTAMP,
    PRIMARY KEY (raffle_id, position)
);
CREATE INDEX raffle_picks_hold ON raffle_picks (hold_id);
CREATE INDEX raffle_picks_user ON raffle_picks (user_id);

-- A raffle-gated drop: only the raffle's picks get units, through offered holds.
ALTER TABLE drops ADD COLUMN raffle_id TEXT REFERENCES raffles(id);
