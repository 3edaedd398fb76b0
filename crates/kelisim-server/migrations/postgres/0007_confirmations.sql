-- SMS-confirmed receipts: the keyed hash of the phone number that confirmed them, so the staff
-- can find a person's receipts by number (never the number itself).
ALTER TABLE receipts ADD COLUMN phone_hash TEXT;
CREATE INDEX receipts_by_phone ON receipts (phone_hash, site, seq);

-- One row per SMS code sent (POST /v1/confirmations, the kiosk): what the limits count and
-- what the code is checked against. The code is kept as a keyed hash only, the phone number
-- as a keyed hash only; `pending` holds the receipt the code will confirm (JSON, no phone).
CREATE TABLE confirmations (
    confirmation_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    form_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    network TEXT,
    code_hash TEXT NOT NULL,
    pending TEXT NOT NULL,
    gateway TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX confirmations_by_phone ON confirmations (site, phone_hash, created_at);
CREATE INDEX confirmations_by_network ON confirmations (network, created_at);
