CREATE INDEX holds_buyer ON holds (buyer_id, drop_id);
