-- Consent documents written for a visitor to sign with an electronic signature
-- (POST /v1/signatures): the exact text, and the receipt the signature will complete.
CREATE TABLE signature_requests (
    signature_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    form_id TEXT NOT NULL,
    document TEXT NOT NULL,
    pending TEXT NOT NULL,
    network TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX signature_requests_by_network ON signature_requests (network, created_at);
