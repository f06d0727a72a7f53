//! Writing a backup: snapshot the database, then archive the snapshot, the sealing key and the
//! blobs the snapshot references (the order, and why it is consistent, is in the module above).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::write::GzEncoder;
use flate2::Compression;
use teamlabel_core::clock::{format_rfc3339, now_ms};
use teamlabel_core::iam::sealer::Sealer;

use super::manifest::{
    blob_list_sha256, BlobSet, FileEntry, Hashed, Manifest, Schema, BLOBS_DIR, DATABASE_ENTRY, FORMAT, FORMAT_VERSION,
    KEY_ENTRY, MANIFEST_ENTRY,
};
use super::snapshot;
use crate::blobs::relative_path;

/// What to back up.
#[derive(Debug, Clone)]
pub struct Source {
    /// The live SQLite database file.
    pub database: PathBuf,
    /// The blob store's root (`DATA_DIR/blobs`).
    pub blobs: PathBuf,
    /// The sealing key file to include, or `None` to leave the key out of the archive.
    pub secret_key: Option<PathBuf>,
}

/// What [`create`] wrote.
#[derive(Debug, Clone)]
pub struct Created {
    pub manifest: Manifest,
    /// Size of the archive file.
    pub archive_bytes: u64,
    /// Snapshots taken: more than one when blobs a snapshot referenced were deleted before
    /// they could be copied.
    pub snapshots: u32,
}

/// Most snapshots one backup takes before it gives up on blobs that keep going missing.
const ATTEMPTS: u32 = 5;

/// Whether an archive named `path` is gzip-compressed: `.gz` or `.tgz`.
pub fn is_gzip_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz") || e.eq_ignore_ascii_case("tgz"))
}

/// Writes a backup of `source` to the new file `out` (an existing file is never replaced). The
/// archive is assembled under a hidden name beside `out`, synced, and only then linked to `out`,
/// so `out` never names half an archive.
pub fn create(source: &Source, out: &Path) -> anyhow::Result<Created> {
    anyhow::ensure!(
        fs::symlink_metadata(out).is_err(),
        "{} exists already: remove it or choose another --out",
        out.display()
    );
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    anyhow::ensure!(
        dir.is_dir(),
        "the directory of --out, {}, does not exist",
        dir.display()
    );
    let name = out
        .file_name()
        .with_context(|| format!("--out {} names no file", out.display()))?
        .to_string_lossy()
        .into_owned();
    let key = source.secret_key.as_deref().map(read_key).transpose()?;
    let tag = teamlabel_core::ids::new_hex32();
    let snapshot_path = dir.join(format!(".{name}.{tag}.db"));
    let partial = dir.join(format!(".{name}.{tag}.partial"));
    let _cleanup = RemoveOnDrop(vec![snapshot_path.clone(), partial.clone()]);

    let mut last_missing = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let _ = fs::remove_file(&snapshot_path);
        let _ = fs::remove_file(&partial);
        let created_ms = now_ms();
        snapshot::take(&source.database, &snapshot_path)?;
        let facts = snapshot::inspect(&snapshot_path)
            .with_context(|| format!("checking the snapshot of {}", source.database.display()))?;
        if let (Some(key), Some(check)) = (&key, &facts.key_check) {
            anyhow::ensure!(
                &key.check == check,
                "the sealing key {} does not match the database (its access keys were sealed with another key), \
                 so the archive would not start a server: give the key file the server uses (--secret-key-file)",
                key.path.display()
            );
        }

        // Every blob the snapshot references, with its size; a missing one means its sample was
        // deleted after the snapshot: take a new one.
        let mut blobs = Vec::with_capacity(facts.blobs.len());
        let mut missing = Vec::new();
        for sha in &facts.blobs {
            let rel = relative_path(sha)
                .with_context(|| format!("the database references a blob with an invalid name {sha:?}"))?;
            let path = source.blobs.join(&rel);
            match fs::metadata(&path) {
                Ok(m) => blobs.push(Blob {
                    sha: sha.clone(),
                    path,
                    entry: format!("{BLOBS_DIR}/{}/{}/{sha}", &sha[0..2], &sha[2..4]),
                    size: m.len(),
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(sha.clone()),
                Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
            }
        }
        if !missing.is_empty() {
            tracing::info!(
                attempt,
                missing = missing.len(),
                "blobs were deleted after the snapshot; taking another"
            );
            last_missing = missing;
            continue;
        }

        let (db_sha, db_size) = hash_file(&snapshot_path)?;
        let mut files = vec![FileEntry {
            path: DATABASE_ENTRY.into(),
            size: db_size,
            sha256: db_sha,
        }];
        if let Some(key) = &key {
            files.push(FileEntry {
                path: KEY_ENTRY.into(),
                size: key.bytes.len() as u64,
                sha256: teamlabel_core::blobs::sha256_hex(&key.bytes),
            });
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            created_at: format_rfc3339(created_ms),
            created_by: format!("teamlabel {}", env!("CARGO_PKG_VERSION")),
            schema: Schema {
                level: facts.migrations.len(),
                migrations: facts.migrations.clone(),
            },
            rows: facts.rows.clone(),
            blobs: BlobSet {
                count: blobs.len() as u64,
                bytes: blobs.iter().map(|b| b.size).sum(),
                list_sha256: blob_list_sha256(&facts.blobs),
            },
            files,
            secret_key_included: key.is_some(),
        };
        let contents = Contents {
            manifest: &manifest,
            database: &snapshot_path,
            key: key.as_ref().map(|k| k.bytes.as_slice()),
            blobs: &blobs,
            mtime: (created_ms / 1000).max(0) as u64,
        };
        match write_archive(&partial, is_gzip_name(out), &contents) {
            Ok(archive_bytes) => {
                // A hard link, unlike a rename, never replaces a file that appeared meanwhile.
                fs::hard_link(&partial, out).with_context(|| format!("cannot create {}", out.display()))?;
                let _ = fs::remove_file(&partial);
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
                return Ok(Created {
                    manifest,
                    archive_bytes,
                    snapshots: attempt,
                });
            }
            Err(Failure::Vanished(sha)) => {
                tracing::info!(attempt, blob = %sha, "a blob was deleted while it was archived; taking another snapshot");
                last_missing = vec![sha];
            }
            Err(Failure::Other(e)) => return Err(e),
        }
    }
    anyhow::bail!(
        "the database references blobs that are not in the blob store {} ({}{}), still after {ATTEMPTS} snapshots: \
         their samples' files are lost; delete those samples, or restore their files, and back up again",
        source.blobs.display(),
        last_missing.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
        if last_missing.len() > 5 { ", ..." } else { "" }
    )
}

/// The sealing key file as archived: its bytes verbatim, and the check value the database keeps.
struct KeyFile {
    path: PathBuf,
    bytes: Vec<u8>,
    check: String,
}

fn read_key(path: &Path) -> anyhow::Result<KeyFile> {
    let bytes = fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "the sealing key file {} does not exist: give its place with --secret-key-file, or pass \
                 --without-secret-key to leave the key out of the archive",
                path.display()
            )
        } else {
            anyhow::anyhow!("cannot read the sealing key {}: {e}", path.display())
        }
    })?;
    let sealer = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| Sealer::from_hex(text).ok())
        .with_context(|| format!("{} is not a sealing key (64 hex characters)", path.display()))?;
    Ok(KeyFile {
        path: path.to_path_buf(),
        bytes,
        check: sealer.check_value(),
    })
}

struct Blob {
    sha: String,
    path: PathBuf,
    entry: String,
    size: u64,
}

struct Contents<'a> {
    manifest: &'a Manifest,
    database: &'a Path,
    key: Option<&'a [u8]>,
    blobs: &'a [Blob],
    mtime: u64,
}

enum Failure {
    /// A blob disappeared between the snapshot and its copy.
    Vanished(String),
    Other(anyhow::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.into())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

/// Writes the archive to the new file `path` (mode 0600: it may hold the sealing key), synced;
/// answers its size.
fn write_archive(path: &Path, gzip: bool, contents: &Contents<'_>) -> Result<u64, Failure> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let out = BufWriter::with_capacity(1 << 20, file);
    let out = if gzip {
        write_entries(GzEncoder::new(out, Compression::default()), contents)?.finish()?
    } else {
        write_entries(out, contents)?
    };
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

/// The entries in order: the manifest first (a restore reads it before anything else), the
/// database, the key, then the blobs, each hashed as it is read and checked against its name.
fn write_entries<W: Write>(out: W, c: &Contents<'_>) -> Result<W, Failure> {
    let mut tar = tar::Builder::new(out);
    let manifest = serde_json::to_vec_pretty(c.manifest).map_err(anyhow::Error::from)?;
    append(&mut tar, MANIFEST_ENTRY, manifest.len() as u64, c.mtime, &manifest[..])?;
    let db = File::open(c.database)?;
    append(&mut tar, DATABASE_ENTRY, db.metadata()?.len(), c.mtime, db)?;
    if let Some(key) = c.key {
        append(&mut tar, KEY_ENTRY, key.len() as u64, c.mtime, key)?;
    }
    for blob in c.blobs {
        let file = match File::open(&blob.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Failure::Vanished(blob.sha.clone())),
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", blob.path.display()).into()),
        };
        let mut reader = Hashed::new(file.take(blob.size));
        append(&mut tar, &blob.entry, blob.size, c.mtime, &mut reader)?;
        let (sha, len) = reader.finish();
        if sha != blob.sha || len != blob.size {
            return Err(anyhow::anyhow!(
                "the blob {} is damaged: its {len} bytes hash to {sha}, not to its name",
                blob.path.display()
            )
            .into());
        }
    }
    Ok(tar.into_inner()?)
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    mtime: u64,
    data: impl Read,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    tar.append_data(&mut header, path, data)
}

fn hash_file(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut reader = Hashed::new(File::open(path).with_context(|| format!("cannot read {}", path.display()))?);
    std::io::copy(&mut reader, &mut std::io::sink())?;
    Ok(reader.finish())
}

/// Removes its files when dropped (the snapshot and an unfinished archive), whatever happened.
struct RemoveOnDrop(Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}
