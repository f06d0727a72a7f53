//! The local store's listing: every object below a folder, at any depth, in the byte order of
//! whole keys, as S3 lists them, so pages (`after`, `limit`) match across backends.
//!
//! A depth-first walk gives that order when a folder `d` is ordered among its siblings as
//! `d/`: every key below it starts with `d/`, and no sibling file name can start with it. A
//! subtree whose keys all sort at or before `after` is skipped unread. Each folder is read in
//! rounds that keep only the smallest entries still needed (at most `limit` of them), so
//! memory stays bounded by the limit per level of depth, not by a folder's size. Symlinks,
//! temporary files, and names that are not valid keys (not UTF-8, a backslash, a control
//! character) are left out.

use std::collections::BinaryHeap;
use std::fs;
use std::path::Path;

use teamlabel_core::error::Result;
use teamlabel_core::objects::{ObjectMeta, ObjectPath};

use super::resolve::{find, io_error, Found, TMP_PREFIX};

/// A folder entry: its name as it sorts (`name` or `name/`) and whether it is a folder.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    sorts_as: String,
    is_dir: bool,
}

pub(super) fn list(root: &Path, dir: &ObjectPath, after: Option<&str>, limit: usize) -> Result<Vec<ObjectMeta>> {
    let dir = dir.as_dir();
    let start = match find(root, &dir)? {
        Found::Dir(d) => d,
        Found::Missing | Found::File(_, _) => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    if limit > 0 {
        let mut walk = Walk {
            bucket: dir.bucket(),
            shown: &dir,
            after,
            limit,
            out: &mut out,
        };
        walk.folder(&start, dir.key())?;
    }
    Ok(out)
}

struct Walk<'a> {
    bucket: &'a str,
    /// The listed directory, for error messages.
    shown: &'a ObjectPath,
    after: Option<&'a str>,
    limit: usize,
    out: &'a mut Vec<ObjectMeta>,
}

impl Walk<'_> {
    /// Lists the folder `fs_dir`, whose keys start with `prefix` (empty or ending in `/`).
    fn folder(&mut self, fs_dir: &Path, prefix: &str) -> Result<()> {
        // The last entry of this folder handled, as it sorts.
        let mut done: Option<String> = None;
        loop {
            let need = self.limit - self.out.len();
            let (batch, more) = self.smallest(fs_dir, prefix, done.as_deref(), need)?;
            for entry in batch {
                let key = format!("{prefix}{}", entry.sorts_as);
                // A name that is no valid key is left out, with all below it.
                let valid = ObjectPath::new(self.bucket, &key);
                if entry.is_dir {
                    if valid.is_ok() {
                        let name = entry.sorts_as.trim_end_matches('/');
                        self.folder(&fs_dir.join(name), &key)?;
                    }
                } else if let (Ok(path), Ok(meta)) = (valid, fs::symlink_metadata(fs_dir.join(&entry.sorts_as))) {
                    // Gone since it was read: not listed.
                    if meta.is_file() {
                        self.out.push(ObjectMeta { path, size: meta.len() });
                    }
                }
                if self.out.len() >= self.limit {
                    return Ok(());
                }
                done = Some(entry.sorts_as);
            }
            if !more {
                return Ok(());
            }
        }
    }

    /// The `need` smallest entries of the folder that sort after `done` and may hold keys
    /// after `after`, in order; and whether more such entries were left out.
    fn smallest(&self, fs_dir: &Path, prefix: &str, done: Option<&str>, need: usize) -> Result<(Vec<Entry>, bool)> {
        let mut heap = BinaryHeap::new();
        let mut more = false;
        let entries = fs::read_dir(fs_dir).map_err(|e| io_error("listing", self.shown, e))?;
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("listing", self.shown, e)),
            };
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with(TMP_PREFIX) || name.contains('/') {
                continue;
            }
            // The entry's own type: a symlink is never followed, nor listed.
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let is_dir = file_type.is_dir();
            if !(is_dir || file_type.is_file()) {
                continue;
            }
            let sorts_as = if is_dir { format!("{name}/") } else { name };
            if done.is_some_and(|d| sorts_as.as_str() <= d) {
                continue;
            }
            // Compared without building the key: most entries of a large folder sort before
            // `after` on every page but the first, and are passed over here.
            if !self.may_follow_after(prefix, &sorts_as, is_dir) {
                continue;
            }
            heap.push(Entry { sorts_as, is_dir });
            if heap.len() > need {
                heap.pop();
                more = true;
            }
        }
        Ok((heap.into_sorted_vec(), more))
    }

    /// Whether a file's key (`prefix` then `name`) comes after `after`, or a folder's (ending
    /// in `/`) may hold one that does: when `after` is inside it, or every key in it sorts
    /// after `after`.
    fn may_follow_after(&self, prefix: &str, name: &str, is_dir: bool) -> bool {
        let Some(after) = self.after else {
            return true;
        };
        let key = prefix.bytes().chain(name.bytes());
        let later = key.cmp(after.bytes()) == std::cmp::Ordering::Greater;
        let inside = || {
            let a = after.as_bytes();
            a.starts_with(prefix.as_bytes()) && a[prefix.len()..].starts_with(name.as_bytes())
        };
        later || (is_dir && inside())
    }
}
