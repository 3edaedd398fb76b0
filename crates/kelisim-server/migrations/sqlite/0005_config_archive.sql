-- Every compiled config the server compiled, served or was given by `config build --db`:
-- the exact texts a receipt's `config_id` stands for. Rows are only ever added; the body's
-- own `config_id` is the SHA-256 of the rest of it, so an edited row no longer matches.
CREATE TABLE config_archive (
    site TEXT NOT NULL,
    config_id TEXT NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (site, config_id)
);

CREATE TRIGGER config_archive_is_append_only BEFORE UPDATE ON config_archive
BEGIN
    SELECT RAISE(ABORT, 'the config archive is append-only');
END;
