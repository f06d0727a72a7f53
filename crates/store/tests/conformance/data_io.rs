//! Versions, import and export tasks, the keyset scan and the insert that skips taken names.

use serde_json::json;
use teamlabel_api::enums::{DatasetType, LabelType, SampleStatus};
use teamlabel_core::error::codes;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{
    version_status, DataTaskRecord, DataTaskUpdate, SampleQuery, TaskKind, VersionDone, VersionQuery, VersionRecord,
};

use crate::common::*;

fn version(dataset_id: &str, num: i64, name: &str) -> VersionRecord {
    VersionRecord {
        id: new_hex32(),
        dataset_id: dataset_id.into(),
        num,
        name: name.into(),
        previous_id: None,
        status: version_status::CREATING,
        is_current: false,
        format: "Default".into(),
        description: String::new(),
        train_ratio: "0.8".into(),
        options: json!({"clear_hard_property": true}),
        manifest_path: format!("/b/out/{name}/{name}.manifest"),
        data_path: format!("/b/out/{name}/data/"),
        total_sample_count: 0,
        annotated_sample_count: 0,
        label_stats: json!([]),
        message: None,
        create_time: 1000 + num,
        update_time: 1000 + num,
    }
}

fn done(v: &VersionRecord, status: i32) -> VersionDone {
    VersionDone {
        dataset_id: v.dataset_id.clone(),
        id: v.id.clone(),
        status,
        total_sample_count: 3,
        annotated_sample_count: 2,
        label_stats: json!([{"name": "cat", "count": 2, "sample_count": 2}]),
        message: None,
        update_time: 5000,
    }
}

#[tokio::test]
async fn versions_are_numbered_named_once_and_one_is_current() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "cls", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[]).await.unwrap();
        assert_eq!(s.version_summary(&d.id).await.unwrap().next_num, 1, "{}", b.name);

        let v1 = version(&d.id, 1, "V001");
        s.insert_version(&v1).await.unwrap();
        let clash = s.insert_version(&version(&d.id, 2, "V001")).await.unwrap_err();
        assert_eq!(clash.code, codes::VERSION_EXISTS, "{}", b.name);
        let busy = s.insert_version(&version(&d.id, 1, "V009")).await.unwrap_err();
        assert_eq!(busy.code, codes::VERSION_PUBLISHING, "{}", b.name);

        assert!(s.touch_version(&d.id, &v1.id, 777).await.unwrap(), "{}", b.name);
        let alive = s.get_version(&d.id, &v1.id).await.unwrap().unwrap();
        assert_eq!(alive.update_time, 777, "{}: the heartbeat moves update_time", b.name);
        s.finish_version(&done(&v1, version_status::NORMAL)).await.unwrap();
        assert!(
            !s.touch_version(&d.id, &v1.id, 778).await.unwrap(),
            "{}: a finished version has no heartbeat",
            b.name
        );
        let again = s.finish_version(&done(&v1, version_status::NORMAL)).await.unwrap_err();
        assert_eq!(
            again.code,
            codes::VERSION_CONFLICT,
            "{}: a version is finished once",
            b.name
        );
        let got = s.get_version(&d.id, &v1.id).await.unwrap().unwrap();
        assert!(got.is_current);
        assert_eq!(
            (got.status, got.total_sample_count, got.annotated_sample_count),
            (1, 3, 2)
        );
        assert_eq!(got.label_stats, json!([{"name": "cat", "count": 2, "sample_count": 2}]));
        assert_eq!(got.options, v1.options);

        let v2 = version(&d.id, 2, "V002");
        s.insert_version(&v2).await.unwrap();
        s.finish_version(&done(&v2, version_status::NORMAL)).await.unwrap();
        let v3 = version(&d.id, 3, "V003");
        s.insert_version(&v3).await.unwrap();
        s.finish_version(&done(&v3, version_status::ERROR)).await.unwrap();

        let summary = s.version_summary(&d.id).await.unwrap();
        assert_eq!(summary.current_id.as_deref(), Some(v2.id.as_str()), "{}", b.name);
        assert_eq!(summary.current_name.as_deref(), Some("V002"));
        assert_eq!((summary.count, summary.next_num), (3, 4));
        assert!(!s.get_version(&d.id, &v1.id).await.unwrap().unwrap().is_current);

        let all = VersionQuery {
            limit: 10,
            ..Default::default()
        };
        let (total, page) = s.list_versions(&d.id, &all).await.unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            page.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            ["V003", "V002", "V001"]
        );
        let normal = VersionQuery {
            status: Some(version_status::NORMAL),
            limit: 1,
            offset: 1,
            ..Default::default()
        };
        let (total, page) = s.list_versions(&d.id, &normal).await.unwrap();
        assert_eq!((total, page.len(), page[0].name.as_str()), (2, 1, "V001"), "{}", b.name);

        assert!(s.delete_version(&d.id, &v2.id, 6000).await.unwrap());
        assert!(!s.delete_version(&d.id, &v2.id, 6001).await.unwrap(), "{}", b.name);
        let summary = s.version_summary(&d.id).await.unwrap();
        assert_eq!(
            summary.current_id, None,
            "{}: the deleted version is not current",
            b.name
        );
        assert_eq!(
            (summary.count, summary.next_num),
            (2, 4),
            "{}: numbers are not reused",
            b.name
        );
        // The name of a deleted version is free again.
        s.insert_version(&version(&d.id, 4, "V002")).await.unwrap();
        assert_eq!(s.unfinished_versions().await.unwrap().len(), 1, "{}", b.name);
    }
}

fn data_task(dataset_id: &str, kind: TaskKind, status: &str, time: i64) -> DataTaskRecord {
    DataTaskRecord {
        id: new_hex32(),
        dataset_id: dataset_id.into(),
        kind,
        subtype: 1,
        status: status.into(),
        request: json!({"import_path": "/b/in/"}),
        progress: json!({"total_sample_count": 0}),
        cursor: None,
        error_code: None,
        error_msg: None,
        create_time: time,
        update_time: time,
    }
}

#[tokio::test]
async fn one_import_runs_at_a_time_and_tasks_move_only_from_their_state() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "cls", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[]).await.unwrap();

        let first = data_task(&d.id, TaskKind::Import, "QUEUING", 10);
        s.insert_data_task(&first).await.unwrap();
        let second = s
            .insert_data_task(&data_task(&d.id, TaskKind::Import, "RUNNING", 11))
            .await
            .unwrap_err();
        assert_eq!(second.code, codes::IMPORT_RUNNING, "{}", b.name);
        // Exports run beside imports, and so does one sync.
        let export = data_task(&d.id, TaskKind::Export, "INIT", 12);
        s.insert_data_task(&export).await.unwrap();
        let sync = data_task(&d.id, TaskKind::Sync, "RUNNING", 13);
        s.insert_data_task(&sync).await.unwrap();
        let second_sync = s
            .insert_data_task(&data_task(&d.id, TaskKind::Sync, "RUNNING", 14))
            .await
            .unwrap_err();
        assert_eq!(second_sync.code, codes::SYNC_RUNNING, "{}", b.name);
        let mut ended = data_task(&d.id, TaskKind::Sync, "COMPLETED", 9);
        ended.id = new_hex32();
        s.insert_data_task(&ended).await.unwrap();
        let (n, latest) = s.list_data_tasks(&d.id, TaskKind::Sync, None, 0, 1).await.unwrap();
        assert_eq!((n, latest[0].id.as_str()), (2, sync.id.as_str()), "{}", b.name);

        let run = DataTaskUpdate {
            id: first.id.clone(),
            from: vec!["QUEUING".into()],
            status: "RUNNING".into(),
            progress: json!({"total_sample_count": 7}),
            cursor: Some("a/b.jpg".into()),
            error_code: None,
            error_msg: None,
            update_time: 20,
            event: None,
        };
        s.update_data_task(&run).await.unwrap();
        let stale = s.update_data_task(&run).await.unwrap_err();
        assert_eq!(
            stale.code,
            codes::VERSION_CONFLICT,
            "{}: a task moves only from its state",
            b.name
        );
        let got = s
            .get_data_task(&d.id, TaskKind::Import, &first.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.status.as_str(), got.cursor.as_deref()),
            ("RUNNING", Some("a/b.jpg"))
        );
        assert_eq!(got.progress, json!({"total_sample_count": 7}));
        assert!(s
            .get_data_task(&d.id, TaskKind::Export, &first.id)
            .await
            .unwrap()
            .is_none());

        let unfinished = s.unfinished_data_tasks().await.unwrap();
        let mine: Vec<&str> = unfinished
            .iter()
            .filter(|t| t.dataset_id == d.id)
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(
            mine,
            [first.id.as_str(), export.id.as_str(), sync.id.as_str()],
            "{}",
            b.name
        );

        s.update_data_task(&DataTaskUpdate {
            from: vec!["RUNNING".into()],
            status: "COMPLETED".into(),
            update_time: 30,
            ..run.clone()
        })
        .await
        .unwrap();
        s.insert_data_task(&data_task(&d.id, TaskKind::Import, "QUEUING", 40))
            .await
            .unwrap();
        let (total, page) = s.list_data_tasks(&d.id, TaskKind::Import, None, 0, 1).await.unwrap();
        assert_eq!((total, page[0].create_time), (2, 40), "{}: newest first", b.name);
        let (total, page) = s.list_data_tasks(&d.id, TaskKind::Import, None, 1, 5).await.unwrap();
        assert_eq!((total, page.len(), page[0].id.as_str()), (2, 1, first.id.as_str()));
        let (total, _) = s.list_data_tasks(&d.id, TaskKind::Import, Some(0), 0, 5).await.unwrap();
        assert_eq!(total, 0, "{}", b.name);
    }
}

#[tokio::test]
async fn scans_go_by_seq_and_inserts_skip_taken_names() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "cls", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[label("cat", LabelType::ImageClassification)])
            .await
            .unwrap();
        let cat = s.list_labels(&d.id).await.unwrap().remove(0);

        let mut batch: Vec<_> = (0..5).map(|i| sample(&d.id, &format!("{i}.jpg"), vec![])).collect();
        batch[1] = sample(&d.id, "1.jpg", vec![placed(&cat, json!({}))]);
        batch[1].status = SampleStatus::ManualAnnotation;
        let inserted = s.insert_new_samples(&batch[..3]).await.unwrap();
        assert_eq!(inserted, ["0.jpg", "1.jpg", "2.jpg"], "{}", b.name);
        // Taken names are skipped, with their labels; new ones go in.
        let mut again = batch.clone();
        again[0].labels = vec![placed(&cat, json!({}))];
        again.iter_mut().for_each(|x| x.id = new_hex32());
        let inserted = s.insert_new_samples(&again).await.unwrap();
        assert_eq!(inserted, ["3.jpg", "4.jpg"], "{}", b.name);
        // What an import runs after many samples came in: it must work on every backend.
        s.refresh_statistics()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", b.name));
        assert!(s.insert_new_samples(&[]).await.unwrap().is_empty());

        let all = SampleQuery::default();
        let first = s.scan_samples(&d.id, &all, 0, 2).await.unwrap();
        assert_eq!(first.len(), 2);
        let after = first[1].0;
        let rest = s.scan_samples(&d.id, &all, after, 10).await.unwrap();
        let names: Vec<&str> = first.iter().chain(&rest).map(|(_, x)| x.name.as_str()).collect();
        assert_eq!(names, ["0.jpg", "1.jpg", "2.jpg", "3.jpg", "4.jpg"], "{}", b.name);
        assert!(
            first[0].1.labels.is_empty(),
            "{}: the skipped copy's label did not land",
            b.name
        );
        assert_eq!(first[1].1.labels.len(), 1);
        assert_eq!(first[1].1, batch[1], "{}", b.name);

        let labeled = SampleQuery {
            statuses: Some(vec![SampleStatus::ManualAnnotation]),
            ..Default::default()
        };
        let only = s.scan_samples(&d.id, &labeled, 0, 10).await.unwrap();
        assert_eq!(only.len(), 1, "{}", b.name);
        assert_eq!(only[0].1.name, "1.jpg");
    }
}

/// The samples a directory import of a folder made, walked in byte order of their names beside
/// the object listing, and their removal with a history row each.
#[tokio::test]
async fn source_samples_walk_by_name_and_removal_keeps_a_history_row() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, owner) = project(s).await;
        let d = dataset(&p.id, "src", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[]).await.unwrap();
        let from = |name: &str, source: &str| {
            let mut x = sample(&d.id, name, vec![]);
            x.source = Some(source.into());
            x.blob_sha256 = None;
            x
        };
        // Byte order puts "B" before "a" and "a/b" before "a0"; a sample from another folder,
        // or uploaded, is not walked.
        let samples = vec![
            from("a0.png", "obs://bkt/in/a0.png"),
            from("a/b.png", "obs://bkt/in/a/b.png"),
            from("B.png", "obs://bkt/in/B.png"),
            from("é.png", "obs://bkt/in/é.png"),
            from("other.png", "obs://bkt/elsewhere/other.png"),
            sample(&d.id, "uploaded.png", vec![]),
        ];
        s.insert_samples(&samples).await.unwrap();
        let walked = s.source_samples(&d.id, "obs://bkt/in/", "", 2).await.unwrap();
        let names: Vec<&str> = walked.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["B.png", "a/b.png"], "{}", b.name);
        let rest = s.source_samples(&d.id, "obs://bkt/in/", "a/b.png", 10).await.unwrap();
        let names: Vec<&str> = rest.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["a0.png", "é.png"], "{}", b.name);

        let gone = |x: &teamlabel_core::store::SampleRecord| {
            let mut h = crate::common::history(
                &d.id,
                &x.id,
                None,
                None,
                &owner,
                50,
                ("UN_ANNOTATION", "DELETED"),
                "x",
                1,
            );
            h.step.event = "source_removed".into();
            h
        };
        let removed = s
            .remove_samples(&d.id, &[gone(&samples[0]), gone(&samples[2])])
            .await
            .unwrap();
        assert_eq!(removed, 2, "{}", b.name);
        // Removing it again removes nothing and writes no second row.
        assert_eq!(
            s.remove_samples(&d.id, &[gone(&samples[0])]).await.unwrap(),
            0,
            "{}",
            b.name
        );
        let (total, rows) = s.list_history(&d.id, &samples[0].id, 0, 10).await.unwrap();
        assert_eq!(total, 1, "{}", b.name);
        assert_eq!(rows[0].step.event, "source_removed", "{}", b.name);
        assert!(s
            .load_samples(&d.id, &[samples[0].id.clone()])
            .await
            .unwrap()
            .is_empty());
        let left = s.source_samples(&d.id, "obs://bkt/in/", "", 10).await.unwrap();
        assert_eq!(left.len(), 2, "{}", b.name);
    }
}
