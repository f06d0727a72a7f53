//! Error parity: every conflict and not-found case the store raises is provoked on SQLite and
//! on PostgreSQL (when `TEST_DATABASE_URL` is set), and the resulting errors (kind, code,
//! message) and the error bodies the server sends for them must be the same bytes on both.

use serde_json::json;
use teamlabel_api::enums::{DatasetType, LabelType, SampleStatus};
use teamlabel_core::error::{codes, Error, ErrorKind};
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{
    DatasetChange, IdempotencyRecord, SampleQuery, SampleWrite, Store, TaskRecord, User, WorkerRecord, WorkforceRecord,
};

use crate::common::*;

/// Ids used where an error names them: fixed, so messages can be compared across backends.
const MISSING: &str = "missing0000000000001";

fn workforce(project_id: &str, name: &str) -> WorkforceRecord {
    WorkforceRecord {
        id: new_hex32(),
        project_id: project_id.into(),
        name: name.into(),
        description: String::new(),
        worker_count: 0,
        create_time: 1,
        update_time: 1,
    }
}

fn worker(workforce_id: &str, user: &User) -> WorkerRecord {
    WorkerRecord {
        id: new_hex32(),
        workforce_id: workforce_id.into(),
        user_id: user.id.clone(),
        email: user.email.clone(),
        role: Role::Labeler,
        description: String::new(),
        create_time: 1,
        update_time: 1,
    }
}

fn task(dataset_id: &str, name: &str) -> TaskRecord {
    TaskRecord {
        id: new_hex32(),
        dataset_id: dataset_id.into(),
        name: name.into(),
        description: String::new(),
        status: 6,
        repetition: 1,
        workforces_config: json!({}),
        sample_conditions: None,
        synchronize_data: false,
        synchronize_auto_labeling_data: false,
        auto_sync_dataset: false,
        data_sync_type: None,
        create_time: 1,
        update_time: 1,
        iou_threshold: 0.5,
    }
}

/// What the server answers for an error: its status class and the ModelArts body, as bytes
/// (the body shape of `crates/server/src/error.rs`).
fn body(e: &Error) -> String {
    json!({"error_code": e.code, "error_msg": e.message}).to_string()
}

fn err<T: std::fmt::Debug>(case: &str, r: Result<T, Error>) -> (String, Error) {
    (case.to_string(), r.expect_err(case))
}

/// Provokes every case on one store; answers (case, error) in a fixed order.
async fn provoke(s: &dyn Store) -> Vec<(String, Error)> {
    let (p, owner) = project(s).await;
    let mut out = Vec::new();

    // Datasets and labels.
    let d = dataset(&p.id, "animals", DatasetType::ImageClassification, 1);
    let cat = label("cat", LabelType::ImageClassification);
    s.insert_dataset(&d, std::slice::from_ref(&cat)).await.unwrap();
    let again = dataset(&p.id, "animals", DatasetType::ImageClassification, 2);
    out.push(err("dataset name taken", s.insert_dataset(&again, &[]).await));
    let other = dataset(&p.id, "plants", DatasetType::ImageClassification, 3);
    s.insert_dataset(&other, &[]).await.unwrap();
    let rename = DatasetChange {
        name: Some("animals".into()),
        update_time: 4,
        ..Default::default()
    };
    out.push(err(
        "dataset renamed to a taken name",
        s.update_dataset(&other.id, &rename).await,
    ));
    let add_cat = DatasetChange {
        add_labels: vec![cat.clone()],
        update_time: 4,
        ..Default::default()
    };
    out.push(err("label taken", s.update_dataset(&d.id, &add_cat).await));
    let twice = [
        label("dog", LabelType::ImageClassification),
        label("dog", LabelType::ImageClassification),
    ];
    out.push(err("label twice in a new dataset", {
        let fresh = dataset(&p.id, "pets", DatasetType::ImageClassification, 5);
        s.insert_dataset(&fresh, &twice).await
    }));
    out.push(err("unknown dataset", s.get_dataset(&p.id, MISSING).await));
    out.push(err("unknown dataset deleted", s.delete_dataset(&p.id, MISSING).await));
    out.push(err("unknown dataset updated", s.update_dataset(MISSING, &rename).await));

    // Samples.
    let first = sample(&d.id, "a.png", vec![]);
    s.insert_samples(std::slice::from_ref(&first)).await.unwrap();
    out.push(err(
        "sample name taken",
        s.insert_samples(&[sample(&d.id, "a.png", vec![])]).await,
    ));
    out.push(err(
        "sample name twice in a batch",
        s.insert_samples(&[sample(&d.id, "b.png", vec![]), sample(&d.id, "b.png", vec![])])
            .await,
    ));
    out.push(err("unknown sample", s.get_sample(&d.id, MISSING).await));

    // Dataset-level label writes.
    let stale = SampleWrite {
        dataset_id: d.id.clone(),
        sample_id: first.id.clone(),
        expected_version: 7,
        labels: vec![],
        metadata: first.metadata.clone(),
        sample_usage: None,
        status: SampleStatus::UnAnnotation,
        update_time: 5,
    };
    out.push(err("sample version moved", s.write_samples(&[stale], &[]).await));
    let idem = IdempotencyRecord {
        project_id: p.id.clone(),
        user_id: owner.id.clone(),
        key: "k1".into(),
        request_hash: "h".into(),
        status: 200,
        response: json!({}),
        create_time: teamlabel_core::clock::now_ms(),
    };
    s.write_samples_with(&[], &[], Some(&idem)).await.unwrap();
    out.push(err(
        "idempotency key taken",
        s.write_samples_with(&[], &[], Some(&idem)).await,
    ));

    // Teams and members.
    let team = workforce(&p.id, "team");
    s.insert_workforce(&team).await.unwrap();
    out.push(err(
        "workforce name taken",
        s.insert_workforce(&workforce(&p.id, "team")).await,
    ));
    let second = workforce(&p.id, "second");
    s.insert_workforce(&second).await.unwrap();
    let renamed = WorkforceRecord {
        name: "team".into(),
        ..second.clone()
    };
    out.push(err(
        "workforce renamed to a taken name",
        s.update_workforce(&renamed).await,
    ));
    out.push(err("unknown workforce", s.get_workforce(&p.id, MISSING).await));
    let ghost = WorkforceRecord {
        id: MISSING.into(),
        ..team.clone()
    };
    out.push(err("unknown workforce updated", s.update_workforce(&ghost).await));
    out.push(err(
        "unknown workforce deleted",
        s.delete_workforce(&p.id, MISSING).await,
    ));
    let member = worker(&team.id, &owner);
    s.insert_worker(&member).await.unwrap();
    out.push(err(
        "user already in the team",
        s.insert_worker(&worker(&team.id, &owner)).await,
    ));
    out.push(err("unknown worker", s.get_worker(&team.id, MISSING).await));
    let ghost = WorkerRecord {
        id: MISSING.into(),
        ..member.clone()
    };
    out.push(err("unknown worker updated", s.update_worker(&ghost).await));

    // Tasks.
    let t = task(&d.id, "round one");
    s.insert_task(&t, std::slice::from_ref(&member.id)).await.unwrap();
    out.push(err(
        "task name taken",
        s.insert_task(&task(&d.id, "round one"), &[]).await,
    ));
    out.push(err("unknown task", s.get_task(&d.id, MISSING).await));
    out.push(err("unknown task deleted", s.delete_task(&d.id, MISSING).await));
    let ghost = TaskRecord {
        id: MISSING.into(),
        ..t.clone()
    };
    out.push(err("unknown task updated", s.update_task(&ghost, None).await));
    let all = SampleQuery::default();
    let labelers = [member.id.clone()];
    out.push(err(
        "task started without labelers",
        s.start_task(&t.id, &d.id, &all, &[], 1, 1, 5).await,
    ));
    s.start_task(&t.id, &d.id, &all, &labelers, 1, 1, 5).await.unwrap();
    out.push(err(
        "task started twice",
        s.start_task(&t.id, &d.id, &all, &labelers, 1, 1, 6).await,
    ));
    let copy = s
        .load_team_samples(&t.id, &d.id, std::slice::from_ref(&first.id))
        .await
        .unwrap()[0]
        .copies[0]
        .clone();
    let stale = teamlabel_core::store::CopyWrite {
        copy_id: copy.id,
        expected_version: copy.version + 3,
        labels: vec![],
        metadata: None,
        sample_usage: None,
        state: copy.state.clone(),
        update_time: 7,
    };
    out.push(err("copy version moved", s.write_copies(&[stale], &[]).await));

    // Identity.
    out.push(err("unknown project", s.get_project(MISSING).await));
    out.push(err("unknown user's password", s.set_password(MISSING, None).await));
    out
}

#[tokio::test]
async fn every_backend_answers_the_same_errors() {
    let mut answers = Vec::new();
    for b in backends().await {
        answers.push((b.name, provoke(b.store.as_ref()).await));
    }
    let (first_name, first) = &answers[0];
    // The cases mean what they say on the embedded backend.
    let by_case: std::collections::HashMap<&str, &Error> = first.iter().map(|(c, e)| (c.as_str(), e)).collect();
    for (case, kind, code) in [
        ("dataset name taken", ErrorKind::BadRequest, codes::DATASET_EXISTS),
        (
            "dataset renamed to a taken name",
            ErrorKind::BadRequest,
            codes::DATASET_EXISTS,
        ),
        ("label taken", ErrorKind::BadRequest, codes::LABEL_EXISTS),
        (
            "label twice in a new dataset",
            ErrorKind::BadRequest,
            codes::LABEL_EXISTS,
        ),
        ("unknown dataset", ErrorKind::NotFound, codes::DATASET_NOT_FOUND),
        ("sample name taken", ErrorKind::BadRequest, codes::SAMPLE_EXISTS),
        (
            "sample name twice in a batch",
            ErrorKind::BadRequest,
            codes::SAMPLE_EXISTS,
        ),
        ("unknown sample", ErrorKind::NotFound, codes::SAMPLE_NOT_FOUND),
        ("sample version moved", ErrorKind::Conflict, codes::VERSION_CONFLICT),
        ("idempotency key taken", ErrorKind::Conflict, codes::IDEMPOTENCY_TAKEN),
        ("workforce name taken", ErrorKind::BadRequest, codes::WORKFORCE_EXISTS),
        (
            "workforce renamed to a taken name",
            ErrorKind::BadRequest,
            codes::WORKFORCE_EXISTS,
        ),
        ("unknown workforce", ErrorKind::NotFound, codes::WORKFORCE_NOT_FOUND),
        ("user already in the team", ErrorKind::BadRequest, codes::WORKER_EXISTS),
        ("unknown worker", ErrorKind::NotFound, codes::WORKER_NOT_FOUND),
        ("task name taken", ErrorKind::BadRequest, codes::TASK_EXISTS),
        ("unknown task", ErrorKind::NotFound, codes::TASK_NOT_FOUND),
        (
            "task started without labelers",
            ErrorKind::BadRequest,
            codes::TASK_START_FAILED,
        ),
        ("task started twice", ErrorKind::BadRequest, codes::TASK_START_FAILED),
        ("copy version moved", ErrorKind::Conflict, codes::VERSION_CONFLICT),
        ("unknown project", ErrorKind::NotFound, codes::INVALID_PROJECT),
    ] {
        let e = by_case[case];
        assert_eq!((e.kind, e.code), (kind, code), "{first_name}: {case}: {e}");
    }
    assert!(
        first.iter().all(|(_, e)| e.kind != ErrorKind::Internal),
        "{first_name}: no case may be an internal error: {first:?}"
    );
    for (name, errors) in &answers[1..] {
        assert_eq!(errors.len(), first.len(), "{name}");
        for ((case, a), (_, b)) in first.iter().zip(errors) {
            assert_eq!(
                (a.kind, a.code, &a.message, a.retry_after),
                (b.kind, b.code, &b.message, b.retry_after),
                "{case}: {first_name} and {name} differ"
            );
            assert_eq!(body(a), body(b), "{case}: the bodies of {first_name} and {name} differ");
        }
    }
}
