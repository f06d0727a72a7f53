//! COCO instances JSON: a streaming writer for exports ([`CocoWriter`]: images go straight to
//! the output, annotations to a temporary file copied after them, so a dataset is never held in
//! memory) and a reader for imports ([`parse`]).
//! It must not open files other than its temporary spool, touch storage or decide which labels a
//! dataset may hold.
//!
//! Shapes: a bndbox is a `bbox` `[x, y, w, h]` with area `w * h` (and an empty `segmentation`);
//! a polygon is a `segmentation` `[[x1, y1, ...]]` with the polygon's bounding box and its
//! shoelace area; a circle is written as its bounding box (clipped to the image, area of the box)
//! and listed as converted, since detection training wants the object more than its outline;
//! lines, dashed lines, points and polylines have no COCO form and are dropped and listed.
//! Label scores are written as `score` and read back; `coco:iscrowd` is written as `iscrowd`.

mod parse;
mod write;

#[cfg(test)]
mod tests;

pub use parse::{parse, CocoImport};
pub use write::CocoWriter;
