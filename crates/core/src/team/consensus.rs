//! Consensus: merges several labelers' copies of one sample into one label set, or names why it
//! cannot. Pure: it owns the matching and majority rules below and must not touch the store,
//! `App` or any I/O, nor re-check `crate::rules` (its input already passed them).
//!
//! # Majority
//! `n` is the number of copies. Each copy has at most one vote for a label. A label is kept when
//! a strict majority of the copies has it (`2 * votes > n`); exactly half (`2 * votes == n`) is a
//! tie; fewer than half is dropped. Any tie turns the whole merge into [`Merge::Conflict`], whose
//! reasons name every tie, one line per kind of label, for example
//! `classification: Cat in 1 of 2 copies, Dog in 1 of 2 copies (tie)`.
//! `n == 0` agrees on nothing; `n == 1` is that copy, unchanged (order and all).
//!
//! # Kinds, and what counts as the same label
//! A label's kind follows from its `@modelarts:` keys, tried in this order:
//! - detection: `@modelarts:shape` with a feature whose bounding box can be read (see
//!   `box_of`). Labels of the same (name, type, shape) are clustered across copies by the IoU of
//!   their bounding boxes (a circle's is centre ± radius, a point list's spans its points): a
//!   cluster holds at most one box per copy, and a box joins a cluster when the IoU with the
//!   cluster's mean box is >= the threshold. A kept bndbox gets the mean of its cluster's boxes
//!   (written verbatim from the first member when all members agree exactly); any other shape
//!   keeps the first member's feature. A degenerate bounding box (a point, an axis-parallel line)
//!   has no area and matches only an identical one.
//! - entity: integer `@modelarts:start_index` and `end_index`: the same (name, type, start, end).
//! - relation: `@modelarts:from` or `@modelarts:to`: the same (name, type, the from entity's
//!   (name, type, start, end), the to entity's). The ends are instance ids of entities of the same
//!   copy; a relation whose end is not an entity of its copy has no vote. In the result a relation
//!   points at the kept entities' instance ids; a relation whose entities were not kept is dropped
//!   (a safeguard: a relation with a majority has entities with at least that majority).
//! - classification: none of the positional keys (shape, feature, start/end index, from/to,
//!   content, start/end time, source; hard-example keys and free attributes do not count): the
//!   same (name, type). So one label A against one label B in two copies is a tie.
//! - other (speech content and paragraphs, anything unforeseen): exact equality of (name, type,
//!   property).
//!
//! A copy that carries the same entity, relation, classification or other label twice votes once.
//!
//! # Determinism
//! Each copy's labels are sorted by a canonical serialization (JSON with sorted keys) and the
//! copies are sorted by the serialization of their sorted labels; all matching runs greedily in
//! that order, so the result does not depend on the order of the copies or of their labels.
//! Greedy box matching takes, copy by copy, the pairs (cluster, box) by falling IoU, ties by
//! cluster then box position. The result is ordered by kind (classification, detection, entity,
//! relation, other), then by what the members agree on.
//!
//! # What a kept label carries
//! Everything of its first member (the one in the canonically first copy): label id, instance
//! id, property (free attributes included), score, `annotated_by`; a bndbox's feature is replaced
//! by the mean. Instance ids stay unique: a kept label whose first member has no instance id, or
//! one already taken by an earlier kept label, takes the first free id of its other members, else
//! its id with the first free suffix `-2`, `-3`, ….

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use crate::rules::geometry::point;
use crate::rules::values::{key, PlacedLabel};

/// The IoU at which two boxes are taken for the same object, unless the caller says otherwise.
pub const DEFAULT_IOU_THRESHOLD: f64 = 0.5;

/// The outcome of merging copies.
#[derive(Debug, Clone, PartialEq)]
pub enum Merge {
    /// The merged label set.
    Agreed(Vec<PlacedLabel>),
    /// Human-readable reasons, one per kind of label with a tie.
    Conflict(Vec<String>),
}

/// Keys whose presence makes a label something other than a classification.
const POSITIONAL: &[&str] = &[
    key::SHAPE,
    key::FEATURE,
    key::START_INDEX,
    key::END_INDEX,
    key::FROM,
    key::TO,
    key::CONTENT,
    key::START_TIME,
    key::END_TIME,
    key::SOURCE,
];

/// The kinds of label, in the order of the merged result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Classification,
    Detection,
    Entity,
    Relation,
    Other,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Classification => "classification",
            Kind::Detection => "detection",
            Kind::Entity => "entity",
            Kind::Relation => "relation",
            Kind::Other => "label",
        }
    }
}

/// Labels of different copies taken for the same label: at most one member per copy, in
/// canonical copy order.
struct Cluster<'a> {
    kind: Kind,
    /// Canonical text of what the members agree on: orders the result and the reasons.
    key: String,
    /// What the members agree on, for a person.
    what: String,
    members: Vec<&'a PlacedLabel>,
    /// A relation's ends: the keys of its from and to entities.
    ends: Option<(String, String)>,
    /// A bndbox's mean feature, when the members differ.
    feature: Option<Value>,
}

/// Merges the copies by the rules of the module doc.
pub fn merge_copies(copies: &[&[PlacedLabel]], iou_threshold: f64) -> Merge {
    match copies {
        [] => return Merge::Agreed(Vec::new()),
        [only] => return Merge::Agreed(only.to_vec()),
        _ => {}
    }
    let copies = canonical_copies(copies);
    let n = copies.len();
    let mut clusters = exact_clusters(&copies);
    clusters.extend(box_clusters(&copies, iou_threshold));
    clusters.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    let (ties, kept): (Vec<Cluster>, Vec<Cluster>) = clusters
        .into_iter()
        .filter(|c| 2 * c.members.len() >= n)
        .partition(|c| 2 * c.members.len() == n);
    if ties.is_empty() {
        Merge::Agreed(agreed(&kept))
    } else {
        Merge::Conflict(reasons(&ties, n))
    }
}

/// Intersection over union of two boxes `[x1, y1, x2, y2]`; two boxes without area are 1.0 when
/// equal, else 0.0.
pub fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |r: [f64; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else if a == b {
        1.0
    } else {
        0.0
    }
}

/// A detection label's shape and the bounding box `[x1, y1, x2, y2]` of its feature; `None`
/// when the label has no shape or its feature cannot be read.
pub(crate) fn box_of(label: &PlacedLabel) -> Option<(&str, [f64; 4])> {
    let shape = label.property.get(key::SHAPE)?.as_str()?;
    let items = label.property.get(key::FEATURE)?.as_array()?;
    let points: Vec<(f64, f64)> = match (shape, items.as_slice()) {
        ("circle", [centre, radius]) => {
            let (x, y) = point(centre)?;
            let r = match radius.as_array()?.as_slice() {
                [r] => r.as_f64()?,
                _ => return None,
            };
            vec![(x - r, y - r), (x + r, y + r)]
        }
        ("circle", _) => return None,
        (_, items) => items.iter().map(point).collect::<Option<_>>()?,
    };
    let (first, rest) = points.split_first()?;
    let start = [first.0, first.1, first.0, first.1];
    let bbox = rest.iter().fold(start, |b, (x, y)| {
        [b[0].min(*x), b[1].min(*y), b[2].max(*x), b[3].max(*y)]
    });
    Some((shape, bbox))
}

/// An entity label's `(start, end)`.
pub(crate) fn span_of(label: &PlacedLabel) -> Option<(i64, i64)> {
    let index = |k: &str| label.property.get(k).and_then(Value::as_i64);
    Some((index(key::START_INDEX)?, index(key::END_INDEX)?))
}

/// Whether a label is a classification: it carries none of the positional keys.
pub(crate) fn is_classification(label: &PlacedLabel) -> bool {
    POSITIONAL.iter().all(|k| !label.property.contains_key(*k))
}

fn kind_of(label: &PlacedLabel) -> Kind {
    if box_of(label).is_some() {
        Kind::Detection
    } else if span_of(label).is_some() {
        Kind::Entity
    } else if label.property.contains_key(key::FROM) || label.property.contains_key(key::TO) {
        Kind::Relation
    } else if is_classification(label) {
        Kind::Classification
    } else {
        Kind::Other
    }
}

/// JSON text with object keys sorted, so equal values always read the same.
fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The canonical serialization of a whole label.
fn label_text(l: &PlacedLabel) -> String {
    canonical(&json!([
        l.name,
        l.label_type.code(),
        Value::Object(l.property.clone()),
        l.instance_id,
        l.score,
        l.annotated_by,
        l.label_id,
    ]))
}

/// Each copy's labels sorted canonically, the copies sorted by their sorted labels.
fn canonical_copies<'a>(copies: &[&'a [PlacedLabel]]) -> Vec<Vec<&'a PlacedLabel>> {
    let mut sorted: Vec<(Vec<String>, Vec<&'a PlacedLabel>)> = copies
        .iter()
        .map(|copy| {
            let mut labels: Vec<(String, &PlacedLabel)> = copy.iter().map(|l| (label_text(l), l)).collect();
            labels.sort_by(|a, b| a.0.cmp(&b.0));
            labels.into_iter().unzip()
        })
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.into_iter().map(|(_, labels)| labels).collect()
}

/// A number as JSON: whole numbers as integers.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// An entity's key and its description, by instance id within one copy.
type Entities<'a> = HashMap<&'a str, (String, String)>;

fn entities_by_id<'a>(copy: &[&'a PlacedLabel]) -> Entities<'a> {
    copy.iter()
        .filter(|l| kind_of(l) == Kind::Entity)
        .filter_map(|l| Some((l.instance_id.as_deref()?, entity_vote(l)?)))
        .collect()
}

fn entity_vote(l: &PlacedLabel) -> Option<(String, String)> {
    let (start, end) = span_of(l)?;
    Some((
        canonical(&json!([l.name, l.label_type.code(), start, end])),
        format!("{} [{start}, {end})", l.name),
    ))
}

/// What a label of an exactly matched kind votes for: (kind, key, description, relation ends).
type Vote = (Kind, String, String, Option<(String, String)>);

fn exact_vote(l: &PlacedLabel, entities: &Entities<'_>) -> Option<Vote> {
    let kind = kind_of(l);
    let (key, what, ends) = match kind {
        Kind::Detection => return None,
        Kind::Classification => (canonical(&json!([l.name, l.label_type.code()])), l.name.clone(), None),
        Kind::Entity => {
            let (key, what) = entity_vote(l)?;
            (key, what, None)
        }
        Kind::Relation => {
            let end = |k: &str| entities.get(l.property.get(k)?.as_str()?);
            let ((from, from_what), (to, to_what)) = (end(key::FROM)?, end(key::TO)?);
            (
                canonical(&json!([l.name, l.label_type.code(), from, to])),
                format!("{} {from_what} -> {to_what}", l.name),
                Some((from.clone(), to.clone())),
            )
        }
        Kind::Other => {
            let property = Value::Object(l.property.clone());
            (
                canonical(&json!([l.name, l.label_type.code(), property])),
                format!("{} {}", l.name, canonical(&property)),
                None,
            )
        }
    };
    Some((kind, key, what, ends))
}

/// Clusters of the labels matched by exact equality of their key: one vote per copy.
fn exact_clusters<'a>(copies: &[Vec<&'a PlacedLabel>]) -> Vec<Cluster<'a>> {
    let mut by_key: BTreeMap<(Kind, String), Cluster<'a>> = BTreeMap::new();
    for copy in copies {
        let entities = entities_by_id(copy);
        let mut voted = BTreeSet::new();
        for &label in copy {
            let Some((kind, key, what, ends)) = exact_vote(label, &entities) else {
                continue;
            };
            if !voted.insert((kind, key.clone())) {
                continue;
            }
            by_key
                .entry((kind, key.clone()))
                .or_insert_with(|| Cluster {
                    kind,
                    key,
                    what,
                    members: Vec::new(),
                    ends,
                    feature: None,
                })
                .members
                .push(label);
        }
    }
    by_key.into_values().collect()
}

/// A detection label with its bounding box.
#[derive(Clone, Copy)]
struct Boxed<'a> {
    label: &'a PlacedLabel,
    bbox: [f64; 4],
}

fn mean_box(members: &[Boxed<'_>]) -> [f64; 4] {
    let n = members.len().max(1) as f64;
    let mut sum = [0.0; 4];
    for m in members {
        for (s, v) in sum.iter_mut().zip(m.bbox) {
            *s += v;
        }
    }
    sum.map(|s| s / n)
}

/// One-to-one pairs `(i, j)` of `a[i]` and `b[j]` with IoU >= threshold, taken greedily by
/// falling IoU, ties by `i` then `j`.
pub(crate) fn greedy_matches(a: &[[f64; 4]], b: &[[f64; 4]], threshold: f64) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(f64, usize, usize)> = a
        .iter()
        .enumerate()
        .flat_map(|(i, x)| b.iter().enumerate().map(move |(j, y)| (iou(*x, *y), i, j)))
        .filter(|(v, _, _)| *v >= threshold)
        .collect();
    pairs.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)).then(p.2.cmp(&q.2)));
    let (mut used_a, mut used_b) = (vec![false; a.len()], vec![false; b.len()]);
    let mut out = Vec::new();
    for (_, i, j) in pairs {
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            out.push((i, j));
        }
    }
    out
}

/// Adds one copy's boxes of one group to the group's clusters.
fn assign<'a>(clusters: &mut Vec<Vec<Boxed<'a>>>, boxes: Vec<Boxed<'a>>, threshold: f64) {
    let means: Vec<[f64; 4]> = clusters.iter().map(|c| mean_box(c)).collect();
    let bboxes: Vec<[f64; 4]> = boxes.iter().map(|b| b.bbox).collect();
    let mut joined = vec![false; boxes.len()];
    for (c, b) in greedy_matches(&means, &bboxes, threshold) {
        clusters[c].push(boxes[b]);
        joined[b] = true;
    }
    for (b, joined) in boxes.into_iter().zip(joined) {
        if !joined {
            clusters.push(vec![b]);
        }
    }
}

/// Clusters of detection labels matched by IoU within each (name, type, shape).
fn box_clusters<'a>(copies: &[Vec<&'a PlacedLabel>], threshold: f64) -> Vec<Cluster<'a>> {
    let mut groups: BTreeMap<String, Vec<Vec<Boxed<'a>>>> = BTreeMap::new();
    for copy in copies {
        let mut mine: BTreeMap<String, Vec<Boxed<'a>>> = BTreeMap::new();
        for &label in copy {
            if let Some((shape, bbox)) = box_of(label) {
                let group = canonical(&json!([label.name, label.label_type.code(), shape]));
                mine.entry(group).or_default().push(Boxed { label, bbox });
            }
        }
        for (group, boxes) in mine {
            assign(groups.entry(group).or_default(), boxes, threshold);
        }
    }
    groups.into_values().flatten().filter_map(box_cluster).collect()
}

fn box_cluster(members: Vec<Boxed<'_>>) -> Option<Cluster<'_>> {
    let first = members.first()?.label;
    let (shape, _) = box_of(first)?;
    let mean = mean_box(&members);
    let [x1, y1, x2, y2] = mean.map(number);
    let differ = members
        .iter()
        .any(|m| m.label.property.get(key::FEATURE) != first.property.get(key::FEATURE));
    let feature = (shape == "bndbox" && differ).then(|| json!([[x1, y1], [x2, y2]]));
    Some(Cluster {
        kind: Kind::Detection,
        key: canonical(&json!([first.name, first.label_type.code(), shape, [x1, y1, x2, y2]])),
        what: format!("{} {shape} [{x1}, {y1}, {x2}, {y2}]", first.name),
        members: members.iter().map(|m| m.label).collect(),
        ends: None,
        feature,
    })
}

/// One reason per kind with a tie, listing its tied labels.
fn reasons(ties: &[Cluster<'_>], n: usize) -> Vec<String> {
    let mut by_kind: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
    for c in ties {
        by_kind
            .entry(c.kind)
            .or_default()
            .push(format!("{} in {} of {n} copies", c.what, c.members.len()));
    }
    by_kind
        .into_iter()
        .map(|(kind, items)| format!("{}: {} (tie)", kind.noun(), items.join(", ")))
        .collect()
}

/// Unique instance ids for the kept clusters, by the rule of the module doc.
fn unique_ids(kept: &[Cluster<'_>]) -> Vec<Option<String>> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut ids: Vec<Option<String>> = vec![None; kept.len()];
    let mut pending = Vec::new();
    for (i, c) in kept.iter().enumerate() {
        match c.members.first().and_then(|m| m.instance_id.clone()) {
            Some(id) if used.insert(id.clone()) => ids[i] = Some(id),
            _ => pending.push(i),
        }
    }
    for i in pending {
        let candidates: Vec<&str> = kept[i]
            .members
            .iter()
            .filter_map(|m| m.instance_id.as_deref())
            .collect();
        let free = candidates
            .iter()
            .find(|id| !used.contains(**id))
            .map(|id| id.to_string());
        let id = free.or_else(|| {
            let base = candidates.first()?;
            (2..).map(|k| format!("{base}-{k}")).find(|id| !used.contains(id))
        });
        if let Some(id) = &id {
            used.insert(id.clone());
        }
        ids[i] = id;
    }
    ids
}

/// The kept labels: first members with unique ids, mean boxes, and relations re-pointed.
fn agreed(kept: &[Cluster<'_>]) -> Vec<PlacedLabel> {
    let ids = unique_ids(kept);
    let entity_ids: HashMap<&str, &str> = kept
        .iter()
        .zip(&ids)
        .filter(|(c, _)| c.kind == Kind::Entity)
        .filter_map(|(c, id)| Some((c.key.as_str(), id.as_deref()?)))
        .collect();
    let mut out = Vec::with_capacity(kept.len());
    for (c, id) in kept.iter().zip(&ids) {
        let Some(first) = c.members.first() else {
            continue;
        };
        let mut label = (*first).clone();
        label.instance_id = id.clone();
        if let Some(feature) = &c.feature {
            label.property.insert(key::FEATURE.to_string(), feature.clone());
        }
        if let Some((from, to)) = &c.ends {
            let (Some(from), Some(to)) = (entity_ids.get(from.as_str()), entity_ids.get(to.as_str())) else {
                continue;
            };
            label.property.insert(key::FROM.to_string(), Value::from(*from));
            label.property.insert(key::TO.to_string(), Value::from(*to));
        }
        out.push(label);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Map;
    use teamlabel_api::enums::LabelType;

    fn label(name: &str, label_type: LabelType, id: Option<&str>, property: Value) -> PlacedLabel {
        let property = match property {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        PlacedLabel {
            label_id: 1,
            name: name.to_string(),
            label_type,
            instance_id: id.map(str::to_string),
            property,
            score: None,
            annotated_by: None,
        }
    }

    fn class(name: &str) -> PlacedLabel {
        label(name, LabelType::ImageClassification, None, json!({}))
    }

    fn bndbox(name: &str, id: &str, b: [f64; 4]) -> PlacedLabel {
        label(
            name,
            LabelType::ObjectDetection,
            Some(id),
            json!({ key::SHAPE: "bndbox", key::FEATURE: [[b[0], b[1]], [b[2], b[3]]] }),
        )
    }

    fn circle(name: &str, id: &str, x: f64, y: f64, r: f64) -> PlacedLabel {
        label(
            name,
            LabelType::ObjectDetection,
            Some(id),
            json!({ key::SHAPE: "circle", key::FEATURE: [[x, y], [r]] }),
        )
    }

    fn entity(name: &str, id: &str, start: i64, end: i64) -> PlacedLabel {
        label(
            name,
            LabelType::TripletEntity,
            Some(id),
            json!({ key::START_INDEX: start, key::END_INDEX: end }),
        )
    }

    fn relation(name: &str, id: &str, from: &str, to: &str) -> PlacedLabel {
        label(
            name,
            LabelType::TripletRelation,
            Some(id),
            json!({ key::FROM: from, key::TO: to }),
        )
    }

    fn merge(copies: &[Vec<PlacedLabel>]) -> Merge {
        let refs: Vec<&[PlacedLabel]> = copies.iter().map(Vec::as_slice).collect();
        merge_copies(&refs, DEFAULT_IOU_THRESHOLD)
    }

    fn expect_agreed(m: Merge) -> Vec<PlacedLabel> {
        match m {
            Merge::Agreed(labels) => labels,
            Merge::Conflict(why) => panic!("expected agreement, got a conflict: {why:?}"),
        }
    }

    fn expect_conflict(m: Merge) -> Vec<String> {
        match m {
            Merge::Conflict(why) => why,
            Merge::Agreed(labels) => panic!("expected a conflict, got {labels:?}"),
        }
    }

    fn names(labels: &[PlacedLabel]) -> Vec<&str> {
        labels.iter().map(|l| l.name.as_str()).collect()
    }

    fn bbox(l: &PlacedLabel) -> [f64; 4] {
        box_of(l).expect("a readable box").1
    }

    #[test]
    fn iou_of_hand_checked_boxes() {
        assert_eq!(iou([0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]), 1.0);
        // Overlap 1x1, union 4 + 4 - 1 = 7.
        assert!((iou([0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]) - 1.0 / 7.0).abs() < 1e-12);
        // One inside the other: 4 / 16.
        assert_eq!(iou([0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 3.0]), 0.25);
        assert_eq!(iou([0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0]), 0.0);
        assert_eq!(iou([5.0, 5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0]), 1.0);
        assert_eq!(iou([5.0, 5.0, 5.0, 5.0], [5.0, 6.0, 5.0, 6.0]), 0.0);
    }

    #[test]
    fn no_copies_agree_on_nothing_and_one_copy_is_kept_unchanged() {
        assert_eq!(merge_copies(&[], 0.5), Merge::Agreed(vec![]));
        let copy = vec![class("Dog"), class("Cat"), class("Dog")];
        assert_eq!(merge(std::slice::from_ref(&copy)), Merge::Agreed(copy));
    }

    #[test]
    fn classification_keeps_the_majority_and_drops_the_minority() {
        let kept = expect_agreed(merge(&[vec![class("A")], vec![class("A")], vec![class("B")]]));
        assert_eq!(names(&kept), ["A"]);
        let kept = expect_agreed(merge(&[
            vec![class("A"), class("B")],
            vec![class("B"), class("A")],
            vec![class("A"), class("C")],
        ]));
        assert_eq!(names(&kept), ["A", "B"]);
    }

    #[test]
    fn a_single_label_against_another_in_two_copies_is_a_tie() {
        let why = expect_conflict(merge(&[vec![class("Dog")], vec![class("Cat")]]));
        assert_eq!(
            why,
            ["classification: Cat in 1 of 2 copies, Dog in 1 of 2 copies (tie)"]
        );
    }

    #[test]
    fn a_tie_names_only_the_tied_labels() {
        let why = expect_conflict(merge(&[vec![class("A"), class("B")], vec![class("A")]]));
        assert_eq!(why, ["classification: B in 1 of 2 copies (tie)"]);
    }

    #[test]
    fn a_copy_carrying_a_class_twice_votes_once() {
        let kept = expect_agreed(merge(&[
            vec![class("A"), class("A")],
            vec![class("A")],
            vec![class("B")],
        ]));
        assert_eq!(names(&kept), ["A"]);
    }

    #[test]
    fn the_same_name_of_another_type_is_another_label() {
        let mut text = class("A");
        text.label_type = LabelType::TextClassification;
        let why = expect_conflict(merge(&[vec![class("A")], vec![text]]));
        assert_eq!(why, ["classification: A in 1 of 2 copies, A in 1 of 2 copies (tie)"]);
    }

    #[test]
    fn a_kept_label_follows_its_canonically_first_member() {
        let mut a = class("A");
        a.annotated_by = Some("alice".into());
        a.property.insert("colour".into(), json!("red"));
        let mut b = class("A");
        b.annotated_by = Some("bob".into());
        b.property.insert("colour".into(), json!("blue"));
        // bob's copy serializes first: the property ({"colour":"blue"} < {"colour":"red"}) is
        // compared before the annotator.
        let forward = expect_agreed(merge(&[vec![a.clone()], vec![b.clone()]]));
        let backward = expect_agreed(merge(&[vec![b.clone()], vec![a]]));
        assert_eq!(forward, backward);
        assert_eq!(forward, [b]);
    }

    #[test]
    fn matching_boxes_are_averaged() {
        let kept = expect_agreed(merge(&[
            vec![bndbox("car", "1", [10.0, 10.0, 50.0, 50.0])],
            vec![bndbox("car", "2", [12.0, 10.0, 52.0, 54.0])],
            vec![bndbox("car", "3", [11.0, 13.0, 51.0, 52.0])],
        ]));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].property[key::FEATURE], json!([[11, 11], [51, 52]]));
        assert_eq!(kept[0].instance_id.as_deref(), Some("1"));
    }

    #[test]
    fn boxes_apart_do_not_match() {
        // IoU of these two is 1/7 < 0.5: two clusters of one box each, both ties.
        let why = expect_conflict(merge(&[
            vec![bndbox("car", "1", [0.0, 0.0, 20.0, 20.0])],
            vec![bndbox("car", "2", [10.0, 10.0, 30.0, 30.0])],
        ]));
        assert_eq!(
            why,
            ["detection: car bndbox [0, 0, 20, 20] in 1 of 2 copies, car bndbox [10, 10, 30, 30] in 1 of 2 copies (tie)"]
        );
        // With a third copy agreeing with the first, the outlier is dropped.
        let kept = expect_agreed(merge(&[
            vec![bndbox("car", "1", [0.0, 0.0, 20.0, 20.0])],
            vec![bndbox("car", "2", [10.0, 10.0, 30.0, 30.0])],
            vec![bndbox("car", "3", [0.0, 0.0, 20.0, 20.0])],
        ]));
        assert_eq!(kept.len(), 1);
        assert_eq!(bbox(&kept[0]), [0.0, 0.0, 20.0, 20.0]);
        assert_eq!(
            kept[0].property[key::FEATURE],
            json!([[0.0, 0.0], [20.0, 20.0]]),
            "kept verbatim"
        );
    }

    #[test]
    fn boxes_of_other_names_do_not_match() {
        let why = expect_conflict(merge(&[
            vec![bndbox("car", "1", [0.0, 0.0, 20.0, 20.0])],
            vec![bndbox("bus", "1", [0.0, 0.0, 20.0, 20.0])],
        ]));
        assert_eq!(why.len(), 1);
        assert!(why[0].starts_with("detection: bus bndbox"), "{why:?}");
    }

    #[test]
    fn a_copy_gives_each_cluster_at_most_one_box() {
        // Two overlapping cars in each copy stay two objects.
        let kept = expect_agreed(merge(&[
            vec![
                bndbox("car", "a", [0.0, 0.0, 10.0, 10.0]),
                bndbox("car", "b", [2.0, 0.0, 12.0, 10.0]),
            ],
            vec![
                bndbox("car", "c", [2.0, 0.0, 12.0, 10.0]),
                bndbox("car", "d", [0.0, 0.0, 10.0, 10.0]),
            ],
        ]));
        let mut boxes: Vec<[f64; 4]> = kept.iter().map(bbox).collect();
        boxes.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert_eq!(boxes, [[0.0, 0.0, 10.0, 10.0], [2.0, 0.0, 12.0, 10.0]]);
    }

    #[test]
    fn circles_match_by_their_bounding_box_and_keep_the_first_member() {
        let kept = expect_agreed(merge(&[
            vec![circle("ball", "1", 50.0, 50.0, 10.0)],
            vec![circle("ball", "2", 51.0, 50.0, 10.0)],
        ]));
        assert_eq!(kept, [circle("ball", "1", 50.0, 50.0, 10.0)]);
    }

    #[test]
    fn a_circle_does_not_match_a_bndbox() {
        let why = expect_conflict(merge(&[
            vec![circle("ball", "1", 10.0, 10.0, 10.0)],
            vec![bndbox("ball", "1", [0.0, 0.0, 20.0, 20.0])],
        ]));
        assert_eq!(
            why,
            ["detection: ball bndbox [0, 0, 20, 20] in 1 of 2 copies, ball circle [0, 0, 20, 20] in 1 of 2 copies (tie)"]
        );
    }

    #[test]
    fn polygons_match_by_their_bounding_box() {
        let polygon = |id: &str, dx: f64| {
            label(
                "lake",
                LabelType::ImageSegmentation,
                Some(id),
                json!({ key::SHAPE: "polygon", key::FEATURE: [[dx, 0.0], [10.0 + dx, 0.0], [5.0 + dx, 10.0]] }),
            )
        };
        let kept = expect_agreed(merge(&[vec![polygon("p", 0.0)], vec![polygon("q", 1.0)]]));
        assert_eq!(kept, [polygon("p", 0.0)]);
    }

    #[test]
    fn entities_need_the_same_span_and_name() {
        let kept = expect_agreed(merge(&[
            vec![entity("PER", "1", 0, 5), entity("ORG", "2", 7, 9)],
            vec![entity("PER", "1", 0, 5), entity("ORG", "2", 7, 10)],
            vec![entity("PER", "1", 0, 5), entity("LOC", "2", 7, 9)],
        ]));
        assert_eq!(kept, [entity("PER", "1", 0, 5)]);
        let why = expect_conflict(merge(&[vec![entity("PER", "1", 0, 5)], vec![entity("PER", "1", 0, 4)]]));
        assert_eq!(
            why,
            ["entity: PER [0, 4) in 1 of 2 copies, PER [0, 5) in 1 of 2 copies (tie)"]
        );
    }

    #[test]
    fn relations_match_by_their_entities_and_point_at_the_kept_ids() {
        let kept = expect_agreed(merge(&[
            vec![
                entity("PER", "p", 0, 5),
                entity("ORG", "o", 10, 15),
                relation("works_for", "r", "p", "o"),
            ],
            vec![
                entity("PER", "x1", 0, 5),
                entity("ORG", "x2", 10, 15),
                relation("works_for", "x3", "x1", "x2"),
            ],
            vec![entity("PER", "y1", 0, 5), entity("ORG", "y2", 10, 15)],
        ]));
        let relation_of = |kept: &[PlacedLabel]| kept.iter().find(|l| l.name == "works_for").cloned();
        let rel = relation_of(&kept).expect("the relation is kept");
        let id_of = |name: &str| kept.iter().find(|l| l.name == name).and_then(|l| l.instance_id.clone());
        assert_eq!(rel.property[key::FROM], json!(id_of("PER")));
        assert_eq!(rel.property[key::TO], json!(id_of("ORG")));
        assert_eq!(names(&kept), ["ORG", "PER", "works_for"]);
    }

    #[test]
    fn a_relation_in_half_of_the_copies_is_a_tie() {
        let why = expect_conflict(merge(&[
            vec![
                entity("PER", "p", 0, 5),
                entity("ORG", "o", 10, 15),
                relation("works_for", "r", "p", "o"),
            ],
            vec![entity("PER", "p", 0, 5), entity("ORG", "o", 10, 15)],
        ]));
        assert_eq!(
            why,
            ["relation: works_for PER [0, 5) -> ORG [10, 15) in 1 of 2 copies (tie)"]
        );
    }

    #[test]
    fn a_relation_between_other_entities_is_another_relation() {
        let why = expect_conflict(merge(&[
            vec![
                entity("PER", "p", 0, 5),
                entity("ORG", "o", 10, 15),
                relation("works_for", "r", "p", "o"),
            ],
            vec![
                entity("PER", "p", 0, 5),
                entity("ORG", "o", 10, 15),
                relation("works_for", "r", "o", "p"),
            ],
        ]));
        assert_eq!(
            why,
            ["relation: works_for ORG [10, 15) -> PER [0, 5) in 1 of 2 copies, works_for PER [0, 5) -> ORG [10, 15) in 1 of 2 copies (tie)"]
        );
    }

    #[test]
    fn other_labels_match_by_exact_property() {
        let paragraph = |content: &str| {
            label(
                "speaker1",
                LabelType::SpeechParagraph,
                None,
                json!({ key::CONTENT: content, key::START_TIME: "00:00:01.000", key::END_TIME: "00:00:02.000" }),
            )
        };
        let kept = expect_agreed(merge(&[
            vec![paragraph("hello")],
            vec![paragraph("hello")],
            vec![paragraph("hallo")],
        ]));
        assert_eq!(kept, [paragraph("hello")]);
        let why = expect_conflict(merge(&[vec![paragraph("hello")], vec![paragraph("hallo")]]));
        assert_eq!(why.len(), 1);
        assert!(why[0].starts_with("label: speaker1 {"), "{why:?}");
        assert!(why[0].ends_with("in 1 of 2 copies (tie)"), "{why:?}");
    }

    #[test]
    fn a_conflict_names_every_kind_with_a_tie() {
        let why = expect_conflict(merge(&[
            vec![
                class("A"),
                bndbox("car", "1", [0.0, 0.0, 10.0, 10.0]),
                entity("PER", "e", 0, 2),
            ],
            vec![class("A")],
        ]));
        assert_eq!(
            why,
            [
                "detection: car bndbox [0, 0, 10, 10] in 1 of 2 copies (tie)",
                "entity: PER [0, 2) in 1 of 2 copies (tie)",
            ]
        );
    }

    #[test]
    fn kept_instance_ids_stay_unique() {
        // Canonical copy order is A, B, C: ORG keeps A's id "1", PER's first member (in B) has "1"
        // too, so PER takes its next member's free id.
        let a = vec![entity("ORG", "1", 10, 15)];
        let b = vec![entity("ORG", "5", 10, 15), entity("PER", "1", 0, 5)];
        let kept = expect_agreed(merge(&[vec![entity("PER", "7", 0, 5)], b.clone(), a.clone()]));
        let ids: Vec<_> = kept
            .iter()
            .map(|l| (l.name.as_str(), l.instance_id.as_deref()))
            .collect();
        assert_eq!(ids, [("ORG", Some("1")), ("PER", Some("7"))]);
        // No member has a free id: a suffix.
        let kept = expect_agreed(merge(&[vec![entity("PER", "1", 0, 5)], b, a]));
        let ids: Vec<_> = kept
            .iter()
            .map(|l| (l.name.as_str(), l.instance_id.as_deref()))
            .collect();
        assert_eq!(ids, [("ORG", Some("1")), ("PER", Some("1-2"))]);
    }

    // Property tests.

    fn shapes() -> impl Strategy<Value = Vec<[f64; 4]>> {
        prop::collection::vec((0u32..200, 0u32..200, 10u32..80, 10u32..80), 0..4).prop_map(|boxes| {
            boxes
                .into_iter()
                .map(|(x, y, w, h)| [x as f64, y as f64, (x + w) as f64, (y + h) as f64])
                .collect()
        })
    }

    /// A valid copy: a subset of classes, some boxes, distinct spans and a relation between the
    /// first two entities; instance ids unique within the copy, prefixed by `tag`.
    fn copy_of(tag: &str, classes: &BTreeSet<u8>, boxes: &[[f64; 4]], spans: &BTreeSet<(u8, u8)>) -> Vec<PlacedLabel> {
        let mut out: Vec<PlacedLabel> = classes.iter().map(|c| class(&format!("C{c}"))).collect();
        for (i, b) in boxes.iter().enumerate() {
            let name = if i % 2 == 0 { "car" } else { "bus" };
            out.push(bndbox(name, &format!("{tag}b{i}"), *b));
        }
        let spans: Vec<(i64, i64)> = spans
            .iter()
            .map(|(s, len)| (*s as i64, (*s + *len + 1) as i64))
            .collect();
        for (i, (start, end)) in spans.iter().enumerate() {
            out.push(entity("PER", &format!("{tag}e{i}"), *start, *end));
        }
        if spans.len() >= 2 {
            out.push(relation(
                "knows",
                &format!("{tag}r"),
                &format!("{tag}e0"),
                &format!("{tag}e1"),
            ));
        }
        out
    }

    fn copy_strategy(tag: String) -> impl Strategy<Value = Vec<PlacedLabel>> {
        (
            prop::collection::btree_set(0u8..3, 0..3),
            shapes(),
            prop::collection::btree_set((0u8..4, 0u8..3), 0..3),
        )
            .prop_map(move |(classes, boxes, spans)| copy_of(&tag, &classes, &boxes, &spans))
    }

    fn as_set(labels: &[PlacedLabel]) -> BTreeSet<String> {
        labels.iter().map(label_text).collect()
    }

    /// Copies drawn from a small space, so that agreements, ties and minorities all happen.
    fn copies_strategy() -> impl Strategy<Value = Vec<Vec<PlacedLabel>>> {
        (2usize..6).prop_flat_map(|n| (0..n).map(|i| copy_strategy(format!("c{i}"))).collect::<Vec<_>>())
    }

    proptest! {
        #[test]
        fn identical_copies_merge_to_that_copy(copy in copy_strategy("x".into()), n in 2usize..6) {
            let copies = vec![copy.clone(); n];
            match merge(&copies) {
                Merge::Agreed(kept) => prop_assert_eq!(as_set(&kept), as_set(&copy)),
                Merge::Conflict(why) => prop_assert!(false, "conflict: {:?}", why),
            }
        }

        #[test]
        fn the_result_does_not_depend_on_the_order_of_the_copies(
            (copies, shuffled) in copies_strategy().prop_flat_map(|c| (Just(c.clone()), Just(c).prop_shuffle()))
        ) {
            let reversed: Vec<Vec<PlacedLabel>> =
                shuffled.into_iter().map(|c| c.into_iter().rev().collect()).collect();
            prop_assert_eq!(merge(&copies), merge(&reversed));
        }

        #[test]
        fn a_box_moved_within_the_threshold_still_matches_and_averages_between(
            x in 0.0f64..500.0, y in 0.0f64..500.0, w in 1.0f64..200.0, h in 1.0f64..200.0,
            fx in -0.2f64..0.2, fy in -0.2f64..0.2, fw in -0.2f64..0.2, fh in -0.2f64..0.2,
        ) {
            // Moves and resizes of up to a fifth of the box: mostly IoU >= 0.5, the rest skipped.
            let a = [x, y, x + w, y + h];
            let (dx, dy) = (fx * w, fy * h);
            let b = [x + dx, y + dy, x + dx + w * (1.0 + fw), y + dy + h * (1.0 + fh)];
            prop_assume!(iou(a, b) >= DEFAULT_IOU_THRESHOLD);
            let kept = match merge(&[vec![bndbox("car", "1", a)], vec![bndbox("car", "2", b)]]) {
                Merge::Agreed(kept) => kept,
                Merge::Conflict(why) => return Err(TestCaseError::fail(format!("conflict: {why:?}"))),
            };
            prop_assert_eq!(kept.len(), 1);
            let mean = bbox(&kept[0]);
            for ((p, q), m) in a.iter().zip(&b).zip(&mean) {
                prop_assert!(p.min(*q) <= *m && *m <= p.max(*q), "{:?} {:?} {:?}", a, b, mean);
                prop_assert!((m - (p + q) / 2.0).abs() < 1e-9);
            }
        }
    }
}
