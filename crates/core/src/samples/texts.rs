//! The text of a text sample in its list and get answers (`sample_data`), so a labeler or
//! reviewer works from one list call instead of one file request per sample. It must not build
//! URLs or know SQL.
//!
//! Where a list finds the text, without a read per sample in the common case:
//!
//! - a `content://` text is the sample's `source`, already in its row;
//! - a text uploaded as bytes (`data`) goes to the blob store, as every upload does (the file
//!   endpoint answers it from there), and, when it is at most [`MAX_INLINE_TEXT_BYTES`], a copy
//!   is also kept in the sample's row (`SampleRecord::inline_text`), written at add time in the
//!   same insert as the sample.
//!
//! Keeping the copy at add time was chosen over reading the blob store at list time: a page of
//! 100 samples stays one query, whatever the blob store is (an S3-compatible store would cost a
//! round trip per sample), for at most 64 KiB more a text sample, written once. Only texts that
//! can be listed are copied, so a longer text costs nothing more; a `content://` text is not
//! copied, as its row already holds it.
//!
//! A short uploaded text without a copy (uploaded before copies were kept, or holding a NUL,
//! which a PostgreSQL text cannot hold) is read from the blob store when answered
//! ([`App::read_texts_from_blobs`]): its answer is the same, only slower.

use std::collections::HashMap;

use teamlabel_api::enums::SampleType;

use crate::app::App;
use crate::store::SampleRecord;

/// The longest text, in UTF-8 bytes, answered in `sample_data`; a longer one is read by its
/// `source` only.
pub const MAX_INLINE_TEXT_BYTES: usize = 64 * 1024;

/// The copy of an uploaded text kept in the sample's row: the text, if it can be listed and
/// stored by every backend.
pub fn kept_copy(text: &str) -> Option<String> {
    (text.len() <= MAX_INLINE_TEXT_BYTES && !text.contains('\0')).then(|| text.to_string())
}

/// A sample's `sample_data`: its text as the one element, for a text sample whose text this
/// server holds and that is at most [`MAX_INLINE_TEXT_BYTES`].
pub fn sample_data(s: &SampleRecord) -> Option<Vec<String>> {
    if s.sample_type != SampleType::Text {
        return None;
    }
    let text = match &s.source {
        Some(reference) => reference.strip_prefix("content://")?,
        None => s.inline_text.as_deref()?,
    };
    (text.len() <= MAX_INLINE_TEXT_BYTES).then(|| vec![text.to_string()])
}

/// The blob of a short uploaded text that has no copy in its row.
fn text_only_in_blob(s: &SampleRecord) -> Option<&str> {
    let short = usize::try_from(s.size).is_ok_and(|n| n <= MAX_INLINE_TEXT_BYTES);
    if s.sample_type == SampleType::Text && s.source.is_none() && s.inline_text.is_none() && short {
        s.blob_sha256.as_deref()
    } else {
        None
    }
}

impl App {
    /// Fills in, from the blob store, the short uploaded texts that have no copy in their row
    /// (none for samples added since copies are kept, unless the text holds a NUL), each blob read
    /// once. A blob that cannot be read leaves its text out of the answer, logged, rather than
    /// failing the whole list.
    pub(crate) async fn read_texts_from_blobs(&self, samples: Vec<&mut SampleRecord>) {
        let mut read: HashMap<String, Option<String>> = HashMap::new();
        for s in samples {
            let Some(sha) = text_only_in_blob(s) else {
                continue;
            };
            if !read.contains_key(sha) {
                let text = match self.blobs.get(sha).await {
                    Ok(Some(bytes)) => String::from_utf8(bytes).ok(),
                    Ok(None) => {
                        tracing::warn!(sample = %s.id, blob = %sha, "the blob of a text sample is missing");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(sample = %s.id, blob = %sha, error = %e, "reading the blob of a text sample failed");
                        None
                    }
                };
                read.insert(sha.to_string(), text);
            }
            s.inline_text = read[sha].clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;
    use teamlabel_api::enums::SampleStatus;

    use super::*;

    fn text_sample(source: Option<&str>, inline_text: Option<&str>, size: i64) -> SampleRecord {
        SampleRecord {
            id: "0".repeat(32),
            dataset_id: "d".into(),
            name: "t.txt".into(),
            sample_type: SampleType::Text,
            source: source.map(str::to_string),
            blob_sha256: source.is_none().then(|| "ab".repeat(32)),
            content_type: None,
            size,
            text_len: None,
            inline_text: inline_text.map(str::to_string),
            metadata: Map::new(),
            sample_usage: None,
            status: SampleStatus::UnAnnotation,
            sample_time: 0,
            update_time: 0,
            version: 0,
            labels: Vec::new(),
        }
    }

    #[test]
    fn a_copy_is_kept_up_to_the_limit_in_bytes_and_never_with_a_nul() {
        let at_limit = "é".repeat(MAX_INLINE_TEXT_BYTES / 2);
        assert_eq!(kept_copy(&at_limit).as_deref(), Some(at_limit.as_str()));
        assert_eq!(kept_copy(&format!("{at_limit}a")), None, "one byte over");
        assert_eq!(kept_copy("a\0b"), None);
        assert_eq!(kept_copy("").as_deref(), Some(""));
    }

    #[test]
    fn sample_data_is_the_text_of_text_samples_only() {
        let copied = text_sample(None, Some("hello"), 5);
        assert_eq!(sample_data(&copied), Some(vec!["hello".to_string()]));
        let given = text_sample(Some("content://Zoë"), None, 3);
        assert_eq!(sample_data(&given), Some(vec!["Zoë".to_string()]));
        let long = "x".repeat(MAX_INLINE_TEXT_BYTES + 1);
        assert_eq!(
            sample_data(&text_sample(Some(&format!("content://{long}")), None, 0)),
            None
        );
        assert_eq!(sample_data(&text_sample(Some("http://x/t.txt"), None, 0)), None);
        assert_eq!(sample_data(&text_sample(None, None, 5)), None);
        let image = SampleRecord {
            sample_type: SampleType::Image,
            ..copied.clone()
        };
        assert_eq!(sample_data(&image), None);
    }

    #[test]
    fn only_short_uploaded_texts_without_a_copy_are_read_from_blobs() {
        assert!(text_only_in_blob(&text_sample(None, None, 5)).is_some());
        let limit = MAX_INLINE_TEXT_BYTES as i64;
        assert!(text_only_in_blob(&text_sample(None, None, limit)).is_some());
        assert!(text_only_in_blob(&text_sample(None, None, limit + 1)).is_none());
        assert!(text_only_in_blob(&text_sample(None, Some("hello"), 5)).is_none());
        assert!(text_only_in_blob(&text_sample(Some("content://hi"), None, 2)).is_none());
    }
}
