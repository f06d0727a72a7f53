//! teamlabel-core: the domain of a team data-labeling server that speaks the ModelArts Data
//! Management v2 API. Types, validation rules, the storage and blob ports, and the use cases.
//! No HTTP and no SQL live here.
#![forbid(unsafe_code)]

pub mod aksk;
pub mod app;
pub mod batch;
pub mod blobs;
pub mod clock;
pub mod datasets;
pub mod durability;
pub mod enums;
pub mod error;
pub mod iam;
pub mod ids;
pub mod query;
pub mod rules;
pub mod samples;
pub mod store;
pub mod team;
pub mod text;

pub use app::{App, Limits};
pub use error::{Error, ErrorKind, Result};
