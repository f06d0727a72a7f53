//! The application hub: `App` holds the store, blob and object-storage ports, the limits, the
//! sealing key and the webhook settings;
//! the use cases are `impl App` blocks in the domain modules above it. Every use case follows
//! the same order: authorize, validate, then touch the store. This module must not import a use
//! case module: they import it.

use std::sync::Arc;

use crate::blobs::BlobStore;
use crate::iam::sealer::Sealer;
use crate::objects::{NoObjectStore, ObjectStore};
use crate::store::Store;
use crate::telemetry::TimedBlobs;
use crate::webhooks::{WebhookSettings, Webhooks};

/// Size limits; each has a flag and an environment variable in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes (ModelArts.4104 above it).
    pub max_body_bytes: usize,
    /// Most items in one batch request.
    pub max_batch: usize,
    /// Largest sample file in bytes (ModelArts.4656 above it).
    pub max_sample_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 12 * 1024 * 1024,
            max_batch: 1000,
            max_sample_bytes: 12_582_912,
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    /// The buckets that storage paths of the API name (imports, versions, exports).
    pub objects: Arc<dyn ObjectStore>,
    pub limits: Limits,
    /// Seals and opens the secret keys of AK/SK pairs and the signing secrets of webhooks.
    pub sealer: Arc<Sealer>,
    /// Where webhook deliveries may go and how they are retried; the dispatcher's doorbell.
    pub webhooks: Arc<Webhooks>,
}

impl App {
    /// An application with a fresh random sealing key; `teamlabel serve` replaces it with the
    /// key from its key file (`with_sealer`), so access keys outlive a restart. Every blob
    /// operation is timed (`telemetry::BLOB_SECONDS`). It has no object store until
    /// `with_objects` gives it one: every storage path answers `ModelArts.4314` until then.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, limits: Limits) -> Self {
        Self {
            store,
            blobs: Arc::new(TimedBlobs(blobs)),
            objects: Arc::new(NoObjectStore),
            limits,
            sealer: Arc::new(Sealer::generate()),
            webhooks: Arc::new(Webhooks::default()),
        }
    }

    /// How webhook deliveries are made (the default refuses every non-public address).
    pub fn with_webhooks(mut self, settings: WebhookSettings) -> Self {
        self.webhooks = Arc::new(Webhooks::new(settings));
        self
    }

    pub fn with_sealer(mut self, sealer: Sealer) -> Self {
        self.sealer = Arc::new(sealer);
        self
    }

    /// The object store storage paths are read from and written to.
    pub fn with_objects(mut self, objects: Arc<dyn ObjectStore>) -> Self {
        self.objects = objects;
        self
    }
}
