//! Object stores under test: the local store in a temporary directory always, and an S3 store
//! when `TEST_S3_ENDPOINT` names an S3-compatible server (`scripts/test` starts one), each with
//! a fresh bucket of its own (made by `s3_bucket`).

use std::sync::Arc;

use teamlabel_core::ids::new_hex32;
use teamlabel_core::objects::{ObjectPath, ObjectStore};
use teamlabel_store::objects::{LocalObjectStore, S3ObjectStore};

pub use super::s3_bucket::{create_bucket, s3_config};

pub struct ObjectBackend {
    pub name: &'static str,
    pub store: Arc<dyn ObjectStore>,
    /// A bucket that exists and is empty.
    pub bucket: String,
    _dir: Option<tempfile::TempDir>,
}

impl ObjectBackend {
    /// A path in this backend's bucket.
    pub fn path(&self, key: &str) -> ObjectPath {
        ObjectPath::new(&self.bucket, key).unwrap()
    }
}

/// A bucket name no test has used.
pub fn fresh_bucket() -> String {
    format!("t-{}", &new_hex32()[..20])
}

pub async fn object_backends() -> Vec<ObjectBackend> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("buckets");
    let bucket = fresh_bucket();
    std::fs::create_dir_all(root.join(&bucket)).unwrap();
    let mut out = vec![ObjectBackend {
        name: "local",
        store: Arc::new(LocalObjectStore::new(&root).unwrap()),
        bucket,
        _dir: Some(dir),
    }];
    match s3_config() {
        Some(config) => {
            let bucket = fresh_bucket();
            create_bucket(&config, &bucket).await;
            out.push(ObjectBackend {
                name: "s3",
                store: Arc::new(S3ObjectStore::new(config).unwrap()),
                bucket,
                _dir: None,
            });
        }
        None => eprintln!("skipping S3: TEST_S3_ENDPOINT is not set"),
    }
    out
}
