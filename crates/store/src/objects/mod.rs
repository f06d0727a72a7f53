//! The object-storage backends behind `teamlabel_core::objects::ObjectStore`: `local` (the
//! default: buckets are folders under a root directory; `resolve` finds a path in them without
//! following a symlink, `walk` lists them in S3's order) and `s3` (any S3-compatible service
//! through the `object_store` crate). Both answer the same errors with the same messages; the
//! conformance suite runs the same cases on each.

pub mod local;
mod resolve;
pub mod s3;
mod walk;

pub use local::LocalObjectStore;
pub use s3::{S3Config, S3ObjectStore};
