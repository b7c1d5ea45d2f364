DROP TABLE ledger_entries;
DROP TABLE drop_collaborators;
ALTER TABLE orders DROP COLUMN restocked_at;
ALTER TABLE orders DROP COLUMN refunded_cents;
ALTER TABLE drops DROP COLUMN platform_fee_bp;
ALTER TABLE storefronts DROP COLUMN platform_fee_bp;
