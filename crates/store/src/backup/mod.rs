//! Backups of a SQLite data dir, taken while a server runs on it, and their restore.
//!
//! A data dir holds `teamlabel.db` (with its `-wal` and `-shm` while in use), `blobs/` (the
//! sample files, content-addressed: `blobs/ab/cd/<sha256>`, and `blobs/tmp/` for writes in
//! progress), `secret.key` (the sealing key of AK/SK secrets, unless `--secret-key-file` puts it
//! elsewhere) and `initial-credentials.json` (the first owner's token and AK/SK pair in plain
//! text, written once for the operator). A backup archives a snapshot of the database, the blobs
//! that snapshot references and, unless left out, the sealing key: all a server needs to start.
//! `initial-credentials.json` stays out: no server reads it, and it would put usable secrets in
//! every archive.
//!
//! # The archive
//!
//! One tar file, gzip-compressed when its name ends in `.gz` or `.tgz` (a restore recognises
//! either by its first bytes). Its entries, in order: `manifest.json` ([`Manifest`]: format
//! version, schema migrations, time, rows per table, blob count and bytes, the sha256 of every
//! file), `teamlabel.db`, `secret.key` when included, then `blobs/ab/cd/<sha256>`, each blob
//! exactly once, named by the sha256 of its bytes.
//!
//! # Why the copy is consistent while the server writes
//!
//! 1. The database first, with SQLite's online backup API, in one step: one read transaction
//!    of the live database, so the copy is the database as of one commit, while the server's
//!    writer goes on committing (WAL lets one writer and any readers run together; see
//!    [`snapshot::take`]).
//! 2. Then the blobs that snapshot references, read from the snapshot itself
//!    (`samples.blob_sha256`). The server stores a sample's blob (written, synced, renamed into
//!    place) before it commits the row that references it, and never changes a blob in place
//!    (its name is the sha256 of its bytes), so every blob a committed row references was
//!    complete before that commit, hence before the snapshot, and still holds the same bytes
//!    when copied after it. The other order would not do: a sample committed between a blob
//!    copy and a later database copy would reference a blob the archive lacks.
//! 3. A blob goes away only when the samples referencing it are deleted (the server removes a
//!    blob no row references any more, after the deleting commit). A referenced blob missing at
//!    copy time therefore means samples were deleted after the snapshot: the backup takes a new
//!    snapshot and starts over (a few times at most) rather than write an archive with a hole.
//!    Each blob is hashed as it is archived and must hash to its name.
//!
//! # The sealing key
//!
//! Included by default, so one file restores a working server: whoever holds the archive can
//! unseal every AK/SK secret key in it (passwords stay Argon2id hashes and tokens SHA-256
//! hashes). Left out (`--without-secret-key`), the archive holds no usable secret, and a restore
//! needs the key file kept elsewhere: a server refuses to start on the database with any other
//! key.
//!
//! PostgreSQL data is not backed up here: `pg_dump` does the database, and the blob store and
//! the key file are copied beside it (the README's "Backups" section).

mod create;
mod manifest;
mod restore;
mod snapshot;

pub use create::{create, is_gzip_name, Created, Source};
pub use manifest::{BlobSet, FileEntry, Manifest, Schema, FORMAT, FORMAT_VERSION};
pub use restore::{key_path, restore};
