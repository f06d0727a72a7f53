//! The property keys the formats read and write: the API's `@modelarts:` keys and the free keys
//! this crate uses to carry what a format holds and the API has no field for.
//! Names only: it must not hold logic.
//!
//! Free keys are namespaced by the format they come from, so they cannot meet a user's own key
//! by accident, and are stored only when they differ from the format's default (so a label that
//! never saw the format does not grow keys on a round trip):
//!
//! | key | where | holds |
//! |---|---|---|
//! | `manifest:<key>` | label property | an annotation key of a manifest line with no API field, e.g. `manifest:creation-time` |
//! | `voc:pose` | label property | `<pose>` when not `Unspecified` |
//! | `voc:truncated`, `voc:occluded`, `voc:difficult` | label property | the flag (an integer) when not 0 |
//! | `voc:mask_color` | label property | `<mask_color>`, e.g. `"193,243,53"` |
//! | `voc:mask_source` | sample property | `<mask_source>`, the PNG mask's path |
//! | `coco:iscrowd` | label property | `iscrowd` when not 0 |

pub use teamlabel_api::keys::label::{END_INDEX, FEATURE, FROM, HARD, HARD_COEFFICIENT, SHAPE, START_INDEX, TO};
pub use teamlabel_api::keys::meta::SIZE;

/// The documented `@modelarts:shape` values.
pub const SHAPES: &[&str] = &["bndbox", "polygon", "circle", "line", "dashed", "point", "polyline"];

/// Prefix of manifest annotation keys kept in the label property.
pub const MANIFEST_PREFIX: &str = "manifest:";
/// When a manifest annotation was written (`yyyy-MM-dd HH:mm:ss`).
pub const CREATION_TIME: &str = "manifest:creation-time";

/// `<pose>` of a VOC object, kept when not `Unspecified`.
pub const VOC_POSE: &str = "voc:pose";
/// `<truncated>` of a VOC object, kept when not 0.
pub const VOC_TRUNCATED: &str = "voc:truncated";
/// `<occluded>` of a VOC object, kept when not 0.
pub const VOC_OCCLUDED: &str = "voc:occluded";
/// `<difficult>` of a VOC object, kept when not 0.
pub const VOC_DIFFICULT: &str = "voc:difficult";
/// `<mask_color>` of a VOC segmentation object.
pub const VOC_MASK_COLOR: &str = "voc:mask_color";
/// `<mask_source>` of a VOC segmentation file, in the sample property.
pub const VOC_MASK_SOURCE: &str = "voc:mask_source";

/// COCO `iscrowd`, kept when not 0.
pub const COCO_ISCROWD: &str = "coco:iscrowd";
