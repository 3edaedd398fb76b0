-- Daily counts of banner decisions, kept up to date in the same transaction as the receipts
-- (group commit adds each batch's counts at once), so stats never read the receipts.
-- Anonymous aggregates: no ids, no addresses. `kind` is the first decision of a consent id
-- (accept_all, reject_all, custom, gpc), a later `change`, or a `withdraw`; `granted` and
-- `denied` are the category ids, sorted and space-separated.
CREATE TABLE decision_counts (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    language TEXT NOT NULL,
    variant TEXT NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    granted TEXT NOT NULL,
    denied TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (site, day, language, variant, device, kind, granted, denied)
);

-- The same per page path (apart, because pages are many and the other splits are few).
CREATE TABLE page_decision_counts (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    page TEXT NOT NULL,
    kind TEXT NOT NULL,
    granted TEXT NOT NULL,
    denied TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (site, day, page, kind, granted, denied)
);

-- The consent ids that made their first banner decision: what tells a first decision from a
-- later change, in one index probe. Rows go when a purge deletes a consent id's last receipt.
CREATE TABLE decided_consents (
    consent_id TEXT NOT NULL,
    site TEXT NOT NULL,
    PRIMARY KEY (consent_id, site)
);

-- One row once the counts above were built from the receipts stored before this migration.
CREATE TABLE rollups_built (
    version INTEGER PRIMARY KEY
);

-- Impressions gain the device class (mobile, tablet, desktop; `unknown` before this version).
ALTER TABLE impressions ADD COLUMN device TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE impressions DROP CONSTRAINT impressions_pkey;
ALTER TABLE impressions ADD PRIMARY KEY (site, day, language, variant, page, device);
