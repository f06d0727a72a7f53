//! `backup` and `restore`: their help text, arguments and the JSON line each prints; the work
//! is `teamlabel_store::backup`'s.

use std::path::PathBuf;

use serde_json::json;
use teamlabel_store::{backup, Location};

use crate::config::{FileConfig, StoreArgs};
use crate::objects;

pub const BACKUP_HELP: &str = "\
Copy a SQLite data dir into one archive file while the server keeps running on it and accepting writes.

The database is copied with SQLite's online backup API: a snapshot as of one commit, taken by a \
separate read-only connection (the server need not stop). Then the sample files (blobs) that \
snapshot references are copied, each checked against its sha256 name, then the sealing key. \
initial-credentials.json is left out: no server needs it.

The archive is a tar file, gzip-compressed when FILE ends in .gz or .tgz, that starts with \
manifest.json: format version, schema migration level, time, rows per table, and the sha256 of \
every entry. It is written mode 0600; FILE must not exist yet. On success one JSON line is printed.

The sealing key (DATA_DIR/secret.key, or --secret-key-file) is included by default, so the \
archive alone restores a working server, and so whoever holds it can unseal every AK/SK secret \
key in it: keep it as private as the data dir. With --without-secret-key the archive holds no \
usable secret (passwords and tokens are stored as hashes), but it restores a server only \
together with that same key file, kept safe elsewhere: a server refuses to start on the \
database with any other key.

PostgreSQL (--database postgres://...) is refused: back up the database with pg_dump, and copy \
DATA_DIR/blobs and the secret key file beside it. So is a server whose sample files are kept in \
S3 ([objects] backend = \"s3\" or TEAMLABEL_OBJECTS=s3): back up the bucket with the service's tools.

Example: teamlabel backup --data-dir ./teamlabel-data --out teamlabel-2026-05-01.tar.gz";

pub const RESTORE_HELP: &str = "\
Put a backup archive back into a data dir that does not exist yet or is empty; a directory \
holding anything is refused, so nothing is overwritten.

Every entry is checked against the sha256 in the archive's manifest (each sample file against \
its name), the database must pass PRAGMA integrity_check and match the manifest's schema and row \
counts, and the key must match the database. Only then are teamlabel.db, blobs/ and secret.key \
moved into DIR; on any failure nothing is restored. An archive of an older schema is fine \
(serve brings it up to date); one made by a newer teamlabel is refused.

Afterwards, `teamlabel serve --data-dir DIR` serves the restored data. An archive made with \
--without-secret-key needs the original key file: copy it to DIR/secret.key (mode 0600) or \
pass --secret-key-file to serve.

Example: teamlabel restore --from teamlabel-2026-05-01.tar.gz --data-dir ./teamlabel-data";

#[derive(clap::Args)]
pub struct BackupArgs {
    /// Where to write the archive (a new file; .tar, or .tar.gz / .tgz for gzip)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Leave the sealing key out of the archive (keep the key file safe elsewhere: a restore
    /// needs it)
    #[arg(long)]
    pub without_secret_key: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The archive `teamlabel backup` wrote
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,

    /// The data dir to restore into: it must not exist or be empty
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.store.config.as_deref())?;
    let settings = args.store.resolve(&file);
    let database = match teamlabel_store::locate(settings.database.as_deref(), &settings.data_dir)? {
        Location::Sqlite(path) => path,
        Location::Postgres(url) => anyhow::bail!(
            "teamlabel backup copies SQLite data dirs only, and this one is configured for PostgreSQL ({}). \
             Back up the database with pg_dump (pg_dump --format=custom --file=teamlabel.dump DATABASE_URL), and \
             copy {} and the secret key file {} beside the dump; see the README's Backups section",
            teamlabel_store::redact(&url),
            settings.data_dir.join("blobs").display(),
            settings.secret_key_file.display()
        ),
    };
    let s3 = file.objects.as_ref().and_then(|o| o.backend) == Some(objects::Backend::S3)
        || std::env::var("TEAMLABEL_OBJECTS").is_ok_and(|v| v.eq_ignore_ascii_case("s3"));
    anyhow::ensure!(
        !s3,
        "teamlabel backup copies data dirs whose sample files are in DATA_DIR/blobs, and this configuration keeps \
         them in S3 ([objects] backend = \"s3\" or TEAMLABEL_OBJECTS=s3), out of the archive's reach. Back up the \
         bucket with the storage service's tools, and the database with SQLite's .backup command (or copy \
         {} while the server is stopped), with the secret key file {} beside them",
        database.display(),
        settings.secret_key_file.display()
    );
    let source = backup::Source {
        database,
        blobs: settings.data_dir.join("blobs"),
        secret_key: (!args.without_secret_key).then_some(settings.secret_key_file),
    };
    let created = backup::create(&source, &args.out)?;
    let m = &created.manifest;
    println!(
        "{}",
        json!({
            "archive": args.out,
            "archive_bytes": created.archive_bytes,
            "created_at": m.created_at,
            "schema_level": m.schema.level,
            "samples": m.rows.get("samples"),
            "blobs": m.blobs.count,
            "blob_bytes": m.blobs.bytes,
            "secret_key_included": m.secret_key_included,
            "snapshots": created.snapshots,
        })
    );
    Ok(())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let m = backup::restore(&args.from, &args.data_dir)?;
    if !m.secret_key_included {
        eprintln!(
            "teamlabel: the archive holds no sealing key (it was made with --without-secret-key): copy the \
             original key file to {} (mode 0600), or pass --secret-key-file to serve",
            backup::key_path(&args.data_dir).display()
        );
    }
    println!(
        "{}",
        json!({
            "data_dir": args.data_dir,
            "created_at": m.created_at,
            "schema_level": m.schema.level,
            "samples": m.rows.get("samples"),
            "blobs": m.blobs.count,
            "blob_bytes": m.blobs.bytes,
            "secret_key_restored": m.secret_key_included,
        })
    );
    Ok(())
}
