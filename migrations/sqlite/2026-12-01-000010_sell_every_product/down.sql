PRAGMA foreign_keys = OFF;
BEGIN;
DROP TABLE memberships;
DROP TABLE tickets;
ALTER TABLE products DROP COLUMN sold;
ALTER TABLE products DROP COLUMN archived_at;
ALTER TABLE storefronts DROP COLUMN blocks;
ALTER TABLE users DROP COLUMN disabled_at;
DELETE FROM orders WHERE drop_id IS NULL;
CREATE TABLE orders_old (
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
INSERT INTO orders_old SELECT id, hold_id, drop_id, variant_id, buyer_id, quantity,
    amount_cents, currency, status, payment_ref, created_at, updated_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_old RENAME TO orders;
CREATE INDEX orders_buyer ON orders (buyer_id);
CREATE INDEX orders_hold ON orders (hold_id);
CREATE INDEX orders_drop ON orders (drop_id);
CREATE UNIQUE INDEX orders_one_open_per_hold ON orders (hold_id) WHERE status IN ('pending', 'paid');
COMMIT;
PRAGMA foreign_keys = ON;
