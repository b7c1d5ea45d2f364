-- Drops, their variants' stock, holds, orders and the audit log.
-- Stock is arbitrated here, not in memory: a hold is a conditional update
-- (remaining >= n), so no number of nodes or restarts can oversell.
CREATE TABLE drops (
    id TEXT PRIMARY KEY,
    storefront_id TEXT NOT NULL REFERENCES storefronts(id),
    product_id TEXT NOT NULL REFERENCES products(id),
    title TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    currency TEXT NOT NULL,
    opens_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP,
    per_buyer_limit BIGINT NOT NULL CHECK (per_buyer_limit >= 1),
    hold_seconds BIGINT NOT NULL CHECK (hold_seconds >= 10),
    waiting_room_seconds BIGINT NOT NULL CHECK (waiting_room_seconds >= 0),
    status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'live', 'sold_out', 'ended', 'paused', 'cancelled')),
    queue_seed TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX drops_storefront ON drops (storefront_id);
CREATE INDEX drops_status ON drops (status, opens_at);

CREATE TABLE drop_variants (
    id TEXT PRIMARY KEY,
    drop_id TEXT NOT NULL REFERENCES drops(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    stock BIGINT NOT NULL CHECK (stock >= 0),
    remaining BIGINT NOT NULL CHECK (remaining >= 0),
    held BIGINT NOT NULL CHECK (held >= 0),
    sold BIGINT NOT NULL CHECK (sold >= 0),
    CHECK (remaining + held + sold = stock)
);
CREATE INDEX drop_variants_drop ON drop_variants (drop_id, position);

-- What each buyer has taken in a drop (held or bought), so the per-buyer limit is a
-- conditional update too and holds on two nodes cannot both slip under it.
CREATE TABLE drop_buyers (
    drop_id TEXT NOT NULL REFERENCES drops(id) ON DELETE CASCADE,
    buyer_id TEXT NOT NULL REFERENCES users(id),
    taken BIGINT NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (drop_id, buyer_id)
);

CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    drop_id TEXT NOT NULL REFERENCES drops(id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL REFERENCES drop_variants(id),
    buyer_id TEXT NOT NULL REFERENCES users(id),
    quantity BIGINT NOT NULL CHECK (quantity >= 1),
    status TEXT NOT NULL CHECK (status IN ('active', 'released', 'expired', 'converted')),
    expires_at TIMESTAMP NOT NULL,
    idempotency_key TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX holds_drop_status ON holds (drop_id, status, expires_at);
CREATE INDEX holds_buyer ON holds (buyer_id, drop_id);
CREATE UNIQUE INDEX holds_idempotency ON holds (buyer_id, drop_id, idempotency_key);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    hold_id TEXT NOT NULL REFERENCES holds(id),
    drop_id TEXT NOT NULL REFERENCES drops(id),
    variant_id TEXT NOT NULL REFERENCES drop_variants(id),
    buyer_id TEXT NOT NULL REFERENCES users(id),
    quantity BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'declined', 'refund_pending', 'refunded')),
    payment_ref TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_buyer ON orders (buyer_id);
CREATE INDEX orders_hold ON orders (hold_id);
CREATE INDEX orders_drop ON orders (drop_id);

-- The waiting room: buyers who arrived before the opening second, served at opening in a
-- shuffled order (the seed is drops.queue_seed and in the drop log).
CREATE TABLE queue_tickets (
    id TEXT PRIMARY KEY,
    drop_id TEXT NOT NULL REFERENCES drops(id) ON DELETE CASCADE,
    buyer_id TEXT NOT NULL REFERENCES users(id),
    variant_id TEXT NOT NULL REFERENCES drop_variants(id),
    quantity BIGINT NOT NULL CHECK (quantity >= 1),
    state TEXT NOT NULL CHECK (state IN ('waiting', 'held', 'sold_out', 'limit_reached')),
    position BIGINT,
    hold_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (drop_id, buyer_id)
);

-- Every admission, hold, release, expiry, sale and refund, in order.
CREATE TABLE drop_log (
    id TEXT PRIMARY KEY,
    drop_id TEXT NOT NULL REFERENCES drops(id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    buyer_id TEXT,
    variant_id TEXT,
    hold_id TEXT,
    quantity BIGINT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX drop_log_drop ON drop_log (drop_id, id);

-- Payment provider events already applied (webhooks are retried; each applies once).
CREATE TABLE payment_events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    order_id TEXT,
    received_at TIMESTAMP NOT NULL
);
