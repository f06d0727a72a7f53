//! A stored sample as the formats see it (`teamlabel_formats::Record`), and back: where its
//! bytes are (a reference, inline text, or a blob to copy out), its hard-example values, its
//! image size, its labels in the API form. Pure: no store, no object store.

use serde_json::{Map, Value};
use teamlabel_api::enums::SampleType;
use teamlabel_formats::Record;

use crate::rules::values::{key, meta};
use crate::store::SampleRecord;

/// Sample-level keys a manifest line keeps in its `property` (video frames).
const LINE_PROPERTY_KEYS: [&str; 3] = [meta::PARENT_DURATION, meta::PARENT_SOURCE, meta::TIME_IN_VIDEO];

/// Where the bytes of a sample are, for a file written out.
#[derive(Debug, Clone, PartialEq)]
pub enum Bytes {
    /// A reference given by a client (a URL or a storage path): written as it is.
    Reference(String),
    /// Text this server holds: written as `content://`.
    Text(String),
    /// Bytes in the blob store, to be copied next to the output (by SHA-256).
    Blob(String),
}

/// Where a sample's bytes are. A text sample whose text is kept only in the blob store is a
/// blob (its text is copied out as a file).
pub fn bytes_of(s: &SampleRecord) -> Bytes {
    if let Some(source) = &s.source {
        return if s.sample_type == SampleType::Text {
            source
                .strip_prefix("content://")
                .map_or_else(|| Bytes::Reference(source.clone()), |t| Bytes::Text(t.to_string()))
        } else {
            Bytes::Reference(source.clone())
        };
    }
    if let Some(text) = &s.inline_text {
        return Bytes::Text(text.clone());
    }
    Bytes::Blob(s.blob_sha256.clone().unwrap_or_default())
}

/// The record of a sample, with `source` as it is to be written.
pub fn record_of(s: &SampleRecord, source: String, clear_hard: bool) -> Record {
    let hard = s.metadata.get(meta::HARD).and_then(Value::as_f64).map(|v| v >= 0.5);
    let hard_coefficient = s.metadata.get(meta::HARD_COEFFICIENT).and_then(Value::as_f64);
    let size = s.metadata.get(meta::SIZE).and_then(|v| {
        let a = v.as_array()?;
        let n = |i: usize| a.get(i).and_then(Value::as_f64).map(|x| x as u32);
        Some([n(0)?, n(1)?, n(2).unwrap_or(3)])
    });
    let property: Map<String, Value> = s
        .metadata
        .iter()
        .filter(|(k, _)| LINE_PROPERTY_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut labels: Vec<_> = s.labels.iter().map(|l| l.to_api()).collect();
    if clear_hard {
        for l in &mut labels {
            if let Some(p) = l.property.as_mut() {
                p.remove(key::HARD);
                p.remove(key::HARD_COEFFICIENT);
                p.remove(key::HARD_REASONS);
            }
        }
    }
    Record {
        id: Some(s.id.clone()),
        source,
        sample_type: Some(i64::from(s.sample_type.code())),
        usage: s.sample_usage.clone().filter(|u| !u.is_empty()),
        hard: if clear_hard { None } else { hard },
        hard_coefficient: if clear_hard { None } else { hard_coefficient },
        property,
        labels,
        size,
        extra: Map::new(),
    }
}

/// The sample metadata a record carries: its hard-example values, image size and line
/// property.
pub fn metadata_of(r: &Record) -> Map<String, Value> {
    let mut m = r.property.clone();
    if let Some(h) = r.hard {
        m.insert(meta::HARD.into(), Value::from(if h { 1.0 } else { 0.0 }));
    }
    if let Some(c) = r.hard_coefficient {
        m.insert(meta::HARD_COEFFICIENT.into(), Value::from(c));
    }
    if let Some([w, h, d]) = r.size {
        m.insert(meta::SIZE.into(), Value::from(vec![w, h, d]));
    }
    m
}

/// A name a sample file gets when written out: the sample's name, made safe for a key
/// (no `/`, no leading dot), prefixed with the sample id when `unique` so two samples of one
/// name never overwrite each other.
pub fn file_name(s: &SampleRecord, unique: bool) -> String {
    let base: String = s
        .name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let base = base.trim_start_matches('.');
    let base = if base.is_empty() { "sample" } else { base };
    if unique {
        format!("{}_{base}", s.id)
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use teamlabel_api::enums::SampleStatus;

    fn sample() -> SampleRecord {
        SampleRecord {
            id: "a".repeat(32),
            dataset_id: "d".into(),
            name: "../x/1.jpg".into(),
            sample_type: SampleType::Image,
            source: None,
            blob_sha256: Some("f".repeat(64)),
            content_type: None,
            size: 3,
            text_len: None,
            inline_text: None,
            metadata:
                json!({"@modelarts:hard": 1.0, "@modelarts:size": [640, 480, 3], "@modelarts:time_in_video": 1.5})
                    .as_object()
                    .cloned()
                    .unwrap(),
            sample_usage: Some("TRAIN".into()),
            status: SampleStatus::UnAnnotation,
            sample_time: 0,
            update_time: 0,
            version: 1,
            labels: Vec::new(),
        }
    }

    #[test]
    fn a_record_carries_hard_size_and_frame_keys() {
        let s = sample();
        let r = record_of(&s, "obs://b/x.jpg".into(), false);
        assert_eq!((r.hard, r.size), (Some(true), Some([640, 480, 3])));
        assert_eq!(
            r.property,
            json!({"@modelarts:time_in_video": 1.5}).as_object().cloned().unwrap()
        );
        assert_eq!(r.usage.as_deref(), Some("TRAIN"));
        let back = metadata_of(&r);
        assert_eq!(back, s.metadata);
        assert_eq!(record_of(&s, "x".into(), true).hard, None);
    }

    #[test]
    fn where_the_bytes_are() {
        let mut s = sample();
        assert_eq!(bytes_of(&s), Bytes::Blob("f".repeat(64)));
        s.sample_type = SampleType::Text;
        s.inline_text = Some("hi".into());
        assert_eq!(bytes_of(&s), Bytes::Text("hi".into()));
        s.source = Some("content://yo".into());
        assert_eq!(bytes_of(&s), Bytes::Text("yo".into()));
        s.sample_type = SampleType::Image;
        s.source = Some("https://h/x.jpg".into());
        assert_eq!(bytes_of(&s), Bytes::Reference("https://h/x.jpg".into()));
    }

    #[test]
    fn file_names_stay_in_their_folder() {
        let s = sample();
        assert_eq!(file_name(&s, false), "_x_1.jpg");
        assert_eq!(file_name(&s, true), format!("{}__x_1.jpg", s.id));
    }
}
