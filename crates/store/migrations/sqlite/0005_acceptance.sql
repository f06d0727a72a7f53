-- Review and acceptance. A copy keeps the latest reviewer verdict (review_*) and the latest
-- owner verdict of an acceptance round (check_*), and the round whose scope it is in. A round
-- records how it drew (its seed, so the draw can be repeated) and, once closed, its counts.
-- History rows say what kind of step they record and, for labels written to the dataset by
-- acceptance, which members' copies they came from.

ALTER TABLE task_copies ADD COLUMN check_accept INTEGER;
ALTER TABLE task_copies ADD COLUMN check_comment TEXT;
ALTER TABLE task_copies ADD COLUMN check_score TEXT;
ALTER TABLE task_copies ADD COLUMN round_id TEXT;
CREATE INDEX task_copies_by_round ON task_copies (round_id) WHERE round_id IS NOT NULL;

-- IoU from which two labelers' boxes count as the same object (consensus and agreement).
ALTER TABLE workforce_tasks ADD COLUMN iou_threshold REAL NOT NULL DEFAULT 0.5;

-- status: 0 open, 1 closed, 2 cancelled. At most one open round per task.
CREATE TABLE acceptance_rounds (
    id             TEXT PRIMARY KEY,
    task_id        TEXT NOT NULL REFERENCES workforce_tasks(id) ON DELETE CASCADE,
    seed           INTEGER NOT NULL,
    sampling_rate  REAL,
    sampling_num   INTEGER,
    total_count    INTEGER NOT NULL,
    sampled_count  INTEGER NOT NULL,
    status         INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
    action         INTEGER,
    overwrite      INTEGER,
    checked_count  INTEGER NOT NULL DEFAULT 0,
    accepted_count INTEGER NOT NULL DEFAULT 0,
    rejected_count INTEGER NOT NULL DEFAULT 0,
    total_score    INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT NOT NULL,
    closed_by      TEXT,
    create_time    INTEGER NOT NULL,
    close_time     INTEGER
);
CREATE UNIQUE INDEX acceptance_rounds_one_open ON acceptance_rounds (task_id) WHERE status = 0;
CREATE INDEX acceptance_rounds_by_task ON acceptance_rounds (task_id, create_time);

-- event: label, review, draw, check, accept, reject, cancel, sync.
ALTER TABLE annotation_history ADD COLUMN event TEXT NOT NULL DEFAULT 'label';
ALTER TABLE annotation_history ADD COLUMN comment TEXT;
ALTER TABLE annotation_history ADD COLUMN from_workers TEXT;
