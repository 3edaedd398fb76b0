-- Signing-key rotations. Each says from which sequence number of each site the new key signs
-- (`starts`, JSON: site id → first sequence number), signed by the old key and by the new one,
-- so that `verify`, trusting the current key, knows every earlier key and its span.
CREATE TABLE key_rotations (
    rotated_at TEXT PRIMARY KEY,
    from_public TEXT NOT NULL,
    to_public TEXT NOT NULL,
    starts TEXT NOT NULL,
    from_signature TEXT NOT NULL,
    to_signature TEXT NOT NULL
);
