//! Reading and building the geometry of a label (`@modelarts:shape` and `@modelarts:feature`) for
//! the image formats, and the number helpers they share (integral values stay integers).
//! It must not decide whether a shape is allowed on a dataset: the rules stay in the core crate.

use serde_json::{Map, Value};
use teamlabel_api::labels::SampleLabel;

use crate::keys;

/// A documented `@modelarts:shape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    BndBox,
    Polygon,
    Circle,
    Line,
    Dashed,
    Point,
    Polyline,
}

impl Shape {
    pub(crate) fn parse(s: &str) -> Option<Shape> {
        Some(match s {
            "bndbox" => Shape::BndBox,
            "polygon" => Shape::Polygon,
            "circle" => Shape::Circle,
            "line" => Shape::Line,
            "dashed" => Shape::Dashed,
            "point" => Shape::Point,
            "polyline" => Shape::Polyline,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::BndBox => "bndbox",
            Shape::Polygon => "polygon",
            Shape::Circle => "circle",
            Shape::Line => "line",
            Shape::Dashed => "dashed",
            Shape::Point => "point",
            Shape::Polyline => "polyline",
        }
    }
}

/// The geometry of one label, in pixels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Geometry {
    pub shape: Shape,
    /// The points; a circle has its centre only.
    pub points: Vec<[f64; 2]>,
    /// A circle's radius.
    pub radius: Option<f64>,
}

impl Geometry {
    /// `(xmin, ymin, xmax, ymax)` of everything the shape covers.
    pub(crate) fn bounds(&self) -> (f64, f64, f64, f64) {
        let r = self.radius.unwrap_or(0.0);
        let (mut x1, mut y1, mut x2, mut y2) = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        for [x, y] in &self.points {
            x1 = x1.min(x - r);
            y1 = y1.min(y - r);
            x2 = x2.max(x + r);
            y2 = y2.max(y + r);
        }
        (x1, y1, x2, y2)
    }

    /// The `@modelarts:feature` value of this geometry.
    pub(crate) fn feature(&self) -> Value {
        let mut items: Vec<Value> = self
            .points
            .iter()
            .map(|[x, y]| Value::from(vec![number(*x), number(*y)]))
            .collect();
        if let Some(r) = self.radius {
            items.push(Value::from(vec![number(r)]));
        }
        Value::Array(items)
    }

    /// A label holding this geometry.
    pub(crate) fn label(&self, name: Option<String>, label_type: i64) -> SampleLabel {
        let mut property = Map::new();
        property.insert(keys::SHAPE.into(), Value::from(self.shape.name()));
        property.insert(keys::FEATURE.into(), self.feature());
        SampleLabel {
            name,
            label_type: Some(label_type),
            property: Some(property),
            ..SampleLabel::default()
        }
    }
}

/// The geometry of a label: `Ok(None)` when it has no `@modelarts:shape` (not a geometry label),
/// `Err` with a reason when the shape is unknown or the feature does not fit it.
pub(crate) fn of_label(label: &SampleLabel) -> Result<Option<Geometry>, String> {
    let Some(property) = &label.property else {
        return Ok(None);
    };
    let Some(shape) = property.get(keys::SHAPE) else {
        return Ok(None);
    };
    let shape_name = shape
        .as_str()
        .ok_or_else(|| format!("{} is not a string", keys::SHAPE))?;
    let shape = Shape::parse(shape_name).ok_or_else(|| format!("unknown shape {shape_name}"))?;
    let bad = || format!("the {} of a {} does not fit its shape", keys::FEATURE, shape.name());
    let items = property.get(keys::FEATURE).and_then(Value::as_array).ok_or_else(bad)?;
    let point = |v: &Value| -> Option<[f64; 2]> {
        match v.as_array()?.as_slice() {
            [x, y] => Some([x.as_f64()?, y.as_f64()?]),
            _ => None,
        }
    };
    if shape == Shape::Circle {
        let [centre, radius] = items.as_slice() else {
            return Err(bad());
        };
        let r = match radius.as_array().map(Vec::as_slice) {
            Some([r]) => r.as_f64(),
            _ => None,
        };
        return match (point(centre), r) {
            (Some(c), Some(r)) => Ok(Some(Geometry {
                shape,
                points: vec![c],
                radius: Some(r),
            })),
            _ => Err(bad()),
        };
    }
    let points: Vec<[f64; 2]> = items.iter().map(point).collect::<Option<_>>().ok_or_else(bad)?;
    let fits = match shape {
        Shape::BndBox | Shape::Line | Shape::Dashed => points.len() == 2,
        Shape::Point => points.len() == 1,
        Shape::Polygon => points.len() >= 3,
        Shape::Polyline => points.len() >= 2,
        Shape::Circle => unreachable!("handled above"),
    };
    if !fits {
        return Err(bad());
    }
    Ok(Some(Geometry {
        shape,
        points,
        radius: None,
    }))
}

/// A JSON number for `v`: an integer when `v` is whole (or within 1e-6 of whole after a
/// conversion), else a float.
pub(crate) fn number(v: f64) -> Value {
    let r = v.round();
    if (v - r).abs() < 1e-6 && r.abs() < 9.0e15 {
        Value::from(r as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// `v` as text: whole numbers without a fraction, others in the shortest form that reads back
/// exactly.
pub(crate) fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn label(property: Value) -> SampleLabel {
        SampleLabel {
            property: property.as_object().cloned(),
            ..SampleLabel::default()
        }
    }

    #[test]
    fn shapes_are_read_and_checked() {
        let g = of_label(&label(
            json!({"@modelarts:shape":"circle","@modelarts:feature":[[10,20],[5]]}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(g.bounds(), (5.0, 15.0, 15.0, 25.0));
        assert_eq!(g.feature(), json!([[10, 20], [5]]));
        assert!(of_label(&label(json!({"color":"red"}))).unwrap().is_none());
        let err = of_label(&label(
            json!({"@modelarts:shape":"bndbox","@modelarts:feature":[[1,2]]}),
        ))
        .unwrap_err();
        assert_eq!(err, "the @modelarts:feature of a bndbox does not fit its shape");
        let err = of_label(&label(json!({"@modelarts:shape":"star","@modelarts:feature":[]}))).unwrap_err();
        assert_eq!(err, "unknown shape star");
    }

    #[test]
    fn whole_numbers_stay_integers() {
        assert_eq!(number(108.0), json!(108));
        assert_eq!(number(107.9999999), json!(108));
        assert_eq!(number(1.5), json!(1.5));
        assert_eq!(fmt_number(108.0), "108");
        assert_eq!(fmt_number(0.1 + 0.2), "0.30000000000000004");
    }
}
