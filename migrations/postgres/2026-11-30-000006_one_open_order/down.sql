DROP INDEX orders_one_open_per_hold;
