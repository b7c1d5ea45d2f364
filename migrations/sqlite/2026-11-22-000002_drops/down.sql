DROP TABLE payment_events;
DROP TABLE drop_log;
DROP TABLE queue_tickets;
DROP TABLE orders;
DROP TABLE holds;
DROP TABLE drop_buyers;
DROP TABLE drop_variants;
DROP TABLE drops;
