-- Dataset versions, and the import and export tasks that run in the background.
--
-- A version's manifest (its samples and labels, frozen) is an object in the object store at
-- manifest_path; the row keeps what the API shows of it. status: 0 creating, 1 normal,
-- 3 deleted, 4 error. A deleted version stays as a row so that version numbers are never
-- reused; its name is free again. At most one version of a dataset is current.
CREATE TABLE dataset_versions (
    id                     TEXT PRIMARY KEY,
    dataset_id             TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    num                    BIGINT NOT NULL,
    name                   TEXT NOT NULL,
    previous_id            TEXT,
    status                 INTEGER NOT NULL CHECK (status IN (0, 1, 3, 4)),
    is_current             BOOLEAN NOT NULL DEFAULT FALSE,
    format                 TEXT NOT NULL DEFAULT 'Default',
    description            TEXT NOT NULL DEFAULT '',
    train_ratio            TEXT NOT NULL,
    options                JSONB NOT NULL DEFAULT '{}',
    manifest_path          TEXT NOT NULL,
    data_path              TEXT NOT NULL,
    total_sample_count     BIGINT NOT NULL DEFAULT 0,
    annotated_sample_count BIGINT NOT NULL DEFAULT 0,
    label_stats            JSONB NOT NULL DEFAULT '[]',
    message                TEXT,
    create_time            BIGINT NOT NULL,
    update_time            BIGINT NOT NULL,
    CONSTRAINT dataset_versions_num_key UNIQUE (dataset_id, num)
);
CREATE UNIQUE INDEX dataset_versions_name ON dataset_versions (dataset_id, name) WHERE status <> 3;
CREATE UNIQUE INDEX dataset_versions_current ON dataset_versions (dataset_id) WHERE is_current;

-- Import and export tasks. kind: import or export; subtype: import_type (0 dir, 1 manifest) or
-- export_type (0-3). request is the accepted request, normalised; progress the counters the
-- API shows; cursor where a resumed run starts again. status: QUEUING, RUNNING, COMPLETED,
-- FAILED for imports; INIT, RUNNING, SUCCESSED, FAILED for exports. One import at a time
-- runs per dataset.
CREATE TABLE data_tasks (
    id          TEXT PRIMARY KEY,
    dataset_id  TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('import', 'export')),
    subtype     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    request     JSONB NOT NULL,
    progress    JSONB NOT NULL DEFAULT '{}',
    cursor      TEXT,
    error_code  TEXT,
    error_msg   TEXT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX data_tasks_one_import ON data_tasks (dataset_id)
    WHERE kind = 'import' AND status IN ('QUEUING', 'RUNNING');
CREATE INDEX data_tasks_by_dataset ON data_tasks (dataset_id, kind, create_time);
CREATE INDEX data_tasks_unfinished ON data_tasks (status) WHERE status IN ('QUEUING', 'INIT', 'RUNNING');
