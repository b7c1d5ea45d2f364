-- Postgres drops the foreign keys of drop_log and drop_buyers for the hot drop's batch
-- statement (see the Postgres migration). SQLite checks keys in-process at a small cost
-- and cannot drop a constraint without rebuilding the table, so it keeps them; this
-- migration exists so both backends carry the same version list.
SELECT 1;
