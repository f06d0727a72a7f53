//! Geometry of detection, segmentation and video labels: `@modelarts:shape` and the point
//! layout of `@modelarts:feature`, inside the image when its size is known. Pure checks.
//! It must not touch the store.

use serde_json::{Map, Value};
use teamlabel_api::enums::SHAPES;

use crate::error::Result;
use crate::rules::values::{key, rule};

pub(crate) fn check_geometry(
    at: &str,
    property: &Map<String, Value>,
    required: bool,
    size: Option<(f64, f64)>,
) -> Result<()> {
    let shape = match property.get(key::SHAPE) {
        None if !required && !property.contains_key(key::FEATURE) => return Ok(()),
        None => {
            return Err(rule(format!(
                "{at}: {} is required; one of {}",
                key::SHAPE,
                SHAPES.join(", ")
            )))
        }
        Some(v) => v
            .as_str()
            .ok_or_else(|| rule(format!("{at}: {} must be a string", key::SHAPE)))?,
    };
    let feature = property
        .get(key::FEATURE)
        .ok_or_else(|| rule(format!("{at}: a {shape} needs {}", key::FEATURE)))?;
    check_feature(shape, feature, size).map_err(|why| rule(format!("{at}: {why}")))
}

pub(crate) fn point(v: &Value) -> Option<(f64, f64)> {
    match v.as_array()?.as_slice() {
        [x, y] => Some((x.as_f64()?, y.as_f64()?)),
        _ => None,
    }
}

/// Checks `@modelarts:feature` for a shape: the point count and layout its shape needs, every
/// coordinate >= 0 and, when the image size is known, inside it; a bndbox has x1 < x2 and y1 < y2.
pub fn check_feature(shape: &str, feature: &Value, size: Option<(f64, f64)>) -> std::result::Result<(), String> {
    let f = key::FEATURE;
    let items = feature
        .as_array()
        .ok_or_else(|| format!("{f} must be a list of points [[x, y], ...]"))?;
    let points_of = |list: &[Value]| -> std::result::Result<Vec<(f64, f64)>, String> {
        list.iter()
            .enumerate()
            .map(|(i, v)| point(v).ok_or_else(|| format!("{f}[{i}] must be a point [x, y] of two numbers")))
            .collect()
    };
    let points = match shape {
        "circle" => {
            let [centre, radius] = items.as_slice() else {
                return Err(format!("{f} of a circle must be [[x, y], [radius]]"));
            };
            let r = match radius.as_array().map(Vec::as_slice) {
                Some([r]) => r.as_f64(),
                _ => None,
            }
            .ok_or_else(|| format!("{f} of a circle must be [[x, y], [radius]]"))?;
            if r.is_nan() || r <= 0.0 {
                return Err(format!("the radius of a circle must be > 0, got {r}"));
            }
            points_of(std::slice::from_ref(centre))?
        }
        "bndbox" | "line" | "dashed" | "point" | "polygon" | "polyline" => {
            let points = points_of(items)?;
            let (min, exact) = match shape {
                "bndbox" | "line" | "dashed" => (2, true),
                "point" => (1, true),
                "polygon" => (3, false),
                _ => (2, false),
            };
            if (exact && points.len() != min) || points.len() < min {
                return Err(format!(
                    "a {shape} needs {}{min} point{}, got {}",
                    if exact { "exactly " } else { "at least " },
                    if min == 1 { "" } else { "s" },
                    points.len()
                ));
            }
            points
        }
        other => {
            return Err(format!(
                "{} {other:?} is not a shape; allowed: {}",
                key::SHAPE,
                SHAPES.join(", ")
            ))
        }
    };
    for (i, (x, y)) in points.iter().enumerate() {
        if x.is_nan() || y.is_nan() || *x < 0.0 || *y < 0.0 {
            return Err(format!("{f}[{i}] has a negative coordinate ({x}, {y})"));
        }
        if let Some((w, h)) = size {
            if *x > w || *y > h {
                return Err(format!("{f}[{i}] ({x}, {y}) lies outside the image ({w} x {h})"));
            }
        }
    }
    if shape == "bndbox" {
        let ((x1, y1), (x2, y2)) = (points[0], points[1]);
        if !(x1 < x2 && y1 < y2) {
            return Err(format!(
                "a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2, got [[{x1}, {y1}], [{x2}, {y2}]]"
            ));
        }
    }
    Ok(())
}
