//! PASCAL VOC XML, the file that holds the shapes of one image for detection, segmentation and
//! video frames: every shape of the guide (`bndbox`, `polygon`, `circle`, `line`, `dashed`,
//! `point` with `x`/`y` or `x1`/`y1`, `polyline`) read into API labels and written back.
//! It must not read or write files (the caller hands in and takes the text) or decide which
//! labels a dataset may hold.
//!
//! Per object: `<name>` → label name; label type 1, or 3 when `<segmented>1` (the manifest
//! retypes video frames to 600); `<confidence>` → score; `<hard-coefficient>` →
//! `@modelarts:hard_coefficient` (a string); `<pose>`, `<truncated>`, `<occluded>`,
//! `<difficult>` and `<mask_color>` → the free keys `voc:pose`, `voc:truncated`, `voc:occluded`,
//! `voc:difficult`, `voc:mask_color`, kept only when they differ from the defaults
//! (`Unspecified`, 0, 0, 0), which the writer puts back. A point is written as `<x1><y1>`,
//! `dashed` like `line` and `polyline` like `polygon` (the guide documents neither).

mod parse;
mod write;
pub(crate) mod xml;

#[cfg(test)]
mod tests;

pub use parse::parse;
pub use write::write;

use teamlabel_api::labels::SampleLabel;

/// One VOC file read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VocDoc {
    /// `<filename>`.
    pub filename: String,
    /// `<folder>` (`NA` allowed).
    pub folder: String,
    /// `<size>` as width, height, depth; `None` when missing or 0 wide or high.
    pub size: Option<[u32; 3]>,
    /// `<segmented>1`.
    pub segmented: bool,
    /// `<mask_source>`, the PNG mask of a segmentation.
    pub mask_source: Option<String>,
    /// One label per `<object>`, in file order.
    pub labels: Vec<SampleLabel>,
}
