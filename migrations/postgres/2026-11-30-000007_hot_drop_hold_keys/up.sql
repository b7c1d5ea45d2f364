-- The hot drop's batch inserts one hold per granted request. Its three foreign-key checks
-- (hold -> drop, variant, buyer) were a third of the batch statement's time: each is a
-- per-row lookup that also locks the referenced row (FOR KEY SHARE). The drop actor, the
-- only writer of holds, takes the drop and the variant from its own loaded state (an
-- unknown variant is refused before the write), the buyer from a checked token, and drops,
-- variants and users are never deleted (an account is anonymised). Orders and raffle picks
-- keep their keys to holds.
ALTER TABLE holds DROP CONSTRAINT IF EXISTS holds_drop_id_fkey;
ALTER TABLE holds DROP CONSTRAINT IF EXISTS holds_variant_id_fkey;
ALTER TABLE holds DROP CONSTRAINT IF EXISTS holds_buyer_id_fkey;
-- (buyer_id, drop_id) is the prefix of the unique holds_idempotency index, which serves
-- the same lookups: one index less to write per hold.
DROP INDEX IF EXISTS holds_buyer;
