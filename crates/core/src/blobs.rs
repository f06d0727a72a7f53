//! The blob port: bytes of uploaded samples, addressed by their SHA-256. The stores are in
//! `teamlabel-store`: files under the data dir by default, or objects of the object store
//! (S3-compatible). It must not know a filesystem or a bucket.

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::error::Result;

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the bytes durably (whole or not at all) and answers their SHA-256.
    async fn put(&self, bytes: &[u8]) -> Result<String>;
    /// The bytes of a blob, or `None` when it is not stored.
    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>>;
    /// Removes a blob; removing a missing blob is not an error.
    async fn remove(&self, sha256: &str) -> Result<()>;
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
