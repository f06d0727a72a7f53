//! The database half of a backup: a snapshot of a live SQLite database taken with the online
//! backup API, and what a database file holds that the manifest records and a restore checks
//! again (integrity, schema migrations, rows per table, the blobs its samples reference, the
//! sealing key's check value).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// How long a snapshot waits for a lock before giving up (the server holds none that long).
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Copies the database at `source` into the new file `dest`, as of one commit, while other
/// processes (a running server) go on writing to it.
///
/// `source` is opened read-only, and the whole copy is one `sqlite3_backup_step(-1)`: one read
/// transaction over the source, so the copy is exactly the database as of the last commit before
/// it began. In WAL mode that read transaction does not block the server's writer (its commits
/// append to the WAL; only checkpoints wait to pass our snapshot until the step ends). Copying in
/// several smaller steps would not do here: any commit by another connection between two steps
/// restarts the copy from the first page, so under steady writes it might never finish.
///
/// The copy is left in rollback-journal mode, one self-contained file.
pub fn take(source: &Path, dest: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        source.is_file(),
        "no SQLite database at {}: is the data dir (or --database sqlite://PATH) right?",
        source.display()
    );
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .with_context(|| format!("cannot open {} read-only", source.display()))?;
    src.busy_timeout(Duration::from_secs(10))?;
    let mut dst = Connection::open(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    {
        let backup = Backup::new(&src, &mut dst)?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match backup
                .step(-1)
                .with_context(|| format!("copying {}", source.display()))?
            {
                StepResult::Done => break,
                StepResult::More => {}
                _ => {
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "{} stayed locked for {} s; is another process holding a write lock on it?",
                        source.display(),
                        LOCK_WAIT.as_secs()
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    let mode: String = dst.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    anyhow::ensure!(
        mode.eq_ignore_ascii_case("delete"),
        "the snapshot stayed in journal mode {mode}"
    );
    dst.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// What a teamlabel database file holds, as far as a backup cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Applied schema migrations, in order.
    pub migrations: Vec<String>,
    /// Rows per table (SQLite's own tables left out).
    pub rows: BTreeMap<String, u64>,
    /// The distinct blobs (sha256) the samples reference, sorted.
    pub blobs: Vec<String>,
    /// The sealing key's check value, once a server has started on the database.
    pub key_check: Option<String>,
}

/// Checks the database file at `path` (`PRAGMA integrity_check`) and reads its [`Facts`].
pub fn inspect(path: &Path) -> anyhow::Result<Facts> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut check = c.prepare("PRAGMA integrity_check")?;
    let problems: Vec<String> = check
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<_>>()?;
    anyhow::ensure!(
        problems == ["ok"],
        "the database fails PRAGMA integrity_check: {}",
        problems.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
    );
    let has_table = |name: &str| -> rusqlite::Result<bool> {
        c.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [name],
            |r| r.get(0),
        )
    };
    anyhow::ensure!(
        has_table("schema_migrations")? && has_table("samples")?,
        "{} is not a teamlabel database (it has no schema_migrations or samples table)",
        path.display()
    );
    let migrations = strings(&c, "SELECT version FROM schema_migrations ORDER BY version")?;
    let mut rows = BTreeMap::new();
    for table in strings(
        &c,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )? {
        let n: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\"")),
            [],
            |r| r.get(0),
        )?;
        rows.insert(table, n as u64);
    }
    let blobs = strings(
        &c,
        "SELECT DISTINCT blob_sha256 FROM samples WHERE blob_sha256 IS NOT NULL ORDER BY blob_sha256",
    )?;
    let key_check = if has_table("server_settings")? {
        c.query_row(
            "SELECT value FROM server_settings WHERE name = ?1",
            [teamlabel_core::iam::credentials::KEY_CHECK_SETTING],
            |r| r.get(0),
        )
        .optional()?
    } else {
        None
    };
    Ok(Facts {
        migrations,
        rows,
        blobs,
        key_check,
    })
}

fn strings(c: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare(sql)?;
    let out = stmt.query_map([], |r| r.get(0))?.collect();
    out
}
