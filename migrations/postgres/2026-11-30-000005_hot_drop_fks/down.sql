ALTER TABLE drop_log ADD CONSTRAINT drop_log_drop_id_fkey FOREIGN KEY (drop_id) REFERENCES drops(id) ON DELETE CASCADE;
ALTER TABLE drop_buyers ADD CONSTRAINT drop_buyers_drop_id_fkey FOREIGN KEY (drop_id) REFERENCES drops(id) ON DELETE CASCADE;
ALTER TABLE drop_buyers ADD CONSTRAINT drop_buyers_buyer_id_fkey FOREIGN KEY (buyer_id) REFERENCES users(id);
