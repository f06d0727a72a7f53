//! teamlabel-core: the domain of a team data-labeling server that speaks the ModelArts Data
//! Management v2 API. Types, validation rules, the storage and blob ports, and the use cases.
//! No HTTP and no SQL live here.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod batch;
pub mod blobs;
pub mod credentials;
pub mod datasets;
pub mod durability;
pub mod enums;
pub mod error;
pub mod iam;
pub mod ids;
pub mod label_changes;
pub mod labels;
pub mod policy;
pub mod rules;
pub mod samples;
pub mod store;
pub mod team_samples;
pub mod text;
pub mod workforce_tasks;
pub mod workforces;

pub use app::{App, Limits};
pub use error::{Error, ErrorKind, Result};
