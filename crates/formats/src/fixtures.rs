//! What the tests of several formats share: a geometry label, the guide's VOC example and a
//! loss list in a comparable form. Test-only.

use serde_json::{json, Value};
use teamlabel_api::labels::SampleLabel;

use crate::record::{Loss, LossKind};

/// A detection label of `shape` with its `feature`.
pub fn shape(name: &str, shape: &str, feature: Value) -> SampleLabel {
    SampleLabel {
        name: Some(name.into()),
        label_type: Some(1),
        property: json!({"@modelarts:shape": shape, "@modelarts:feature": feature})
            .as_object()
            .cloned(),
        ..SampleLabel::default()
    }
}

/// The guide's minimal detection file, with its broken `<r>100<r>`.
pub const GUIDE_VOC: &str = r#"<annotation>
  <folder>test_data</folder><filename>260730932.jpg</filename>
  <size><width>767</width><height>959</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object><name>bag</name><pose>Unspecified</pose><truncated>0</truncated><occluded>0</occluded><difficult>0</difficult>
    <bndbox><xmin>108</xmin><ymin>101</ymin><xmax>251</xmax><ymax>238</ymax></bndbox></object>
  <object><name>circle</name><pose>Unspecified</pose><truncated>0</truncated><occluded>0</occluded><difficult>0</difficult>
    <circle><cx>405</cx><cy>170</cy><r>100<r></circle></object>
</annotation>"#;

/// Each loss as (label, kind, reason).
pub fn losses(losses: &[Loss]) -> Vec<(Option<&str>, LossKind, &str)> {
    losses
        .iter()
        .map(|l| (l.label.as_deref(), l.kind, l.reason.as_str()))
        .collect()
}
