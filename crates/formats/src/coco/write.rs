//! The streaming COCO writer.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use serde_json::{json, Map, Value};
use teamlabel_api::labels::SampleLabel;

use crate::geometry::{self, number, Shape};
use crate::keys;
use crate::record::{Loss, LossKind, Record};

/// Writes a COCO instances file: `info`, `licenses` and `categories` when made, each image as it
/// is added, and the annotations (spooled to a temporary file) on [`CocoWriter::finish`].
pub struct CocoWriter<W: Write> {
    out: W,
    spool: BufWriter<File>,
    categories: HashMap<String, u64>,
    images: u64,
    annotations: u64,
}

impl<W: Write> CocoWriter<W> {
    /// Starts the file; category ids count from 1 in the given order (a repeated name keeps its
    /// first id).
    pub fn new(mut out: W, categories: &[String]) -> io::Result<Self> {
        let mut ids = HashMap::new();
        let mut listed = Vec::new();
        for name in categories {
            if !ids.contains_key(name) {
                let id = ids.len() as u64 + 1;
                ids.insert(name.clone(), id);
                listed.push(json!({"id": id, "name": name, "supercategory": ""}).to_string());
            }
        }
        write!(
            out,
            "{{\"info\":{{\"description\":\"teamlabel export\",\"version\":\"1.0\"}},\"licenses\":[],\n\"categories\":[{}],\n\"images\":[",
            listed.join(",")
        )?;
        let spool = BufWriter::new(tempfile::tempfile()?);
        Ok(CocoWriter {
            out,
            spool,
            categories: ids,
            images: 0,
            annotations: 0,
        })
    }

    /// Adds one image and its labels, answering what could not be written. A record without a
    /// size is written without `width`/`height`, its labels dropped ("image size unknown").
    pub fn add(&mut self, record: &Record, file_name: &str) -> io::Result<Vec<Loss>> {
        self.images += 1;
        let image_id = self.images;
        let mut image = Map::new();
        image.insert("id".into(), image_id.into());
        image.insert("file_name".into(), file_name.into());
        if let Some([w, h, _]) = record.size {
            image.insert("width".into(), w.into());
            image.insert("height".into(), h.into());
        }
        let sep = if image_id == 1 { "\n" } else { ",\n" };
        write!(
            self.out,
            "{sep}{}",
            ordered(&image, &["id", "file_name", "width", "height"])
        )?;
        let mut losses = Vec::new();
        let Some([w, h, _]) = record.size else {
            losses.extend(
                record
                    .labels
                    .iter()
                    .map(|l| record.loss(Some(l), LossKind::Dropped, "image size unknown")),
            );
            return Ok(losses);
        };
        for label in &record.labels {
            match self.annotation(record, label, image_id, (f64::from(w), f64::from(h))) {
                Ok((annotation, converted)) => {
                    self.annotations += 1;
                    let sep = if self.annotations == 1 { "\n" } else { ",\n" };
                    write!(self.spool, "{sep}{annotation}")?;
                    losses.extend(converted);
                }
                Err(dropped) => losses.push(dropped),
            }
        }
        Ok(losses)
    }

    /// How many images and annotations were written so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.images, self.annotations)
    }

    /// Copies the spooled annotations after the images, closes the document and hands back the
    /// output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"\n],\n\"annotations\":[")?;
        let mut spool = self.spool.into_inner().map_err(|e| e.into_error())?;
        spool.seek(SeekFrom::Start(0))?;
        io::copy(&mut spool, &mut self.out)?;
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// The annotation of one label (with the conversion it took, if any), or why it is dropped.
    fn annotation(
        &self,
        record: &Record,
        label: &SampleLabel,
        image_id: u64,
        (w, h): (f64, f64),
    ) -> Result<(String, Option<Loss>), Loss> {
        let drop = |reason: String| Err(record.loss(Some(label), LossKind::Dropped, reason));
        let mut converted = None;
        let g = match geometry::of_label(label) {
            Ok(Some(g)) => g,
            Ok(None) => return drop("not a shape: COCO holds boxes and polygons".into()),
            Err(why) => return drop(why),
        };
        let Some(name) = &label.name else {
            return drop("a COCO annotation needs a category and the label has no name".into());
        };
        let Some(&category) = self.categories.get(name) else {
            return drop(format!("label {name} is not among the categories"));
        };
        let (bbox, area, segmentation) = match g.shape {
            Shape::BndBox => {
                let (x1, y1, x2, y2) = g.bounds();
                ([x1, y1, x2 - x1, y2 - y1], (x2 - x1) * (y2 - y1), vec![])
            }
            Shape::Polygon => {
                let (x1, y1, x2, y2) = g.bounds();
                let ring: Vec<Value> = g.points.iter().flat_map(|[x, y]| [number(*x), number(*y)]).collect();
                (
                    [x1, y1, x2 - x1, y2 - y1],
                    shoelace(&g.points),
                    vec![Value::Array(ring)],
                )
            }
            Shape::Circle => {
                let (x1, y1, x2, y2) = g.bounds();
                let (x1, y1, x2, y2) = (x1.max(0.0), y1.max(0.0), x2.min(w), y2.min(h));
                if x1 >= x2 || y1 >= y2 {
                    return drop("the circle lies outside the image".into());
                }
                converted = Some(record.loss(Some(label), LossKind::Converted, "circle written as its bounding box"));
                ([x1, y1, x2 - x1, y2 - y1], (x2 - x1) * (y2 - y1), vec![])
            }
            other => return drop(format!("a {} has no COCO form (boxes and polygons only)", other.name())),
        };
        let iscrowd = label
            .property
            .as_ref()
            .and_then(|p| p.get(keys::COCO_ISCROWD))
            .and_then(Value::as_i64);
        let mut a = Map::new();
        a.insert("id".into(), (self.annotations + 1).into());
        a.insert("image_id".into(), image_id.into());
        a.insert("category_id".into(), category.into());
        a.insert("segmentation".into(), Value::Array(segmentation));
        a.insert("area".into(), number(area));
        a.insert(
            "bbox".into(),
            Value::from(bbox.iter().map(|v| number(*v)).collect::<Vec<_>>()),
        );
        a.insert("iscrowd".into(), iscrowd.unwrap_or(0).into());
        if let Some(score) = label.score {
            a.insert("score".into(), score.into());
        }
        let order = [
            "id",
            "image_id",
            "category_id",
            "segmentation",
            "area",
            "bbox",
            "iscrowd",
            "score",
        ];
        Ok((ordered(&a, &order), converted))
    }
}

/// The area of a simple polygon (shoelace formula).
pub(crate) fn shoelace(points: &[[f64; 2]]) -> f64 {
    let n = points.len();
    let twice: f64 = (0..n)
        .map(|i| {
            let ([x1, y1], [x2, y2]) = (points[i], points[(i + 1) % n]);
            x1 * y2 - x2 * y1
        })
        .sum();
    twice.abs() / 2.0
}

/// `map` as a JSON object with its keys in `order`.
fn ordered(map: &Map<String, Value>, order: &[&str]) -> String {
    let fields: Vec<String> = order
        .iter()
        .filter_map(|k| map.get(*k).map(|v| format!("{}:{v}", Value::from(*k))))
        .collect();
    format!("{{{}}}", fields.join(","))
}
