//! YOLO (Darknet) detection files: `obj.names` (one class a line, index = line), `obj.data`
//! (`key = value` lines) and one `<class> <x_center> <y_center> <width> <height>` line per box,
//! normalised to the image size.
//! It must not read or write files (the caller hands in and takes the text) or decide which
//! labels a dataset may hold.
//!
//! Numbers are written with at least 6 decimals, more when that is what it takes to read the same
//! value back, so a box survives a round trip to within 1e-6 pixel. A polygon or circle is
//! written as its bounding box and listed as converted (detection training wants the object);
//! lines, dashed lines, points and polylines are dropped and listed; so is a box reaching outside
//! the image, and every label of a record whose size is unknown.

use std::collections::BTreeMap;

use teamlabel_api::labels::SampleLabel;

use crate::geometry::{self, Geometry, Shape};
use crate::record::{InputError, Loss, LossKind, Record};

/// The `obj.names` file: one label per line, in class order.
pub fn names(labels: &[String]) -> String {
    labels.iter().map(|l| format!("{l}\n")).collect()
}

/// Reads `obj.names`: class `i` is line `i + 1`. Blank lines at the end are ignored; a blank
/// line before a name is refused (it would shift every class after it).
pub fn parse_names(txt: &str) -> Result<Vec<String>, InputError> {
    let lines: Vec<&str> = txt.trim_start_matches('\u{feff}').lines().map(str::trim).collect();
    let used = lines.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1);
    lines[..used]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if l.is_empty() {
                Err(InputError::at(i as u64 + 1, "empty class name"))
            } else {
                Ok(l.to_string())
            }
        })
        .collect()
}

/// An `obj.data` file for `classes` classes in the usual layout (`data/obj.names`,
/// `data/train.txt`, `backup/`).
pub fn data(classes: usize) -> String {
    format!("classes = {classes}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n")
}

/// Reads `obj.data`: `key = value` lines; blank lines and `#` comments are skipped, a repeated
/// key keeps its last value. A line without `=` is refused.
pub fn parse_data(txt: &str) -> Result<BTreeMap<String, String>, InputError> {
    let mut out = BTreeMap::new();
    for (i, line) in txt.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| InputError::at(i as u64 + 1, format!("expected `key = value`, got {line:?}")))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

/// The label file of `record`: one line per box, `class_of` giving a label name's class index.
pub fn write(record: &Record, class_of: impl Fn(&str) -> Option<usize>) -> (String, Vec<Loss>) {
    let mut out = String::new();
    let mut losses = Vec::new();
    let Some([w, h, _]) = record.size.filter(|[w, h, _]| *w > 0 && *h > 0) else {
        let losses = record
            .labels
            .iter()
            .map(|l| record.loss(Some(l), LossKind::Dropped, "image size unknown"));
        return (out, losses.collect());
    };
    let (w, h) = (f64::from(w), f64::from(h));
    for label in &record.labels {
        let mut drop = |reason: String| losses.push(record.loss(Some(label), LossKind::Dropped, reason));
        let g = match geometry::of_label(label) {
            Ok(Some(g)) => g,
            Ok(None) => {
                drop("not a shape: YOLO holds boxes".into());
                continue;
            }
            Err(why) => {
                drop(why);
                continue;
            }
        };
        let Some(name) = label.name.as_deref() else {
            drop("a YOLO box needs a class and the label has no name".into());
            continue;
        };
        let Some(class) = class_of(name) else {
            drop(format!("label {name} is not in obj.names"));
            continue;
        };
        let converted = match g.shape {
            Shape::BndBox => false,
            Shape::Polygon | Shape::Circle => true,
            other => {
                drop(format!("a {} has no YOLO form (boxes only)", other.name()));
                continue;
            }
        };
        let (x1, y1, x2, y2) = g.bounds();
        if x1 < 0.0 || y1 < 0.0 || x2 > w || y2 > h {
            drop(format!("the box reaches outside the image {w}x{h}"));
            continue;
        }
        if converted {
            let reason = format!("{} written as its bounding box", g.shape.name());
            losses.push(record.loss(Some(label), LossKind::Converted, reason));
        }
        let values = [(x1 + x2) / 2.0 / w, (y1 + y2) / 2.0 / h, (x2 - x1) / w, (y2 - y1) / h];
        let values: Vec<String> = values.iter().map(|v| decimals(*v)).collect();
        out.push_str(&format!("{class} {}\n", values.join(" ")));
    }
    (out, losses)
}

/// At least 6 decimals; more when the shortest exact form has more.
fn decimals(v: f64) -> String {
    let exact = format!("{v}");
    if exact.split_once('.').is_some_and(|(_, d)| d.len() >= 6) {
        exact
    } else {
        format!("{v:.6}")
    }
}

/// Reads a label file of an image of `size` into bndbox labels (type 1) named from `names`; a
/// sixth number on a line is read as the score. Refused, with the line, when a line does not hold
/// 5 (or 6) numbers, a class is out of range, a value lies outside 0..1, a box is empty or reaches
/// outside the image.
pub fn parse(txt: &str, names: &[String], size: [u32; 3]) -> Result<Vec<SampleLabel>, InputError> {
    let [w, h, _] = size;
    if w == 0 || h == 0 {
        return Err(InputError::new("the image size must not be 0"));
    }
    let (w, h) = (f64::from(w), f64::from(h));
    let mut labels = Vec::new();
    for (i, line) in txt.trim_start_matches('\u{feff}').lines().enumerate() {
        let n = i as u64 + 1;
        let err = |reason: String| InputError::at(n, reason);
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if !(5..=6).contains(&fields.len()) {
            return Err(err(format!(
                "expected `<class> <x_center> <y_center> <width> <height>`, got {} values",
                fields.len()
            )));
        }
        let class: usize = fields[0]
            .parse()
            .map_err(|_| err(format!("class {:?} is not a whole number", fields[0])))?;
        let name = names.get(class).ok_or_else(|| {
            err(format!(
                "class {class} is out of range (obj.names has {} names)",
                names.len()
            ))
        })?;
        let mut v = [0.0; 5];
        for (k, what) in ["x_center", "y_center", "width", "height", "confidence"]
            .iter()
            .enumerate()
            .take(fields.len() - 1)
        {
            let x: f64 = fields[k + 1]
                .parse()
                .map_err(|_| err(format!("{what} is not a number: {:?}", fields[k + 1])))?;
            if !(0.0..=1.0).contains(&x) {
                return Err(err(format!("{what} {x} is outside 0..1")));
            }
            v[k] = x;
        }
        let [xc, yc, bw, bh, score] = v;
        if bw <= 0.0 || bh <= 0.0 {
            return Err(err("the box is empty (width and height must be > 0)".into()));
        }
        const SLACK: f64 = 1e-9;
        if xc - bw / 2.0 < -SLACK
            || yc - bh / 2.0 < -SLACK
            || xc + bw / 2.0 > 1.0 + SLACK
            || yc + bh / 2.0 > 1.0 + SLACK
        {
            return Err(err("the box reaches outside the image".into()));
        }
        let x1 = ((xc - bw / 2.0) * w).max(0.0);
        let y1 = ((yc - bh / 2.0) * h).max(0.0);
        let x2 = ((xc + bw / 2.0) * w).min(w);
        let y2 = ((yc + bh / 2.0) * h).min(h);
        let g = Geometry {
            shape: Shape::BndBox,
            points: vec![[x1, y1], [x2, y2]],
            radius: None,
        };
        let mut label = g.label(Some(name.clone()), 1);
        label.score = (fields.len() == 6).then_some(score);
        labels.push(label);
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;
    use teamlabel_api::labels::SampleLabel;

    use super::*;
    use crate::fixtures::shape;

    fn classes() -> Vec<String> {
        vec!["bag".into(), "cat".into()]
    }

    fn class_of(name: &str) -> Option<usize> {
        classes().iter().position(|c| c == name)
    }

    fn feature(label: &SampleLabel) -> Vec<f64> {
        let f = &label.property.as_ref().unwrap()["@modelarts:feature"];
        f.as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect()
    }

    #[test]
    fn boxes_are_written_normalised_and_read_back() {
        let mut r = Record::new("obs://b/a.jpg");
        r.size = Some([200, 100, 3]);
        r.labels = vec![
            shape("bag", "bndbox", json!([[20, 10], [120, 60]])),
            shape("cat", "polygon", json!([[0, 0], [50, 0], [0, 100]])),
            shape("cat", "line", json!([[0, 0], [5, 5]])),
            shape("dog", "bndbox", json!([[0, 0], [5, 5]])),
            shape("bag", "bndbox", json!([[150, 50], [201, 60]])),
            shape("bag", "bndbox", json!([[1, 1], [2, 4]])),
        ];
        let (txt, losses) = write(&r, class_of);
        assert_eq!(txt, "0 0.350000 0.350000 0.500000 0.500000\n1 0.125000 0.500000 0.250000 1.000000\n0 0.007500 0.025000 0.005000 0.030000\n");
        let got = crate::fixtures::losses(&losses);
        assert_eq!(
            got,
            [
                (Some("cat"), LossKind::Converted, "polygon written as its bounding box"),
                (Some("cat"), LossKind::Dropped, "a line has no YOLO form (boxes only)"),
                (Some("dog"), LossKind::Dropped, "label dog is not in obj.names"),
                (
                    Some("bag"),
                    LossKind::Dropped,
                    "the box reaches outside the image 200x100"
                ),
            ]
        );
        let back = parse(&txt, &classes(), [200, 100, 3]).unwrap();
        assert_eq!(back[0], r.labels[0]);
        assert_eq!(feature(&back[1]), [0.0, 0.0, 50.0, 100.0]);
        assert_eq!(back[1].name.as_deref(), Some("cat"));
    }

    #[test]
    fn a_third_needs_more_than_six_decimals_to_come_back() {
        let mut r = Record::new("a.jpg");
        r.size = Some([3, 3, 3]);
        r.labels = vec![shape("bag", "bndbox", json!([[0, 0], [1, 1]]))];
        let (txt, _) = write(&r, class_of);
        assert_eq!(
            txt,
            "0 0.16666666666666666 0.16666666666666666 0.3333333333333333 0.3333333333333333\n"
        );
        assert_eq!(parse(&txt, &classes(), [3, 3, 3]).unwrap(), r.labels);
    }

    #[test]
    fn a_record_without_size_loses_its_boxes() {
        let mut r = Record::new("a.jpg");
        r.labels = vec![shape("bag", "bndbox", json!([[0, 0], [1, 1]]))];
        let (txt, losses) = write(&r, class_of);
        assert_eq!(txt, "");
        assert_eq!(losses[0].reason, "image size unknown");
    }

    #[test]
    fn broken_lines_are_refused_with_their_line() {
        let cases = [
            (
                "0 0.5 0.5 0.2",
                "line 1: expected `<class> <x_center> <y_center> <width> <height>`, got 4 values",
            ),
            (
                "\n2 0.5 0.5 0.2 0.2",
                "line 2: class 2 is out of range (obj.names has 2 names)",
            ),
            ("x 0.5 0.5 0.2 0.2", "line 1: class \"x\" is not a whole number"),
            ("0 1.5 0.5 0.2 0.2", "line 1: x_center 1.5 is outside 0..1"),
            ("0 0.5 abc 0.2 0.2", "line 1: y_center is not a number: \"abc\""),
            (
                "0 0.5 0.5 0 0.2",
                "line 1: the box is empty (width and height must be > 0)",
            ),
            ("0 0.9 0.5 0.4 0.2", "line 1: the box reaches outside the image"),
        ];
        for (txt, want) in cases {
            assert_eq!(
                parse(txt, &classes(), [10, 10, 3]).unwrap_err().to_string(),
                want,
                "{txt}"
            );
        }
        let scored = parse("1 0.5 0.5 0.2 0.2 0.9\n", &classes(), [10, 10, 3]).unwrap();
        assert_eq!(scored[0].score, Some(0.9));
    }

    #[test]
    fn names_and_data_files() {
        assert_eq!(names(&classes()), "bag\ncat\n");
        assert_eq!(parse_names("bag\r\ncat\n\n").unwrap(), classes());
        assert_eq!(
            parse_names("bag\n\ncat\n").unwrap_err().to_string(),
            "line 2: empty class name"
        );
        let data = parse_data(&data(2)).unwrap();
        assert_eq!(data["classes"], "2");
        assert_eq!(data["names"], "data/obj.names");
        let data = parse_data("# comment\nclasses= 3\n\nvalid = data/valid.txt").unwrap();
        assert_eq!(
            (data["classes"].as_str(), data["valid"].as_str()),
            ("3", "data/valid.txt")
        );
        assert_eq!(
            parse_data("classes 3").unwrap_err().to_string(),
            "line 1: expected `key = value`, got \"classes 3\""
        );
    }

    proptest! {
        #[test]
        fn any_box_inside_the_image_comes_back_within_a_millionth(
            w in 1u32..10_000, h in 1u32..10_000,
            a in 0.0..1.0f64, b in 0.0..1.0f64, c in 0.0..1.0f64, d in 0.0..1.0f64,
        ) {
            let (x1, x2) = (a.min(b) * f64::from(w), a.max(b) * f64::from(w));
            let (y1, y2) = (c.min(d) * f64::from(h), c.max(d) * f64::from(h));
            prop_assume!(x2 - x1 > 1e-3 && y2 - y1 > 1e-3);
            let mut r = Record::new("a.jpg");
            r.size = Some([w, h, 3]);
            r.labels = vec![shape("cat", "bndbox", json!([[x1, y1], [x2, y2]]))];
            let (txt, losses) = write(&r, class_of);
            prop_assert!(losses.is_empty());
            let back = parse(&txt, &classes(), [w, h, 3]).unwrap();
            prop_assert_eq!(back.len(), 1);
            for (got, want) in feature(&back[0]).iter().zip([x1, y1, x2, y2]) {
                prop_assert!((got - want).abs() < 1e-6, "{} vs {}", got, want);
            }
        }
    }
}
