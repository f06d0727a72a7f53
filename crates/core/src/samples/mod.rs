//! The samples of a dataset: adding, listing, reading and deleting them, their batch label
//! update (shared with team tasks through `plan` and `batch`), their annotation history, and the
//! text of text samples in answers (`texts`).
//! Declares submodules only.

pub mod add;
pub mod batch;
pub mod history;
pub mod plan;
pub mod read;
pub mod search;
pub mod source;
pub mod texts;
pub mod update;
