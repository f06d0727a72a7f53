-- Keeping a dataset in step with its data source, and new samples flowing into running team
-- tasks.
--
-- data_tasks gains the kind 'sync' (a synchronization of the dataset with its data_sources
-- path: status RUNNING, COMPLETED or FAILED). At most one sync runs per dataset. SQLite cannot
-- change a CHECK in place, so the table is rebuilt; nothing references it.
CREATE TABLE data_tasks_new (
    id          TEXT PRIMARY KEY,
    dataset_id  TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('import', 'export', 'sync')),
    subtype     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    request     TEXT NOT NULL,
    progress    TEXT NOT NULL DEFAULT '{}',
    cursor      TEXT,
    error_code  TEXT,
    error_msg   TEXT,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
INSERT INTO data_tasks_new SELECT id, dataset_id, kind, subtype, status, request, progress, cursor,
    error_code, error_msg, create_time, update_time FROM data_tasks;
DROP TABLE data_tasks;
ALTER TABLE data_tasks_new RENAME TO data_tasks;
CREATE UNIQUE INDEX data_tasks_one_import ON data_tasks (dataset_id)
    WHERE kind = 'import' AND status IN ('QUEUING', 'RUNNING');
CREATE UNIQUE INDEX data_tasks_one_sync ON data_tasks (dataset_id, kind)
    WHERE kind = 'sync' AND status IN ('QUEUING', 'RUNNING');
CREATE INDEX data_tasks_by_dataset ON data_tasks (dataset_id, kind, create_time);
CREATE INDEX data_tasks_unfinished ON data_tasks (status) WHERE status IN ('QUEUING', 'INIT', 'RUNNING');

-- A started team task with synchronize_data takes the samples added after its start in the
-- same transaction that adds them: feed_labelers are its labelers in assignment order (a JSON
-- list of worker ids), feed_filter the sample filter it was started with ({"label_groups":
-- [[label id, ...], ...], "name": text or null}), and feed_next the position the next new
-- sample takes in the assignment (sample i goes to labelers (i * repetition + k) mod n).
ALTER TABLE workforce_tasks ADD COLUMN feed_labelers TEXT;
ALTER TABLE workforce_tasks ADD COLUMN feed_filter TEXT;
ALTER TABLE workforce_tasks ADD COLUMN feed_next INTEGER NOT NULL DEFAULT 0;
