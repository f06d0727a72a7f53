//! The geometry rules of detection and segmentation labels: any shape name with any JSON
//! feature, with or without an image size, is accepted or refused with a reason, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teamlabel_core::rules::geometry::check_feature;

const SHAPES: [&str; 8] = [
    "bndbox", "polygon", "circle", "line", "dashed", "point", "polyline", "ellipse",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(feature) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let shape = SHAPES[usize::from(first) % SHAPES.len()];
    let size = (first & 0x80 != 0).then_some((640.0, 480.0));
    if let Err(why) = check_feature(shape, &feature, size) {
        assert!(!why.is_empty());
    }
});
