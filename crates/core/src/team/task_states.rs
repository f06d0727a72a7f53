//! The states of team tasks and of the members' copies, and the errors every team use case
//! answers with. Plain values: no store, no use cases.

use crate::error::{codes, Error};

/// Task states (WorkforceTask.status).
pub mod status {
    pub const CREATED: i32 = 6;
    pub const STARTING: i32 = 0;
    pub const RUNNING: i32 = 1;
    pub const ACCEPTING: i32 = 2;
    pub const ACCEPTED: i32 = 3;
    pub const REJECTED: i32 = 4;
    /// Writing accepted labels to the dataset; inside the closing transaction, never observed.
    pub const SYNCING: i32 = 5;
    /// Drawing an acceptance sample; inside the opening transaction, never observed.
    pub const SAMPLING: i32 = 7;
}

/// Team sample states as stored on copies.
pub mod state {
    pub const NONE: &str = "__NONE__";
    pub const AUTO_ANNOTATION: &str = "__AUTO_ANNOTATION__";
    pub const UNREVIEWED: &str = "__UNREVIEWED__";
    pub const UNCHECK: &str = "__UNCHECK__";
    pub const ACCEPTED: &str = "__ACCEPTED__";
    pub const REJECTED: &str = "__REJECTED__";
    /// Drawn into the open acceptance round, not judged yet.
    pub const SAMPLED_UNCHECK: &str = "__WORKFORCE_SAMPLED_UNCHECK__";
    /// Drawn and passed by the owner in the open round.
    pub const SAMPLED_ACCEPTED: &str = "__WORKFORCE_SAMPLED_ACCEPTED__";
    /// Drawn and rejected by the owner in the open round.
    pub const SAMPLED_REJECTED: &str = "__WORKFORCE_SAMPLED_REJECTED__";
    /// Every state a copy is stored in; each copy is in exactly one.
    pub const ALL: [&str; 9] = [
        NONE,
        AUTO_ANNOTATION,
        UNREVIEWED,
        UNCHECK,
        SAMPLED_UNCHECK,
        SAMPLED_ACCEPTED,
        SAMPLED_REJECTED,
        ACCEPTED,
        REJECTED,
    ];
    /// Drawn into the open round, judged or not.
    pub const SAMPLED: [&str; 3] = [SAMPLED_UNCHECK, SAMPLED_ACCEPTED, SAMPLED_REJECTED];

    /// Whether a copy in this state is drawn into the open acceptance round.
    pub fn is_sampled(state: &str) -> bool {
        SAMPLED.contains(&state)
    }
}

pub fn task_not_found(id: &str) -> Error {
    Error::not_found(codes::TASK_NOT_FOUND, format!("Workforce task does not exist: {id}"))
}

pub fn forbidden(message: impl Into<String>) -> Error {
    Error::forbidden(codes::WORKER_ACTION_FORBIDDEN, message)
}
