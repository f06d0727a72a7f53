use serde_json::{json, Value};
use teamlabel_api::labels::SampleLabel;

use super::*;

fn entity(name: &str, label_type: i64, s: usize, e: usize) -> SampleLabel {
    SampleLabel {
        name: Some(name.into()),
        label_type: Some(label_type),
        property: json!({"@modelarts:start_index": s, "@modelarts:end_index": e})
            .as_object()
            .cloned(),
        ..SampleLabel::default()
    }
}

fn spans(labels: &[SampleLabel]) -> Vec<(String, Value, Value)> {
    labels
        .iter()
        .map(|l| {
            let p = l.property.as_ref().unwrap();
            (
                l.name.clone().unwrap(),
                p["@modelarts:start_index"].clone(),
                p["@modelarts:end_index"].clone(),
            )
        })
        .collect()
}

#[test]
fn the_tokenizer_splits_words_punctuation_and_ideographs() {
    let texts: Vec<String> = tokenize("Don't  stop, café2 北京欢迎你!")
        .into_iter()
        .map(|t| t.text)
        .collect();
    assert_eq!(
        texts,
        ["Don", "'", "t", "stop", ",", "café2", "北", "京", "欢", "迎", "你", "!"]
    );
    let t = tokenize("a 北京");
    assert_eq!((t[1].start, t[1].end, t[2].start, t[2].end), (2, 3, 3, 4));
    let decomposed: Vec<String> = tokenize("cafe\u{301} x").into_iter().map(|t| t.text).collect();
    assert_eq!(decomposed, ["cafe\u{301}", "x"]);
    assert!(tokenize(" \t\n").is_empty());
}

#[test]
fn entities_become_bio_tags_and_read_back() {
    let mut r = Record::new("content://Michael Jordan plays basketball.");
    r.labels = vec![entity("Sport", 101, 21, 31), entity("Person", 101, 0, 14)];
    let (bio, losses) = write_bio(&r);
    assert!(losses.is_empty(), "{losses:?}");
    assert_eq!(
        bio,
        "Michael\tB-Person\nJordan\tI-Person\nplays\tO\nbasketball\tB-Sport\n.\tO\n\n"
    );
    let (text, labels) = parse_bio(&bio).unwrap();
    assert_eq!(text, "Michael Jordan plays basketball .");
    assert_eq!(
        spans(&labels),
        [
            ("Person".into(), json!(0), json!(14)),
            ("Sport".into(), json!(21), json!(31))
        ]
    );
    assert_eq!(labels[0].label_type, Some(101));
}

#[test]
fn what_bio_cannot_hold_is_widened_or_dropped_and_listed() {
    let mut r = Record::new("content://New Yorkers love 北京 food");
    r.labels = vec![
        entity("City", 101, 0, 8),   // cuts "Yorkers": widened to 0..11
        entity("Place", 101, 4, 11), // starts later inside City: dropped
        entity("Town", 103, 17, 18), // one ideograph: kept as is
        SampleLabel {
            id: Some("R1".into()),
            ..entity("Likes", 102, 0, 1)
        },
        entity("Food", 101, 30, 40), // outside the text
        entity("Gap", 101, 3, 4),    // a space only
    ];
    let (bio, losses) = write_bio(&r);
    assert_eq!(
        bio,
        "New\tB-City\nYorkers\tI-City\nlove\tO\n北\tB-Town\n京\tO\nfood\tO\n\n"
    );
    let got: Vec<(&str, LossKind, &str)> = losses
        .iter()
        .map(|l| (l.label.as_deref().unwrap(), l.kind, l.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("Likes", LossKind::Dropped, "CoNLL BIO cannot hold relations"),
            (
                "Food",
                LossKind::Dropped,
                "end_index 40 is outside the text (24 characters)"
            ),
            ("Gap", LossKind::Dropped, "the entity covers no token (only spaces)"),
            (
                "City",
                LossKind::Converted,
                "widened from 0..8 to 0..11 to cover whole tokens"
            ),
            (
                "Place",
                LossKind::Dropped,
                "overlaps City at 0..8; CoNLL BIO holds one entity per token"
            ),
        ]
    );
    let (_, losses) = write_bio(&Record::new("obs://b/a.txt"));
    assert_eq!(losses[0].reason, "the sample has no inline text (content://)");
}

#[test]
fn foreign_blocks_are_read_and_broken_ones_refused() {
    let (text, labels) =
        parse_bio("-DOCSTART- -X- O O\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP I-MISC\n").unwrap();
    assert_eq!(text, "EU rejects German");
    assert_eq!(
        spans(&labels),
        [
            ("ORG".into(), json!(0), json!(2)),
            ("MISC".into(), json!(11), json!(17))
        ]
    );
    assert_eq!(
        parse_bio("a\tB-X\nb\tX-Y\n").unwrap_err().to_string(),
        "line 2: tag must be O, B-<name> or I-<name>, got \"X-Y\""
    );
    assert_eq!(
        parse_bio("lonely\n").unwrap_err().to_string(),
        "line 1: expected `token<TAB>tag`"
    );
    assert_eq!(
        parse_bio("a\tO\n\nb\tO\n").unwrap_err().to_string(),
        "line 2: a blank line ends the sample inside this block"
    );
    let file = parse_bio_file("a\tB-X\nb\tI-X\n\n\nc\tO\n").unwrap();
    assert_eq!(file.len(), 2);
    assert_eq!(file[1].0, "c");
    assert_eq!(
        parse_bio_file("a\tO\n\nb\tZ\n").unwrap_err().to_string(),
        "line 3: tag must be O, B-<name> or I-<name>, got \"Z\""
    );
}
