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
}

/// Team sample states as stored on copies.
pub mod state {
    pub const NONE: &str = "__NONE__";
    pub const AUTO_ANNOTATION: &str = "__AUTO_ANNOTATION__";
    pub const UNREVIEWED: &str = "__UNREVIEWED__";
    pub const UNCHECK: &str = "__UNCHECK__";
    pub const ACCEPTED: &str = "__ACCEPTED__";
    pub const REJECTED: &str = "__REJECTED__";
    pub const ALL: [&str; 6] = [NONE, AUTO_ANNOTATION, UNREVIEWED, UNCHECK, ACCEPTED, REJECTED];
}

pub fn task_not_found(id: &str) -> Error {
    Error::not_found(codes::TASK_NOT_FOUND, format!("Workforce task does not exist: {id}"))
}

pub fn forbidden(message: impl Into<String>) -> Error {
    Error::forbidden(codes::WORKER_ACTION_FORBIDDEN, message)
}
