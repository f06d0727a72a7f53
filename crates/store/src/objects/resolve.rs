//! Where an object path is below the local store's root, found without following a symlink:
//! each component is checked with `symlink_metadata`, and one that is a symlink is refused
//! (`ModelArts.4310`), so nothing outside the root is ever reached. Shared by the store
//! (`local`) and its listing (`walk`).

use std::fs;
use std::path::{Path, PathBuf};

use teamlabel_core::error::{Error, Result};
use teamlabel_core::objects::{bucket_not_found, storage_error, storage_forbidden, ObjectPath};

/// The start of the names of files being written; listings skip them.
pub(super) const TMP_PREFIX: &str = ".teamlabel-tmp-";

/// What is at a path below the root.
pub(super) enum Found {
    Missing,
    File(PathBuf, u64),
    Dir(PathBuf),
}

pub(super) fn io_error(what: &str, path: &ObjectPath, e: std::io::Error) -> Error {
    storage_error(format!("{what} {path}: {e}"))
}

pub(super) fn symlink_refused(path: &ObjectPath) -> Error {
    storage_forbidden(format!(
        "{path} passes a symbolic link, which the local object store does not follow"
    ))
}

/// The bucket's folder: it must exist and be a folder, not a symlink.
pub(super) fn bucket_dir(root: &Path, path: &ObjectPath) -> Result<PathBuf> {
    let dir = root.join(path.bucket());
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.file_type().is_symlink() => Err(symlink_refused(path)),
        Ok(m) if m.is_dir() => Ok(dir),
        Ok(_) => Err(bucket_not_found(path.bucket())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(bucket_not_found(path.bucket())),
        Err(e) => Err(io_error("reading", path, e)),
    }
}

/// Follows the key's segments below the bucket folder without following a symlink.
pub(super) fn find(root: &Path, path: &ObjectPath) -> Result<Found> {
    let mut cur = bucket_dir(root, path)?;
    let segments: Vec<&str> = path.key().split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return Ok(Found::Dir(cur));
    }
    for (i, segment) in segments.iter().enumerate() {
        cur.push(segment);
        let meta = match fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
            Err(e) => return Err(io_error("reading", path, e)),
        };
        if meta.file_type().is_symlink() {
            return Err(symlink_refused(path));
        }
        let last = i + 1 == segments.len();
        match (last, meta.is_dir()) {
            (true, true) => return Ok(Found::Dir(cur)),
            (true, false) if meta.is_file() => return Ok(Found::File(cur, meta.len())),
            (true, false) => return Ok(Found::Missing),
            (false, true) => {}
            (false, false) => return Ok(Found::Missing),
        }
    }
    unreachable!("the loop returns at the last segment")
}

pub(super) fn is_temporary(path: &ObjectPath) -> bool {
    path.key().split('/').any(|s| s.starts_with(TMP_PREFIX))
}
