-- Idempotent retries of the batch label updates: the first answer to a request sent with
-- X-Idempotency-Key, written in the same transaction as the labels it reports, kept 24 hours.

CREATE TABLE idempotency_keys (
    project_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    create_time  INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id, idem_key)
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (create_time);
