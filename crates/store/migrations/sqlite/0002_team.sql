-- Team labeling: teams and their members, team tasks with the members chosen for them, one
-- label copy per (task, sample, member) (a copy row is also the assignment), and the annotation
-- history every applied label change appends to. Samples get a version for lost-update checks.

ALTER TABLE samples ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE workforces (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    UNIQUE (project_id, name)
);

-- A member is a user of the project inside one team, with a team role (0 labeler, 1 reviewer,
-- 2 team manager).
CREATE TABLE workers (
    id           TEXT PRIMARY KEY,
    workforce_id TEXT NOT NULL REFERENCES workforces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         INTEGER NOT NULL CHECK (role BETWEEN 0 AND 2),
    description  TEXT NOT NULL DEFAULT '',
    create_time  INTEGER NOT NULL,
    update_time  INTEGER NOT NULL,
    UNIQUE (workforce_id, user_id)
);
CREATE INDEX workers_by_user ON workers (user_id);

CREATE TABLE workforce_tasks (
    id                             TEXT PRIMARY KEY,
    dataset_id                     TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name                           TEXT NOT NULL,
    description                    TEXT NOT NULL DEFAULT '',
    status                         INTEGER NOT NULL,
    repetition                     INTEGER NOT NULL CHECK (repetition >= 1),
    workforces_config              TEXT NOT NULL DEFAULT '{}',
    sample_conditions              TEXT,
    synchronize_data               INTEGER NOT NULL DEFAULT 0,
    synchronize_auto_labeling_data INTEGER NOT NULL DEFAULT 0,
    auto_sync_dataset              INTEGER NOT NULL DEFAULT 1,
    data_sync_type                 INTEGER,
    create_time                    INTEGER NOT NULL,
    update_time                    INTEGER NOT NULL,
    UNIQUE (dataset_id, name)
);

-- The members chosen for a task (labelers, reviewers and managers of its teams).
CREATE TABLE task_workers (
    task_id   TEXT NOT NULL REFERENCES workforce_tasks(id) ON DELETE CASCADE,
    worker_id TEXT NOT NULL REFERENCES workers(id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, worker_id)
) WITHOUT ROWID;
CREATE INDEX task_workers_by_worker ON task_workers (worker_id);

-- One labeler's copy of one sample's labels in one task. Its existence is the assignment.
CREATE TABLE task_copies (
    id             INTEGER PRIMARY KEY,
    task_id        TEXT NOT NULL REFERENCES workforce_tasks(id) ON DELETE CASCADE,
    sample_seq     INTEGER NOT NULL REFERENCES samples(seq) ON DELETE CASCADE,
    worker_id      TEXT NOT NULL REFERENCES workers(id) ON DELETE CASCADE,
    state          TEXT NOT NULL,
    version        INTEGER NOT NULL DEFAULT 0,
    metadata       TEXT,
    sample_usage   TEXT,
    review_accept  INTEGER,
    review_comment TEXT,
    review_score   TEXT,
    update_time    INTEGER NOT NULL,
    UNIQUE (task_id, sample_seq, worker_id)
);
CREATE INDEX task_copies_by_worker ON task_copies (task_id, worker_id, sample_seq);
CREATE INDEX task_copies_by_state ON task_copies (task_id, state, sample_seq);
CREATE INDEX task_copies_by_sample ON task_copies (sample_seq);

CREATE TABLE task_copy_labels (
    copy_id      INTEGER NOT NULL REFERENCES task_copies(id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    label_id     INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    instance_id  TEXT,
    property     TEXT NOT NULL DEFAULT '{}',
    score        REAL,
    annotated_by TEXT,
    PRIMARY KEY (copy_id, ordinal)
) WITHOUT ROWID;
CREATE INDEX task_copy_labels_by_label ON task_copy_labels (label_id, copy_id);

-- Who changed which labels when: one row per applied change, labels before and after as JSON.
-- Kept when a task or sample goes, for audit.
CREATE TABLE annotation_history (
    id            INTEGER PRIMARY KEY,
    dataset_id    TEXT NOT NULL,
    sample_id     TEXT NOT NULL,
    task_id       TEXT,
    worker_id     TEXT,
    actor_user_id TEXT NOT NULL,
    actor_email   TEXT NOT NULL,
    change_time   INTEGER NOT NULL,
    state_before  TEXT NOT NULL,
    state_after   TEXT NOT NULL,
    labels_before TEXT NOT NULL,
    labels_after  TEXT NOT NULL,
    version_after INTEGER NOT NULL
);
CREATE INDEX annotation_history_by_sample ON annotation_history (dataset_id, sample_id, id);
