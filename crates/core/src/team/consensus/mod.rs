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
mod tests;
