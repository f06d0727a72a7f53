//! The manifest (JSON Lines, one sample a line): reading a line into a [`Record`] and writing a
//! record as a line, with the annotation types of the guide (`modelarts/<type>` and bare
//! `<type>`), the hyphenated keys, and detection and segmentation shapes in a PASCAL VOC file
//! named by `annotation-loc` (read by the caller and merged with [`ManifestLine::add_voc`]).
//! It must not read files (the caller hands in lines and VOC documents), touch storage or decide
//! who may import.
//!
//! What goes where:
//! - sample keys: `source`, `usage` (upper-cased), `id`, `sample-type`, `hard` (string or bool),
//!   `hard-coefficient`, `property` (its `@modelarts:size` becomes [`Record::size`]); any other
//!   top-level key (`inference-loc`, unknown ones) is kept in [`Record::extra`] and written back;
//! - annotation keys: `type` → label type (section 4 of the guide: `text_entity` is 103 in a
//!   triplet dataset and 101 elsewhere; in a free-format dataset 103 when the line holds a
//!   `text_triplet`), `name`, `id`, `property`, `annotated-by`, `confidence` → score, `hard` →
//!   `@modelarts:hard` (`"true"`/`"false"`), `hard-coefficient` → `@modelarts:hard_coefficient`
//!   (a string); every other annotation key (`creation-time`, unknown ones) is kept in the label
//!   property as `manifest:<key>` and written back as `<key>`;
//! - detection and segmentation: one annotation per line names the VOC file; its
//!   `annotated-by`, `confidence`, `hard`, `hard-coefficient`, `property` and `manifest:` keys
//!   apply to every object of that file. On write, the annotation carries `annotated-by` and the
//!   `manifest:` keys when all geometry labels agree on them.

mod parse;
mod write;

#[cfg(test)]
mod tests;

pub use parse::parse_line;
pub use write::{write_line, write_line_reporting};

use teamlabel_api::labels::SampleLabel;

use crate::record::{InputError, Record};
use crate::voc::VocDoc;
use crate::{keys, CONTENT_SCHEME};

/// The manifest `type` names (written with the `modelarts/` prefix).
pub const ANNOTATION_TYPES: &[&str] = &[
    "image_classification",
    "object_detection",
    "image_segmentation",
    "text_classification",
    "text_entity",
    "text_triplet",
    "audio_classification",
    "audio_content",
    "audio_segmentation",
];

/// The prefix the written annotation types carry.
pub const TYPE_PREFIX: &str = "modelarts/";

/// The only `annotation-format` there is.
pub const VOC_FORMAT: &str = "PASCAL VOC";

/// One line read: the record, and the VOC files its detection or segmentation annotations name.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestLine {
    /// The sample, with every label the line itself holds.
    pub record: Record,
    /// `annotation-loc` of each detection or segmentation annotation, in line order; read each
    /// file, parse it with [`crate::voc::parse`] and hand it to [`ManifestLine::add_voc`].
    pub annotation_locs: Vec<String>,
    pending: Vec<Pending>,
}

/// A detection or segmentation annotation waiting for its VOC file.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    loc: String,
    /// Label type its objects get: 1 (600 in video datasets) or 3.
    label_type: i64,
    /// Where in `record.labels` the objects go.
    at: usize,
    /// What the annotation says about all its objects.
    template: SampleLabel,
    merged: bool,
}

impl ManifestLine {
    /// Merges the objects of the VOC file that the annotation naming `loc` points at: each
    /// becomes a label of that annotation's type in its place among the labels, takes the
    /// annotation's `annotated-by`, confidence and properties where the object has none, and the
    /// file's `<size>` and `<mask_source>` become the record's size and `voc:mask_source`.
    /// Refused when no annotation of the line (still waiting) names `loc`.
    pub fn add_voc(&mut self, loc: &str, doc: VocDoc) -> Result<(), InputError> {
        let k = self
            .pending
            .iter()
            .position(|p| p.loc == loc && !p.merged)
            .ok_or_else(|| InputError::new(format!("no annotation of this line waits for {loc}")))?;
        let (at, label_type, template) = {
            let p = &mut self.pending[k];
            p.merged = true;
            (p.at, p.label_type, p.template.clone())
        };
        let labels: Vec<SampleLabel> = doc
            .labels
            .into_iter()
            .map(|l| merge(l, label_type, &template))
            .collect();
        let n = labels.len();
        self.record.labels.splice(at..at, labels);
        for p in self.pending.iter_mut().skip(k + 1) {
            p.at += n;
        }
        if doc.size.is_some() {
            self.record.size = doc.size;
        }
        if let Some(mask) = doc.mask_source {
            self.record.property.insert(keys::VOC_MASK_SOURCE.into(), mask.into());
        }
        Ok(())
    }
}

fn merge(mut label: SampleLabel, label_type: i64, template: &SampleLabel) -> SampleLabel {
    label.label_type = Some(label_type);
    if label.annotated_by.is_none() {
        label.annotated_by.clone_from(&template.annotated_by);
    }
    if label.score.is_none() {
        label.score = template.score;
    }
    if let Some(extra) = &template.property {
        let property = label.property.get_or_insert_with(Default::default);
        for (k, v) in extra {
            property.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    label
}

/// The manifest type (without prefix) of a label type, and whether it travels in a VOC file.
fn manifest_type(label_type: i64) -> Option<(&'static str, bool)> {
    Some(match label_type {
        0 => ("image_classification", false),
        1 | 600 => ("object_detection", true),
        3 => ("image_segmentation", true),
        100 => ("text_classification", false),
        101 | 103 => ("text_entity", false),
        102 => ("text_triplet", false),
        200 => ("audio_classification", false),
        201 => ("audio_content", false),
        202 => ("audio_segmentation", false),
        _ => return None,
    })
}

/// The dataset types a manifest type belongs to (free-format datasets take them all).
fn datasets_of(manifest_type: &str) -> &'static [i64] {
    match manifest_type {
        "image_classification" => &[0, 900],
        "object_detection" => &[1, 600, 900],
        "image_segmentation" => &[3, 900],
        "text_classification" => &[100, 900],
        "text_entity" => &[101, 102, 900],
        "text_triplet" => &[102, 900],
        "audio_classification" => &[200, 900],
        "audio_content" => &[201, 900],
        "audio_segmentation" => &[202, 900],
        _ => &[],
    }
}

/// Whether an annotation of this type must carry a name.
fn needs_name(manifest_type: &str) -> bool {
    matches!(
        manifest_type,
        "image_classification" | "text_classification" | "audio_classification" | "text_entity" | "text_triplet"
    )
}

/// `source` with its `obs://` or `s3://` scheme replaced by `header`; other sources as they are.
fn with_header(source: &str, header: &str) -> String {
    if source.starts_with(CONTENT_SCHEME) || header.is_empty() {
        return source.to_string();
    }
    for scheme in ["obs://", "s3://"] {
        if let Some(rest) = source.strip_prefix(scheme) {
            return format!("{header}{rest}");
        }
    }
    source.to_string()
}
