-- Keeping a dataset in step with its data source, and new samples flowing into running team
-- tasks. Same shape as the SQLite migration of the same name.
--
-- data_tasks gains the kind 'sync' (a synchronization of the dataset with its data_sources
-- path: status RUNNING, COMPLETED or FAILED). At most one sync runs per dataset.
ALTER TABLE data_tasks DROP CONSTRAINT data_tasks_kind_check;
ALTER TABLE data_tasks ADD CONSTRAINT data_tasks_kind_check CHECK (kind IN ('import', 'export', 'sync'));
CREATE UNIQUE INDEX data_tasks_one_sync ON data_tasks (dataset_id, kind)
    WHERE kind = 'sync' AND status IN ('QUEUING', 'RUNNING');

-- A started team task with synchronize_data takes the samples added after its start in the
-- same transaction that adds them: feed_labelers are its labelers in assignment order,
-- feed_filter the sample filter it was started with ({"label_groups": [[label id, ...], ...],
-- "name": text or null}), and feed_next the position the next new sample takes in the
-- assignment (sample i goes to labelers (i * repetition + k) mod n).
ALTER TABLE workforce_tasks ADD COLUMN feed_labelers JSONB;
ALTER TABLE workforce_tasks ADD COLUMN feed_filter JSONB;
ALTER TABLE workforce_tasks ADD COLUMN feed_next BIGINT NOT NULL DEFAULT 0;

-- Sample names compare byte by byte, as object keys do and as SQLite compares them, whatever
-- the database's collation: a sync walks the samples of a data source in name order beside the
-- object listing, and both must be in the same order.
ALTER TABLE samples ALTER COLUMN name TYPE TEXT COLLATE "C";
