//! Reading a COCO instances file for import.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use teamlabel_api::labels::SampleLabel;

use crate::geometry::{Geometry, Shape};
use crate::keys;
use crate::record::{InputError, Loss, LossKind, Record};

/// What a COCO file holds, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CocoImport {
    /// Category names in file order.
    pub categories: Vec<String>,
    /// One record per image, in file order: `source` is the image's `file_name` (the caller
    /// resolves it), `size` its `width`/`height` (depth 3), labels of type 1 (retype them for
    /// segmentation or video datasets).
    pub records: Vec<Record>,
    /// Annotations read otherwise than written (an RLE mask as its box, an object of several
    /// polygons as several labels) or skipped (an empty box, an RLE mask without a box).
    pub losses: Vec<Loss>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    images: Vec<Image>,
    #[serde(default)]
    annotations: Vec<Annotation>,
    #[serde(default)]
    categories: Vec<Category>,
}

#[derive(Deserialize)]
struct Image {
    id: Value,
    file_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
}

#[derive(Deserialize)]
struct Annotation {
    image_id: Value,
    category_id: Value,
    bbox: Option<Vec<f64>>,
    segmentation: Option<Value>,
    iscrowd: Option<i64>,
    score: Option<f64>,
}

#[derive(Deserialize)]
struct Category {
    id: Value,
    name: String,
}

/// Reads a COCO instances file: boxes become bndbox labels, polygon segmentations polygon labels
/// (one per ring), `iscrowd` other than 0 is kept as `coco:iscrowd`, `score` as the label score.
/// Refused when the JSON is broken, an image has no `file_name`, an annotation names an image or
/// category that is not listed, or a box or polygon is malformed.
pub fn parse(json: &[u8]) -> Result<CocoImport, InputError> {
    let doc: Doc = serde_json::from_slice(json).map_err(|e| {
        let reason = format!("broken COCO JSON: {e}");
        if e.line() > 0 {
            InputError::at(e.line() as u64, reason)
        } else {
            InputError::new(reason)
        }
    })?;
    let categories: HashMap<String, String> = doc
        .categories
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect();
    let mut records = Vec::with_capacity(doc.images.len());
    let mut by_id = HashMap::new();
    for (i, image) in doc.images.into_iter().enumerate() {
        let file_name = image
            .file_name
            .ok_or_else(|| InputError::new(format!("image {} (id {}): file_name is required", i + 1, image.id)))?;
        let mut record = Record::new(file_name);
        record.size = match (image.width, image.height) {
            (Some(w), Some(h)) if w > 0 && h > 0 => Some([w, h, 3]),
            _ => None,
        };
        by_id.insert(image.id.to_string(), records.len());
        records.push(record);
    }
    let mut losses = Vec::new();
    for (i, a) in doc.annotations.into_iter().enumerate() {
        let at = format!("annotation {}", i + 1);
        let &index = by_id
            .get(&a.image_id.to_string())
            .ok_or_else(|| InputError::new(format!("{at}: image_id {} names no image", a.image_id)))?;
        let name = categories
            .get(&a.category_id.to_string())
            .ok_or_else(|| InputError::new(format!("{at}: category_id {} names no category", a.category_id)))?;
        let record = &mut records[index];
        let (labels, loss) = read_annotation(&at, &a, name).map_err(InputError::new)?;
        if let Some((kind, reason)) = loss {
            let label = SampleLabel {
                name: Some(name.clone()),
                ..SampleLabel::default()
            };
            losses.push(record.loss(Some(&label), kind, reason));
        }
        record.labels.extend(labels);
    }
    Ok(CocoImport {
        categories: doc.categories.into_iter().map(|c| c.name).collect(),
        records,
        losses,
    })
}

type Read = (Vec<SampleLabel>, Option<(LossKind, String)>);

fn read_annotation(at: &str, a: &Annotation, name: &str) -> Result<Read, String> {
    let finish = |g: Geometry| {
        let mut label = g.label(Some(name.to_string()), 1);
        label.score = a.score;
        if let Some(crowd) = a.iscrowd.filter(|c| *c != 0) {
            label
                .property
                .get_or_insert_with(Map::new)
                .insert(keys::COCO_ISCROWD.into(), crowd.into());
        }
        label
    };
    let rings = match &a.segmentation {
        Some(Value::Array(rings)) if !rings.is_empty() => rings,
        Some(Value::Object(_)) => {
            return match box_of(at, a)? {
                Some(g) => Ok((
                    vec![finish(g)],
                    Some((LossKind::Converted, "RLE mask read as its bounding box".into())),
                )),
                None => Ok((
                    vec![],
                    Some((LossKind::Dropped, "an RLE mask without a bbox cannot be read".into())),
                )),
            };
        }
        _ => {
            return match box_of(at, a)? {
                Some(g) => Ok((vec![finish(g)], None)),
                None => Ok((vec![], Some((LossKind::Dropped, "empty or missing bbox".into())))),
            };
        }
    };
    let mut labels = Vec::new();
    for ring in rings {
        let numbers: Option<Vec<f64>> = ring.as_array().and_then(|r| r.iter().map(Value::as_f64).collect());
        let numbers = numbers.filter(|n| n.len() >= 6 && n.len() % 2 == 0).ok_or_else(|| {
            format!("{at}: a polygon of the segmentation must be an even count of at least 6 numbers")
        })?;
        let points = numbers.chunks(2).map(|p| [p[0], p[1]]).collect();
        labels.push(finish(Geometry {
            shape: Shape::Polygon,
            points,
            radius: None,
        }));
    }
    let loss = (labels.len() > 1).then(|| {
        (
            LossKind::Converted,
            format!(
                "an object of {} polygons read as {} polygon labels",
                labels.len(),
                labels.len()
            ),
        )
    });
    Ok((labels, loss))
}

/// The bndbox of `bbox`, `None` when it is missing or empty.
fn box_of(at: &str, a: &Annotation) -> Result<Option<Geometry>, String> {
    let Some(bbox) = &a.bbox else { return Ok(None) };
    let [x, y, w, h] = bbox.as_slice() else {
        return Err(format!("{at}: bbox must be [x, y, width, height]"));
    };
    if *w <= 0.0 || *h <= 0.0 {
        return Ok(None);
    }
    Ok(Some(Geometry {
        shape: Shape::BndBox,
        points: vec![[*x, *y], [x + w, y + h]],
        radius: None,
    }))
}
