use serde_json::json;
use teamlabel_api::data_io::{CreateExportTaskRequest, ExportParams};
use teamlabel_api::enums::DatasetType;

use super::*;

fn dataset(t: DatasetType) -> DatasetRecord {
    DatasetRecord {
        id: "d".repeat(19),
        project_id: "p".into(),
        name: "pets".into(),
        dataset_type: t,
        description: String::new(),
        data_sources: json!([]),
        work_path: None,
        work_path_type: 0,
        data_format: "Default".into(),
        workspace_id: "0".into(),
        import_annotations: true,
        label_format: None,
        status: 1,
        create_time: 0,
        update_time: 0,
    }
}

fn req(body: serde_json::Value) -> CreateExportTaskRequest {
    serde_json::from_value(body).unwrap()
}

#[test]
fn each_dataset_type_gets_the_format_its_users_train_with() {
    let plan = |t| check_request(&dataset(t), &req(json!({"path": "obs://bkt/out"}))).unwrap();
    assert_eq!(plan(DatasetType::ImageClassification).format, Format::Classification);
    assert_eq!(plan(DatasetType::ImageClassification).export_format, Some(2));
    assert_eq!(plan(DatasetType::ObjectDetection).format, Format::Voc);
    assert_eq!(plan(DatasetType::TextClassification).format, Format::Tsv);
    assert_eq!(plan(DatasetType::NamedEntity).format, Format::Conll);
    assert_eq!(plan(DatasetType::TextTriplet).format, Format::Jsonl);
    assert_eq!(plan(DatasetType::SpeechContent).format, Format::Manifest);
    let p = plan(DatasetType::ObjectDetection);
    assert_eq!(
        (p.path.as_str(), p.export_type, p.header.as_str()),
        ("/bkt/out/", 2, "obs://")
    );
}

#[test]
fn formats_that_cannot_hold_the_labels_are_refused() {
    let d = dataset(DatasetType::ImageClassification);
    for body in [
        json!({"path": "/bkt/o/", "annotation_format": "COCO"}),
        json!({"path": "/bkt/o/", "annotation_format": "yaml"}),
        json!({"path": "/bkt/o/", "annotation_format": "MANIFEST", "export_format": 1}),
        json!({"path": "/bkt/o/", "export_format": 3}),
        json!({"path": "/bkt/o/", "export_type": 4}),
        json!({"path": "/bkt/o/", "source_type_header": "http://"}),
        json!({"path": "/bkt/o/", "export_params": {"samples": ["x"]}, "export_type": 3}),
        json!({"path": "/bkt/o/", "export_params": {"sample_state": "__ALL__"}}),
        json!({"path": "/bkt/o/", "export_params": {"ratio_sample_usage": true, "train_sample_ratio": "1.5"}}),
        json!({"path": "/bkt/o/", "export_type": 3, "version_id": "v"}),
        json!({"path": "/bkt/o/", "sample_state": "__ALL__", "export_type": 3, "export_params": {"sample_state": "__NONE__"}}),
        json!({"path": "/bkt/o/", "export_params": {"export_dest": "NEW_DATASET"}}),
        json!({"path": "/bkt/o/", "export_params": {"export_dest": "ELSEWHERE"}}),
        json!({"path": "/bkt/o/", "export_params": {"export_dataset_version_name": "V1"}}),
    ] {
        let e = check_request(&d, &req(body.clone())).unwrap_err();
        assert_eq!(e.code, codes::EXPORT_BAD_PARAMETER, "{body}: {e:?}");
    }
    for body in [
        json!({"path": "/bkt/../o/"}),
        json!({"path": "/etc//passwd/"}),
        json!({"path": "/bkt/o/", "export_params": {"export_dest": "NEW_DATASET", "export_new_dataset_name": "n",
               "export_new_dataset_work_path": "/bkt/o/inner/"}}),
    ] {
        let e = check_request(&d, &req(body.clone())).unwrap_err();
        assert_eq!(e.code, codes::EXPORT_BAD_PATH, "{body}: {e:?}");
    }
}

#[test]
fn a_new_dataset_export_writes_a_manifest_and_params_are_kept() {
    let d = dataset(DatasetType::ObjectDetection);
    let params = ExportParams {
        export_dest: Some("NEW_DATASET".into()),
        export_new_dataset_name: Some("copy".into()),
        export_new_dataset_work_path: Some("/bkt/work/".into()),
        ratio_sample_usage: Some(true),
        train_sample_ratio: Some(json!(0.8)),
        ..ExportParams::default()
    };
    let plan = check_request(
        &d,
        &CreateExportTaskRequest {
            path: "s3://bkt/in/".into(),
            export_params: Some(params.clone()),
            ..CreateExportTaskRequest::default()
        },
    )
    .unwrap();
    assert_eq!(plan.format, Format::Manifest);
    assert_eq!(plan.ratio, Some(0.8));
    assert_eq!(
        plan.new_dataset,
        Some(NewDataset {
            name: "copy".into(),
            work_path: Some("/bkt/work/".into())
        })
    );
    assert_eq!(plan.params, params);
}

#[test]
fn a_task_answers_its_progress_in_tenths_of_a_percent() {
    let plan = check_request(&dataset(DatasetType::ObjectDetection), &req(json!({"path": "/bkt/o/"}))).unwrap();
    let mut progress = Progress {
        total_sample_count: 3,
        finished_sample_count: 1,
        ..Progress::default()
    };
    let mut t = DataTaskRecord {
        id: "t".repeat(19),
        dataset_id: "d".into(),
        kind: TaskKind::Export,
        subtype: 2,
        status: "RUNNING".into(),
        request: serde_json::to_value(&plan).unwrap(),
        progress: progress.to_value(),
        cursor: None,
        error_code: None,
        error_msg: None,
        create_time: 1,
        update_time: 2,
    };
    let a = export_to_api(&t);
    assert_eq!(
        (a.progress, a.path.as_str(), a.annotation_format.as_str()),
        (33.3, "obs://bkt/o/", "VOC")
    );
    progress.finished_sample_count = 3;
    t.progress = progress.to_value();
    t.status = "SUCCESSED".into();
    assert_eq!(export_to_api(&t).progress, 100.0);
}
