//! Inter-annotator agreement of a team task's copies: Krippendorff's alpha over classifications,
//! mean pairwise F1 over boxes and over entity spans, for the task and for each worker. Pure: it
//! owns these figures and must not touch the store, `App` or any I/O; which labels are
//! classifications, boxes and spans is decided by `team::consensus`, so both read labels alike.
//!
//! # The figures of [`agreement_of`]
//! Only samples with at least two copies count.
//! - classification: Krippendorff's alpha (nominal) with one unit per sample and, as each copy's
//!   value, the set of its classification label names, sorted, deduplicated and joined with
//!   U+001F (a copy without one has the value `""`, which disagrees with any class). Units are
//!   the samples where at least one copy has a classification label; `samples` counts them.
//! - detection: per sample, the mean of [`box_f1`] over all pairs of copies; the figure is the
//!   mean over the samples where any copy has a box, and `samples` counts them.
//! - entities: the same with [`span_f1`], over the samples where any copy has a span.
//!
//! Per worker: classification is alpha over the units that worker coded (with every coder's
//! value on those units); detection and entities are the mean F1 of all pairs of copies
//! involving that worker, over the samples counted for the task; `samples` counts the samples
//! those pairs come from. Every worker of any sample has an entry.

use std::collections::{BTreeMap, BTreeSet};

use crate::rules::values::PlacedLabel;
use crate::team::consensus::{box_of, greedy_matches, is_classification, span_of};

/// An agreement figure and the number of samples it rests on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figure {
    /// `None` when nothing could be measured.
    pub value: Option<f64>,
    pub samples: u64,
}

/// The agreement of a task or of one worker, by kind of label.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Agreement {
    pub classification: Figure,
    pub detection: Figure,
    pub entities: Figure,
}

/// One copy of a sample: the worker and the labels.
type WorkerCopy = (String, Vec<PlacedLabel>);

/// Krippendorff's alpha for nominal data. `units[u]` = the values the coders gave unit u (None =
/// not coded). Units with fewer than 2 values are not pairable and ignored. Returns None when
/// there are no pairable units or the expected disagreement is 0.
///
/// `alpha = 1 - D_o / D_e`, computed from the coincidences: the observed disagreement sums, per
/// unit, the pairs of different values over `m_u - 1`; the expected one sums `n_c * n_k` over
/// pairs of different values of the pooled counts, over `n - 1`.
pub fn krippendorff_alpha_nominal(units: &[Vec<Option<String>>]) -> Option<f64> {
    let mut pooled: BTreeMap<&str, f64> = BTreeMap::new();
    let mut observed = 0.0;
    for unit in units {
        let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
        for v in unit.iter().flatten() {
            *counts.entry(v.as_str()).or_default() += 1.0;
        }
        let m: f64 = counts.values().sum();
        if m < 2.0 {
            continue;
        }
        observed += (m * m - sum_of_squares(&counts)) / (m - 1.0);
        for (v, c) in counts {
            *pooled.entry(v).or_default() += c;
        }
    }
    let n: f64 = pooled.values().sum();
    if n < 2.0 {
        return None;
    }
    let expected = (n * n - sum_of_squares(&pooled)) / (n - 1.0);
    (expected > 0.0).then(|| 1.0 - observed / expected)
}

fn sum_of_squares(counts: &BTreeMap<&str, f64>) -> f64 {
    counts.values().map(|c| c * c).sum()
}

/// The bounding boxes of one (name, shape) in set a and in set b.
type BoxesOfTwo = (Vec<[f64; 4]>, Vec<[f64; 4]>);

/// F1 between two label sets of boxes matched one-to-one by IoU >= threshold (same name):
/// 2*matched/(|a|+|b|); 1.0 when both empty.
///
/// Boxes are the labels with a readable shape (`consensus::box_of`), compared by the IoU of their
/// bounding boxes; a match also needs the same shape. Other labels are ignored. Matching is greedy
/// by falling IoU.
pub fn box_f1(a: &[PlacedLabel], b: &[PlacedLabel], iou_threshold: f64) -> f64 {
    let mut groups: BTreeMap<(&str, &str), BoxesOfTwo> = BTreeMap::new();
    for l in a {
        if let Some((shape, bbox)) = box_of(l) {
            groups.entry((l.name.as_str(), shape)).or_default().0.push(bbox);
        }
    }
    for l in b {
        if let Some((shape, bbox)) = box_of(l) {
            groups.entry((l.name.as_str(), shape)).or_default().1.push(bbox);
        }
    }
    let (mut matched, mut total) = (0, 0);
    for (xs, ys) in groups.values() {
        matched += greedy_matches(xs, ys, iou_threshold).len();
        total += xs.len() + ys.len();
    }
    f1(matched, total)
}

/// F1 between two sets of entity spans (exact (start,end,name) match); 1.0 when both empty.
/// Spans are the labels with integer start and end indexes; each span matches at most once.
pub fn span_f1(a: &[PlacedLabel], b: &[PlacedLabel]) -> f64 {
    let spans = |labels: &[PlacedLabel]| -> BTreeMap<(i64, i64, String), usize> {
        let mut out = BTreeMap::new();
        for l in labels {
            if let Some((start, end)) = span_of(l) {
                *out.entry((start, end, l.name.clone())).or_default() += 1;
            }
        }
        out
    };
    let (xs, ys) = (spans(a), spans(b));
    let matched: usize = xs.iter().map(|(k, n)| (*n).min(ys.get(k).copied().unwrap_or(0))).sum();
    let total: usize = xs.values().chain(ys.values()).sum();
    f1(matched, total)
}

/// `2 * matched / total`, 1.0 for nothing against nothing.
fn f1(matched: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        2.0 * matched as f64 / total as f64
    }
}

/// One sample's copies: (worker_id, labels). Returns the task figure and a per-worker figure.
/// The rules are those of the module doc.
pub fn agreement_of(samples: &[Vec<WorkerCopy>], iou_threshold: f64) -> (Agreement, BTreeMap<String, Agreement>) {
    let counted: Vec<&[WorkerCopy]> = samples.iter().filter(|s| s.len() >= 2).map(Vec::as_slice).collect();
    let mut workers: BTreeMap<String, Agreement> = samples
        .iter()
        .flatten()
        .map(|(w, _)| (w.clone(), Agreement::default()))
        .collect();

    let classified: Vec<&[WorkerCopy]> = counted
        .iter()
        .copied()
        .filter(|s| s.iter().any(|(_, labels)| labels.iter().any(is_classification)))
        .collect();
    let task_classification = classification_figure(&classified);
    for (w, figures) in workers.iter_mut() {
        let coded: Vec<&[WorkerCopy]> = classified
            .iter()
            .copied()
            .filter(|s| s.iter().any(|(id, _)| id == w))
            .collect();
        figures.classification = classification_figure(&coded);
    }

    let has_box = |l: &PlacedLabel| box_of(l).is_some();
    let box_pairs = pair_scores(&counted, has_box, |a, b| box_f1(a, b, iou_threshold));
    let has_span = |l: &PlacedLabel| span_of(l).is_some();
    let span_pairs = pair_scores(&counted, has_span, span_f1);
    for (w, figures) in workers.iter_mut() {
        figures.detection = worker_pair_figure(&box_pairs, w);
        figures.entities = worker_pair_figure(&span_pairs, w);
    }

    let task = Agreement {
        classification: task_classification,
        detection: task_pair_figure(&box_pairs),
        entities: task_pair_figure(&span_pairs),
    };
    (task, workers)
}

/// A copy's classification value: its classification names, sorted, deduplicated, joined.
fn classification_value(labels: &[PlacedLabel]) -> String {
    let names: BTreeSet<&str> = labels
        .iter()
        .filter(|l| is_classification(l))
        .map(|l| l.name.as_str())
        .collect();
    names.into_iter().collect::<Vec<_>>().join("\u{1f}")
}

fn classification_figure(units: &[&[WorkerCopy]]) -> Figure {
    let values: Vec<Vec<Option<String>>> = units
        .iter()
        .map(|copies| {
            copies
                .iter()
                .map(|(_, labels)| Some(classification_value(labels)))
                .collect()
        })
        .collect();
    Figure {
        value: krippendorff_alpha_nominal(&values),
        samples: units.len() as u64,
    }
}

/// The F1 of every pair of copies of one counted sample: (worker, worker, F1).
type SamplePairs = Vec<(String, String, f64)>;

/// Pairwise scores of the counted samples where any copy has a label of the kind.
fn pair_scores(
    counted: &[&[WorkerCopy]],
    has: impl Fn(&PlacedLabel) -> bool,
    score: impl Fn(&[PlacedLabel], &[PlacedLabel]) -> f64,
) -> Vec<SamplePairs> {
    counted
        .iter()
        .filter(|copies| copies.iter().any(|(_, labels)| labels.iter().any(&has)))
        .map(|copies| {
            let mut pairs = Vec::new();
            for (i, (wa, a)) in copies.iter().enumerate() {
                for (wb, b) in copies.iter().skip(i + 1) {
                    pairs.push((wa.clone(), wb.clone(), score(a, b)));
                }
            }
            pairs
        })
        .collect()
}

fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.into_iter().fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The mean over samples of each sample's mean pairwise score.
fn task_pair_figure(samples: &[SamplePairs]) -> Figure {
    let per_sample: Vec<f64> = samples
        .iter()
        .filter_map(|pairs| mean(pairs.iter().map(|p| p.2)))
        .collect();
    Figure {
        value: mean(per_sample.iter().copied()),
        samples: per_sample.len() as u64,
    }
}

/// The mean of the scores of all pairs involving the worker.
fn worker_pair_figure(samples: &[SamplePairs], worker: &str) -> Figure {
    let mine = |pairs: &SamplePairs| -> Vec<f64> {
        pairs
            .iter()
            .filter(|(a, b, _)| a == worker || b == worker)
            .map(|p| p.2)
            .collect()
    };
    let per_sample: Vec<Vec<f64>> = samples.iter().map(mine).filter(|s| !s.is_empty()).collect();
    Figure {
        value: mean(per_sample.iter().flatten().copied()),
        samples: per_sample.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::values::key;
    use serde_json::{json, Map, Value};
    use teamlabel_api::enums::LabelType;

    fn label(name: &str, label_type: LabelType, property: Value) -> PlacedLabel {
        let property = match property {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        PlacedLabel {
            label_id: 1,
            name: name.to_string(),
            label_type,
            instance_id: None,
            property,
            score: None,
            annotated_by: None,
        }
    }

    fn class(name: &str) -> PlacedLabel {
        label(name, LabelType::ImageClassification, json!({}))
    }

    fn bndbox(name: &str, b: [f64; 4]) -> PlacedLabel {
        label(
            name,
            LabelType::ObjectDetection,
            json!({ key::SHAPE: "bndbox", key::FEATURE: [[b[0], b[1]], [b[2], b[3]]] }),
        )
    }

    fn span(name: &str, start: i64, end: i64) -> PlacedLabel {
        label(
            name,
            LabelType::NamedEntity,
            json!({ key::START_INDEX: start, key::END_INDEX: end }),
        )
    }

    /// Reliability data as printed, one row per coder, `0` = missing; turned into units.
    fn units_of(rows: &[&[u8]]) -> Vec<Vec<Option<String>>> {
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        (0..width)
            .map(|u| {
                rows.iter()
                    .map(|r| r.get(u).filter(|v| **v != 0).map(|v| v.to_string()))
                    .collect()
            })
            .collect()
    }

    fn close(a: Option<f64>, b: f64, tolerance: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < tolerance)
    }

    #[test]
    fn alpha_of_krippendorffs_nominal_example_with_missing_data() {
        // Krippendorff, K. (2011). "Computing Krippendorff's Alpha-Reliability", Annenberg School
        // for Communication, University of Pennsylvania, section C ("Nominal data, any number of
        // observers, missing data"): observers A-D, 12 units; '.' (here 0) = not coded. Published
        // result: alpha = 0.743. Unit 12 has one value only and is not pairable.
        let rows: [&[u8]; 4] = [
            &[1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
            &[1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
            &[0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
            &[1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
        ];
        let alpha = krippendorff_alpha_nominal(&units_of(&rows));
        assert!(close(alpha, 0.743, 0.0005), "{alpha:?}");
    }

    #[test]
    fn alpha_of_wikipedias_computational_example() {
        // Wikipedia, "Krippendorff's alpha", section "A computational example": coders A, B, C,
        // 15 units, '*' (here 0) = missing. Published nominal result: alpha = 0.691.
        let rows: [&[u8]; 3] = [
            &[0, 0, 0, 0, 0, 3, 4, 1, 2, 1, 1, 3, 3, 0, 3],
            &[1, 0, 2, 1, 3, 3, 4, 3, 0, 0, 0, 0, 0, 0, 0],
            &[0, 0, 2, 1, 3, 4, 4, 0, 2, 1, 1, 3, 3, 0, 4],
        ];
        let alpha = krippendorff_alpha_nominal(&units_of(&rows));
        assert!(close(alpha, 0.691, 0.0005), "{alpha:?}");
    }

    #[test]
    fn alpha_is_undefined_without_pairable_units_or_variation() {
        assert_eq!(krippendorff_alpha_nominal(&[]), None);
        assert_eq!(krippendorff_alpha_nominal(&units_of(&[&[1, 0], &[0, 2]])), None);
        assert_eq!(krippendorff_alpha_nominal(&units_of(&[&[1, 1], &[1, 1]])), None);
        assert_eq!(krippendorff_alpha_nominal(&units_of(&[&[1, 2], &[1, 2]])), Some(1.0));
    }

    /// `box_f1` of borrowed labels.
    fn boxes_f1(a: &[&PlacedLabel], b: &[&PlacedLabel], iou_threshold: f64) -> f64 {
        let owned = |labels: &[&PlacedLabel]| labels.iter().map(|l| (*l).clone()).collect::<Vec<_>>();
        box_f1(&owned(a), &owned(b), iou_threshold)
    }

    #[test]
    fn box_f1_of_hand_checked_sets() {
        let car = &bndbox("car", [0.0, 0.0, 10.0, 10.0]);
        let car_moved = &bndbox("car", [1.0, 0.0, 11.0, 10.0]); // IoU 90/110
        let car_far = &bndbox("car", [5.0, 5.0, 15.0, 15.0]); // IoU 25/175
        let bus = &bndbox("bus", [0.0, 0.0, 10.0, 10.0]);
        assert_eq!(boxes_f1(&[], &[], 0.5), 1.0);
        assert_eq!(boxes_f1(&[car], &[], 0.5), 0.0);
        assert_eq!(boxes_f1(&[car], &[car_moved], 0.5), 1.0);
        assert_eq!(boxes_f1(&[car], &[car_far], 0.5), 0.0);
        assert_eq!(boxes_f1(&[car], &[car_far], 0.1), 1.0);
        assert_eq!(boxes_f1(&[car], &[bus], 0.5), 0.0);
        // One of two matched against one: 2 * 1 / 3.
        assert_eq!(boxes_f1(&[car, bus], &[car_moved], 0.5), 2.0 / 3.0);
        // One-to-one: two boxes on one object against one box match once: 2 * 1 / 3.
        assert_eq!(boxes_f1(&[car, car_moved], &[car], 0.5), 2.0 / 3.0);
        // Classifications are not boxes.
        assert_eq!(boxes_f1(&[car, &class("A")], &[car], 0.5), 1.0);
    }

    #[test]
    fn span_f1_of_hand_checked_sets() {
        assert_eq!(span_f1(&[], &[]), 1.0);
        assert_eq!(span_f1(&[span("PER", 0, 5)], &[]), 0.0);
        assert_eq!(span_f1(&[span("PER", 0, 5)], &[span("PER", 0, 5)]), 1.0);
        assert_eq!(span_f1(&[span("PER", 0, 5)], &[span("PER", 0, 4)]), 0.0);
        assert_eq!(span_f1(&[span("PER", 0, 5)], &[span("ORG", 0, 5)]), 0.0);
        // 2 * 2 / (3 + 2).
        let a = [span("PER", 0, 5), span("ORG", 7, 9), span("LOC", 11, 12)];
        let b = [span("ORG", 7, 9), span("PER", 0, 5)];
        assert_eq!(span_f1(&a, &b), 0.8);
        // Each span matches once: 2 * 1 / (2 + 1).
        assert_eq!(
            span_f1(&[span("PER", 0, 5), span("PER", 0, 5)], &[span("PER", 0, 5)]),
            2.0 / 3.0
        );
    }

    fn copy(worker: &str, labels: Vec<PlacedLabel>) -> WorkerCopy {
        (worker.to_string(), labels)
    }

    #[test]
    fn agreement_of_a_small_task() {
        let car = bndbox("car", [0.0, 0.0, 10.0, 10.0]);
        let samples = vec![
            // Classification: ann and bob agree, cat disagrees; boxes: all agree.
            vec![
                copy("ann", vec![class("A"), car.clone()]),
                copy("bob", vec![class("A"), car.clone()]),
                copy("cat", vec![class("B"), car.clone()]),
            ],
            // Classification: ann and bob agree; boxes: bob has none (F1 0 with ann).
            vec![
                copy("ann", vec![class("B"), car.clone()]),
                copy("bob", vec![class("B")]),
            ],
            // Spans only: one of two spans in common, 2 * 1 / (2 + 1).
            vec![
                copy("ann", vec![span("PER", 0, 5), span("ORG", 7, 9)]),
                copy("cat", vec![span("PER", 0, 5)]),
            ],
            // A single copy does not count.
            vec![copy("dan", vec![class("A")])],
        ];
        let (task, workers) = agreement_of(&samples, 0.5);

        // Units (A, A, B) and (B, B): o_AA = 1, o_AB = o_BA = 1, o_BB = 2, so n_A = 2, n_B = 3,
        // n = 5: alpha = 1 - (n - 1) * (o_AB + o_BA) / (2 * n_A * n_B) = 1 - 4 * 2 / 12 = 1/3.
        assert_eq!(task.classification.samples, 2);
        assert!(close(task.classification.value, 1.0 / 3.0, 1e-12), "{task:?}");
        // Sample 1: three pairs of 1.0; sample 2: one pair of 0.0.
        assert_eq!(
            task.detection,
            Figure {
                value: Some(0.5),
                samples: 2
            }
        );
        assert_eq!(
            task.entities,
            Figure {
                value: Some(2.0 / 3.0),
                samples: 1
            }
        );

        let ann = &workers["ann"];
        assert_eq!(ann.classification, task.classification);
        // Pairs: ann-bob 1.0, ann-cat 1.0 (sample 1), ann-bob 0.0 (sample 2).
        assert_eq!(
            ann.detection,
            Figure {
                value: Some(2.0 / 3.0),
                samples: 2
            }
        );
        assert_eq!(
            ann.entities,
            Figure {
                value: Some(2.0 / 3.0),
                samples: 1
            }
        );

        let cat = &workers["cat"];
        // cat coded the first unit only: (A, A, B) alone has n_A = 2, n_B = 1, o_AB = 1:
        // alpha = 1 - 2 * 2 / (2 * 2 * 1) = 0.
        assert_eq!(
            cat.classification,
            Figure {
                value: Some(0.0),
                samples: 1
            }
        );
        assert_eq!(
            cat.detection,
            Figure {
                value: Some(1.0),
                samples: 1
            }
        );

        assert_eq!(workers["dan"], Agreement::default());
        assert_eq!(workers.len(), 4);
    }

    #[test]
    fn copies_without_a_classification_disagree_with_those_with_one() {
        let samples = vec![
            vec![copy("ann", vec![class("A")]), copy("bob", vec![])],
            vec![
                copy("ann", vec![class("A"), class("B")]),
                copy("bob", vec![class("B"), class("A")]),
            ],
            // No classification at all: not a unit.
            vec![
                copy("ann", vec![span("PER", 0, 1)]),
                copy("bob", vec![span("PER", 0, 1)]),
            ],
        ];
        let (task, _) = agreement_of(&samples, 0.5);
        // Units ("A", "") and ("A|B", "A|B"): o = 1 across, n_A = 1, n_"" = 1, n_AB = 2, n = 4:
        // alpha = 1 - 3 * 2 / (16 - 6) = 0.4.
        assert_eq!(task.classification.samples, 2);
        assert!(close(task.classification.value, 0.4, 1e-12), "{task:?}");
        assert_eq!(task.detection, Figure::default());
    }
}
