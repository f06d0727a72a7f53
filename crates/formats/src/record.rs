//! The values every format shares: a sample as the formats see it ([`Record`]), what an export
//! could not hold ([`Loss`]) and a problem in an input file ([`InputError`]).
//! Plain values: it must not know any one format, touch storage or decide who may do what.

use std::fmt;

use serde_json::{Map, Value};
use teamlabel_api::labels::SampleLabel;

/// One sample as the formats see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Sample id: written on export, read back but not to be trusted on import.
    pub id: Option<String>,
    /// `obs://bucket/key`, `s3://bucket/key` or `content://<text>`; a COCO import gives the
    /// image's `file_name` here for the caller to resolve.
    pub source: String,
    /// 0 image, 1 text, 2 audio, 4 table, 6 video (9 free format).
    pub sample_type: Option<i64>,
    /// `TRAIN`, `EVAL`, `TEST` or `INFERENCE`, upper-cased on read.
    pub usage: Option<String>,
    /// The sample is a hard example.
    pub hard: Option<bool>,
    /// How hard, 0 to 1.
    pub hard_coefficient: Option<f64>,
    /// Sample-level properties (the API's sample metadata keys, e.g. the video frame keys, and
    /// `voc:mask_source`); `@modelarts:size` is kept in [`Record::size`], not here.
    pub property: Map<String, Value>,
    /// The labels in API form: type codes and `@modelarts:` property keys.
    pub labels: Vec<SampleLabel>,
    /// Image width, height and depth when known.
    pub size: Option<[u32; 3]>,
    /// Top-level manifest keys the API has no field for (`inference-loc`, unknown keys), kept so a
    /// manifest round trip is lossless.
    pub extra: Map<String, Value>,
}

impl Record {
    /// A record with only its source set.
    pub fn new(source: impl Into<String>) -> Self {
        Record {
            source: source.into(),
            ..Record::default()
        }
    }

    /// The text of a `content://` source, if it is one.
    pub fn text(&self) -> Option<&str> {
        self.source.strip_prefix(crate::CONTENT_SCHEME)
    }

    /// How a loss report names the sample: its id, else its source.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.source)
    }

    /// A loss about this record (or about `label` of it).
    pub(crate) fn loss(&self, label: Option<&SampleLabel>, kind: LossKind, reason: impl Into<String>) -> Loss {
        Loss {
            sample: self.key().to_string(),
            label: label.and_then(|l| l.name.clone()),
            kind,
            reason: reason.into(),
        }
    }
}

/// What happened to something a format could not hold as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossKind {
    /// Left out of the output.
    Dropped,
    /// Written, but changed (widened, turned into its bounding box, written without some keys).
    Converted,
}

impl LossKind {
    /// `dropped` or `converted`, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LossKind::Dropped => "dropped",
            LossKind::Converted => "converted",
        }
    }
}

/// Something a format could not hold, or changed to hold it; listed in the export report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    /// The sample: its id, else its source.
    pub sample: String,
    /// The label's name, when the loss is about one label that has a name.
    pub label: Option<String>,
    /// Dropped or converted.
    pub kind: LossKind,
    /// Why, in words a user can act on.
    pub reason: String,
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.sample)?;
        if let Some(label) = &self.label {
            write!(f, "label {label}: ")?;
        }
        write!(f, "{}: {}", self.kind.as_str(), self.reason)
    }
}

/// A problem in an input file: the 1-based line when there is one, and the reason. The caller,
/// who knows the file's path, puts it in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// 1-based line of the file, when the format has lines.
    pub line: Option<u64>,
    /// What is wrong, naming the item (annotation, object, token) where there is one.
    pub reason: String,
}

impl InputError {
    /// An error with no line.
    pub fn new(reason: impl Into<String>) -> Self {
        InputError {
            line: None,
            reason: reason.into(),
        }
    }

    /// An error on a 1-based line.
    pub fn at(line: u64, reason: impl Into<String>) -> Self {
        InputError {
            line: Some(line),
            reason: reason.into(),
        }
    }

    /// The same error placed on a 1-based line (for callers of one-line parsers).
    pub fn on_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_losses_read_as_one_line() {
        assert_eq!(InputError::new("bad").on_line(3).to_string(), "line 3: bad");
        assert_eq!(InputError::new("bad").to_string(), "bad");
        let mut r = Record::new("s3://b/a.jpg");
        let label = SampleLabel {
            name: Some("cat".into()),
            ..SampleLabel::default()
        };
        let loss = r.loss(Some(&label), LossKind::Dropped, "no room");
        assert_eq!(loss.to_string(), "s3://b/a.jpg: label cat: dropped: no room");
        r.id = Some("id1".into());
        assert_eq!(r.loss(None, LossKind::Converted, "x").to_string(), "id1: converted: x");
    }

    #[test]
    fn the_text_of_a_content_source() {
        assert_eq!(Record::new("content://a b").text(), Some("a b"));
        assert_eq!(Record::new("s3://b/k").text(), None);
    }
}
