//! The stores of uploaded sample bytes, content-addressed. `FsBlobStore`, the default, keeps
//! them on the local disk as `DIR/blobs/ab/cd/<sha256>` (backups copy that folder): a blob is
//! written to a temporary file, synced, then renamed into place, so a crash never leaves a
//! half-written blob under its final name. `ObjectBlobStore` keeps them as objects
//! `PREFIX<sha256>` of the object store (S3-compatible), where a put is whole or absent.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use teamlabel_core::blobs::{sha256_hex, BlobStore};
use teamlabel_core::error::{codes, Error, Result};
use teamlabel_core::objects::{ObjectPath, ObjectStore};

pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root })
    }

    fn path_of(&self, sha: &str) -> Option<PathBuf> {
        relative_path(sha).map(|p| self.root.join(p))
    }
}

/// Where the blob `sha` lives below the blob store's root (`ab/cd/<sha256>`), or `None` when
/// `sha` is not 64 lowercase hex digits.
pub fn relative_path(sha: &str) -> Option<PathBuf> {
    if !is_sha256(sha) {
        return None;
    }
    Some(PathBuf::from(&sha[0..2]).join(&sha[2..4]).join(sha))
}

fn io(e: std::io::Error, what: &str, path: &Path) -> Error {
    Error::internal(format!("{what} {}: {e}", path.display()))
}

fn is_sha256(sha: &str) -> bool {
    sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

// The filesystem calls block, briefly, as they always have here: a blob is at most one
// sample file, written once.
#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.path_of(&sha).expect("sha256_hex gives 64 hex digits");
        if path.exists() {
            return Ok(sha);
        }
        let dir = path.parent().expect("blob paths have a parent");
        fs::create_dir_all(dir).map_err(|e| io(e, "creating", dir))?;
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{sha}.{}", teamlabel_core::ids::new_hex32()));
        let mut f = fs::File::create(&tmp).map_err(|e| io(e, "creating", &tmp))?;
        f.write_all(bytes).map_err(|e| io(e, "writing", &tmp))?;
        f.sync_all().map_err(|e| io(e, "syncing", &tmp))?;
        fs::rename(&tmp, &path).map_err(|e| io(e, "renaming into", &path))?;
        // The rename is durable only once the directory entry is.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(sha)
    }

    async fn get(&self, sha: &str) -> Result<Option<Vec<u8>>> {
        let Some(path) = self.path_of(sha) else {
            return Ok(None);
        };
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e, "reading", &path)),
        }
    }

    async fn remove(&self, sha: &str) -> Result<()> {
        let Some(path) = self.path_of(sha) else {
            return Ok(());
        };
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e, "removing", &path)),
        }
    }
}

/// Sample bytes as objects of an object store: `DIR<sha256>` for a directory `DIR` such as
/// `/teamlabel/blobs/`. A failure of the store is a fault of the server here (logged, not
/// shown), as a failing disk is to `FsBlobStore`.
pub struct ObjectBlobStore {
    objects: Arc<dyn ObjectStore>,
    dir: ObjectPath,
}

impl ObjectBlobStore {
    pub fn new(objects: Arc<dyn ObjectStore>, dir: ObjectPath) -> Self {
        Self {
            objects,
            dir: dir.as_dir(),
        }
    }

    /// Where the blobs are, e.g. `/teamlabel/blobs/`.
    pub fn dir(&self) -> &ObjectPath {
        &self.dir
    }

    fn path_of(&self, sha: &str) -> Option<ObjectPath> {
        is_sha256(sha).then(|| self.dir.join(sha).expect("a sha256 is a valid key segment"))
    }
}

fn blob_fault(e: Error) -> Error {
    Error::internal(format!("blob store: {e}"))
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.path_of(&sha).expect("sha256_hex gives 64 hex digits");
        let stored = match self.objects.head(&path).await {
            Ok(meta) => meta,
            // The local store makes a bucket folder on the first write; S3 refuses the put.
            Err(e) if e.code == codes::BUCKET_NOT_FOUND => None,
            Err(e) => return Err(blob_fault(e)),
        };
        if stored.is_none_or(|m| m.size != bytes.len() as u64) {
            self.objects
                .put(&path, bytes::Bytes::copy_from_slice(bytes))
                .await
                .map_err(blob_fault)?;
        }
        Ok(sha)
    }

    async fn get(&self, sha: &str) -> Result<Option<Vec<u8>>> {
        let Some(path) = self.path_of(sha) else {
            return Ok(None);
        };
        match self.objects.get(&path, u64::MAX).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.code == codes::FILE_NOT_FOUND => Ok(None),
            Err(e) => Err(blob_fault(e)),
        }
    }

    async fn remove(&self, sha: &str) -> Result<()> {
        let Some(path) = self.path_of(sha) else {
            return Ok(());
        };
        self.objects.delete(&path).await.map_err(blob_fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_round_trip_and_are_addressed_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let fs_store = FsBlobStore::new(dir.path().join("blobs")).unwrap();
        let objects = Arc::new(crate::objects::LocalObjectStore::new(dir.path().join("buckets")).unwrap());
        let in_objects = ObjectBlobStore::new(objects, ObjectPath::new("bkt", "blobs/").unwrap());
        let stores: [&dyn BlobStore; 2] = [&fs_store, &in_objects];
        for store in stores {
            let sha = store.put(b"hello").await.unwrap();
            assert_eq!(sha, sha256_hex(b"hello"));
            assert_eq!(store.put(b"hello").await.unwrap(), sha);
            assert_eq!(store.get(&sha).await.unwrap().unwrap(), b"hello");
            store.remove(&sha).await.unwrap();
            assert_eq!(store.get(&sha).await.unwrap(), None);
            store.remove(&sha).await.unwrap();
            assert_eq!(store.get("../../etc/passwd").await.unwrap(), None);
        }
    }
}
