//! Where a sample's content is: the bytes this server stores, or the reference the client gave.
//! Core names stored bytes by their ids only; the edge that answers requests decides their URL
//! by implementing `SourceUrls`. This module must not write a URL or a route itself.

use crate::store::SampleRecord;

/// A sample's content as core knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleSource<'a> {
    /// Bytes kept by this server.
    Stored { dataset_id: &'a str, sample_id: &'a str },
    /// A reference (URL or `content://` text) given by the client.
    Reference(&'a str),
}

impl<'a> SampleSource<'a> {
    pub fn of(s: &'a SampleRecord) -> Self {
        match &s.source {
            Some(src) => SampleSource::Reference(src),
            None => SampleSource::Stored {
                dataset_id: &s.dataset_id,
                sample_id: &s.id,
            },
        }
    }
}

/// How the edge names a sample's stored bytes.
pub trait SourceUrls: Sync {
    /// The URL at which the stored bytes of a sample are answered.
    fn file_url(&self, dataset_id: &str, sample_id: &str) -> String;
    /// Whether `given` names the stored bytes of this sample (under any host).
    fn names_file(&self, given: &str, dataset_id: &str, sample_id: &str) -> bool;
}

/// The `source` a sample is listed with.
pub fn listed_source(s: &SampleRecord, urls: &dyn SourceUrls) -> String {
    match SampleSource::of(s) {
        SampleSource::Reference(r) => r.to_string(),
        SampleSource::Stored { dataset_id, sample_id } => urls.file_url(dataset_id, sample_id),
    }
}

/// Whether a `source` given in a request is the sample's: its reference as given, or a URL of
/// its stored bytes.
pub fn source_matches(s: &SampleRecord, given: &str, urls: &dyn SourceUrls) -> bool {
    match SampleSource::of(s) {
        SampleSource::Reference(r) => given == r,
        SampleSource::Stored { dataset_id, sample_id } => {
            given == urls.file_url(dataset_id, sample_id)
                || (s.blob_sha256.is_some() && urls.names_file(given, dataset_id, sample_id))
        }
    }
}
