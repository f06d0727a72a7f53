//! teamlabel-core: the domain of a team data-labeling server that speaks the ModelArts Data
//! Management v2 API. Domain types, validation rules, the storage and blob ports, and the use
//! cases, which take and return the wire types of `teamlabel-api` as plain data. No HTTP and no
//! SQL live here.
//!
//! Imports point one way: utilities (`clock`, `query`, `ids`, `text`, `error`, `telemetry`) and
//! domain values (`rules`, `datasets::labels`, `store` records) at the bottom, `app::App` above
//! them, and the use cases (`impl App` blocks in `iam`, `datasets`, `samples`, `team`) on top.
//! A module never imports one that imports it back; `tests/module_graph.rs` checks it.
#![forbid(unsafe_code)]

pub mod app;
pub mod batch;
pub mod blobs;
pub mod clock;
pub mod data_io;
pub mod datasets;
pub mod durability;
pub mod error;
pub mod iam;
pub mod ids;
pub mod objects;
pub mod query;
pub mod rules;
pub mod samples;
pub mod store;
pub mod team;
pub mod telemetry;
pub mod text;
pub mod webhooks;

pub use app::{App, Limits};
pub use error::{Error, ErrorKind, Result};
