//! The object-storage port: the buckets that storage paths in the API name (`/bucket/dir/`,
//! `obs://bucket/key`, `s3://bucket/key`). Import tasks list and read through it, versions and
//! export tasks write through it. The backends (a local directory, any S3-compatible service)
//! live in `teamlabel-store`; this module knows neither a filesystem nor a bucket API.
//!
//! A path is checked once, when it is parsed into an [`ObjectPath`]: no `.` or `..` segment, no
//! empty segment, no backslash or control character, a bucket name S3 accepts. Backends only
//! ever see checked paths; the local backend also refuses to follow a symlink.

use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;

use crate::error::{codes, Error, Result};

/// The longest key accepted (S3's limit is 1,024 bytes).
pub const MAX_KEY_BYTES: usize = 1024;

/// A checked place in the object store: a bucket and a key. A key that ends with `/` (or is
/// empty) names a directory, that is a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectPath {
    bucket: String,
    key: String,
}

impl ObjectPath {
    /// Parses an API path: `/bucket/key`, `obs://bucket/key` or `s3://bucket/key`. `field` names
    /// the request field in the error (`ModelArts.4313`).
    pub fn parse(field: &str, path: &str) -> Result<Self> {
        let rest = path
            .strip_prefix("obs://")
            .or_else(|| path.strip_prefix("s3://"))
            .or_else(|| path.strip_prefix('/'))
            .ok_or_else(|| bad_path(field, path, "must start with /, obs:// or s3://"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket).map_err(|why| bad_path(field, path, &why))?;
        check_key(key).map_err(|why| bad_path(field, path, &why))?;
        Ok(Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// A path from a bucket and a key, checked like [`ObjectPath::parse`].
    pub fn new(bucket: &str, key: &str) -> Result<Self> {
        let shown = format!("/{bucket}/{key}");
        check_bucket(bucket).map_err(|why| bad_path("path", &shown, &why))?;
        check_key(key).map_err(|why| bad_path("path", &shown, &why))?;
        Ok(Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key inside the bucket, without a leading `/`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// True when the path names a directory (a prefix): its key is empty or ends with `/`.
    pub fn is_dir(&self) -> bool {
        self.key.is_empty() || self.key.ends_with('/')
    }

    /// The directory form of this path (a `/` appended when missing).
    pub fn as_dir(&self) -> Self {
        if self.is_dir() {
            self.clone()
        } else {
            Self {
                bucket: self.bucket.clone(),
                key: format!("{}/", self.key),
            }
        }
    }

    /// A path below this directory; `relative` is checked like a key and must not climb out.
    pub fn join(&self, relative: &str) -> Result<Self> {
        let base = self.as_dir();
        let key = format!("{}{}", base.key, relative.trim_start_matches('/'));
        Self::new(&self.bucket, &key)
    }

    /// The part of this path's key below `dir`, or `None` when it is not inside it.
    pub fn relative_to<'a>(&'a self, dir: &ObjectPath) -> Option<&'a str> {
        if self.bucket != dir.bucket {
            return None;
        }
        self.key.strip_prefix(dir.as_dir().key.as_str())
    }

    /// The directory that holds this path (the bucket root for a top-level key).
    pub fn parent(&self) -> Self {
        let trimmed = self.key.trim_end_matches('/');
        let key = trimmed.rfind('/').map_or("", |i| &trimmed[..=i]);
        Self {
            bucket: self.bucket.clone(),
            key: key.to_string(),
        }
    }

    /// The last segment of the key (the file name), empty for a bucket root.
    pub fn file_name(&self) -> &str {
        self.key.trim_end_matches('/').rsplit('/').next().unwrap_or("")
    }

    /// The path written with a scheme header such as `obs://` or `s3://`.
    pub fn with_header(&self, header: &str) -> String {
        format!("{header}{}/{}", self.bucket, self.key)
    }
}

/// Shown as the API writes paths: `/bucket/key`.
impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/{}", self.bucket, self.key)
    }
}

fn bad_path(field: &str, path: &str, why: &str) -> Error {
    Error::bad_request(
        codes::INVALID_PATH,
        format!("{field} {path:?} is not a valid storage path: {why}"),
    )
}

/// S3's bucket rules: 3–63 characters of lowercase letters, digits, `-` and `.`, starting and
/// ending with a letter or digit, no `..`.
fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    let ok_len = (3..=63).contains(&bucket.len());
    let ok_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ok_ends = bucket
        .bytes()
        .next()
        .zip(bucket.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_ends && !bucket.contains("..") {
        Ok(())
    } else {
        Err(format!(
            "bucket {bucket:?} must be 3 to 63 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit"
        ))
    }
}

fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("the key is longer than {MAX_KEY_BYTES} bytes"));
    }
    if let Some(c) = key.chars().find(|c| c.is_control() || *c == '\\') {
        return Err(format!("the key contains {c:?}"));
    }
    let body = key.strip_suffix('/').unwrap_or(key);
    if key.is_empty() {
        return Ok(());
    }
    if key.starts_with('/') {
        return Err("the key has an empty segment (//)".into());
    }
    for segment in body.split('/') {
        match segment {
            "" => return Err("the key has an empty segment (//)".into()),
            "." | ".." => return Err("the key has a . or .. segment".into()),
            _ => {}
        }
    }
    Ok(())
}

/// An object found by a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub path: ObjectPath,
    pub size: u64,
}

/// A stream of an object's bytes, in chunks.
pub type ByteStream = Pin<Box<dyn futures_core::Stream<Item = Result<bytes::Bytes>> + Send>>;

/// The object store. Errors, the same from every backend (built by the functions below, so the
/// messages match too): a missing object is `ModelArts.4345`, a missing bucket
/// `ModelArts.4311`, access refused `ModelArts.4310` (403; the local backend also answers it
/// for a symlink on the way), an object over a size limit `ModelArts.4419`, any other failure
/// of the backend `ModelArts.4314` with the reason. All but 4310 are answered as 400.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// `local` or `s3`, for logs and `--help`.
    fn kind(&self) -> &'static str;

    /// The objects under a directory, at any depth, in key order (byte order of the whole
    /// key), starting after the key `after` (exclusive; a whole key of the bucket, such as the
    /// last key of the previous page) when given, at most `limit` of them. Directories
    /// themselves and symlinks are not listed. A missing bucket is `ModelArts.4311`; a missing
    /// directory is an empty list.
    async fn list(&self, dir: &ObjectPath, after: Option<&str>, limit: usize) -> Result<Vec<ObjectMeta>>;

    /// The object's size, or `None` when there is no such object (the bucket exists).
    async fn head(&self, path: &ObjectPath) -> Result<Option<ObjectMeta>>;

    /// The whole object, refused with `ModelArts.4419` when it is larger than `max_bytes`
    /// (checked before reading it).
    async fn get(&self, path: &ObjectPath, max_bytes: u64) -> Result<Vec<u8>>;

    /// The object's bytes as a stream, for objects too large to hold (manifests). A missing
    /// object or bucket is answered here, before the stream.
    async fn read(&self, path: &ObjectPath) -> Result<ByteStream>;

    /// Stores an object in one piece, replacing any object at that path, creating a local
    /// bucket folder when needed. The object is whole or absent: readers never see a part of
    /// it.
    async fn put(&self, path: &ObjectPath, bytes: bytes::Bytes) -> Result<()>;

    /// Starts writing a large object in parts; nothing is visible until `finish`. An object
    /// store may leave an unfinished upload behind when the writer is dropped without
    /// `finish` or `abort`.
    async fn writer(&self, path: &ObjectPath) -> Result<Box<dyn ObjectWriter>>;

    /// Removes every object under a directory (or the one object at a path, and anything
    /// under it as a directory); a missing object is not an error, a missing bucket is
    /// `ModelArts.4311`.
    async fn delete(&self, path: &ObjectPath) -> Result<()>;
}

/// `ModelArts.4345`: no object at `path`.
pub fn object_not_found(path: &ObjectPath) -> Error {
    Error::bad_request(codes::FILE_NOT_FOUND, format!("File not found: {path}"))
}

/// `ModelArts.4311`: the bucket does not exist.
pub fn bucket_not_found(bucket: &str) -> Error {
    Error::bad_request(codes::BUCKET_NOT_FOUND, format!("OBS bucket does not exist: {bucket}"))
}

/// `ModelArts.4419`: the object at `path` is `size` bytes, more than `max_bytes`.
pub fn object_too_large(path: &ObjectPath, size: u64, max_bytes: u64) -> Error {
    Error::bad_request(
        codes::FILE_TOO_LARGE,
        format!("File {path} is too large: {size} bytes, at most {max_bytes} accepted"),
    )
}

/// `ModelArts.4310` (403): the storage refused access; `reason` says why.
pub fn storage_forbidden(reason: impl fmt::Display) -> Error {
    Error::forbidden(
        codes::STORAGE_FORBIDDEN,
        format!("Access to the storage denied: {reason}"),
    )
}

/// `ModelArts.4314`: the storage failed; `reason` says how (it must not hold a secret).
pub fn storage_error(reason: impl fmt::Display) -> Error {
    Error::bad_request(codes::STORAGE_ERROR, format!("Storage error: {reason}"))
}

/// The store of an `App` built without one (`App::with_objects` sets the real one): every
/// operation answers `ModelArts.4314`.
pub struct NoObjectStore;

#[async_trait]
impl ObjectStore for NoObjectStore {
    fn kind(&self) -> &'static str {
        "none"
    }

    async fn list(&self, _: &ObjectPath, _: Option<&str>, _: usize) -> Result<Vec<ObjectMeta>> {
        Err(unconfigured())
    }

    async fn head(&self, _: &ObjectPath) -> Result<Option<ObjectMeta>> {
        Err(unconfigured())
    }

    async fn get(&self, _: &ObjectPath, _: u64) -> Result<Vec<u8>> {
        Err(unconfigured())
    }

    async fn read(&self, _: &ObjectPath) -> Result<ByteStream> {
        Err(unconfigured())
    }

    async fn put(&self, _: &ObjectPath, _: bytes::Bytes) -> Result<()> {
        Err(unconfigured())
    }

    async fn writer(&self, _: &ObjectPath) -> Result<Box<dyn ObjectWriter>> {
        Err(unconfigured())
    }

    async fn delete(&self, _: &ObjectPath) -> Result<()> {
        Err(unconfigured())
    }
}

fn unconfigured() -> Error {
    storage_error("no object store is configured")
}

/// An object being written in parts.
#[async_trait]
pub trait ObjectWriter: Send {
    /// Appends a chunk; chunks of any size are accepted (backends buffer them into parts).
    async fn write(&mut self, chunk: bytes::Bytes) -> Result<()>;
    /// Makes the object visible, whole.
    async fn finish(self: Box<Self>) -> Result<()>;
    /// Gives up: nothing is left behind.
    async fn abort(self: Box<Self>) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_spellings_alike() {
        let a = ObjectPath::parse("p", "/test-obs/classify/input/").unwrap();
        let b = ObjectPath::parse("p", "obs://test-obs/classify/input/").unwrap();
        let c = ObjectPath::parse("p", "s3://test-obs/classify/input/").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.bucket(), "test-obs");
        assert_eq!(a.key(), "classify/input/");
        assert!(a.is_dir());
        assert_eq!(a.to_string(), "/test-obs/classify/input/");
        assert_eq!(a.with_header("obs://"), "obs://test-obs/classify/input/");
    }

    #[test]
    fn refuses_paths_that_climb_or_hide() {
        for bad in [
            "/b/../etc/passwd",
            "/bkt/a/../../x",
            "/bkt/./x",
            "/bkt//x",
            "obs://bkt/a//b",
            "bkt/x",
            "/../x",
            "/BKT/x",
            "/ab/x",
            "/bkt/a\\b",
            "/bkt/a\0b",
            "file:///etc/passwd",
            "http://h/x",
        ] {
            let e = ObjectPath::parse("import_path", bad).unwrap_err();
            assert_eq!(e.code, codes::INVALID_PATH, "{bad}");
            assert!(e.message.contains("import_path"), "{}", e.message);
        }
    }

    #[test]
    fn joins_stay_inside() {
        let dir = ObjectPath::parse("p", "/bkt/out").unwrap();
        let f = dir.join("V001/V001.manifest").unwrap();
        assert_eq!(f.to_string(), "/bkt/out/V001/V001.manifest");
        assert_eq!(f.relative_to(&dir), Some("V001/V001.manifest"));
        assert_eq!(f.file_name(), "V001.manifest");
        assert_eq!(f.parent().to_string(), "/bkt/out/V001/");
        assert_eq!(f.parent().parent().parent().to_string(), "/bkt/");
        assert!(dir.join("../x").is_err());
        assert!(dir.join("a/../../x").is_err());
    }

    #[test]
    fn a_bucket_root_is_a_directory() {
        let root = ObjectPath::parse("p", "/bkt").unwrap();
        assert!(root.is_dir());
        assert_eq!(root.join("a.jpg").unwrap().key(), "a.jpg");
        let long = format!("/bkt/{}", "a".repeat(MAX_KEY_BYTES + 1));
        assert!(ObjectPath::parse("p", &long).is_err());
    }
}
