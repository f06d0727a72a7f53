//! Reading a VOC file into labels, refusing objects outside the image.

use serde_json::{Map, Value};
use teamlabel_api::labels::SampleLabel;

use super::xml::{self, Node};
use super::VocDoc;
use crate::geometry::{number, Geometry, Shape};
use crate::keys;
use crate::record::InputError;

/// Reads a VOC file. Refused (naming the object's number and name) when an object has no name,
/// no shape or more than one, a coordinate that is missing or not a number, a box with
/// `xmin >= xmax` or `ymin >= ymax`, a circle without a positive radius, or a point outside
/// `<size>` (below 0 when the size is unknown). Lenient about the guide's broken `<r>100<r>`.
pub fn parse(xml: &str) -> Result<VocDoc, InputError> {
    let root = xml::parse(xml)?;
    if root.name != "annotation" {
        return Err(InputError::new(format!(
            "the root element must be <annotation>, got <{}>",
            root.name
        )));
    }
    let err = |reason: String| InputError::new(reason);
    let size = match root.child("size") {
        None => None,
        Some(s) => {
            let dim = |name: &str| -> Result<Option<u32>, InputError> {
                s.text_of(name)
                    .map(|t| {
                        t.parse::<u32>()
                            .map_err(|_| err(format!("<size>: {name} is not a whole number: {t:?}")))
                    })
                    .transpose()
            };
            match (dim("width")?, dim("height")?, dim("depth")?) {
                (Some(w), Some(h), d) if w > 0 && h > 0 => Some([w, h, d.unwrap_or(3)]),
                (Some(_), Some(_), _) => None,
                _ => return Err(err("<size> needs <width> and <height>".into())),
            }
        }
    };
    let segmented = match root.text_of("segmented") {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => return Err(err(format!("<segmented> must be 0 or 1, got {other:?}"))),
    };
    let mut labels = Vec::new();
    for (i, object) in root.children.iter().filter(|c| c.name == "object").enumerate() {
        labels.push(read_object(i + 1, object, size, segmented).map_err(err)?);
    }
    Ok(VocDoc {
        filename: root.text_of("filename").unwrap_or_default().to_string(),
        folder: root.text_of("folder").unwrap_or_default().to_string(),
        size,
        segmented,
        mask_source: root.text_of("mask_source").map(str::to_string),
        labels,
    })
}

fn read_object(n: usize, object: &Node, size: Option<[u32; 3]>, segmented: bool) -> Result<SampleLabel, String> {
    let name = object
        .text_of("name")
        .ok_or_else(|| format!("object {n}: <name> is required"))?;
    let at = format!("object {n} ({name})");
    let shapes: Vec<(&Node, Shape)> = object
        .children
        .iter()
        .filter_map(|c| Shape::parse(&c.name).map(|s| (c, s)))
        .collect();
    let (element, shape) = match shapes.as_slice() {
        [one] => *one,
        [] => return Err(format!("{at}: no shape (one of {})", keys::SHAPES.join(", "))),
        _ => return Err(format!("{at}: more than one shape")),
    };
    let geometry = read_shape(&at, element, shape)?;
    check_inside(&at, &geometry, size)?;
    let mut label = geometry.label(Some(name.to_string()), if segmented { 3 } else { 1 });
    let property = label.property.get_or_insert_with(Map::new);
    if let Some(pose) = object.text_of("pose").filter(|p| *p != "Unspecified") {
        property.insert(keys::VOC_POSE.into(), pose.into());
    }
    for (element, key) in [
        ("truncated", keys::VOC_TRUNCATED),
        ("occluded", keys::VOC_OCCLUDED),
        ("difficult", keys::VOC_DIFFICULT),
    ] {
        match object.text_of(element) {
            None | Some("0") => {}
            Some(t) => {
                let v = t.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(t));
                property.insert(key.into(), v);
            }
        }
    }
    if let Some(c) = object.text_of("hard-coefficient") {
        c.parse::<f64>()
            .map_err(|_| format!("{at}: <hard-coefficient> is not a number: {c:?}"))?;
        property.insert(keys::HARD_COEFFICIENT.into(), c.into());
    }
    if let Some(color) = object.text_of("mask_color") {
        property.insert(keys::VOC_MASK_COLOR.into(), color.into());
    }
    if let Some(c) = object.text_of("confidence") {
        label.score = Some(
            c.parse::<f64>()
                .map_err(|_| format!("{at}: <confidence> is not a number: {c:?}"))?,
        );
    }
    Ok(label)
}

fn read_shape(at: &str, element: &Node, shape: Shape) -> Result<Geometry, String> {
    let s = shape.name();
    let coord = |name: &str| -> Result<f64, String> {
        let t = element
            .text_of(name)
            .ok_or_else(|| format!("{at}: the {s} has no <{name}>"))?;
        t.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{at}: <{name}> of the {s} is not a number: {t:?}"))
    };
    let numbered = |min: usize| -> Result<Vec<[f64; 2]>, String> {
        let mut points = Vec::new();
        while element.child(&format!("x{}", points.len() + 1)).is_some() {
            let k = points.len() + 1;
            points.push([coord(&format!("x{k}"))?, coord(&format!("y{k}"))?]);
        }
        if points.len() < min {
            return Err(format!(
                "{at}: a {s} needs at least {min} points (x1, y1, x2, y2, ...), got {}",
                points.len()
            ));
        }
        Ok(points)
    };
    let (points, radius) = match shape {
        Shape::BndBox => {
            let (x1, y1, x2, y2) = (coord("xmin")?, coord("ymin")?, coord("xmax")?, coord("ymax")?);
            if x1 >= x2 {
                return Err(format!("{at}: xmin {x1} must be less than xmax {x2}"));
            }
            if y1 >= y2 {
                return Err(format!("{at}: ymin {y1} must be less than ymax {y2}"));
            }
            (vec![[x1, y1], [x2, y2]], None)
        }
        Shape::Circle => {
            let r = coord("r")?;
            if r <= 0.0 {
                return Err(format!("{at}: the radius of the circle must be > 0, got {r}"));
            }
            (vec![[coord("cx")?, coord("cy")?]], Some(r))
        }
        Shape::Line | Shape::Dashed => (vec![[coord("x1")?, coord("y1")?], [coord("x2")?, coord("y2")?]], None),
        Shape::Point if element.child("x").is_some() => (vec![[coord("x")?, coord("y")?]], None),
        Shape::Point => (vec![[coord("x1")?, coord("y1")?]], None),
        Shape::Polygon => (numbered(3)?, None),
        Shape::Polyline => (numbered(2)?, None),
    };
    Ok(Geometry { shape, points, radius })
}

/// Every point (a circle: its centre) inside `[0, width] x [0, height]`, or >= 0 when the size
/// is unknown.
fn check_inside(at: &str, g: &Geometry, size: Option<[u32; 3]>) -> Result<(), String> {
    let s = g.shape.name();
    for [x, y] in &g.points {
        let inside = *x >= 0.0 && *y >= 0.0 && size.is_none_or(|[w, h, _]| *x <= f64::from(w) && *y <= f64::from(h));
        if !inside {
            let (x, y) = (number(*x), number(*y));
            return Err(match size {
                Some([w, h, _]) => format!("{at}: point ({x}, {y}) of the {s} lies outside the image {w}x{h}"),
                None => format!("{at}: point ({x}, {y}) of the {s} has a negative coordinate"),
            });
        }
    }
    Ok(())
}
