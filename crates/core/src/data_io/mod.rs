//! Data in and out of a dataset: versions (a frozen manifest of the samples and labels, the
//! dataset's current version), import tasks (files in the object store into samples and labels)
//! and export tasks (samples and labels out, in the formats training jobs read). The work runs
//! in the background (`tasks.rs`: the spawned runs, their progress and the restart rule); the
//! files are read and written through the object-store port and the codecs of
//! `teamlabel-formats`. This room must not know SQL, HTTP or a bucket API.

pub mod exports;
pub mod imports;
mod lines;
mod records;
pub mod tasks;
pub mod versions;

use crate::error::Result;
use crate::objects::ObjectPath;
use crate::store::DatasetRecord;

/// The bucket that holds the versions and reports of a dataset created without a
/// `work_path`; with the local object store it is a folder under the buckets root, with an
/// S3-compatible one it must exist.
pub const DEFAULT_WORK_BUCKET: &str = "teamlabel-work";

/// Most issues (skipped lines, dropped labels) kept on a task's status; all are counted, and an
/// export lists every one in its report file.
pub const MAX_LISTED_ISSUES: usize = 1000;

/// Samples read or written per store round trip by the background runs.
pub const PAGE: u64 = 1000;

/// The dataset's own output folder: `{work_path}{name}-{id}/` (as the provider's
/// `inner_work_path`), or `/teamlabel-work/{id}/` when it has no work path.
pub fn dataset_root(d: &DatasetRecord) -> Result<ObjectPath> {
    match &d.work_path {
        Some(w) => ObjectPath::parse("work_path", w)?.join(&format!("{}-{}/", d.name, d.id)),
        None => ObjectPath::new(DEFAULT_WORK_BUCKET, &format!("{}/", d.id)),
    }
}
