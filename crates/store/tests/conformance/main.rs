//! The store conformance suite, one binary: every `Store` method against SQLite always and
//! against PostgreSQL when `TEST_DATABASE_URL` is set (each run in a schema of its own).
//! `SqliteStore` is the reference; both backends must answer exactly the same. One module per
//! domain; `common` builds the stores and the records. The object stores have their own two
//! backends: local always, S3 when `TEST_S3_ENDPOINT` is set (`objects`, `objects_local`).

mod common;

mod acceptance;
mod cascades;
mod copy_writes;
mod data_io;
mod datasets;
mod error_parity;
mod history;
mod identity;
mod labels;
mod members;
mod objects;
mod objects_local;
mod samples;
mod task_start;
mod tasks;
mod team_samples;
mod teams;
mod upgrade;
mod webhooks;
