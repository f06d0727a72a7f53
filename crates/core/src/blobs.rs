//! The blob port: bytes of uploaded samples, addressed by their SHA-256. The filesystem store is
//! in `teamlabel-store`; an S3-compatible store can implement the same trait.
//! It must not know a filesystem or a bucket.

use sha2::{Digest, Sha256};

use crate::error::Result;

pub trait BlobStore: Send + Sync + 'static {
    /// Stores the bytes durably (written, synced, renamed into place) and answers their SHA-256.
    fn put(&self, bytes: &[u8]) -> Result<String>;
    /// The bytes of a blob, or `None` when it is not stored.
    fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>>;
    /// Removes a blob; removing a missing blob is not an error.
    fn remove(&self, sha256: &str) -> Result<()>;
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
