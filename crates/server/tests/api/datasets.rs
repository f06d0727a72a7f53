//! Datasets over HTTP, the happy path: created, read, listed, paged, filtered, updated, deleted.

use serde_json::json;

use crate::helpers::names;

#[tokio::test]
async fn a_dataset_is_created_read_listed_updated_and_deleted() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let created = t
            .post(
                "/datasets",
                json!({
                    "workspace_id": "0",
                    "dataset_name": "dataset-457f",
                    "dataset_type": 0,
                    "data_sources": [{"data_type": 0, "data_path": "/test-obs/classify/input/animals/"}],
                    "description": "animals",
                    "work_path": "/test-obs/classify/output/",
                    "work_path_type": 0,
                    "labels": [
                        {"name": "Rabbits", "type": 0, "property": {"@modelarts:color": "#3399ff", "@modelarts:shortcut": "r"}},
                        {"name": "Bees", "property": {"@modelarts:color": "#3399ff"}}
                    ]
                }),
            )
            .await;
        assert_eq!(created.status, 201, "{b}: {:?}", created.body);
        let id = created.body["dataset_id"].as_str().unwrap().to_string();

        let got = t.get(&format!("/datasets/{id}")).await;
        assert_eq!(got.status, 200, "{b}");
        let d = &got.body;
        assert_eq!(d["dataset_name"], "dataset-457f");
        assert_eq!(d["dataset_type"], 0);
        assert_eq!(d["description"], "animals");
        assert_eq!(
            d["data_sources"],
            json!([{"data_type": 0, "data_path": "/test-obs/classify/input/animals/"}])
        );
        assert_eq!(d["work_path"], "/test-obs/classify/output/");
        assert_eq!(
            d["inner_work_path"],
            format!("/test-obs/classify/output/dataset-457f-{id}/")
        );
        assert_eq!(d["status"], 1);
        assert_eq!(d["total_sample_count"], 0);
        assert_eq!(
            d["labels"][0],
            json!({"name": "Rabbits", "type": 0, "property": {"@modelarts:color": "#3399ff", "@modelarts:shortcut": "r"}})
        );
        assert_eq!(d["labels"][1]["type"], 0, "{b}: the type comes from the dataset type");

        t.dataset("zeta", 1, json!([])).await;
        let list = t
            .get("/datasets?limit=1&offset=0&sort_by=dataset_name&order=asc&with_labels=true")
            .await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["total_number"], 2);
        assert_eq!(names(&list.body, "datasets", "dataset_name"), vec!["dataset-457f"]);
        assert_eq!(list.body["datasets"][0]["labels"].as_array().unwrap().len(), 2);
        let page2 = t.get("/datasets?limit=1&offset=1&sort_by=dataset_name&order=asc").await;
        assert_eq!(
            names(&page2.body, "datasets", "dataset_name"),
            vec!["zeta"],
            "{b}: offset counts pages"
        );
        assert!(page2.body["datasets"][0].get("labels").is_none());
        let filtered = t
            .get("/datasets?dataset_type=1&search_content=ZET&marker=ignored")
            .await;
        assert_eq!(names(&filtered.body, "datasets", "dataset_name"), vec!["zeta"]);

        let updated = t
            .put(
                &format!("/datasets/{id}"),
                json!({
                    "dataset_name": "renamed",
                    "description": "just a test",
                    "add_labels": [{"name": "Ants", "type": 0, "property": {"@modelarts:color": "#3399ff"}}],
                    "update_labels": [{"name": "Bees", "property": {"@modelarts:color": "#000000", "@modelarts:rename_to": "Wasps"}}],
                    "delete_labels": [{"name": "Rabbits"}]
                }),
            )
            .await;
        assert_eq!(updated.status, 200, "{b}: {:?}", updated.body);
        assert_eq!(updated.body, json!({"dataset_id": id}));
        let d = t.get(&format!("/datasets/{id}")).await.body;
        assert_eq!(
            (d["dataset_name"].as_str(), d["description"].as_str()),
            (Some("renamed"), Some("just a test"))
        );
        assert_eq!(
            d["labels"],
            json!([{"name": "Wasps", "type": 0, "property": {"@modelarts:color": "#000000"}}, {"name": "Ants", "type": 0, "property": {"@modelarts:color": "#3399ff"}}])
        );

        let deleted = t.delete(&format!("/datasets/{id}")).await;
        assert_eq!(deleted.status, 204, "{b}");
        assert!(deleted.bytes.is_empty());
        assert_eq!(t.get(&format!("/datasets/{id}")).await.status, 404);
    }
}
