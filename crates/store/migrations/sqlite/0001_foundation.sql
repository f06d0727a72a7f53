-- The foundation: projects and their users and tokens, datasets with their labels, and samples
-- with their dataset-level labels. Team labeling (teams, members, tasks, assignments, per-member
-- label copies, history) comes in later migrations.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    create_time INTEGER NOT NULL
);

-- A user belongs to one project and is known there by email; role 3 is the owner.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        INTEGER NOT NULL CHECK (role BETWEEN 0 AND 3),
    create_time INTEGER NOT NULL,
    UNIQUE (project_id, email)
);

-- Only the SHA-256 of a token is kept.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    create_time INTEGER NOT NULL
);

CREATE TABLE datasets (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    dataset_type       INTEGER NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    data_sources       TEXT NOT NULL DEFAULT '[]',
    work_path          TEXT,
    work_path_type     INTEGER NOT NULL DEFAULT 0,
    data_format        TEXT NOT NULL DEFAULT 'Default',
    workspace_id       TEXT NOT NULL DEFAULT '0',
    import_annotations INTEGER NOT NULL DEFAULT 1,
    label_format       TEXT,
    status             INTEGER NOT NULL DEFAULT 1,
    create_time        INTEGER NOT NULL,
    update_time        INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX datasets_by_project_time ON datasets (project_id, create_time);

-- A label is identified by (name, type) inside its dataset; `position` keeps the order the
-- owner gave. Sample labels point at the integer id, so a rename touches one row.
CREATE TABLE labels (
    id         INTEGER PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       INTEGER NOT NULL,
    property   TEXT NOT NULL DEFAULT '{}',
    attributes TEXT,
    position   INTEGER NOT NULL,
    UNIQUE (dataset_id, name, type)
);

-- `seq` is the internal key (insertion order, compact for child rows); `id` is the public
-- 32-hex sample id.
CREATE TABLE samples (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    dataset_id   TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    sample_type  INTEGER NOT NULL,
    source       TEXT,
    blob_sha256  TEXT,
    content_type TEXT,
    size         INTEGER NOT NULL DEFAULT 0,
    text_len     INTEGER,
    metadata     TEXT NOT NULL DEFAULT '{}',
    sample_usage TEXT,
    status       TEXT NOT NULL CHECK (status IN ('UN_ANNOTATION', 'MANUAL_ANNOTATION', 'AUTO_ANNOTATION')),
    sample_time  INTEGER NOT NULL,
    update_time  INTEGER NOT NULL,
    UNIQUE (dataset_id, name)
);
CREATE INDEX samples_by_dataset ON samples (dataset_id, seq);
CREATE INDEX samples_by_dataset_status ON samples (dataset_id, status, seq);
CREATE INDEX samples_by_blob ON samples (blob_sha256) WHERE blob_sha256 IS NOT NULL;

-- The dataset-level labels of a sample, in the order given.
CREATE TABLE sample_labels (
    sample_seq   INTEGER NOT NULL REFERENCES samples(seq) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    label_id     INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    instance_id  TEXT,
    property     TEXT NOT NULL DEFAULT '{}',
    score        REAL,
    annotated_by TEXT,
    PRIMARY KEY (sample_seq, ordinal)
) WITHOUT ROWID;
CREATE INDEX sample_labels_by_label ON sample_labels (label_id, sample_seq);
