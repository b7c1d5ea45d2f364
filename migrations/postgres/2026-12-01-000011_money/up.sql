-- Money (issue #14): the platform's fee fixed per storefront and per drop when created,
-- collaborators of a drop with their shares, and the money ledger (append-only rows).
ALTER TABLE storefronts ADD COLUMN platform_fee_bp BIGINT NOT NULL DEFAULT 500;
ALTER TABLE drops ADD COLUMN platform_fee_bp BIGINT NOT NULL DEFAULT 500;
ALTER TABLE orders ADD COLUMN refunded_cents BIGINT NOT NULL DEFAULT 0;
-- When a refunded drop order's units went back to the drop's stock (once).
ALTER TABLE orders ADD COLUMN restocked_at TIMESTAMP;

CREATE TABLE drop_collaborators (
    id TEXT PRIMARY KEY,
    drop_id TEXT NOT NULL REFERENCES drops(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    user_id TEXT REFERENCES users(id),
    share_bp BIGINT NOT NULL CHECK (share_bp >= 1 AND share_bp <= 10000),
    status TEXT NOT NULL CHECK (status IN ('invited', 'accepted')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP
);
CREATE UNIQUE INDEX drop_collaborators_email ON drop_collaborators (drop_id, email);
CREATE INDEX drop_collaborators_user ON drop_collaborators (user_id);

-- Every money movement: a paid order's credit per party (they add up to the amount paid),
-- a refund's reversal per party (negative). Balances are sums of rows.
CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    drop_id TEXT,
    storefront_id TEXT NOT NULL,
    party TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'collaborator', 'platform')),
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
    share_bp BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ledger_entries_sale_once ON ledger_entries (order_id, party) WHERE kind = 'sale';
CREATE INDEX ledger_entries_party ON ledger_entries (party, currency, created_at);
CREATE INDEX ledger_entries_drop ON ledger_entries (drop_id);
