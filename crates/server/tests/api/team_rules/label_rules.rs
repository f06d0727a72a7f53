//! The per-item rules of the team batch label update: one row per label rule and per enum
//! value, each sent after a known-good item in one batch; only its own item may fail and only
//! the copies it names may change.

use super::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    Ann,
    Owner,
}

enum Outcome {
    /// Applied: the copy's labels are the item's (by name, in order), its state follows them,
    /// its version is one up, and each `(JSON pointer, value)` holds on the copy.
    Applied(Vec<(String, Value)>),
    /// Refused with this code and a message containing this fragment.
    Refused(&'static str, String),
}

/// A row of the per-item table: the item is sent second, after a known-good item for Ann's
/// `good` sample, in one batch.
struct Row {
    case: String,
    who: Who,
    /// Top-level keys of the body besides `samples` (the batch `email`).
    top: Value,
    item: Value,
    outcome: Outcome,
    /// The code the good item fails with too (a batch-wide `email` applies to it as well).
    good_fails: Option<&'static str>,
}

fn pass(case: impl Into<String>, item: Value) -> Row {
    Row {
        case: case.into(),
        who: Who::Ann,
        top: json!({}),
        item,
        outcome: Outcome::Applied(Vec::new()),
        good_fails: None,
    }
}

fn fail(case: impl Into<String>, item: Value, code: &'static str, fragment: impl Into<String>) -> Row {
    Row {
        outcome: Outcome::Refused(code, fragment.into()),
        ..pass(case, item)
    }
}

impl Row {
    fn by(self, who: Who) -> Self {
        Row { who, ..self }
    }

    fn top(self, top: Value) -> Self {
        Row { top, ..self }
    }

    fn then(mut self, pointer: impl Into<String>, value: Value) -> Self {
        match &mut self.outcome {
            Outcome::Applied(checks) => checks.push((pointer.into(), value)),
            Outcome::Refused(..) => panic!("{}: only applied rows check the copy", self.case),
        }
        self
    }

    fn good_fails(self, code: &'static str) -> Self {
        Row {
            good_fails: Some(code),
            ..self
        }
    }
}

/// Checks the answer of one row: HTTP 200, one result per item answering its sample, the item's
/// outcome, and the first failure on top.
fn check_answer(a: &Answer, row: &Row, good_id: &str, target: Option<&str>) -> Vec<String> {
    let mut why = Vec::new();
    if a.status != 200 {
        return vec![format!("HTTP {} (body {})", a.status, a.body)];
    }
    let Some(results) = a.body["results"].as_array().filter(|r| r.len() == 2) else {
        return vec![format!("expected two results: {}", a.body)];
    };
    if results[0]["sample_id"] != good_id || results[1]["sample_id"].as_str() != target {
        why.push(format!("results do not answer their items' sample_id: {}", a.body));
    }
    match row.good_fails {
        None if results[0]["success"] != true => why.push(format!("the good item failed: {}", results[0])),
        Some(code) if results[0]["error_code"] != code => {
            why.push(format!("the good item should fail with {code}: {}", results[0]))
        }
        _ => {}
    }
    let item = &results[1];
    let mut first_failure = row.good_fails.map(|_| &results[0]);
    match &row.outcome {
        Outcome::Applied(_) => {
            if item["success"] != true || item.get("error_code").is_some() {
                why.push(format!("expected the item applied, got {item}"));
            }
        }
        Outcome::Refused(code, fragment) => {
            let msg = item["error_msg"].as_str().unwrap_or("");
            if item["success"] != false || item["error_code"] != *code || !msg.contains(fragment.as_str()) {
                why.push(format!(
                    "expected {code} with a message containing {fragment:?}, got {item}"
                ));
            } else if !msg.starts_with("samples[1]: ") {
                why.push(format!("the message should name samples[1]: {msg:?}"));
            }
            first_failure = first_failure.or(Some(item));
        }
    }
    match first_failure {
        None => {
            if a.body["success"] != true || a.body.get("error_code").is_some() {
                why.push(format!("expected success on top: {}", a.body));
            }
        }
        Some(first) => {
            if a.body["success"] != false
                || a.body["error_code"] != first["error_code"]
                || a.body["error_msg"] != first["error_msg"]
            {
                why.push(format!("the first failure should stand on top: {}", a.body));
            }
        }
    }
    why
}

/// Checks that exactly the copies the row should change changed, and how.
fn check_copies(
    fx: &Fx,
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
    row: &Row,
    item: &Value,
    target: Option<&str>,
) -> Vec<String> {
    let mut why = Vec::new();
    let good_id = fx.id("good");
    let good_item = json!({"labels": [{"name": "cat"}]});
    let no_checks: Vec<(String, Value)> = Vec::new();
    for (id, old) in before {
        let Some(new) = after.get(id) else {
            why.push(format!("the copy of {} is gone", fx.name(id)));
            continue;
        };
        let applied = if *id == good_id {
            row.good_fails.is_none().then_some((&good_item, &no_checks))
        } else if Some(id.as_str()) == target {
            match &row.outcome {
                Outcome::Applied(checks) => Some((item, checks)),
                Outcome::Refused(..) => None,
            }
        } else {
            None
        };
        let Some((sent, checks)) = applied else {
            if let Some(d) = difference(old, new, "") {
                why.push(format!("the copy of {} changed: {d}", fx.name(id)));
            }
            continue;
        };
        let name = fx.name(id);
        if new["version"].as_i64() != old["version"].as_i64().map(|v| v + 1) {
            why.push(format!(
                "the version of {name} should be one up: {} -> {}",
                old["version"], new["version"]
            ));
        }
        let want: Vec<&Value> = sent["labels"]
            .as_array()
            .map_or(Vec::new(), |l| l.iter().map(|l| &l["name"]).collect());
        let got: Vec<&Value> = new["labels"]
            .as_array()
            .map_or(Vec::new(), |l| l.iter().map(|l| &l["name"]).collect());
        if want != got {
            why.push(format!(
                "the labels of {name} should be {want:?}, got {}",
                new["labels"]
            ));
        }
        let state = if want.is_empty() { "__NONE__" } else { fx.labeled };
        if new["sample_status"] != state {
            why.push(format!(
                "the state of {name} should be {state}, got {}",
                new["sample_status"]
            ));
        }
        for k in [
            "sample_name",
            "sample_type",
            "source",
            "worker_id",
            "labelers",
            "sample_time",
            "sample_size",
        ] {
            if old[k] != new[k] {
                why.push(format!("{k} of {name} changed: {} -> {}", old[k], new[k]));
            }
        }
        for (pointer, value) in checks {
            if new.pointer(pointer) != Some(value) {
                why.push(format!(
                    "{name}{pointer} should be {value}, got {:?}",
                    new.pointer(pointer)
                ));
            }
        }
    }
    why
}

/// Sends every row (each with the good item first) and checks the answer and the copies after it.
/// Every row runs; the failures are reported together at the end.
async fn run_item_rows(t: &TestApp, fx: &Fx, rows: &[Row]) {
    let url = t.url(&fx.samples_path());
    let good_id = fx.id("good");
    let mut before = copies(t, fx).await;
    let mut failures = Vec::new();
    for row in rows {
        let mut item = row.item.clone();
        let target = item["sample_id"].as_str().map(str::to_string);
        if let Some(copy) = target.as_ref().and_then(|id| before.get(id)) {
            let v = copy["version"].as_i64().unwrap();
            match item["version"].as_str() {
                Some("$current") => item["version"] = json!(v),
                Some("$stale") => item["version"] = json!(if v > 0 { v - 1 } else { v + 1 }),
                _ => {}
            }
            if item["source"] == "$listed" {
                item["source"] = copy["source"].clone();
            }
        }
        let good = match row.who {
            Who::Ann => json!({"sample_id": good_id, "labels": [{"name": "cat"}]}),
            Who::Owner => json!({"sample_id": good_id, "worker_id": fx.ann_id, "labels": [{"name": "cat"}]}),
        };
        let mut body = row.top.clone();
        body["samples"] = json!([good, item]);
        let token = match row.who {
            Who::Ann => fx.ann.as_str(),
            Who::Owner => t.token.as_str(),
        };
        let a = t
            .send(Method::PUT, &url, Some(token), Some(body.to_string().into_bytes()))
            .await;
        let mut why = check_answer(&a, row, &good_id, target.as_deref());
        let after = copies(t, fx).await;
        why.extend(check_copies(fx, &before, &after, row, &item, target.as_deref()));
        if !why.is_empty() {
            failures.push(format!("{} ({:?} sends {item}): {}", row.case, row.who, why.join("; ")));
        }
        before = after;
    }
    assert!(
        failures.is_empty(),
        "{}: {} of {} rows failed:\n{}",
        t.backend,
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// One row per label rule and per enum value of the team batch update.
fn label_rows(fx: &Fx) -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(label_type_rows(fx));
    rows.extend(shape_rows(fx));
    rows.extend(sample_field_rows(fx));
    rows.extend(property_rows(fx));
    rows.extend(label_field_rows(fx));
    rows.extend(text_and_audio_rows(fx));
    rows.extend(ownership_rows(fx));
    rows
}

/// Every label type passes on a sample it fits.
fn label_type_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let car = |shape: &str, feature: Value| geo("car", shape, feature);
    #[rustfmt::skip]
    let rows = vec![
        // Every label type passes on a sample it fits.
        pass("type 0 image classification", one("img", json!({"name": "cat", "type": 0})))
            .then("/labels/0/type", json!(0)),
        pass("type 1 detection", one("img", with(&car("bndbox", json!([[10, 10], [60, 50]])), json!({"type": 1}))))
            .then("/labels/0/property/@modelarts:feature", json!([[10, 10], [60, 50]]))
            .then("/labels/0/type", json!(1)),
        pass("type 3 segmentation with a polygon", one("img", geo("road", "polygon", json!([[0, 0], [50, 0], [50, 40]]))))
            .then("/labels/0/type", json!(3)),
        pass("type 3 segmentation without geometry", one("img", json!({"name": "road", "type": 3}))),
        pass("type 100 text classification", one("text", json!({"name": "positive", "type": 100})))
            .then("/labels/0/type", json!(100)),
        pass("type 101 entity span", one("text", with(&span("Location", 0, 12), json!({"type": 101}))))
            .then("/labels/0/property/@modelarts:end_index", json!(12)),
        pass("type 102 relation between two 103 entities", on("text", json!([entity("E1", "Person", 0, 12), entity("E2", "Book", 19, 36), relation(json!("E1"), json!("E2"))])))
            .then("/labels/2/type", json!(102))
            .then("/labels/2/id", json!("R1"))
            .then("/labels/2/property/@modelarts:to", json!("E2"))
            .then("/labels/0/type", json!(103)),
        pass("type 200 sound classification", one("audio", json!({"name": "dog", "type": 200}))),
        pass("type 201 speech content", one("audio", json!({"name": "speech", "type": 201, "property": {"@modelarts:content": "hello"}})))
            .then("/labels/0/property/@modelarts:content", json!("hello")),
        pass("type 202 speech paragraph", one("audio", with_prop(paragraph(json!("00:00:01.000"), json!("00:00:02.500")), "@modelarts:source", json!("speaker-1"))))
            .then("/labels/0/property/@modelarts:end_time", json!("00:00:02.500")),
        pass("type 600 video", one("video", json!({"name": "clip", "type": 600}))),
        pass("type 600 video with a box", one("video", geo("clip", "bndbox", json!([[1, 1], [5, 5]])))),
    ];
    rows
}

/// Every shape, valid and invalid, coordinates against the 100 x 80 image, and the image size.
fn shape_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let car = |shape: &str, feature: Value| geo("car", shape, feature);
    let mut rows = Vec::new();
    // Every shape, valid and invalid, and coordinates against the 100 x 80 image.
    #[rustfmt::skip]
    let shapes: Vec<(&str, Value, Option<&str>)> = vec![
        ("bndbox", json!([[10, 10], [60, 50]]), None),
        ("bndbox", json!([[0, 0], [100, 80]]), None),
        ("bndbox", json!([[60, 50], [10, 10]]), Some("a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2")),
        ("bndbox", json!([[10, 50], [60, 10]]), Some("a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2")),
        ("bndbox", json!([[10, 10], [10, 50]]), Some("a bndbox is [[x1, y1], [x2, y2]] with x1 < x2 and y1 < y2")),
        ("bndbox", json!([[10, 10]]), Some("a bndbox needs exactly 2 points, got 1")),
        ("bndbox", json!([[10, 10], [20, 20], [30, 30]]), Some("a bndbox needs exactly 2 points, got 3")),
        ("polygon", json!([[0, 0], [50, 0], [50, 40]]), None),
        ("polygon", json!([[0, 0], [50, 0], [50, 40], [0, 40]]), None),
        ("polygon", json!([[0, 0], [50, 0]]), Some("a polygon needs at least 3 points, got 2")),
        ("polyline", json!([[0, 0], [50, 40]]), None),
        ("polyline", json!([[0, 0], [50, 40], [60, 10]]), None),
        ("polyline", json!([[0, 0]]), Some("a polyline needs at least 2 points, got 1")),
        ("line", json!([[0, 0], [50, 40]]), None),
        ("line", json!([[0, 0], [50, 40], [60, 40]]), Some("a line needs exactly 2 points, got 3")),
        ("line", json!([[0, 0]]), Some("a line needs exactly 2 points, got 1")),
        ("dashed", json!([[0, 0], [50, 40]]), None),
        ("dashed", json!([[0, 0], [1, 1], [2, 2]]), Some("a dashed needs exactly 2 points, got 3")),
        ("point", json!([[50, 40]]), None),
        ("point", json!([[50, 40], [60, 40]]), Some("a point needs exactly 1 point, got 2")),
        ("point", json!([]), Some("a point needs exactly 1 point, got 0")),
        ("circle", json!([[50, 40], [10]]), None),
        ("circle", json!([[50, 40], [0]]), Some("the radius of a circle must be > 0, got 0")),
        ("circle", json!([[50, 40], [-5]]), Some("the radius of a circle must be > 0, got -5")),
        ("circle", json!([[50, 40]]), Some("@modelarts:feature of a circle must be [[x, y], [radius]]")),
        ("circle", json!([[50, 40], [10, 20]]), Some("@modelarts:feature of a circle must be [[x, y], [radius]]")),
        ("square", json!([[0, 0], [10, 10]]), Some("@modelarts:shape \"square\" is not a shape")),
        ("bndbox", json!([[-1, 10], [60, 50]]), Some("@modelarts:feature[0] has a negative coordinate")),
        ("polygon", json!([[0, 0], [50, -2], [50, 40]]), Some("@modelarts:feature[1] has a negative coordinate")),
        ("bndbox", json!([[10, 10], [101, 50]]), Some("@modelarts:feature[1] (101, 50) lies outside the image (100 x 80)")),
        ("bndbox", json!([[10, 10], [60, 81]]), Some("@modelarts:feature[1] (60, 81) lies outside the image (100 x 80)")),
        ("point", json!([[150, 10]]), Some("@modelarts:feature[0] (150, 10) lies outside the image (100 x 80)")),
        ("circle", json!([[150, 10], [5]]), Some("@modelarts:feature[0] (150, 10) lies outside the image (100 x 80)")),
        ("polyline", json!([["a", 1], [5, 5]]), Some("@modelarts:feature[0] must be a point [x, y] of two numbers")),
        ("polyline", json!([[1, 1, 1], [5, 5]]), Some("@modelarts:feature[0] must be a point")),
        ("bndbox", json!("10,10,60,50"), Some("@modelarts:feature must be a list of points")),
    ];
    for (shape, feature, fragment) in shapes {
        let case = format!("{shape} {feature}");
        let item = one("img", car(shape, feature.clone()));
        rows.push(match fragment {
            None => pass(case, item)
                .then("/labels/0/property/@modelarts:shape", json!(shape))
                .then("/labels/0/property/@modelarts:feature", feature),
            Some(f) => fail(case, item, LABEL_RULE, format!("labels[0]: {f}")),
        });
    }
    #[rustfmt::skip]
    rows.extend([
        fail("segmentation polygon outside the image", one("img", geo("road", "polygon", json!([[0, 0], [150, 0], [50, 40]]))), LABEL_RULE, "lies outside the image"),
        fail("segmentation shape without feature", one("img", json!({"name": "road", "property": {"@modelarts:shape": "polygon"}})), LABEL_RULE, "a polygon needs @modelarts:feature"),
        fail("detection without a shape", one("img", json!({"name": "car", "property": {"@modelarts:feature": [[1, 1], [5, 5]]}})), LABEL_RULE, "@modelarts:shape is required"),
        fail("detection without any geometry", one("img", json!({"name": "car"})), LABEL_RULE, "@modelarts:shape is required"),
        fail("detection without a feature", one("img", json!({"name": "car", "property": {"@modelarts:shape": "bndbox"}})), LABEL_RULE, "a bndbox needs @modelarts:feature"),
        fail("shape not a string", one("img", json!({"name": "car", "property": {"@modelarts:shape": 5, "@modelarts:feature": [[1, 1], [5, 5]]}})), LABEL_RULE, "@modelarts:shape must be a string"),
        // The image size: a reference sample has none until the item gives one.
        fail("detection on a reference image without @modelarts:size", one("ref", car("bndbox", json!([[1, 1], [40, 30]]))), SIZE_UNKNOWN, "needs metadata.@modelarts:size"),
        pass("segmentation on a reference image without size", one("ref", geo("road", "polygon", json!([[0, 0], [500, 0], [500, 400]])))),
        fail("detection past the size the item gives", with(&one("ref", car("bndbox", json!([[1, 1], [60, 30]]))), json!({"metadata": {"@modelarts:size": [50, 40]}})), LABEL_RULE, "lies outside the image (50 x 40)"),
        pass("detection with @modelarts:size in the item's metadata", with(&one("ref", car("bndbox", json!([[1, 1], [40, 30]]))), json!({"metadata": {"@modelarts:size": [50, 40]}})))
            .then("/metadata/@modelarts:size", json!([50, 40])),
        pass("detection on the reference image once its copy has a size", one("ref", car("bndbox", json!([[2, 2], [50, 40]])))),
        fail("metadata @modelarts:size [0, 40]", with(&one("img2", cat.clone()), json!({"metadata": {"@modelarts:size": [0, 40]}})), INVALID, "metadata.@modelarts:size must be"),
    ]);
    rows
}

/// sample_type, sample_usage and score: the values allowed and the values refused.
fn sample_field_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // sample_type: the stored type passes, another or an unknown one is refused.
    for (key, code) in [
        ("img", 0),
        ("text", 1),
        ("audio", 2),
        ("table", 4),
        ("video", 6),
        ("custom", 9),
    ] {
        rows.push(pass(
            format!("sample_type {code} on its sample"),
            with(&one(key, cat.clone()), json!({"sample_type": code})),
        ));
    }
    for (key, code, fragment) in [
        ("img", 1, "sample_type 1 does not match the sample's type 0"),
        ("text", 0, "sample_type 0 does not match the sample's type 1"),
        ("audio", 6, "sample_type 6 does not match the sample's type 2"),
        ("table", 9, "sample_type 9 does not match the sample's type 4"),
        ("custom", 4, "sample_type 4 does not match the sample's type 9"),
        ("img", 7, "sample_type: 7 is not a valid sample_type"),
        ("img", -1, "sample_type: -1 is not a valid sample_type"),
    ] {
        rows.push(fail(
            format!("sample_type {code} on {key}"),
            with(&one(key, cat.clone()), json!({"sample_type": code})),
            INVALID,
            fragment,
        ));
    }

    // sample_usage: the four values in any case; anything else is refused.
    for (sent, stored) in [
        ("TRAIN", "TRAIN"),
        ("EVAL", "EVAL"),
        ("TEST", "TEST"),
        ("INFERENCE", "INFERENCE"),
        ("train", "TRAIN"),
        ("Eval", "EVAL"),
        ("test", "TEST"),
        ("inference", "INFERENCE"),
    ] {
        rows.push(
            pass(
                format!("sample_usage {sent}"),
                with(&one("img2", cat.clone()), json!({"sample_usage": sent})),
            )
            .then("/sample_usage", json!(stored)),
        );
    }
    for bad in ["VALIDATE", "", "TRAINING"] {
        rows.push(fail(
            format!("sample_usage {bad:?}"),
            with(&one("img2", cat.clone()), json!({"sample_usage": bad})),
            INVALID,
            format!("sample_usage must be one of TRAIN, EVAL, TEST, INFERENCE, got {bad:?}"),
        ));
    }

    // score within [0, 1].
    for (score, stored) in [(json!(0), json!(0.0)), (json!(1), json!(1.0)), (json!(0.5), json!(0.5))] {
        rows.push(
            pass(
                format!("score {score}"),
                one("img2", json!({"name": "cat", "score": score})),
            )
            .then("/labels/0/score", stored),
        );
    }
    for score in [-0.1, 1.1] {
        rows.push(fail(
            format!("score {score}"),
            one("img2", json!({"name": "cat", "score": score})),
            LABEL_RULE,
            format!("labels[0].score must be within [0, 1], got {score}"),
        ));
    }
    rows
}

/// Hard-example properties of a label and the sample metadata.
fn property_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // Hard-example properties of a label.
    #[rustfmt::skip]
    let hard: Vec<(&str, Value, Option<&str>)> = vec![
        ("@modelarts:hard", json!("0"), None),
        ("@modelarts:hard", json!("1"), None),
        ("@modelarts:hard", json!("true"), None),
        ("@modelarts:hard", json!("false"), None),
        ("@modelarts:hard", json!(true), None),
        ("@modelarts:hard", json!(1), None),
        ("@modelarts:hard", json!("2"), Some("@modelarts:hard must be \"0\", \"1\", \"true\" or \"false\"")),
        ("@modelarts:hard", json!("yes"), Some("@modelarts:hard must be")),
        ("@modelarts:hard", json!(2), Some("@modelarts:hard must be")),
        ("@modelarts:hard_coefficient", json!("0.5"), None),
        ("@modelarts:hard_coefficient", json!(0.5), None),
        ("@modelarts:hard_coefficient", json!("0"), None),
        ("@modelarts:hard_coefficient", json!(1), None),
        ("@modelarts:hard_coefficient", json!("1.5"), Some("@modelarts:hard_coefficient must be a number in [0, 1], got \"1.5\"")),
        ("@modelarts:hard_coefficient", json!(-0.1), Some("@modelarts:hard_coefficient must be a number in [0, 1]")),
        ("@modelarts:hard_coefficient", json!("x"), Some("@modelarts:hard_coefficient must be a number in [0, 1]")),
        ("@modelarts:hard_reasons", json!("0-30"), None),
        ("@modelarts:hard_reasons", json!("3-20-21"), None),
        ("@modelarts:hard_reasons", json!("7"), None),
        ("@modelarts:hard_reasons", json!("31"), Some("@modelarts:hard_reasons: reason id 31 is outside 0 to 30")),
        ("@modelarts:hard_reasons", json!("0-31"), Some("@modelarts:hard_reasons: reason id 31 is outside 0 to 30")),
        ("@modelarts:hard_reasons", json!("a"), Some("@modelarts:hard_reasons: \"a\" is not a reason id")),
        ("@modelarts:hard_reasons", json!("3--4"), Some("@modelarts:hard_reasons: \"\" is not a reason id")),
        ("@modelarts:hard_reasons", json!(5), Some("@modelarts:hard_reasons must be reason ids joined by '-'")),
    ];
    for (key, value, fragment) in hard {
        let case = format!("label {key} {value}");
        let item = one("img2", with_prop(cat.clone(), key, value.clone()));
        rows.push(match fragment {
            None => pass(case, item).then(
                match key {
                    "@modelarts:hard" => "/labels/0/property/@modelarts:hard",
                    "@modelarts:hard_coefficient" => "/labels/0/property/@modelarts:hard_coefficient",
                    _ => "/labels/0/property/@modelarts:hard_reasons",
                },
                value,
            ),
            Some(f) => fail(case, item, LABEL_RULE, format!("labels[0]: {f}")),
        });
    }

    // Sample metadata: replaced when given, its @modelarts: keys checked.
    #[rustfmt::skip]
    let metadata: Vec<(Value, Option<&str>)> = vec![
        (json!({"@modelarts:hard_reasons": [0, 30]}), None),
        (json!({"@modelarts:hard_reasons": [31]}), Some("metadata.@modelarts:hard_reasons: reason id 31 is outside 0 to 30")),
        (json!({"@modelarts:hard_reasons": "3-4"}), Some("metadata.@modelarts:hard_reasons must be a list of reason ids")),
        (json!({"@modelarts:hard_coefficient": 0.5}), None),
        (json!({"@modelarts:hard_coefficient": 2}), Some("metadata.@modelarts:hard_coefficient must be a number in [0, 1]")),
        (json!({"@modelarts:hard": 1}), None),
        (json!({"@modelarts:hard": true}), None),
        (json!({"@modelarts:hard": 2}), Some("metadata.@modelarts:hard must be 0 or 1")),
        (json!({"@modelarts:colour": "white"}), Some("metadata: unknown key @modelarts:colour")),
        (json!({"colour": "white"}), None),
    ];
    for (meta, fragment) in metadata {
        let case = format!("metadata {meta}");
        let item = with(&one("img2", cat.clone()), json!({"metadata": meta.clone()}));
        rows.push(match fragment {
            None => {
                let (k, v) = meta.as_object().unwrap().iter().next().unwrap();
                pass(case, item)
                    .then(format!("/metadata/{k}"), v.clone())
                    .then("/metadata/@modelarts:size", json!([100, 80, 3]))
            }
            Some(f) => fail(case, item, INVALID, f),
        });
    }
    rows
}

/// annotated_by, instance ids, names, types and property keys of labels; spans in the text.
fn label_field_rows(fx: &Fx) -> Vec<Row> {
    let zoe_len = ZOE.chars().count() as i64;
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let car = |shape: &str, feature: Value| geo("car", shape, feature);
    let mut rows = Vec::new();
    // annotated_by, instance ids, names and types of labels.
    #[rustfmt::skip]
    rows.extend([
        fail("1001 labels on one sample", on("img2", Value::Array(vec![cat.clone(); 1001])), INVALID, "labels: at most 1000 labels per sample, got 1001"),
        pass("annotated_by human", one("img2", json!({"name": "cat", "annotated_by": "human"})))
            .then("/labels/0/annotated_by", json!("human")),
        pass("annotated_by auto", one("img2", json!({"name": "cat", "annotated_by": "auto"}))),
        pass("annotated_by modelarts/<producer>", one("img2", json!({"name": "cat", "annotated_by": "modelarts/auto-label"}))),
        fail("annotated_by robot", one("img2", json!({"name": "cat", "annotated_by": "robot"})), LABEL_RULE, "labels[0].annotated_by must be human, auto or modelarts/<producer>"),
        fail("annotated_by a producer name of 65 characters", one("img2", json!({"name": "cat", "annotated_by": format!("modelarts/{}", "p".repeat(55))})), LABEL_RULE, "annotated_by must be"),
        fail("an empty label id", one("img2", json!({"name": "cat", "id": ""})), LABEL_RULE, "labels[0].id must be 1 to 64 characters"),
        fail("a label id of 65 characters", one("img2", json!({"name": "cat", "id": "i".repeat(65)})), LABEL_RULE, "labels[0].id must be 1 to 64 characters"),
        fail("two labels with one id", on("img2", json!([{"name": "cat", "id": "L1"}, {"name": "road", "id": "L1"}])), LABEL_RULE, "labels[1].id \"L1\" is used by two labels"),
        fail("a label without a name", one("img2", json!({"type": 0})), INVALID, "labels[0].name is required"),
        fail("label type 999", one("img2", json!({"name": "cat", "type": 999})), INVALID, "labels[0].type: 999 is not a valid label type"),
        fail("an unknown label", one("img2", json!({"name": "unicorn"})), LABEL_NOT_FOUND, "labels[0]: Label not found: unicorn"),
        fail("an unknown label after a good one", on("img2", json!([{"name": "cat"}, {"name": "unicorn"}])), LABEL_NOT_FOUND, "labels[1]: Label not found: unicorn"),
        fail("label names are case-sensitive", one("img2", json!({"name": "Cat"})), LABEL_NOT_FOUND, "Label not found: Cat"),
        fail("a type other than the dataset label's", one("img2", json!({"name": "cat", "type": 1})), LABEL_NOT_FOUND, "labels[0]: Label not found: cat (type 1)"),
        fail("a triplet entity given as a named entity", one("text", with(&span("Person", 0, 3), json!({"type": 101}))), LABEL_NOT_FOUND, "Label not found: Person (type 101)"),
        // Property keys that do not fit the label's type.
        fail("an unknown @modelarts: key on a label", one("img2", with_prop(cat.clone(), "@modelarts:colour", json!("red"))), LABEL_RULE, "labels[0]: property @modelarts:colour does not apply to a label of type 0"),
        fail("a geometry key on a classification label", one("img2", with_prop(cat.clone(), "@modelarts:shape", json!("bndbox"))), LABEL_RULE, "property @modelarts:shape does not apply to a label of type 0"),
        fail("a span key on a classification label", one("text", with_prop(json!({"name": "positive"}), "@modelarts:start_index", json!(0))), LABEL_RULE, "property @modelarts:start_index does not apply to a label of type 100"),
        fail("a span key on a detection label", one("img", with_prop(car("bndbox", json!([[1, 1], [5, 5]])), "@modelarts:start_index", json!(0))), LABEL_RULE, "property @modelarts:start_index does not apply to a label of type 1; allowed: @modelarts:shape, @modelarts:feature"),
        fail("a geometry key on an entity", one("text", with_prop(span("Location", 0, 3), "@modelarts:shape", json!("point"))), LABEL_RULE, "property @modelarts:shape does not apply to a label of type 101"),
        fail("a time on speech content", one("audio", json!({"name": "speech", "property": {"@modelarts:start_time": "00:00:01.000"}})), LABEL_RULE, "property @modelarts:start_time does not apply to a label of type 201"),
        fail("a relation end on an entity", one("text", with_prop(span("Location", 0, 3), "@modelarts:from", json!("E1"))), LABEL_RULE, "property @modelarts:from does not apply to a label of type 101"),
        pass("a property key of the caller's own is kept", one("img2", with_prop(cat.clone(), "colour", json!("red"))))
            .then("/labels/0/property/colour", json!("red")),
    ]);

    // Spans inside the 36-character text.
    for (start, end) in [(0, 12), (0, 36), (35, 36)] {
        rows.push(
            pass(
                format!("span {start}..{end}"),
                one("text", span("Location", start, end)),
            )
            .then("/labels/0/property/@modelarts:start_index", json!(start)),
        );
    }
    for (start, end, fragment) in [
        (
            0,
            37,
            "@modelarts:end_index (37) is past the end of the text (36 characters)",
        ),
        (-1, 5, "@modelarts:start_index must be >= 0, got -1"),
        (
            5,
            5,
            "@modelarts:start_index (5) must be less than @modelarts:end_index (5)",
        ),
        (
            6,
            5,
            "@modelarts:start_index (6) must be less than @modelarts:end_index (5)",
        ),
    ] {
        rows.push(fail(
            format!("span {start}..{end}"),
            one("text", span("Location", start, end)),
            LABEL_RULE,
            format!("labels[0]: {fragment}"),
        ));
    }
    #[rustfmt::skip]
    rows.extend([
        fail("an entity span past the text", one("text", entity("E1", "Person", 30, 40)), LABEL_RULE, "@modelarts:end_index (40) is past the end of the text"),
        fail("a span without its end", one("text", json!({"name": "Location", "property": {"@modelarts:start_index": 0}})), LABEL_RULE, "an entity label needs @modelarts:end_index"),
        fail("a span start given as a string", one("text", json!({"name": "Location", "property": {"@modelarts:start_index": "0", "@modelarts:end_index": 3}})), LABEL_RULE, "@modelarts:start_index must be an integer"),
        fail("a span end given as a float", one("text", json!({"name": "Location", "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 3.0}})), LABEL_RULE, "@modelarts:end_index must be an integer"),
        pass("a span to the end of a non-ASCII text", with(&one("bob_text", span("Location", 0, zoe_len)), json!({"worker_id": fx.bob_id})))
            .by(Who::Owner),
        fail("a span one past the end of a non-ASCII text", with(&one("bob_text", span("Location", 0, zoe_len + 1)), json!({"worker_id": fx.bob_id})), LABEL_RULE, format!("@modelarts:end_index ({}) is past the end of the text ({zoe_len} characters)", zoe_len + 1))
            .by(Who::Owner),
    ]);
    rows
}

/// Triplets, speech paragraphs, and the sample source as listed.
fn text_and_audio_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // Triplets: relations point at 103 entities of the sample, of the types the label names.
    let e1 = entity("E1", "Person", 0, 12);
    let e2 = entity("E2", "Book", 19, 36);
    #[rustfmt::skip]
    rows.extend([
        fail("a relation to a missing entity", on("text", json!([e1, e2, relation(json!("E1"), json!("E9"))])), TRIPLET_ENTITY_MISSING, "labels[2]: @modelarts:to \"E9\" is not the id of an entity label (type 103)"),
        fail("a relation alone", on("text", json!([relation(json!("E1"), json!("E2"))])), TRIPLET_ENTITY_MISSING, "@modelarts:from \"E1\" is not the id of an entity label"),
        fail("a relation without its to", on("text", json!([e1, e2, {"id": "R1", "name": "Author", "property": {"@modelarts:from": "E1"}}])), TRIPLET_ENTITY_MISSING, "labels[2]: a relationship needs @modelarts:to"),
        fail("a relation to a named entity (101)", on("text", json!([e1, with(&span("Location", 19, 36), json!({"id": "E3"})), relation(json!("E1"), json!("E3"))])), TRIPLET_ENTITY_MISSING, "\"E3\" is not the id of an entity label (type 103)"),
        fail("a relation end that is not an id", on("text", json!([e1, e2, relation(json!(5), json!("E2"))])), LABEL_RULE, "@modelarts:from must be the id of an entity label"),
        fail("a relation with its ends swapped", on("text", json!([e1, e2, relation(json!("E2"), json!("E1"))])), LABEL_RULE, "relationship \"Author\" needs @modelarts:from to be a \"Person\" entity, got \"Book\""),
        fail("a relation to an entity of the wrong type", on("text", json!([e1, e2, entity("E3", "Person", 13, 18), relation(json!("E1"), json!("E3"))])), LABEL_RULE, "needs @modelarts:to to be a \"Book\" entity, got \"Person\""),
    ]);

    // Speech paragraphs: hh:mm:ss.SSS times, start before end.
    #[rustfmt::skip]
    rows.extend([
        pass("paragraph times", one("audio", paragraph(json!("00:59:59.999"), json!("01:00:00.000")))),
        pass("paragraph times near 100 hours", one("audio", paragraph(json!("99:59:59.998"), json!("99:59:59.999")))),
        fail("paragraph start after end", one("audio", paragraph(json!("00:00:02.000"), json!("00:00:01.000"))), LABEL_RULE, "labels[0]: @modelarts:start_time must be before @modelarts:end_time"),
        fail("paragraph start equal to end", one("audio", paragraph(json!("00:00:01.000"), json!("00:00:01.000"))), LABEL_RULE, "@modelarts:start_time must be before @modelarts:end_time"),
        fail("paragraph start 1:00", one("audio", paragraph(json!("1:00"), json!("00:00:02.000"))), LABEL_RULE, "@modelarts:start_time \"1:00\" is not a time hh:mm:ss.SSS"),
        fail("paragraph start with 60 minutes", one("audio", paragraph(json!("00:60:00.000"), json!("01:00:00.000"))), LABEL_RULE, "@modelarts:start_time \"00:60:00.000\" is not a time"),
        fail("paragraph end with a comma", one("audio", paragraph(json!("00:00:01.000"), json!("00:00:02,000"))), LABEL_RULE, "@modelarts:end_time \"00:00:02,000\" is not a time"),
        fail("paragraph start a number", one("audio", paragraph(json!(1), json!("00:00:02.000"))), LABEL_RULE, "@modelarts:start_time must be a string hh:mm:ss.SSS"),
        fail("paragraph without an end", one("audio", json!({"name": "paragraph", "property": {"@modelarts:start_time": "00:00:01.000"}})), LABEL_RULE, "a speech paragraph label needs @modelarts:end_time"),
        fail("paragraph content a number", one("audio", with_prop(paragraph(json!("00:00:01.000"), json!("00:00:02.000")), "@modelarts:content", json!(5))), LABEL_RULE, "@modelarts:content must be a string"),
        fail("paragraph source a number", one("audio", with_prop(paragraph(json!("00:00:01.000"), json!("00:00:02.000")), "@modelarts:source", json!(5))), LABEL_RULE, "@modelarts:source must be a string"),
        fail("speech content a number", one("audio", json!({"name": "speech", "property": {"@modelarts:content": 5}})), LABEL_RULE, "@modelarts:content must be a string"),
    ]);

    // source: must be the sample's source as listed.
    #[rustfmt::skip]
    rows.extend([
        pass("source of an uploaded image as listed", with(&one("img", cat.clone()), json!({"source": "$listed"}))),
        fail("source of another file", with(&one("img", cat.clone()), json!({"source": "http://elsewhere/x.png"})), INVALID, "source does not match the sample's source"),
        pass("source of a text as listed", with(&one("text", cat.clone()), json!({"source": format!("content://{ADA}")}))),
        fail("source of another text", with(&one("text", cat.clone()), json!({"source": "content://Ada Lovelace"})), INVALID, "source does not match the sample's source"),
        pass("source of a reference as listed", with(&one("ref", cat.clone()), json!({"source": "http://x/ref.jpg"}))),
        fail("source of another reference", with(&one("ref", cat.clone()), json!({"source": "http://x/ref.jpeg"})), INVALID, "source does not match the sample's source \"http://x/ref.jpg\""),
    ]);
    rows
}

/// Which sample and whose copy; absent, null or empty labels; versions against lost updates.
fn ownership_rows(fx: &Fx) -> Vec<Row> {
    let on = |key: &str, labels: Value| json!({"sample_id": fx.id(key), "labels": labels});
    let one = |key: &str, label: Value| on(key, json!([label]));
    let cat = json!({"name": "cat"});
    let mut rows = Vec::new();
    // Which sample and whose copy.
    let bob_sample = |key: &str, extra: Value| with(&one(key, cat.clone()), extra);
    #[rustfmt::skip]
    rows.extend([
        fail("sample_id missing", json!({"labels": [cat]}), INVALID, "sample_id is required"),
        fail("sample_id not an id", json!({"sample_id": "abc", "labels": [cat]}), SAMPLE_NOT_FOUND, "Sample not found: abc"),
        fail("an unknown sample", json!({"sample_id": UNKNOWN_HEX, "labels": [cat]}), SAMPLE_NOT_FOUND, format!("Sample not found: {UNKNOWN_HEX}")),
        fail("a sample of another dataset", json!({"sample_id": fx.foreign, "labels": [cat]}), SAMPLE_NOT_FOUND, format!("Sample not found: {}", fx.foreign)),
        fail("a sample of the dataset that is not in the task", json!({"sample_id": fx.late, "labels": [cat]}), SAMPLE_NOT_FOUND, format!("Sample not found in this task: {}", fx.late)),
        fail("a sample assigned to the other labeler", bob_sample("bob_img", json!({})), FORBIDDEN, format!("sample {} is not assigned to {ANN}", fx.id("bob_img"))),
        pass("the labeler names herself by worker_id", bob_sample("img", json!({"worker_id": fx.ann_id}))),
        fail("the labeler names the other labeler by worker_id", bob_sample("bob_img", json!({"worker_id": fx.bob_id})), FORBIDDEN, "worker_id names another member; a labeler writes only their own labels"),
        fail("the labeler names the other labeler by worker_id on her own sample", bob_sample("img", json!({"worker_id": fx.bob_id})), FORBIDDEN, "worker_id names another member"),
        fail("the labeler names an unknown worker", bob_sample("img", json!({"worker_id": UNKNOWN_HEX})), FORBIDDEN, "worker_id names another member"),
        fail("the labeler names the other labeler by the batch email", bob_sample("bob_img", json!({})), FORBIDDEN, "email names another member; a labeler writes only their own labels")
            .top(json!({"email": BOB}))
            .good_fails(FORBIDDEN),
        pass("the labeler names herself by the batch email, in capitals", bob_sample("img", json!({})))
            .top(json!({"email": ANN.to_uppercase()})),
        pass("the owner writes for Bob by worker_id", bob_sample("bob_img", json!({"worker_id": fx.bob_id})))
            .by(Who::Owner),
        pass("the owner writes for Bob by the batch email", bob_sample("bob_text", json!({})))
            .by(Who::Owner)
            .top(json!({"email": BOB})),
        fail("the owner names Bob for Ann's sample", bob_sample("img", json!({"worker_id": fx.bob_id})), FORBIDDEN, format!("sample {} is not assigned to {BOB}", fx.id("img")))
            .by(Who::Owner),
        fail("the owner names nobody", bob_sample("bob_img", json!({})), INVALID, "worker_id is required")
            .by(Who::Owner),
        fail("the owner names an unknown worker", bob_sample("bob_img", json!({"worker_id": UNKNOWN_HEX})), FORBIDDEN, format!("worker {UNKNOWN_HEX} is not a labeler of this task"))
            .by(Who::Owner),
        fail("the owner's batch email names a stranger", bob_sample("bob_img", json!({})), FORBIDDEN, "zed@example.com is not a labeler of this task")
            .by(Who::Owner)
            .top(json!({"email": "zed@example.com"})),
    ]);
    if let Some(rita) = &fx.rita_id {
        rows.push(
            fail(
                "the owner names the reviewer",
                bob_sample("bob_img", json!({"worker_id": rita})),
                FORBIDDEN,
                "is not a labeler of this task",
            )
            .by(Who::Owner),
        );
    }

    // Absent, null or empty labels delete the member's labels; versions guard lost updates.
    let set = |case: &str| pass(case, one("img2", json!({"name": "road"})));
    #[rustfmt::skip]
    rows.extend([
        set("labels set before deleting"),
        pass("labels absent delete", json!({"sample_id": fx.id("img2")})).then("/labels", json!([])),
        set("labels set again"),
        pass("labels null delete", json!({"sample_id": fx.id("img2"), "labels": null}))
            .then("/labels", json!([])),
        set("labels set once more"),
        pass("labels [] delete", on("img2", json!([]))).then("/labels", json!([])),
        pass("the current version", with(&one("img2", cat.clone()), json!({"version": "$current"}))),
        fail("a stale version", with(&one("img2", json!({"name": "road"})), json!({"version": "$stale"})), VERSION_CONFLICT, "is not the stored version"),
        fail("a version from the future", with(&one("img2", json!({"name": "road"})), json!({"version": 999})), VERSION_CONFLICT, "version 999 is not the stored version"),
    ]);
    rows
}

#[tokio::test]
async fn every_label_rule_fails_only_its_item_and_leaves_that_copy_unchanged() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, true).await;
        let rows = label_rows(&fx);
        run_item_rows(&t, &fx, &rows).await;
        // The dataset's own labels are untouched by team writes.
        let plain = t
            .get(&format!(
                "/datasets/{}/data-annotations/samples/{}",
                fx.ds,
                fx.id("img")
            ))
            .await;
        assert_eq!(plain.body["labels"], json!([]), "{}: {}", t.backend, plain.body);
    }
}
