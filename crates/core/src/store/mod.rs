//! The storage port, by domain: one trait per room (`IdentityStore`, `DatasetStore`,
//! `SampleStore`, `TeamStore`, `TaskStore`, `TeamSampleStore`, `AcceptanceStore`, `DataIoStore`, `WebhookStore`), each in its own file with the
//! records it moves, and `Store`, which combines them with the health checks. Every backend (SQLite
//! and PostgreSQL in the `teamlabel-store` crate) implements all of them; the rest of the
//! workspace holds an `Arc<dyn Store>` and calls any domain's methods on it.
//!
//! The store keeps data and enforces uniqueness and references as a backstop: a backend reports
//! a clash as a `StoreError` naming the constraint (see `error.rs`), which is turned into the
//! API error (`ModelArts.4351` dataset name, `4411` label, `4422` sample name, ...) in one place.
//! The store never decides who may do what or whether a value is valid: that is done before a
//! record reaches it. This module must not know SQL, HTTP or a backend's error types.

mod acceptance;
mod data_io;
mod datasets;
mod error;
mod identity;
mod samples;
mod tasks;
mod team_samples;
mod teams;
mod webhooks;

use async_trait::async_trait;

use crate::error::Result;

pub use acceptance::{
    round_status, AcceptanceStore, CopyMove, CopyState, CopyVerdict, Judge, RoundClose, RoundRecord, Verdicts,
};
pub use data_io::{
    version_status, DataIoStore, DataTaskRecord, DataTaskUpdate, TaskKind, VersionDone, VersionQuery, VersionRecord,
    VersionSummary,
};
pub use datasets::{DatasetChange, DatasetQuery, DatasetRecord, DatasetStore, LabelUsage, SampleCounts};
pub use error::{Constraint, Entity, StoreError};
pub use identity::{AccessKeyRecord, IdentityStore, Login, LoginState, Project, TokenRecord, User};
pub use samples::{DeletedSample, LabelGroup, SampleQuery, SampleRecord, SampleStore};
pub use tasks::{CopyCount, TaskRecord, TaskStore};
pub use team_samples::{
    CopyRecord, CopyWrite, HistoryRecord, HistoryStep, IdempotencyRecord, Labeler, SampleWrite, TeamSample,
    TeamSampleQuery, TeamSampleRow, TeamSampleStore, IDEMPOTENCY_TTL_MS,
};
pub use teams::{TeamStore, WorkerQuery, WorkerRecord, WorkforceQuery, WorkforceRecord};
pub use webhooks::{
    delivery_status, DeliveryAttempt, DeliveryJob, DeliveryRecord, OutboxEvent, WebhookRecord, WebhookStore,
};

/// The whole store: every domain port plus what the server asks of the database itself.
#[async_trait]
pub trait Store:
    IdentityStore
    + DatasetStore
    + SampleStore
    + TeamStore
    + TaskStore
    + TeamSampleStore
    + AcceptanceStore
    + DataIoStore
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Answers Ok when the database can be reached.
    async fn ping(&self) -> Result<()>;
    /// The effective durability settings, as (name, value): SQLite `journal_mode` and
    /// `synchronous`; PostgreSQL `fsync`, `synchronous_commit` and `full_page_writes`.
    async fn durability_settings(&self) -> Result<Vec<(String, String)>>;
}
