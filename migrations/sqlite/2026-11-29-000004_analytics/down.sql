DROP TABLE analytics_top;
DROP TABLE analytics_rollups;
DROP TABLE analytics_events;
DROP TABLE analytics_salts;
