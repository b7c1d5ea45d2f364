-- A raffle's entry batch writes a ledger row and an entrant row per entry in one
-- statement; each row's foreign-key checks (ledger -> raffle, user; entrant -> raffle,
-- user) are a per-row lookup that also locks the referenced row (FOR KEY SHARE), four per
-- entry. The raffle actor writes them only for the raffle it runs, for accounts from a
-- checked token, and raffles and users are never deleted (an account is anonymised), so
-- the keys guard nothing the writer does not. The ledger keeps its key to orders (a
-- purchase credit, written with the order). Postgres only: SQLite's checks are in-process
-- index lookups, and dropping a key there means rebuilding the table.
ALTER TABLE raffle_tickets DROP CONSTRAINT IF EXISTS raffle_tickets_raffle_id_fkey;
ALTER TABLE raffle_tickets DROP CONSTRAINT IF EXISTS raffle_tickets_user_id_fkey;
ALTER TABLE raffle_entrants DROP CONSTRAINT IF EXISTS raffle_entrants_raffle_id_fkey;
ALTER TABLE raffle_entrants DROP CONSTRAINT IF EXISTS raffle_entrants_user_id_fkey;
