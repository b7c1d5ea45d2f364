-- (buyer_id, drop_id) is the prefix of the unique holds_idempotency index, which serves
-- the same lookups: one index less to write per hold. SQLite keeps the holds' foreign
-- keys (dropped on Postgres, see its migration): it cannot drop a constraint without
-- rebuilding the table, and checks them in-process at a small cost.
DROP INDEX IF EXISTS holds_buyer;
