//! Restoring a backup into an empty or new data dir. Everything is unpacked into a hidden
//! staging folder inside the target and checked there (every entry's sha256 against the
//! manifest, each blob against its name, the database's integrity, schema, row counts and
//! referenced blobs, the key against the database); only then are the database, the blobs and
//! the key moved into place. A failed restore removes what it made.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::read::GzDecoder;
use teamlabel_core::iam::sealer::Sealer;

use super::manifest::{
    blob_list_sha256, Hashed, Manifest, BLOBS_DIR, DATABASE_ENTRY, KEY_ENTRY, MANIFEST_ENTRY, MAX_MANIFEST_BYTES,
};
use super::snapshot;
use crate::blobs::relative_path;

/// Restores the archive `from` into `data_dir`, which must not exist or be an empty directory;
/// answers the archive's manifest.
pub fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<Manifest> {
    check_target(data_dir)?;
    let file = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let created_dir = !data_dir.exists();
    fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let staging = data_dir.join(format!(".restore-{}", teamlabel_core::ids::new_hex32()));
    let outcome = fs::create_dir(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))
        .and_then(|()| unpack_and_check(file, &staging))
        .with_context(|| format!("cannot restore {}; nothing was restored", from.display()))
        .and_then(|manifest| {
            move_into_place(&staging, data_dir)
                .with_context(|| format!("cannot move the restored files into {}", data_dir.display()))?;
            Ok(manifest)
        });
    if outcome.is_err() {
        let _ = fs::remove_dir_all(&staging);
        if created_dir {
            let _ = fs::remove_dir_all(data_dir);
        }
    }
    outcome
}

/// Refuses anything but a missing path or an empty directory, so a restore never mixes with or
/// overwrites data that is there.
fn check_target(data_dir: &Path) -> anyhow::Result<()> {
    match fs::metadata(data_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", data_dir.display())),
        Ok(m) if !m.is_dir() => anyhow::bail!("{} exists and is not a directory", data_dir.display()),
        Ok(_) => {
            let mut names: Vec<String> = fs::read_dir(data_dir)
                .with_context(|| format!("cannot read {}", data_dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            names.sort();
            anyhow::ensure!(
                names.is_empty(),
                "{} is not empty (it holds {}{}): restore only into an empty or new directory, so that nothing \
                 there is overwritten or mixed with the backup",
                data_dir.display(),
                names.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                if names.len() > 3 { ", ..." } else { "" }
            );
            Ok(())
        }
    }
}

fn unpack_and_check(file: File, staging: &Path) -> anyhow::Result<Manifest> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let (manifest, blobs) = if gzip {
        unpack(GzDecoder::new(reader), staging)?
    } else {
        unpack(reader, staging)?
    };
    check_database(staging, &manifest, &blobs)?;
    Ok(manifest)
}

/// Unpacks every entry into `staging`, checking each as it goes; answers the manifest and the
/// names of the blobs unpacked.
fn unpack<R: Read>(reader: R, staging: &Path) -> anyhow::Result<(Manifest, Vec<String>)> {
    const DAMAGED: &str = "the archive is damaged or is not a teamlabel backup";
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().context(DAMAGED)?;
    let mut first = entries
        .next()
        .context("the archive is empty: not a teamlabel backup")?
        .context(DAMAGED)?;
    anyhow::ensure!(
        first.path()?.to_str() == Some(MANIFEST_ENTRY),
        "the archive does not start with {MANIFEST_ENTRY}: not a teamlabel backup"
    );
    anyhow::ensure!(first.size() <= MAX_MANIFEST_BYTES, "{MANIFEST_ENTRY} is too large");
    let mut text = Vec::new();
    first.read_to_end(&mut text).context(DAMAGED)?;
    let manifest: Manifest = serde_json::from_slice(&text).with_context(|| format!("{MANIFEST_ENTRY} is damaged"))?;
    manifest.check_restorable()?;

    let mut files = BTreeSet::new();
    let mut blobs = Vec::new();
    let mut blob_bytes = 0u64;
    let mut dirs = BTreeSet::new();
    fs::create_dir(staging.join(BLOBS_DIR))?;
    for entry in entries {
        let mut entry = entry.context(DAMAGED)?;
        let path = entry.path().context(DAMAGED)?.to_string_lossy().into_owned();
        anyhow::ensure!(
            entry.header().entry_type().is_file(),
            "unexpected entry {path:?} in the archive (not a regular file): not a teamlabel backup"
        );
        let (target, blob) = match path.as_str() {
            DATABASE_ENTRY | KEY_ENTRY => (staging.join(&path), None),
            _ => {
                let sha = blob_name(&path)
                    .with_context(|| format!("unexpected entry {path:?} in the archive: not a teamlabel backup"))?;
                let rel = relative_path(&sha).expect("blob_name checked the name");
                (staging.join(BLOBS_DIR).join(rel), Some(sha))
            }
        };
        let dir = target
            .parent()
            .expect("entries sit in the staging folder")
            .to_path_buf();
        fs::create_dir_all(&dir)?;
        dirs.insert(dir);
        let mut out = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&target)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                anyhow::bail!("{path} appears twice in the archive: it is damaged")
            }
            Err(e) => return Err(anyhow::anyhow!("cannot create {}: {e}", target.display())),
        };
        let mut reader = Hashed::new(&mut entry);
        std::io::copy(&mut reader, &mut out).with_context(|| format!("reading {path}: {DAMAGED}"))?;
        out.sync_all()?;
        let (sha, len) = reader.finish();
        match blob {
            Some(name) => {
                anyhow::ensure!(
                    sha == name,
                    "checksum mismatch: the blob {path} hashes to sha256 {sha}, not to its name: the archive is damaged"
                );
                blob_bytes += len;
                blobs.push(name);
            }
            None => {
                let listed = manifest
                    .file(&path)
                    .with_context(|| format!("{path} is in the archive but not in its manifest: it is damaged"))?;
                anyhow::ensure!(
                    listed.sha256 == sha && listed.size == len,
                    "checksum mismatch: {path} in the archive has sha256 {sha} ({len} bytes), its manifest says {} \
                     ({} bytes): the archive is damaged",
                    listed.sha256,
                    listed.size
                );
                files.insert(path);
            }
        }
    }
    // Read to the end, so a compressed archive's own checksum (at its end) is checked too.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).context(DAMAGED)?;
    for dir in dirs {
        sync_dir(&dir);
    }

    for f in &manifest.files {
        anyhow::ensure!(
            files.contains(&f.path),
            "{} is missing from the archive: it is damaged or cut short",
            f.path
        );
    }
    anyhow::ensure!(files.contains(DATABASE_ENTRY), "the archive holds no {DATABASE_ENTRY}");
    anyhow::ensure!(
        manifest.secret_key_included == files.contains(KEY_ENTRY),
        "the manifest and the archive disagree on whether {KEY_ENTRY} is included: the archive is damaged"
    );
    anyhow::ensure!(
        blobs.len() as u64 == manifest.blobs.count
            && blob_bytes == manifest.blobs.bytes
            && blob_list_sha256(&blobs) == manifest.blobs.list_sha256,
        "checksum mismatch: the archive holds {} blobs ({blob_bytes} bytes), its manifest lists {} ({} bytes) \
         with another set of names: the archive is damaged or cut short",
        blobs.len(),
        manifest.blobs.count,
        manifest.blobs.bytes
    );
    Ok((manifest, blobs))
}

/// `blobs/ab/cd/<sha256>` with `ab` and `cd` the start of the name: the name.
fn blob_name(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [BLOBS_DIR, a, b, sha] => {
            let rel = relative_path(sha)?;
            (rel == Path::new(a).join(b).join(sha)).then(|| sha.to_string())
        }
        _ => None,
    }
}

/// The unpacked database must pass `PRAGMA integrity_check`, match the manifest's schema and row
/// counts, reference exactly the blobs unpacked, and accept the unpacked key.
fn check_database(staging: &Path, manifest: &Manifest, blobs: &[String]) -> anyhow::Result<()> {
    let facts = snapshot::inspect(&staging.join(DATABASE_ENTRY)).context("checking the restored database")?;
    anyhow::ensure!(
        facts.migrations == manifest.schema.migrations,
        "the database's schema migrations differ from the manifest's: the archive is damaged"
    );
    anyhow::ensure!(
        facts.rows == manifest.rows,
        "the database's row counts differ from the manifest's: the archive is damaged"
    );
    let unpacked: BTreeSet<&String> = blobs.iter().collect();
    let missing: Vec<&String> = facts.blobs.iter().filter(|b| !unpacked.contains(b)).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "the database references {} blobs the archive lacks (e.g. {}): it is incomplete",
        missing.len(),
        missing[0]
    );
    let key_path = staging.join(KEY_ENTRY);
    if let (true, Some(check)) = (key_path.exists(), &facts.key_check) {
        let text = fs::read_to_string(&key_path)?;
        let key = Sealer::from_hex(&text).map_err(|e| anyhow::anyhow!("{KEY_ENTRY} in the archive: {}", e.message))?;
        anyhow::ensure!(
            &key.check_value() == check,
            "{KEY_ENTRY} in the archive does not match its database: the archive is damaged"
        );
    }
    Ok(())
}

/// Moves the checked files from `staging` into `data_dir` and removes `staging`.
fn move_into_place(staging: &Path, data_dir: &Path) -> anyhow::Result<()> {
    for name in [DATABASE_ENTRY, KEY_ENTRY, BLOBS_DIR] {
        let from = staging.join(name);
        if from.exists() {
            fs::rename(&from, data_dir.join(name))?;
        }
    }
    fs::remove_dir(staging)?;
    sync_dir(data_dir);
    Ok(())
}

/// Makes a directory's entries durable (best effort: not every filesystem can).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The data dir path a restore writes the sealing key to, for messages.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_ENTRY)
}
