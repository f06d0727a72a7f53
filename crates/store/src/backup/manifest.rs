//! What a backup archive says about itself (`manifest.json`, its first entry) and how its entries
//! are checked: the sha256 of every file, and for the blobs, whose names are their sha256, a count,
//! a byte total and one sha256 over their sorted names (so the manifest stays small however many
//! blobs there are, and still pins the exact set).

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::migrations;

/// What `format` says in every teamlabel backup.
pub const FORMAT: &str = "teamlabel-backup";
/// The archive layout this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The archive's entries, in the order they are written.
pub const MANIFEST_ENTRY: &str = "manifest.json";
pub const DATABASE_ENTRY: &str = "teamlabel.db";
pub const KEY_ENTRY: &str = "secret.key";
/// Blobs are `blobs/ab/cd/<sha256>`, as in the data dir.
pub const BLOBS_DIR: &str = "blobs";

/// The most bytes a manifest may take (it lists two files and a few counts).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    pub format_version: u32,
    /// When the database snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    /// `teamlabel <version>` that wrote the archive.
    pub created_by: String,
    pub schema: Schema,
    /// Rows per table in the snapshot.
    pub rows: BTreeMap<String, u64>,
    pub blobs: BlobSet,
    /// The database and, when included, the sealing key.
    pub files: Vec<FileEntry>,
    /// Whether `secret.key` is in the archive (`teamlabel backup --without-secret-key` leaves it out).
    pub secret_key_included: bool,
}

/// The schema migrations applied to the snapshot, in order; `level` is how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub level: usize,
    pub migrations: Vec<String>,
}

/// The sample files the snapshot references, each archived once under its sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobSet {
    pub count: u64,
    pub bytes: u64,
    /// [`blob_list_sha256`] of their names.
    pub list_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Refuses a manifest this build cannot restore: not a teamlabel backup, a newer layout, or
    /// a schema with migrations this build does not know (an older schema is fine: `serve`
    /// brings it up to date).
    pub fn check_restorable(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.format == FORMAT,
            "not a teamlabel backup (its manifest says format {:?})",
            self.format
        );
        anyhow::ensure!(
            self.format_version <= FORMAT_VERSION,
            "the archive has format version {}, this teamlabel reads up to {FORMAT_VERSION}: restore it with the \
             teamlabel that wrote it ({})",
            self.format_version,
            self.created_by
        );
        anyhow::ensure!(
            self.schema.level == self.schema.migrations.len(),
            "the manifest is inconsistent: schema level {} but {} migrations",
            self.schema.level,
            self.schema.migrations.len()
        );
        let known: Vec<&str> = migrations::SQLITE.iter().map(|(name, _)| *name).collect();
        for (i, m) in self.schema.migrations.iter().enumerate() {
            anyhow::ensure!(
                known.get(i) == Some(&m.as_str()),
                "the database in the archive has schema migration {m:?}, which this teamlabel does not know: \
                 restore it with the teamlabel that wrote it ({}) or a newer one",
                self.created_by
            );
        }
        Ok(())
    }
}

/// One sha256 over a set of blob names: sorted, each followed by a newline.
pub fn blob_list_sha256(names: &[String]) -> String {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for name in sorted {
        h.update(name.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// A reader that hashes and counts what passes through it.
pub struct Hashed<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> Hashed<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The sha256 (hex) and length of everything read.
    pub fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.len)
    }
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(migrations: &[&str], version: u32) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: version,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            created_by: "teamlabel 9.9.9".into(),
            schema: Schema {
                level: migrations.len(),
                migrations: migrations.iter().map(|m| m.to_string()).collect(),
            },
            rows: BTreeMap::new(),
            blobs: BlobSet {
                count: 0,
                bytes: 0,
                list_sha256: blob_list_sha256(&[]),
            },
            files: Vec::new(),
            secret_key_included: false,
        }
    }

    #[test]
    fn older_schemas_restore_and_unknown_migrations_or_newer_formats_do_not() {
        let all: Vec<&str> = migrations::SQLITE.iter().map(|(n, _)| *n).collect();
        manifest(&all, FORMAT_VERSION).check_restorable().unwrap();
        manifest(&all[..1], FORMAT_VERSION).check_restorable().unwrap();
        let mut newer = all.clone();
        newer.push("9999_future");
        let e = manifest(&newer, FORMAT_VERSION).check_restorable().unwrap_err();
        assert!(e.to_string().contains("9999_future"), "{e}");
        let e = manifest(&all, FORMAT_VERSION + 1).check_restorable().unwrap_err();
        assert!(e.to_string().contains("format version"), "{e}");
    }

    #[test]
    fn the_blob_list_hash_ignores_order_and_hashing_readers_count() {
        let a = vec!["b".to_string(), "a".to_string()];
        let b = vec!["a".to_string(), "b".to_string()];
        assert_eq!(blob_list_sha256(&a), blob_list_sha256(&b));
        assert_ne!(blob_list_sha256(&a), blob_list_sha256(&a[..1]));
        let mut r = Hashed::new(&b"hello"[..]);
        std::io::copy(&mut r, &mut std::io::sink()).unwrap();
        assert_eq!(r.finish(), (teamlabel_core::blobs::sha256_hex(b"hello"), 5));
    }
}
