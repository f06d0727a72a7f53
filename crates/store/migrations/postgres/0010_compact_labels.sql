-- A labeled sample costs a few small, local writes.
--
-- 1. A copy keeps its labels in one compact JSON value, `labels` (TEXT, parsed by the server,
--    not the database): an array with one `[label_id, instance_id, property, score,
--    annotated_by]` per label, in order. Names and types are the label's (`labels`), looked up
--    when read, so a rename still touches one row. `task_copy_label_ids` keeps one small row per
--    distinct label of a copy (with how many times it is placed), for the `label_name` filter
--    and the label statistics.
-- 2. A history row says which copy it is about (`copy_id`; NULL for dataset-level rows), and
--    is found by it: a labeler's batch then adds index entries next to each other, where an
--    index by sample id put each on a page of its own. Rows without a copy (dataset-level ones,
--    and those of a copy deleted with its task or sample, which a trigger detaches) are found
--    by sample. A row holds the labels after the change; `labels_before` is NULL when they are
--    the `labels_after` of the previous row of its chain (the same copy, or for rows without a
--    copy the same sample, task and member), which is nearly always.
-- 3. `task_copy_counts` counts a task's copies by member and state, kept by statement triggers
--    in the transaction of every insert, delete and update, so list totals read a few rows
--    instead of counting the task.

ALTER TABLE task_copies ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
-- Pages half full: a label write that keeps its copy's state changes no indexed column, so
-- PostgreSQL can put the new row version on the same page (a HOT update) and write no index
-- entry for it.
ALTER TABLE task_copies SET (fillfactor = 50);

UPDATE task_copies c SET labels = x.labels
FROM (
    SELECT copy_id,
           json_agg(json_build_array(label_id, instance_id, property, score, annotated_by) ORDER BY ordinal)::text AS labels
    FROM task_copy_labels GROUP BY copy_id
) x
WHERE c.id = x.copy_id;

CREATE TABLE task_copy_label_ids (
    copy_id  BIGINT NOT NULL REFERENCES task_copies(id) ON DELETE CASCADE,
    label_id BIGINT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (copy_id, label_id)
);

INSERT INTO task_copy_label_ids (copy_id, label_id, n)
SELECT copy_id, label_id, COUNT(*) FROM task_copy_labels GROUP BY copy_id, label_id;

DROP TABLE task_copy_labels;

ALTER TABLE annotation_history ALTER COLUMN labels_before DROP NOT NULL;
ALTER TABLE annotation_history ADD COLUMN copy_id BIGINT;
UPDATE annotation_history h SET copy_id = c.id
FROM samples s JOIN task_copies c ON c.sample_seq = s.seq
WHERE s.dataset_id = h.dataset_id AND s.id = h.sample_id AND c.task_id = h.task_id
  AND c.worker_id = h.worker_id;
DROP INDEX annotation_history_by_sample;
CREATE INDEX annotation_history_by_copy ON annotation_history (copy_id, id);
CREATE INDEX annotation_history_by_sample ON annotation_history (dataset_id, sample_id, id)
    WHERE copy_id IS NULL;

CREATE FUNCTION task_copies_detach_history() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE annotation_history SET copy_id = NULL WHERE copy_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER task_copies_detach_history AFTER DELETE ON task_copies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_copies_detach_history();

CREATE TABLE task_copy_counts (
    task_id   TEXT NOT NULL REFERENCES workforce_tasks(id) ON DELETE CASCADE,
    worker_id TEXT NOT NULL,
    state     TEXT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (task_id, worker_id, state)
);

INSERT INTO task_copy_counts (task_id, worker_id, state, n)
SELECT task_id, worker_id, state, COUNT(*) FROM task_copies GROUP BY task_id, worker_id, state;

-- Adds `delta` to the counts of the (task, member, state) groups of `changes`, in key order
-- (concurrent writers then take the count rows' locks in one order). A task being deleted has
-- no counts left to keep.
CREATE FUNCTION task_copy_counts_add(changes JSONB) RETURNS VOID LANGUAGE SQL AS $$
    INSERT INTO task_copy_counts (task_id, worker_id, state, n)
    SELECT c.task_id, c.worker_id, c.state, c.n
    FROM jsonb_to_recordset(changes) AS c(task_id TEXT, worker_id TEXT, state TEXT, n BIGINT)
    WHERE EXISTS (SELECT 1 FROM workforce_tasks t WHERE t.id = c.task_id)
    ORDER BY c.task_id, c.worker_id, c.state
    ON CONFLICT (task_id, worker_id, state) DO UPDATE SET n = task_copy_counts.n + EXCLUDED.n
$$;

CREATE FUNCTION task_copies_count_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM task_copy_counts_add((
        SELECT jsonb_agg(g) FROM (
            SELECT task_id, worker_id, state, COUNT(*) AS n FROM new_rows GROUP BY 1, 2, 3
        ) g));
    RETURN NULL;
END $$;

CREATE FUNCTION task_copies_count_delete() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM task_copy_counts_add((
        SELECT jsonb_agg(g) FROM (
            SELECT task_id, worker_id, state, -COUNT(*) AS n FROM old_rows GROUP BY 1, 2, 3
        ) g));
    RETURN NULL;
END $$;

CREATE FUNCTION task_copies_count_update() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM task_copy_counts_add((
        SELECT jsonb_agg(g) FROM (
            SELECT task_id, worker_id, state, SUM(n) AS n FROM (
                SELECT o.task_id, o.worker_id, o.state, -1 AS n
                FROM old_rows o JOIN new_rows w ON w.id = o.id
                WHERE (o.task_id, o.worker_id, o.state) IS DISTINCT FROM (w.task_id, w.worker_id, w.state)
                UNION ALL
                SELECT w.task_id, w.worker_id, w.state, 1
                FROM old_rows o JOIN new_rows w ON w.id = o.id
                WHERE (o.task_id, o.worker_id, o.state) IS DISTINCT FROM (w.task_id, w.worker_id, w.state)
            ) d GROUP BY 1, 2, 3 HAVING SUM(n) <> 0
        ) g));
    RETURN NULL;
END $$;

CREATE TRIGGER task_copies_count_insert AFTER INSERT ON task_copies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_copies_count_insert();
CREATE TRIGGER task_copies_count_delete AFTER DELETE ON task_copies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_copies_count_delete();
CREATE TRIGGER task_copies_count_update AFTER UPDATE ON task_copies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_copies_count_update();
