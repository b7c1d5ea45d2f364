-- Storefront analytics (README, "Analytics and privacy"). No cookies and no raw IPs are
-- stored: a visitor is a 63-bit hash of the day's salt, the IP, the user agent and the
-- storefront. The salt is random per UTC day, shared by every node through this table,
-- and deleted once the day is over, so no one (we included) can recompute old ids.
CREATE TABLE analytics_salts (
    day TEXT PRIMARY KEY,
    salt TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Raw events, written by the storefront actors in batches. `visitor` is 0 for the events
-- the server records itself (holds, checkouts, purchases); `ref_id` names their drop or
-- order. Text columns hold '' for "none", so batches need no DEFAULT.
CREATE TABLE analytics_events (
    id TEXT PRIMARY KEY,
    storefront_id TEXT NOT NULL REFERENCES storefronts(id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('pageview', 'click', 'hold', 'checkout', 'purchase')),
    visitor BIGINT NOT NULL,
    path TEXT NOT NULL,
    referrer TEXT NOT NULL,
    utm_source TEXT NOT NULL,
    utm_medium TEXT NOT NULL,
    utm_campaign TEXT NOT NULL,
    device TEXT NOT NULL,
    country TEXT NOT NULL,
    bot BOOLEAN NOT NULL,
    amount_cents BIGINT NOT NULL,
    ref_id TEXT NOT NULL
);
-- The live view re-reads today's last purchases after every flush: by kind, so it does not
-- scan the day's page views. Pruning deletes by age alone.
CREATE INDEX analytics_events_storefront ON analytics_events (storefront_id, kind, at);
CREATE INDEX analytics_events_at ON analytics_events (at);

-- Rollups per minute, hour and day, written from the same batch as the raw events.
-- `sketch` is a HyperLogLog of the bucket's visitors (src/domain/analytics.rs): visitors
-- of several buckets are counted by merging sketches, never by adding counts. `version`
-- makes the read-merge-write of a sketch safe when two nodes flush the same bucket.
CREATE TABLE analytics_rollups (
    storefront_id TEXT NOT NULL REFERENCES storefronts(id) ON DELETE CASCADE,
    grain TEXT NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    bucket TIMESTAMP NOT NULL,
    pageviews BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    bots BIGINT NOT NULL,
    holds BIGINT NOT NULL,
    checkouts BIGINT NOT NULL,
    purchases BIGINT NOT NULL,
    revenue_cents BIGINT NOT NULL,
    visitors BIGINT NOT NULL,
    sketch BLOB NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (storefront_id, grain, bucket)
);

-- Top pages, referrers, campaigns, devices and countries per day.
CREATE TABLE analytics_top (
    storefront_id TEXT NOT NULL REFERENCES storefronts(id) ON DELETE CASCADE,
    day TIMESTAMP NOT NULL,
    dim TEXT NOT NULL CHECK (dim IN ('page', 'referrer', 'campaign', 'device', 'country')),
    value TEXT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (storefront_id, day, dim, value)
);
