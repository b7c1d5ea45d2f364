CREATE INDEX holds_buyer ON holds (buyer_id, drop_id);
ALTER TABLE holds ADD CONSTRAINT holds_buyer_id_fkey FOREIGN KEY (buyer_id) REFERENCES users(id);
ALTER TABLE holds ADD CONSTRAINT holds_variant_id_fkey FOREIGN KEY (variant_id) REFERENCES drop_variants(id);
ALTER TABLE holds ADD CONSTRAINT holds_drop_id_fkey FOREIGN KEY (drop_id) REFERENCES drops(id) ON DELETE CASCADE;
