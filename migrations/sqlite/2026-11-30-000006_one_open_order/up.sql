-- One open order (pending or paid) per hold, enforced by the store: checking for an open
-- order and then inserting one let 24 concurrent checkouts of one hold open 16 orders on
-- Postgres (each charged). Orders that already broke the rule are closed first, keeping
-- the paid one, else the oldest.
UPDATE orders SET status = 'declined'
WHERE status = 'pending' AND id IN (
    SELECT id FROM (
        SELECT id, row_number() OVER (
            PARTITION BY hold_id
            ORDER BY CASE status WHEN 'paid' THEN 0 ELSE 1 END, id
        ) AS r
        FROM orders WHERE status IN ('pending', 'paid')
    ) ranked WHERE r > 1
);
CREATE UNIQUE INDEX orders_one_open_per_hold ON orders (hold_id) WHERE status IN ('pending', 'paid');
