-- Reports of `kelisim-server scan --db … --site …`: the dashboard shows each site's latest.
CREATE TABLE scan_reports (
    id BIGSERIAL PRIMARY KEY,
    site TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    url TEXT NOT NULL,
    ran_before_consent INTEGER NOT NULL,
    clean INTEGER NOT NULL,
    report TEXT NOT NULL,
    markdown TEXT NOT NULL
);

CREATE INDEX scan_reports_by_site ON scan_reports (site, id);
