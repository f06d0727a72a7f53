//! The consensus rules, case by case, and their properties.

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
