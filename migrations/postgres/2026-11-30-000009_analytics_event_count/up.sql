-- A drop's holds within a minute are one event that counts them (see domain::analytics::merge_holds).
ALTER TABLE analytics_events ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
