//! The object-storage settings of `serve`: flags and `TEAMLABEL_*` variables, the `[objects]`
//! section of the config file, the standard `AWS_*` variables as a last resort for the keys,
//! then defaults. A bad combination is refused here, naming the setting; secrets are never
//! printed (`describe` gives what the startup log may show).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use teamlabel_core::blobs::BlobStore;
use teamlabel_core::objects::{ObjectPath, ObjectStore};
use teamlabel_store::objects::{LocalObjectStore, S3Config, S3ObjectStore};
use teamlabel_store::{FsBlobStore, ObjectBlobStore};

/// Where the buckets that storage paths (`/bucket/key`, `obs://bucket/key`) name are kept.
#[derive(Debug, Clone, Args)]
pub struct ObjectsArgs {
    /// Object storage: `local` (each bucket a folder under --objects-root) or `s3` (any
    /// S3-compatible service: OBS, MinIO, AWS, Ceph; uploaded sample files are kept there too,
    /// in --s3-blob-bucket) [default: local]
    #[arg(long = "objects", env = "TEAMLABEL_OBJECTS", value_enum, value_name = "BACKEND")]
    pub backend: Option<Backend>,

    /// The folder holding the local buckets [default: DATA_DIR/buckets]
    #[arg(long, env = "TEAMLABEL_OBJECTS_ROOT", value_name = "DIR")]
    pub objects_root: Option<PathBuf>,

    /// The S3 endpoint, e.g. https://obs.example.com or http://127.0.0.1:9000; buckets are
    /// addressed path-style (ENDPOINT/bucket/key), plain HTTP only for an http:// endpoint
    #[arg(long, env = "TEAMLABEL_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// The S3 region [default: us-east-1]
    #[arg(long, env = "TEAMLABEL_S3_REGION")]
    pub s3_region: Option<String>,

    /// The S3 access key id (else AWS_ACCESS_KEY_ID). Its secret, and a session token if any,
    /// come only from the environment (TEAMLABEL_S3_SECRET_ACCESS_KEY,
    /// TEAMLABEL_S3_SESSION_TOKEN, else AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or the
    /// config file, never from a flag
    #[arg(long, env = "TEAMLABEL_S3_ACCESS_KEY_ID", value_name = "ID")]
    pub s3_access_key_id: Option<String>,

    /// The bucket for uploaded sample files with --objects s3 (required there; it must exist)
    #[arg(long, env = "TEAMLABEL_S3_BLOB_BUCKET", value_name = "BUCKET")]
    pub s3_blob_bucket: Option<String>,

    /// The key prefix of uploaded sample files in that bucket [default: blobs/]
    #[arg(long, env = "TEAMLABEL_S3_BLOB_PREFIX", value_name = "PREFIX")]
    pub s3_blob_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Local,
    S3,
}

/// The `[objects]` section of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectsFile {
    pub backend: Option<Backend>,
    pub root: Option<PathBuf>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub blob_bucket: Option<String>,
    pub blob_prefix: Option<String>,
}

/// The object-storage settings after layering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectSettings {
    Local { root: PathBuf },
    S3 { config: S3Config, blobs: ObjectPath },
}

/// Reads a variable; empty counts as unset. Tests give their own.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn given(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

impl ObjectsArgs {
    pub fn resolve(&self, file: Option<&ObjectsFile>, data_dir: &Path, env: Env) -> anyhow::Result<ObjectSettings> {
        let empty = ObjectsFile::default();
        let file = file.unwrap_or(&empty);
        let endpoint = given(self.s3_endpoint.clone().or(file.endpoint.clone()));
        let blob_bucket = given(self.s3_blob_bucket.clone().or(file.blob_bucket.clone()));
        let root = self.objects_root.clone().or(file.root.clone());
        match self.backend.or(file.backend).unwrap_or(Backend::Local) {
            Backend::Local => {
                if let Some(setting) = [
                    endpoint.as_ref().map(|_| "the S3 endpoint (--s3-endpoint, endpoint)"),
                    blob_bucket
                        .as_ref()
                        .map(|_| "the blob bucket (--s3-blob-bucket, blob_bucket)"),
                ]
                .into_iter()
                .flatten()
                .next()
                {
                    anyhow::bail!(
                        "{setting} is set but the object storage is local: set --objects s3 (TEAMLABEL_OBJECTS, \
                         backend in [objects]) to use S3, or leave the S3 settings out"
                    );
                }
                Ok(ObjectSettings::Local {
                    root: root.unwrap_or_else(|| data_dir.join("buckets")),
                })
            }
            Backend::S3 => {
                anyhow::ensure!(
                    root.is_none(),
                    "--objects-root (root in [objects]) is for the local object storage, not s3"
                );
                let endpoint = endpoint.context(
                    "--objects s3 needs an endpoint: --s3-endpoint, TEAMLABEL_S3_ENDPOINT or endpoint in [objects]",
                )?;
                let endpoint = endpoint.trim_end_matches('/').to_string();
                anyhow::ensure!(
                    endpoint.starts_with("http://") || endpoint.starts_with("https://"),
                    "the S3 endpoint must start with http:// or https://, got {endpoint:?}"
                );
                let blob_bucket = blob_bucket.context(
                    "--objects s3 needs a bucket for uploaded sample files: --s3-blob-bucket, \
                     TEAMLABEL_S3_BLOB_BUCKET or blob_bucket in [objects]",
                )?;
                let prefix = self
                    .s3_blob_prefix
                    .clone()
                    .or(file.blob_prefix.clone())
                    .unwrap_or_else(|| "blobs/".into());
                let blobs = ObjectPath::new(&blob_bucket, prefix.trim_start_matches('/'))
                    .map_err(|e| anyhow::anyhow!("the blob bucket and prefix: {}", e.message))?
                    .as_dir();
                let own_key = given(self.s3_access_key_id.clone().or(file.access_key_id.clone()));
                let from_aws = own_key.is_none();
                let access_key_id = own_key.or_else(|| given(env("AWS_ACCESS_KEY_ID"))).context(
                    "--objects s3 needs an access key id: --s3-access-key-id, TEAMLABEL_S3_ACCESS_KEY_ID, \
                     access_key_id in [objects] or AWS_ACCESS_KEY_ID",
                )?;
                let secret_access_key = given(env("TEAMLABEL_S3_SECRET_ACCESS_KEY"))
                    .or(given(file.secret_access_key.clone()))
                    .or_else(|| given(env("AWS_SECRET_ACCESS_KEY")))
                    .context(
                        "--objects s3 needs a secret access key: TEAMLABEL_S3_SECRET_ACCESS_KEY, \
                         secret_access_key in [objects] or AWS_SECRET_ACCESS_KEY",
                    )?;
                // AWS_SESSION_TOKEN belongs to AWS_ACCESS_KEY_ID: taken only with it.
                let session_token = given(env("TEAMLABEL_S3_SESSION_TOKEN"))
                    .or(given(file.session_token.clone()))
                    .or_else(|| from_aws.then(|| given(env("AWS_SESSION_TOKEN"))).flatten());
                let region =
                    given(self.s3_region.clone().or(file.region.clone())).unwrap_or_else(|| "us-east-1".into());
                Ok(ObjectSettings::S3 {
                    config: S3Config {
                        endpoint,
                        region,
                        access_key_id,
                        secret_access_key,
                        session_token,
                    },
                    blobs,
                })
            }
        }
    }
}

impl ObjectSettings {
    /// What the startup log shows: backend, endpoint, region, bucket; never a key.
    pub fn describe(&self) -> String {
        match self {
            ObjectSettings::Local { root } => format!("local, buckets under {}", root.display()),
            ObjectSettings::S3 { config, blobs } => format!(
                "s3 at {} (region {}), sample files in {}",
                config.endpoint, config.region, blobs
            ),
        }
    }
}

/// The object store and the blob store the settings name. With S3 the blob bucket is checked
/// (it must exist and the keys must reach it) before the server starts.
pub async fn open(
    settings: &ObjectSettings,
    data_dir: &Path,
) -> anyhow::Result<(Arc<dyn ObjectStore>, Arc<dyn BlobStore>)> {
    match settings {
        ObjectSettings::Local { root } => {
            let objects = LocalObjectStore::new(root)
                .with_context(|| format!("cannot create the object storage folder {}", root.display()))?;
            let blob_dir = data_dir.join("blobs");
            let blobs = FsBlobStore::new(&blob_dir).with_context(|| format!("cannot create {}", blob_dir.display()))?;
            Ok((Arc::new(objects), Arc::new(blobs)))
        }
        ObjectSettings::S3 { config, blobs } => {
            let objects: Arc<dyn ObjectStore> =
                Arc::new(S3ObjectStore::new(config.clone()).context("the S3 settings are not usable")?);
            objects.list(blobs, None, 1).await.map_err(|e| {
                anyhow::anyhow!(
                    "cannot use the blob bucket {} at {}: {}",
                    blobs.bucket(),
                    config.endpoint,
                    e.message
                )
            })?;
            let blob_store = ObjectBlobStore::new(Arc::clone(&objects), blobs.clone());
            Ok((objects, Arc::new(blob_store)))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn args() -> ObjectsArgs {
        ObjectsArgs {
            backend: None,
            objects_root: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_blob_bucket: None,
            s3_blob_prefix: None,
        }
    }

    fn s3_args() -> ObjectsArgs {
        ObjectsArgs {
            backend: Some(Backend::S3),
            s3_endpoint: Some("http://127.0.0.1:9000/".into()),
            s3_blob_bucket: Some("teamlabel".into()),
            ..args()
        }
    }

    fn resolve(a: &ObjectsArgs, file: Option<&ObjectsFile>, vars: &[(&str, &str)]) -> anyhow::Result<ObjectSettings> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        a.resolve(file, Path::new("/data"), &|name| vars.get(name).cloned())
    }

    #[test]
    fn local_is_the_default_under_the_data_dir() {
        let s = resolve(&args(), None, &[("AWS_ACCESS_KEY_ID", "ignored")]).unwrap();
        assert_eq!(
            s,
            ObjectSettings::Local {
                root: PathBuf::from("/data/buckets")
            }
        );
    }

    #[test]
    fn s3_takes_keys_from_its_variables_then_the_file_then_aws() {
        let vars = [
            ("TEAMLABEL_S3_SECRET_ACCESS_KEY", "sk1"),
            ("AWS_SECRET_ACCESS_KEY", "sk2"),
        ];
        let file = ObjectsFile {
            access_key_id: Some("ak-file".into()),
            secret_access_key: Some("sk-file".into()),
            region: Some("cn-north-4".into()),
            ..ObjectsFile::default()
        };
        let ObjectSettings::S3 { config, blobs } = resolve(&s3_args(), Some(&file), &vars).unwrap() else {
            panic!("s3 expected");
        };
        assert_eq!(config.endpoint, "http://127.0.0.1:9000");
        assert_eq!(config.region, "cn-north-4");
        assert_eq!(
            (config.access_key_id.as_str(), config.secret_access_key.as_str()),
            ("ak-file", "sk1")
        );
        assert_eq!(blobs.to_string(), "/teamlabel/blobs/");

        let aws = [
            ("AWS_ACCESS_KEY_ID", "ak-aws"),
            ("AWS_SECRET_ACCESS_KEY", "sk-aws"),
            ("AWS_SESSION_TOKEN", "tok"),
        ];
        let ObjectSettings::S3 { config, .. } = resolve(&s3_args(), None, &aws).unwrap() else {
            panic!("s3 expected");
        };
        assert_eq!(config.region, "us-east-1");
        assert_eq!(config.access_key_id, "ak-aws");
        assert_eq!(config.session_token.as_deref(), Some("tok"));

        // A session token of AWS_ACCESS_KEY_ID never goes with another key.
        let own = ObjectsArgs {
            s3_access_key_id: Some("ak-own".into()),
            ..s3_args()
        };
        let ObjectSettings::S3 { config, .. } = resolve(&own, None, &aws).unwrap() else {
            panic!("s3 expected");
        };
        assert_eq!(config.session_token, None);
    }

    #[test]
    fn bad_combinations_name_the_setting() {
        let keys = [("AWS_ACCESS_KEY_ID", "ak"), ("AWS_SECRET_ACCESS_KEY", "sk")];
        let cases = [
            (
                ObjectsArgs {
                    s3_endpoint: None,
                    ..s3_args()
                },
                "needs an endpoint",
            ),
            (
                ObjectsArgs {
                    s3_blob_bucket: None,
                    ..s3_args()
                },
                "--s3-blob-bucket",
            ),
            (
                ObjectsArgs {
                    s3_endpoint: Some("ftp://h".into()),
                    ..s3_args()
                },
                "http:// or https://",
            ),
            (
                ObjectsArgs {
                    s3_blob_bucket: Some("Bad_Bucket".into()),
                    ..s3_args()
                },
                "blob bucket",
            ),
            (
                ObjectsArgs {
                    objects_root: Some("/x".into()),
                    ..s3_args()
                },
                "--objects-root",
            ),
            (
                ObjectsArgs {
                    backend: None,
                    ..s3_args()
                },
                "--objects s3",
            ),
        ];
        for (a, needle) in cases {
            let e = resolve(&a, None, &keys).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let e = resolve(&s3_args(), None, &[]).unwrap_err().to_string();
        assert!(e.contains("access key id"), "{e}");
        let e = resolve(&s3_args(), None, &keys[..1]).unwrap_err().to_string();
        assert!(e.contains("TEAMLABEL_S3_SECRET_ACCESS_KEY"), "{e}");
    }

    #[test]
    fn the_description_holds_no_secret() {
        let vars = [("AWS_ACCESS_KEY_ID", "ak-id"), ("AWS_SECRET_ACCESS_KEY", "the-secret")];
        let s = resolve(&s3_args(), None, &vars).unwrap();
        let shown = format!("{} {s:?}", s.describe());
        assert!(
            shown.contains("http://127.0.0.1:9000") && shown.contains("/teamlabel/blobs/"),
            "{shown}"
        );
        assert!(!shown.contains("the-secret"), "{shown}");
    }
}
