-- Payouts (issue #14): a creator's connected payout account (Stripe Connect Express, or
-- the test provider's), and each payout: the amount taken from the creator's available
-- balance in one currency and sent as one transfer whose idempotency key is the payout's
-- id. A payout counts against the balance while `pending` or `paid`; a `failed` one gives
-- it back. Balances are sums of rows (ledger entries less payouts), never counters.
CREATE TABLE payout_accounts (
    user_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    account_ref TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'enabled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX payout_accounts_ref ON payout_accounts (account_ref);

CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    provider TEXT NOT NULL,
    account_ref TEXT NOT NULL,
    transfer_ref TEXT,
    failure TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX payouts_user ON payouts (user_id, currency, status);
CREATE INDEX payouts_pending ON payouts (status) WHERE status = 'pending';
