ALTER TABLE drops DROP COLUMN raffle_id;
DROP TABLE raffle_picks;
DROP TABLE raffle_tickets;
DROP TABLE raffle_entrants;
DROP TABLE raffles;
