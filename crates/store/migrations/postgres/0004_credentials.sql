-- Credentials beyond tokens: AK/SK pairs and passwords for the IAM-style token endpoint.
-- A secret key is stored sealed (ChaCha20-Poly1305) with the server's sealing key, which lives
-- outside the database, so a copy of the database holds no usable secret. A temporary pair also
-- keeps the SHA-256 of its security token and an expiry.

CREATE TABLE access_keys (
    access_key          TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id          TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    sealed_secret       BYTEA NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    security_token_hash TEXT,
    expires_at          BIGINT,
    create_time         BIGINT NOT NULL
);
CREATE INDEX access_keys_by_project ON access_keys (project_id, create_time);
CREATE INDEX access_keys_by_expiry ON access_keys (expires_at) WHERE expires_at IS NOT NULL;

-- Server-wide values, such as the check value of the sealing key.
CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Passwords are Argon2id PHC strings; five wrong ones in a row lock the user for a while.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
