//! The local object store, the default: a bucket is a folder under one root directory
//! (`DATA_DIR/buckets` unless configured), a key is a file path below it.
//!
//! Nothing ever leaves the root: every component below it is checked with `symlink_metadata`
//! and a symlink on the way is refused (`ModelArts.4310`); files are opened with `O_NOFOLLOW`;
//! listings skip symlinks. A bucket folder that does not exist is `ModelArts.4311` to reads,
//! lists and deletes; writes create it. Writes are atomic and durable: a temporary file in the
//! target's folder (named `.teamlabel-tmp-…`, which listings skip and writes refuse), synced,
//! renamed into place, then the folder synced. Blocking filesystem work runs on tokio's
//! blocking threads; `read` streams with tokio's file.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use teamlabel_core::error::{codes, Error, Result};
use teamlabel_core::objects::{
    object_not_found, object_too_large, storage_error, ByteStream, ObjectMeta, ObjectPath, ObjectStore, ObjectWriter,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::resolve::{bucket_dir, find, io_error, is_temporary, symlink_refused, Found, TMP_PREFIX};
use super::walk;

/// The size of the chunks `read` streams.
const READ_CHUNK: usize = 256 * 1024;

pub struct LocalObjectStore {
    root: PathBuf,
}

impl LocalObjectStore {
    /// A store whose buckets are the folders of `root`, created if missing.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs blocking filesystem work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        path: &ObjectPath,
        f: impl FnOnce(&Path, &ObjectPath) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let root = self.root.clone();
        let path = path.clone();
        tokio::task::spawn_blocking(move || f(&root, &path))
            .await
            .map_err(|e| storage_error(format!("a storage task failed: {e}")))?
    }
}

/// Opens a file without following a symlink in its last component.
fn open_nofollow(file: &Path, path: &ObjectPath) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(file)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => symlink_refused(path),
            _ if e.kind() == std::io::ErrorKind::NotFound => object_not_found(path),
            _ => io_error("opening", path, e),
        })
}

/// Opens the object at `path` for reading, with its size.
fn open_object(root: &Path, path: &ObjectPath) -> Result<(File, u64)> {
    if path.is_dir() || is_temporary(path) {
        return Err(object_not_found(path));
    }
    let Found::File(file, _) = find(root, path)? else {
        return Err(object_not_found(path));
    };
    let f = open_nofollow(&file, path)?;
    let meta = f.metadata().map_err(|e| io_error("reading", path, e))?;
    if !meta.is_file() {
        return Err(object_not_found(path));
    }
    Ok((f, meta.len()))
}

/// Syncs a folder, so the entries renamed or created in it survive a crash.
fn sync_dir(dir: &Path, path: &ObjectPath) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("syncing the folder of", path, e))
}

/// The folder a new object at `path` goes in, created (each new folder synced into its parent)
/// where missing, with no symlink on the way; and the object's file name.
fn prepare_write(root: &Path, path: &ObjectPath) -> Result<(PathBuf, String)> {
    if path.is_dir() {
        return Err(Error::bad_request(
            codes::INVALID_PATH,
            format!("{path} names a directory, not an object"),
        ));
    }
    if is_temporary(path) {
        return Err(Error::bad_request(
            codes::INVALID_PATH,
            format!("{path}: names starting with {TMP_PREFIX} are reserved"),
        ));
    }
    let (dirs, name) = path.key().rsplit_once('/').unwrap_or(("", path.key()));
    let mut cur = root.to_path_buf();
    for segment in std::iter::once(path.bucket()).chain(dirs.split('/').filter(|s| !s.is_empty())) {
        let parent = cur.clone();
        cur.push(segment);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => return Err(symlink_refused(path)),
            Ok(m) if m.is_dir() => continue,
            Ok(_) => return Err(storage_error(format!("{path}: a folder on the way is a file"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("reading", path, e)),
        }
        match fs::create_dir(&cur) {
            Ok(()) => sync_dir(&parent, path)?,
            // Created meanwhile by another writer: check it like any other.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match fs::symlink_metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                _ => return Err(symlink_refused(path)),
            },
            Err(e) => return Err(io_error("creating a folder for", path, e)),
        }
    }
    match fs::symlink_metadata(cur.join(name)) {
        Ok(m) if m.file_type().is_symlink() => return Err(symlink_refused(path)),
        Ok(m) if m.is_dir() => return Err(storage_error(format!("{path} is a folder"))),
        _ => {}
    }
    Ok((cur, name.to_string()))
}

/// Creates a new temporary file in `dir`.
fn create_temporary(dir: &Path, path: &ObjectPath) -> Result<(File, PathBuf)> {
    let tmp = dir.join(format!("{TMP_PREFIX}{}", teamlabel_core::ids::new_hex32()));
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| io_error("creating", path, e))?;
    Ok((f, tmp))
}

/// Moves a synced temporary file into place and syncs the folder.
fn commit(tmp: &Path, dir: &Path, name: &str, path: &ObjectPath) -> Result<()> {
    if let Err(e) = fs::rename(tmp, dir.join(name)) {
        let _ = fs::remove_file(tmp);
        return Err(io_error("writing", path, e));
    }
    sync_dir(dir, path)
}

fn put_sync(root: &Path, path: &ObjectPath, bytes: &[u8]) -> Result<()> {
    let (dir, name) = prepare_write(root, path)?;
    let (mut f, tmp) = create_temporary(&dir, path)?;
    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = fs::remove_file(&tmp);
        return Err(io_error("writing", path, e));
    }
    drop(f);
    commit(&tmp, &dir, &name, path)
}

fn delete_sync(root: &Path, path: &ObjectPath) -> Result<()> {
    let bucket = bucket_dir(root, path)?;
    let target = match find(root, path)? {
        Found::Missing => return Ok(()),
        Found::File(_, _) if path.is_dir() => return Ok(()),
        Found::File(file, _) => file,
        Found::Dir(dir) if dir == bucket => {
            // The bucket's root: everything in it goes, the bucket stays.
            for entry in fs::read_dir(&bucket).map_err(|e| io_error("listing", path, e))? {
                let entry = entry.map_err(|e| io_error("listing", path, e))?;
                remove_entry(&entry.path(), path)?;
            }
            return sync_dir(&bucket, path);
        }
        Found::Dir(dir) => dir,
    };
    remove_entry(&target, path)?;
    // Folders left empty go too, up to the bucket's.
    let mut dir = target.parent().map(Path::to_path_buf);
    while let Some(d) = dir.filter(|d| *d != bucket && d.starts_with(&bucket)) {
        if fs::remove_dir(&d).is_err() {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    let parent = target.parent().unwrap_or(&bucket);
    let parent = if parent.exists() { parent } else { &bucket };
    sync_dir(parent, path)
}

/// Removes a file, a symlink (never what it points at) or a folder with all it holds.
fn remove_entry(entry: &Path, path: &ObjectPath) -> Result<()> {
    let meta = match fs::symlink_metadata(entry) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("removing", path, e)),
    };
    let removed = if meta.is_dir() {
        fs::remove_dir_all(entry)
    } else {
        fs::remove_file(entry)
    };
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error("removing", path, e)),
        _ => Ok(()),
    }
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn list(&self, dir: &ObjectPath, after: Option<&str>, limit: usize) -> Result<Vec<ObjectMeta>> {
        let after = after.map(str::to_string);
        self.blocking(dir, move |root, dir| walk::list(root, dir, after.as_deref(), limit))
            .await
    }

    async fn head(&self, path: &ObjectPath) -> Result<Option<ObjectMeta>> {
        self.blocking(path, |root, path| {
            if path.is_dir() || is_temporary(path) {
                bucket_dir(root, path)?;
                return Ok(None);
            }
            Ok(match find(root, path)? {
                Found::File(_, size) => Some(ObjectMeta {
                    path: path.clone(),
                    size,
                }),
                Found::Missing | Found::Dir(_) => None,
            })
        })
        .await
    }

    async fn get(&self, path: &ObjectPath, max_bytes: u64) -> Result<Vec<u8>> {
        self.blocking(path, move |root, path| {
            let (mut f, size) = open_object(root, path)?;
            if size > max_bytes {
                return Err(object_too_large(path, size, max_bytes));
            }
            let mut bytes = Vec::with_capacity(size as usize);
            // One byte past the limit tells a file that grew while it was read.
            Read::by_ref(&mut f)
                .take(max_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| io_error("reading", path, e))?;
            if bytes.len() as u64 > max_bytes {
                return Err(object_too_large(path, bytes.len() as u64, max_bytes));
            }
            Ok(bytes)
        })
        .await
    }

    async fn read(&self, path: &ObjectPath) -> Result<ByteStream> {
        let (f, _) = self.blocking(path, open_object).await?;
        let shown = path.clone();
        let file = tokio::fs::File::from_std(f);
        let stream = futures_util::stream::unfold(Some(file), move |state| {
            let shown = shown.clone();
            async move {
                let mut file = state?;
                let mut buf = vec![0u8; READ_CHUNK];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), Some(file)))
                    }
                    Err(e) => Some((Err(io_error("reading", &shown, e)), None)),
                }
            }
        });
        Ok(Box::pin(stream))
    }

    async fn put(&self, path: &ObjectPath, bytes: Bytes) -> Result<()> {
        self.blocking(path, move |root, path| put_sync(root, path, &bytes))
            .await
    }

    async fn writer(&self, path: &ObjectPath) -> Result<Box<dyn ObjectWriter>> {
        let (dir, name, f, tmp) = self
            .blocking(path, |root, path| {
                let (dir, name) = prepare_write(root, path)?;
                let (f, tmp) = create_temporary(&dir, path)?;
                Ok((dir, name, f, tmp))
            })
            .await?;
        Ok(Box::new(LocalWriter {
            path: path.clone(),
            dir,
            name,
            tmp: Some(tmp),
            file: Some(tokio::fs::File::from_std(f)),
        }))
    }

    async fn delete(&self, path: &ObjectPath) -> Result<()> {
        self.blocking(path, delete_sync).await
    }
}

/// An object being written: a temporary file until `finish` renames it into place. Dropped
/// unfinished, it removes the temporary file.
struct LocalWriter {
    path: ObjectPath,
    dir: PathBuf,
    name: String,
    tmp: Option<PathBuf>,
    file: Option<tokio::fs::File>,
}

#[async_trait]
impl ObjectWriter for LocalWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        let file = self.file.as_mut().expect("a writer has its file until it ends");
        file.write_all(&chunk)
            .await
            .map_err(|e| io_error("writing", &self.path, e))
    }

    async fn finish(mut self: Box<Self>) -> Result<()> {
        let mut file = self.file.take().expect("a writer has its file until it ends");
        let synced = async {
            file.flush().await?;
            file.sync_all().await
        }
        .await;
        drop(file);
        synced.map_err(|e| io_error("writing", &self.path, e))?;
        let tmp = self.tmp.take().expect("a writer has its file until it ends");
        let (dir, name, path) = (self.dir.clone(), self.name.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || commit(&tmp, &dir, &name, &path))
            .await
            .map_err(|e| storage_error(format!("a storage task failed: {e}")))?
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        drop(self.file.take());
        if let Some(tmp) = self.tmp.take() {
            tokio::fs::remove_file(&tmp)
                .await
                .map_err(|e| io_error("removing the unfinished", &self.path, e))?;
        }
        Ok(())
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}
