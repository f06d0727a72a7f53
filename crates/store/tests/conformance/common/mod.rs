//! Setup shared by the conformance modules: a store per backend (SQLite in a temporary
//! directory always, PostgreSQL in a schema of its own when `TEST_DATABASE_URL` is set) and
//! small record builders; `team` holds the team records.

pub mod objects;
pub mod s3_bucket;
mod team;

pub use team::*;

use std::sync::Arc;

use serde_json::{json, Map, Value};
use teamlabel_api::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::{new_alnum19, new_hex32};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{DatasetRecord, Project, SampleRecord, Store, User};
use teamlabel_store::{PgStore, SqliteStore};

pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let mut out = vec![Backend {
        name: "sqlite",
        store: Arc::new(sqlite),
        _dir: Some(dir),
    }];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        let schema = format!("conf_{}", new_hex32());
        let pg = PgStore::connect_fresh_schema(&url, &schema)
            .await
            .expect("TEST_DATABASE_URL must reach PostgreSQL");
        out.push(Backend {
            name: "postgres",
            store: Arc::new(pg),
            _dir: None,
        });
    }
    out
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

pub async fn project(store: &dyn Store) -> (Project, User) {
    let p = Project {
        id: new_hex32(),
        name: "p".into(),
        create_time: 1,
    };
    let u = User {
        id: new_hex32(),
        project_id: p.id.clone(),
        email: format!("{}@example.com", new_hex32()),
        role: Role::Owner,
        create_time: 1,
    };
    store.insert_project(&p, &u).await.unwrap();
    (p, u)
}

pub fn dataset(project_id: &str, name: &str, t: DatasetType, time: i64) -> DatasetRecord {
    DatasetRecord {
        id: new_alnum19(),
        project_id: project_id.into(),
        name: name.into(),
        dataset_type: t,
        description: String::new(),
        data_sources: json!([{"data_type": 0, "data_path": "/b/in/"}]),
        work_path: Some("/b/out/".into()),
        work_path_type: 0,
        data_format: "Default".into(),
        workspace_id: "0".into(),
        import_annotations: true,
        label_format: None,
        status: 1,
        create_time: time,
        update_time: time,
    }
}

pub fn label(name: &str, t: LabelType) -> LabelDef {
    LabelDef {
        id: 0,
        name: name.into(),
        label_type: t,
        property: obj(json!({"@modelarts:color": "#3399ff"})),
        attributes: None,
    }
}

pub fn sample(dataset_id: &str, name: &str, labels: Vec<PlacedLabel>) -> SampleRecord {
    SampleRecord {
        id: new_hex32(),
        dataset_id: dataset_id.into(),
        name: name.into(),
        sample_type: SampleType::Image,
        source: None,
        blob_sha256: Some(teamlabel_core::blobs::sha256_hex(name.as_bytes())),
        content_type: Some("image/png".into()),
        size: 10,
        text_len: None,
        inline_text: None,
        metadata: obj(json!({"@modelarts:size": [100, 50, 3]})),
        sample_usage: None,
        status: if labels.is_empty() {
            SampleStatus::UnAnnotation
        } else {
            SampleStatus::ManualAnnotation
        },
        sample_time: 1,
        update_time: 1,
        version: 0,
        labels,
    }
}

pub fn placed(def: &LabelDef, property: Value) -> PlacedLabel {
    PlacedLabel {
        label_id: def.id,
        name: def.name.clone(),
        label_type: def.label_type,
        instance_id: None,
        property: obj(property),
        score: Some(0.5),
        annotated_by: Some("human".into()),
    }
}
