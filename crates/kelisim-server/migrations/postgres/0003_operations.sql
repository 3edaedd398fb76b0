-- Dashboard sessions, so that a restart does not sign everyone out. The id itself is never
-- stored, only its SHA-256: whoever reads the database cannot take over a session.
CREATE TABLE sessions (
    id_sha256 TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- One row that `/readyz` writes, to prove the database takes writes.
CREATE TABLE readiness (
    id INTEGER PRIMARY KEY,
    checked_at TEXT NOT NULL
);
