//! What a store reports when it cannot do what it was asked: a `StoreError` naming the missing
//! thing or the clashing constraint, and the one place (`From<StoreError> for Error`) where that
//! becomes the API error's code and message, so every backend answers the same bytes.
//!
//! Backends decide the variant from driver error codes and constraint names, never from a
//! driver's message text, and must not write API messages themselves. This module must not know
//! a backend's error type.

use crate::error::{codes, Error};

/// Something a store looked for by id and did not find (or found in another parent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Project,
    User,
    Dataset,
    Sample,
    Workforce,
    Worker,
    Task,
}

/// A rule the stored state enforces that a write broke. The unique constraints carry the names
/// they have in the migrations of `crates/store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// `datasets (project_id, name)`.
    DatasetName,
    /// `labels (dataset_id, name, type)`.
    LabelName,
    /// `samples (dataset_id, name)`.
    SampleName,
    /// `workforces (project_id, name)`.
    WorkforceName,
    /// `workers (workforce_id, user_id)`.
    WorkerUser,
    /// `workforce_tasks (dataset_id, name)`.
    TaskName,
    /// `task_copies (task_id, sample_seq, worker_id)`: a task started twice.
    TaskCopy,
    /// A task start with fewer labelers than its repetition.
    TaskLabelers,
    /// A row moved past the version a write expected.
    Version,
    /// A live idempotency record holds the key.
    IdempotencyKey,
    /// `acceptance_rounds (task_id) WHERE open`: a task has one open acceptance round, or the
    /// round or task moved on before the write.
    RoundOpen,
    /// `dataset_versions (dataset_id, name)` among versions that are not deleted.
    VersionName,
    /// `dataset_versions (dataset_id, num)`: another version was created meanwhile.
    VersionNum,
    /// `data_tasks (dataset_id)` among running imports: one import at a time per dataset.
    ImportRunning,
    /// `data_tasks (dataset_id, kind)` among running syncs: one sync at a time per dataset.
    SyncRunning,
    /// Any other constraint (a random id taken, a reference missing): a fault, not the caller's.
    Other(&'static str),
}

/// The error of a store operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound {
        what: Entity,
        id: String,
    },
    Conflict {
        constraint: Constraint,
    },
    /// The database cannot be reached now (connection refused or lost, pool exhausted).
    Unavailable(String),
    /// Anything else; the text goes to the log only.
    Internal(String),
}

impl StoreError {
    pub fn not_found(what: Entity, id: impl Into<String>) -> Self {
        Self::NotFound { what, id: id.into() }
    }

    pub fn conflict(constraint: Constraint) -> Self {
        Self::Conflict { constraint }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, id } => not_found(what, &id),
            StoreError::Conflict { constraint } => conflict(constraint),
            StoreError::Unavailable(message) => Error::unavailable(message),
            StoreError::Internal(message) => Error::internal(message),
        }
    }
}

fn not_found(what: Entity, id: &str) -> Error {
    match what {
        Entity::Project => Error::not_found(codes::INVALID_PROJECT, format!("Project does not exist: {id}")),
        Entity::User => Error::not_found(codes::INVALID_ARGUMENT, format!("User not found: {id}")),
        Entity::Dataset => Error::dataset_not_found(id),
        Entity::Sample => Error::sample_not_found(id),
        Entity::Workforce => Error::not_found(
            codes::WORKFORCE_NOT_FOUND,
            format!("The workforce does not exist: {id}"),
        ),
        Entity::Worker => Error::not_found(codes::WORKER_NOT_FOUND, format!("The worker does not exist: {id}")),
        Entity::Task => Error::not_found(codes::TASK_NOT_FOUND, format!("Workforce task does not exist: {id}")),
    }
}

fn conflict(constraint: Constraint) -> Error {
    match constraint {
        Constraint::DatasetName => Error::bad_request(
            codes::DATASET_EXISTS,
            "Dataset already exists: the name is taken in this project",
        ),
        Constraint::LabelName => Error::bad_request(
            codes::LABEL_EXISTS,
            "Label already exists: a label of that name and type is in the dataset",
        ),
        Constraint::SampleName => Error::bad_request(
            codes::SAMPLE_EXISTS,
            "Sample already exists: the name is taken in this dataset",
        ),
        Constraint::WorkforceName => Error::bad_request(
            codes::WORKFORCE_EXISTS,
            "The workforce already exists: the name is taken in this project",
        ),
        Constraint::WorkerUser => Error::bad_request(
            codes::WORKER_EXISTS,
            "The worker already exists: the user is in the team",
        ),
        Constraint::TaskName => Error::bad_request(
            codes::TASK_EXISTS,
            "The workforce task already exists: the name is taken in this dataset",
        ),
        Constraint::TaskCopy => Error::bad_request(
            codes::TASK_START_FAILED,
            "Failed to start the team labeling task: it was started already",
        ),
        Constraint::TaskLabelers => Error::bad_request(
            codes::TASK_START_FAILED,
            "Failed to start the team labeling task: it needs at least `repetition` labelers",
        ),
        Constraint::Version => Error::conflict(
            codes::VERSION_CONFLICT,
            "The labels changed since they were read; read them again and retry",
        ),
        Constraint::IdempotencyKey => Error::conflict(
            codes::IDEMPOTENCY_TAKEN,
            "X-Idempotency-Key is in use by another request; retry to read its answer",
        ),
        Constraint::RoundOpen => Error::bad_request(
            codes::TASK_CHECKING,
            "Workforce task is checking: an acceptance round of this task was opened or closed meanwhile",
        ),
        Constraint::VersionName => Error::bad_request(
            codes::VERSION_EXISTS,
            "Dataset version already exists: the name is taken in this dataset",
        ),
        Constraint::VersionNum => Error::bad_request(
            codes::VERSION_PUBLISHING,
            "The dataset is publishing a version: another version was created meanwhile; try again",
        ),
        Constraint::ImportRunning => {
            Error::bad_request(codes::IMPORT_RUNNING, "Dataset already has running import task")
        }
        Constraint::SyncRunning => Error::bad_request(
            codes::SYNC_RUNNING,
            "Sync data source task exist: the dataset is being synchronized with its data source; wait for it to finish",
        ),
        Constraint::Other(name) => Error::internal(format!("constraint {name} was violated")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn each_case_has_its_code_and_kind() {
        let e: Error = StoreError::conflict(Constraint::SampleName).into();
        assert_eq!((e.kind, e.code), (ErrorKind::BadRequest, codes::SAMPLE_EXISTS));
        let e: Error = StoreError::conflict(Constraint::Version).into();
        assert_eq!((e.kind, e.code), (ErrorKind::Conflict, codes::VERSION_CONFLICT));
        let e: Error = StoreError::not_found(Entity::Task, "t1").into();
        assert_eq!(e.message, "Workforce task does not exist: t1");
        let e: Error = StoreError::Unavailable("down".into()).into();
        assert_eq!(e.kind, ErrorKind::Unavailable);
    }
}
