ALTER TABLE analytics_events DROP COLUMN count;
