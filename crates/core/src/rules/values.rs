//! The values of sample labels: a label as stored after the rules (`PlacedLabel`, answered as
//! `teamlabel_api::labels::SampleLabel`), the facts the rules check against, and the `@modelarts:` keys.
//! The bottom of `rules`: it imports no other rule module. It must not import another rule module.

use serde_json::{Map, Value};
use teamlabel_api::enums::{DatasetType, LabelType};
use teamlabel_api::labels::SampleLabel;

use crate::datasets::labels::LabelDef;
use crate::error::{codes, Error};

/// A label that passed the rules, ready to store: it refers to its dataset label by id.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLabel {
    pub label_id: i64,
    pub name: String,
    pub label_type: LabelType,
    pub instance_id: Option<String>,
    pub property: Map<String, Value>,
    pub score: Option<f64>,
    pub annotated_by: Option<String>,
}

impl PlacedLabel {
    pub fn to_api(&self) -> SampleLabel {
        SampleLabel {
            id: self.instance_id.clone(),
            name: Some(self.name.clone()),
            label_type: Some(self.label_type.code() as i64),
            property: Some(self.property.clone()),
            score: self.score,
            annotated_by: self.annotated_by.clone(),
        }
    }
}

/// What the rules need to know about the sample being labeled.
#[derive(Debug, Clone, Copy)]
pub struct SampleFacts<'a> {
    pub dataset_type: DatasetType,
    pub labels: &'a [LabelDef],
    /// Length of a text sample in Unicode scalar values, when the server knows the text.
    pub text_len: Option<usize>,
    /// `[width, height]` known for the sample: from the request's metadata, else stored.
    pub size: Option<(f64, f64)>,
}

/// Most labels one sample may carry.
pub const MAX_LABELS_PER_SAMPLE: usize = 1000;

/// The `@modelarts:` keys of a sample label's property map, and of sample metadata.
pub use teamlabel_api::keys::{label as key, meta};

/// Highest hard-example reason id.
pub const MAX_HARD_REASON: i64 = 30;

pub(crate) fn rule(message: impl Into<String>) -> Error {
    Error::bad_request(codes::LABEL_RULE, message)
}
