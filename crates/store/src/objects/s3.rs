//! The S3 object store: any S3-compatible service (OBS, MinIO, AWS, Ceph) through the
//! `object_store` crate, with static credentials, path-style addressing (`ENDPOINT/bucket/key`)
//! and plain HTTP only when the endpoint is `http://`.
//!
//! The API's paths name any bucket, and an `object_store` client serves one, so a client is
//! built per bucket on first use and kept (a bounded number of them). Errors are mapped once,
//! in [`map_error`]: `NoSuchBucket` is `ModelArts.4311`, a missing key `ModelArts.4345`, access
//! refused `ModelArts.4310`, anything else `ModelArts.4314` with the service's code and message
//! (never its whole answer, which may echo a signature's inputs). A `HEAD` answer has no body
//! to tell a missing bucket from a missing key, so a missing object is followed by one small
//! listing of the bucket that tells them apart.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, ObjectStore as _, ObjectStoreExt as _, PutPayload, RetryConfig, WriteMultipart,
};
use teamlabel_core::error::{Error, Result};
use teamlabel_core::objects::{
    bucket_not_found, object_not_found, object_too_large, storage_error, storage_forbidden, ByteStream, ObjectMeta,
    ObjectPath, ObjectStore, ObjectWriter,
};

/// How to reach the service. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `http://host:port` or `https://host`; plain HTTP is allowed only for an `http://` one.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The most per-bucket clients kept; past it the cache starts over.
const MAX_CLIENTS: usize = 64;

/// The part size of multipart uploads (S3's smallest but for the last part).
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

pub struct S3ObjectStore {
    config: S3Config,
    clients: Mutex<HashMap<String, Arc<AmazonS3>>>,
}

impl S3ObjectStore {
    /// Checks the settings; no request is made until the store is used.
    pub fn new(config: S3Config) -> anyhow::Result<Self> {
        let store = Self {
            config,
            clients: Mutex::new(HashMap::new()),
        };
        // Building a client checks the endpoint and the credentials' shape.
        store
            .client("teamlabel-check")
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        store
            .clients
            .lock()
            .expect("the client cache is never poisoned")
            .clear();
        Ok(store)
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn client(&self, bucket: &str) -> Result<Arc<AmazonS3>> {
        let mut clients = self.clients.lock().expect("the client cache is never poisoned");
        if let Some(c) = clients.get(bucket) {
            return Ok(Arc::clone(c));
        }
        let c = &self.config;
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(&c.endpoint)
            .with_region(&c.region)
            .with_bucket_name(bucket)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(c.endpoint.starts_with("http://"))
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(120)),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        if let Some(token) = &c.session_token {
            builder = builder.with_token(token);
        }
        let client = Arc::new(
            builder
                .build()
                .map_err(|e| storage_error(format!("the S3 settings are not usable: {e}")))?,
        );
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(bucket.to_string(), Arc::clone(&client));
        Ok(client)
    }

    /// The error for a key that was not found: a missing bucket, or a missing object.
    async fn not_found(&self, client: &AmazonS3, path: &ObjectPath) -> Error {
        match client
            .list_with_delimiter(Some(&Path::from("teamlabel-bucket-probe")))
            .await
        {
            Ok(_) => object_not_found(path),
            Err(e) => map_error(e, path),
        }
    }

    /// Deletes every key below `prefix` (a key ending in `/`, or empty for the whole bucket).
    async fn delete_prefix(&self, client: &Arc<AmazonS3>, dir: &ObjectPath) -> Result<()> {
        let prefix = to_path(dir)?;
        let prefix = (!dir.key().is_empty()).then_some(prefix);
        let listed = client.list(prefix.as_ref()).map_ok(|m| m.location).boxed();
        let mut deleted = client.delete_stream(listed);
        while let Some(outcome) = deleted.next().await {
            match outcome {
                Ok(_) => {}
                // Gone meanwhile.
                Err(e @ object_store::Error::NotFound { .. }) if !error_text(&e).contains("NoSuchBucket") => {}
                Err(e) => return Err(map_error(e, dir)),
            }
        }
        Ok(())
    }
}

/// An object path as `object_store` spells it (without a trailing `/`).
fn to_path(path: &ObjectPath) -> Result<Path> {
    Path::parse(path.key()).map_err(|e| storage_error(format!("{path}: {e}")))
}

/// The error and its sources, as one line.
fn error_text(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The `<Code>` and `<Message>` of an S3 error answer, when the text holds one.
fn s3_reason(text: &str) -> Option<String> {
    let between = |open: &str, close: &str| {
        let start = text.find(open)? + open.len();
        let end = text[start..].find(close)? + start;
        Some(text[start..end].to_string())
    };
    let code = between("<Code>", "</Code>")?;
    Some(match between("<Message>", "</Message>") {
        Some(message) => format!("{code}: {message}"),
        None => code,
    })
}

/// Maps an `object_store` error on `path` to the ModelArts error the port promises.
pub(crate) fn map_error(e: object_store::Error, path: &ObjectPath) -> Error {
    let text = error_text(&e);
    if text.contains("NoSuchBucket") {
        return bucket_not_found(path.bucket());
    }
    let reason = s3_reason(&text).unwrap_or_else(|| text.clone());
    match e {
        object_store::Error::NotFound { .. } => object_not_found(path),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            storage_forbidden(format!("{path}: {reason}"))
        }
        _ if ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"]
            .iter()
            .any(|c| text.contains(c)) =>
        {
            storage_forbidden(format!("{path}: {reason}"))
        }
        _ => storage_error(format!("{path}: {reason}")),
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    fn kind(&self) -> &'static str {
        "s3"
    }

    async fn list(&self, dir: &ObjectPath, after: Option<&str>, limit: usize) -> Result<Vec<ObjectMeta>> {
        let client = self.client(dir.bucket())?;
        let dir = dir.as_dir();
        let prefix = (!dir.key().is_empty()).then(|| to_path(&dir)).transpose()?;
        if limit == 0 {
            // The bucket must still exist.
            client
                .list_with_delimiter(prefix.as_ref())
                .await
                .map_err(|e| map_error(e, &dir))?;
            return Ok(Vec::new());
        }
        // The service starts after `after` when it spells it the same; the filter below keeps
        // the order's promise either way.
        let offset = after.and_then(|a| Path::parse(a).ok().filter(|p| p.as_ref() == a));
        let mut listed = match &offset {
            Some(offset) => client.list_with_offset(prefix.as_ref(), offset),
            None => client.list(prefix.as_ref()),
        };
        let mut out = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(|e| map_error(e, &dir))?;
            let key = meta.location.as_ref();
            if after.is_some_and(|a| key <= a) || !key.starts_with(dir.key()) {
                continue;
            }
            let Ok(path) = ObjectPath::new(dir.bucket(), key) else {
                continue;
            };
            out.push(ObjectMeta { path, size: meta.size });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    async fn head(&self, path: &ObjectPath) -> Result<Option<ObjectMeta>> {
        let client = self.client(path.bucket())?;
        if path.is_dir() {
            return match self.not_found(&client, path).await {
                e if e.code == teamlabel_core::error::codes::FILE_NOT_FOUND => Ok(None),
                e => Err(e),
            };
        }
        match client.head(&to_path(path)?).await {
            Ok(meta) => Ok(Some(ObjectMeta {
                path: path.clone(),
                size: meta.size,
            })),
            Err(object_store::Error::NotFound { .. }) => match self.not_found(&client, path).await {
                e if e.code == teamlabel_core::error::codes::FILE_NOT_FOUND => Ok(None),
                e => Err(e),
            },
            Err(e) => Err(map_error(e, path)),
        }
    }

    async fn get(&self, path: &ObjectPath, max_bytes: u64) -> Result<Vec<u8>> {
        let client = self.client(path.bucket())?;
        if path.is_dir() {
            return Err(self.not_found(&client, path).await);
        }
        let got = client
            .get_opts(&to_path(path)?, GetOptions::default())
            .await
            .map_err(|e| map_error(e, path))?;
        // Checked on the answer's headers: a larger body is never read.
        if got.meta.size > max_bytes {
            return Err(object_too_large(path, got.meta.size, max_bytes));
        }
        let bytes = got.bytes().await.map_err(|e| map_error(e, path))?;
        Ok(bytes.to_vec())
    }

    async fn read(&self, path: &ObjectPath) -> Result<ByteStream> {
        let client = self.client(path.bucket())?;
        if path.is_dir() {
            return Err(self.not_found(&client, path).await);
        }
        let got = client.get(&to_path(path)?).await.map_err(|e| map_error(e, path))?;
        let shown = path.clone();
        Ok(Box::pin(got.into_stream().map_err(move |e| map_error(e, &shown))))
    }

    async fn put(&self, path: &ObjectPath, bytes: Bytes) -> Result<()> {
        let client = self.client(path.bucket())?;
        let key = writable(path)?;
        client
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(|e| map_error(e, path))?;
        Ok(())
    }

    async fn writer(&self, path: &ObjectPath) -> Result<Box<dyn ObjectWriter>> {
        let client = self.client(path.bucket())?;
        let key = writable(path)?;
        let upload = client.put_multipart(&key).await.map_err(|e| map_error(e, path))?;
        Ok(Box::new(S3Writer {
            path: path.clone(),
            upload: WriteMultipart::new_with_chunk_size(upload, PART_BYTES),
        }))
    }

    async fn delete(&self, path: &ObjectPath) -> Result<()> {
        let client = self.client(path.bucket())?;
        if !path.is_dir() {
            match client.delete(&to_path(path)?).await {
                Ok(()) => {}
                Err(e @ object_store::Error::NotFound { .. }) if !error_text(&e).contains("NoSuchBucket") => {}
                Err(e) => return Err(map_error(e, path)),
            }
        }
        // As a directory too: what is below `key/` goes (`key/` itself for a directory).
        self.delete_prefix(&client, &path.as_dir()).await
    }
}

/// The key of an object to write: a directory is refused.
fn writable(path: &ObjectPath) -> Result<Path> {
    if path.is_dir() {
        return Err(Error::bad_request(
            teamlabel_core::error::codes::INVALID_PATH,
            format!("{path} names a directory, not an object"),
        ));
    }
    to_path(path)
}

/// A multipart upload: parts of [`PART_BYTES`] go up as they fill, a few at a time.
struct S3Writer {
    path: ObjectPath,
    upload: WriteMultipart,
}

#[async_trait]
impl ObjectWriter for S3Writer {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        self.upload
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| map_error(e, &self.path))?;
        self.upload.put(chunk);
        Ok(())
    }

    async fn finish(self: Box<Self>) -> Result<()> {
        let S3Writer { path, upload } = *self;
        upload.finish().await.map_err(|e| map_error(e, &path))?;
        Ok(())
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        let S3Writer { path, upload } = *self;
        upload.abort().await.map_err(|e| map_error(e, &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let c = S3Config {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret".into(),
            session_token: Some("session-secret".into()),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("AKID") && shown.contains("127.0.0.1:9000"), "{shown}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("session-secret"),
            "{shown}"
        );
    }

    #[test]
    fn reasons_are_the_code_and_message_of_the_answer_only() {
        let body = "404: <?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Denied</Message><StringToSign>x</StringToSign></Error>";
        assert_eq!(s3_reason(body).as_deref(), Some("AccessDenied: Denied"));
        assert_eq!(s3_reason("connection refused"), None);
    }
}
