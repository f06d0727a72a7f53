-- Webhooks: the endpoints a project's owner registers, and the outbox of their deliveries.
--
-- events holds the subscribed event names between commas (",copy.labeled,copy.reviewed,"), so
-- that the statement handing an event to the outbox finds the subscribers with one LIKE. The
-- signing secret is sealed with the server's key, like the secret keys of access keys.
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    enabled       BOOLEAN NOT NULL,
    sealed_secret BYTEA NOT NULL,
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL
);
CREATE INDEX webhooks_by_project ON webhooks (project_id, create_time);

-- One row per event and subscribed endpoint, inserted by the transaction of the change the
-- event tells of. A pending row is due at next_attempt_at; a claim moves that past the attempt,
-- so a row whose attempt never finished (the server stopped) comes due again.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_status_code BIGINT,
    last_error       TEXT,
    create_time      BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    delivered_time   BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, create_time);
