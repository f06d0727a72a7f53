-- A labeled sample costs a few small, local writes.
--
-- 1. A copy keeps its labels in one compact JSON value, `labels`: an array with one
--    `[label_id, instance_id, property, score, annotated_by]` per label, in order. Names and
--    types are the label's (`labels`), looked up when read, so a rename still touches one row.
--    `task_copy_label_ids` keeps one small row per distinct label of a copy (with how many
--    times it is placed), for the `label_name` filter and the label statistics; its key starts
--    with the copy, so a copy's rows sit on one page next to its neighbours'.
-- 2. A history row says which copy it is about (`copy_id`; NULL for dataset-level rows), and
--    is found by it: a labeler's batch then adds index entries next to each other, where an
--    index by sample id put each on a page of its own. Rows without a copy (dataset-level ones,
--    and those of a copy deleted with its task or sample, which a trigger detaches) are found
--    by sample. A row holds the labels after the change; `labels_before` is NULL when they are
--    the `labels_after` of the previous row of its chain (the same copy, or for rows without a
--    copy the same sample, task and member), which is nearly always.
-- 3. `task_copy_counts` counts a task's copies by member and state, kept by triggers in the
--    transaction of every insert, delete and state change, so list totals read a few rows
--    instead of counting the task.

ALTER TABLE task_copies ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';

-- Each element is written as text: json_array() would print a score with 15 significant
-- digits, and a double needs 17 to read back the same.
UPDATE task_copies SET labels = (
    SELECT json_group_array(json(
        '[' || x.label_id || ',' || json_quote(x.instance_id) || ',' || json(x.property) || ','
            || CASE WHEN x.score IS NULL THEN 'null' ELSE printf('%!.17g', x.score) END || ','
            || json_quote(x.annotated_by) || ']'))
    FROM (SELECT * FROM task_copy_labels WHERE copy_id = task_copies.id ORDER BY ordinal) x
)
WHERE id IN (SELECT copy_id FROM task_copy_labels);

CREATE TABLE task_copy_label_ids (
    copy_id  INTEGER NOT NULL REFERENCES task_copies(id) ON DELETE CASCADE,
    label_id INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (copy_id, label_id)
) WITHOUT ROWID;

INSERT INTO task_copy_label_ids (copy_id, label_id, n)
SELECT copy_id, label_id, COUNT(*) FROM task_copy_labels GROUP BY copy_id, label_id;

DROP TABLE task_copy_labels;

-- The history table again, with labels_before nullable (SQLite cannot drop a NOT NULL).
CREATE TABLE annotation_history_new (
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
    labels_before TEXT,
    labels_after  TEXT NOT NULL,
    version_after INTEGER NOT NULL,
    event         TEXT NOT NULL DEFAULT 'label',
    comment       TEXT,
    from_workers  TEXT,
    copy_id       INTEGER
);
INSERT INTO annotation_history_new
SELECT h.id, h.dataset_id, h.sample_id, h.task_id, h.worker_id, h.actor_user_id, h.actor_email,
       h.change_time, h.state_before, h.state_after, h.labels_before, h.labels_after,
       h.version_after, h.event, h.comment, h.from_workers,
       (SELECT c.id FROM samples s JOIN task_copies c ON c.sample_seq = s.seq
        WHERE s.dataset_id = h.dataset_id AND s.id = h.sample_id AND c.task_id = h.task_id
          AND c.worker_id = h.worker_id)
FROM annotation_history h;
DROP TABLE annotation_history;
ALTER TABLE annotation_history_new RENAME TO annotation_history;
CREATE INDEX annotation_history_by_copy ON annotation_history (copy_id, id);
CREATE INDEX annotation_history_by_sample ON annotation_history (dataset_id, sample_id, id)
    WHERE copy_id IS NULL;

CREATE TRIGGER task_copies_detach_history AFTER DELETE ON task_copies BEGIN
    UPDATE annotation_history SET copy_id = NULL WHERE copy_id = OLD.id;
END;

CREATE TABLE task_copy_counts (
    task_id   TEXT NOT NULL REFERENCES workforce_tasks(id) ON DELETE CASCADE,
    worker_id TEXT NOT NULL,
    state     TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (task_id, worker_id, state)
) WITHOUT ROWID;

INSERT INTO task_copy_counts (task_id, worker_id, state, n)
SELECT task_id, worker_id, state, COUNT(*) FROM task_copies GROUP BY task_id, worker_id, state;

CREATE TRIGGER task_copies_count_insert AFTER INSERT ON task_copies BEGIN
    INSERT INTO task_copy_counts (task_id, worker_id, state, n)
    VALUES (NEW.task_id, NEW.worker_id, NEW.state, 1)
    ON CONFLICT (task_id, worker_id, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER task_copies_count_delete AFTER DELETE ON task_copies BEGIN
    UPDATE task_copy_counts SET n = n - 1
    WHERE task_id = OLD.task_id AND worker_id = OLD.worker_id AND state = OLD.state;
END;

CREATE TRIGGER task_copies_count_update AFTER UPDATE OF task_id, worker_id, state ON task_copies
WHEN OLD.state IS NOT NEW.state OR OLD.task_id IS NOT NEW.task_id OR OLD.worker_id IS NOT NEW.worker_id
BEGIN
    UPDATE task_copy_counts SET n = n - 1
    WHERE task_id = OLD.task_id AND worker_id = OLD.worker_id AND state = OLD.state;
    INSERT INTO task_copy_counts (task_id, worker_id, state, n)
    VALUES (NEW.task_id, NEW.worker_id, NEW.state, 1)
    ON CONFLICT (task_id, worker_id, state) DO UPDATE SET n = n + 1;
END;
