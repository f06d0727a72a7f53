//! The stores of uploaded sample bytes, content-addressed. `FsBlobStore`, the default, keeps
//! them on the local disk as `DIR/blobs/ab/cd/<sha256>` (backups copy that folder): a blob is
//! written to a temporary file, synced, then renamed into place, so a crash never leaves a
//! half-written blob under its final name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use teamlabel_core::blobs::{sha256_hex, BlobStore};
use teamlabel_core::error::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_round_trip_and_are_addressed_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path()).unwrap();
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
