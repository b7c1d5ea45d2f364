ALTER TABLE raffle_tickets ADD CONSTRAINT raffle_tickets_raffle_id_fkey
    FOREIGN KEY (raffle_id) REFERENCES raffles(id) ON DELETE CASCADE;
ALTER TABLE raffle_tickets ADD CONSTRAINT raffle_tickets_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id);
ALTER TABLE raffle_entrants ADD CONSTRAINT raffle_entrants_raffle_id_fkey
    FOREIGN KEY (raffle_id) REFERENCES raffles(id) ON DELETE CASCADE;
ALTER TABLE raffle_entrants ADD CONSTRAINT raffle_entrants_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id);
