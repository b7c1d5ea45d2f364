-- Every product kind is sold through one order model: an order names its product and
-- storefront; the hold, drop and variant are a drop's order's only. Kind-specific facts
-- (shipping address, note, fulfilment) live in `details`, a JSON object.
-- SQLite cannot drop a NOT NULL: the table is rebuilt (foreign keys off while it is, as
-- SQLite's ALTER TABLE documentation prescribes).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE orders_new (
    id TEXT PRIMARY KEY,
    hold_id TEXT REFERENCES holds(id),
    drop_id TEXT REFERENCES drops(id),
    variant_id TEXT REFERENCES drop_variants(id),
    buyer_id TEXT NOT NULL REFERENCES users(id),
    quantity BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'declined', 'refund_pending', 'refunded')),
    payment_ref TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    product_id TEXT NOT NULL REFERENCES products(id),
    storefront_id TEXT NOT NULL REFERENCES storefronts(id),
    kind TEXT NOT NULL CHECK (kind IN ('digital', 'physical', 'service', 'membership', 'tip', 'link', 'event')),
    details TEXT NOT NULL DEFAULT '{}',
    fulfilled_at TIMESTAMP,
    -- A product checkout retried with the same Idempotency-Key opens no second order.
    idempotency_key TEXT
);
INSERT INTO orders_new
SELECT o.id, o.hold_id, o.drop_id, o.variant_id, o.buyer_id, o.quantity, o.amount_cents,
       o.currency, o.status, o.payment_ref, o.created_at, o.updated_at,
       d.product_id, d.storefront_id, p.kind, '{}', NULL, NULL
FROM orders o JOIN drops d ON d.id = o.drop_id JOIN products p ON p.id = d.product_id;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_buyer ON orders (buyer_id);
CREATE INDEX orders_hold ON orders (hold_id);
CREATE INDEX orders_drop ON orders (drop_id);
CREATE INDEX orders_storefront ON orders (storefront_id, id);
CREATE INDEX orders_product ON orders (product_id);
CREATE UNIQUE INDEX orders_idempotency ON orders (buyer_id, idempotency_key);
CREATE UNIQUE INDEX orders_one_open_per_hold ON orders (hold_id) WHERE status IN ('pending', 'paid');

-- Units of a physical product (or seats of an event) taken by open and paid orders of
-- the product itself (a drop counts its own stock). Taken with a conditional update, so
-- concurrent checkouts never take more than the stock.
ALTER TABLE products ADD COLUMN sold BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0);
-- An account an admin disabled: it cannot sign in, its tokens are refused.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;

-- A storefront page's ordered blocks (JSON; NULL: the default page).
ALTER TABLE storefronts ADD COLUMN blocks TEXT;

-- An archived product is off sale for good but kept: its orders and drops still name it.
ALTER TABLE products ADD COLUMN archived_at TIMESTAMP;

-- An event's tickets: one per seat bought, each with an unguessable code, checked in once.
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    product_id TEXT NOT NULL REFERENCES products(id),
    code TEXT NOT NULL UNIQUE,
    checked_in_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tickets_order ON tickets (order_id);

-- A membership: paid period by period. Each period is an order of its own (the first is
-- `order_id`); renewals charge the saved payment method when the period ends.
CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products(id),
    storefront_id TEXT NOT NULL REFERENCES storefronts(id),
    buyer_id TEXT NOT NULL REFERENCES users(id),
    order_id TEXT NOT NULL REFERENCES orders(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'ended', 'lapsed')),
    billing_interval TEXT NOT NULL CHECK (billing_interval IN ('month', 'year')),
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    current_period_end TIMESTAMP NOT NULL,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
    renewal_order_id TEXT REFERENCES orders(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX memberships_buyer ON memberships (buyer_id);
CREATE INDEX memberships_due ON memberships (status, current_period_end);
CREATE UNIQUE INDEX memberships_one_per_order ON memberships (order_id);
COMMIT;
PRAGMA foreign_keys = ON;
