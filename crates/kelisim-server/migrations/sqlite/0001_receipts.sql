-- Receipts: one hash chain per site. `body` is the exact JSON text the hash covers.
CREATE TABLE receipts (
    site TEXT NOT NULL,
    seq BIGINT NOT NULL,
    receipt_id TEXT NOT NULL UNIQUE,
    consent_id TEXT NOT NULL,
    server_time TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (site, seq)
);
CREATE INDEX receipts_by_consent ON receipts (consent_id, site, seq);
CREATE INDEX receipts_by_time ON receipts (site, server_time);

-- The head of each site's chain: the last sequence number and hash.
CREATE TABLE chain_heads (
    site TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

-- Where a purge cut the chain: the last purged receipt's seq and hash, signed.
CREATE TABLE checkpoints (
    site TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    purged_before TEXT NOT NULL,
    signature TEXT NOT NULL
);

-- Anonymous banner-shown counts: no ids, no IP addresses.
CREATE TABLE impressions (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    language TEXT NOT NULL,
    variant TEXT NOT NULL,
    page TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (site, day, language, variant, page)
);
