//! The `search_conditions` of sample lists and team tasks: any text is a filter or a clear
//! refusal, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Map;
use teamlabel_api::enums::LabelType;
use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::samples::search::parse_search_conditions;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let labels: Vec<LabelDef> = [
        ("cat", LabelType::ImageClassification),
        ("car", LabelType::ObjectDetection),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, label_type))| LabelDef {
        id: i as i64 + 1,
        name: name.into(),
        label_type,
        property: Map::new(),
        attributes: None,
    })
    .collect();
    if let Err(e) = parse_search_conditions(s, &labels) {
        assert!(!e.message.is_empty());
    }
});
