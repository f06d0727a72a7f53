//! Labels over HTTP, the happy path: listed, created, changed, renamed and deleted, with the
//! samples that carry them.

use serde_json::json;

use crate::helpers::names;

#[tokio::test]
async fn labels_are_listed_created_changed_renamed_and_deleted_with_their_samples() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let ds = t.dataset("cls", 0, json!([{"name": "cat"}, {"name": "dog"}])).await;
        let path = format!("/datasets/{ds}/data-annotations/labels");

        let created = t
            .post(
                &path,
                json!({"labels": [{"name": "Cat2", "property": {"@modelarts:color": "#3399ff"}}, {"name": "草莓"}]}),
            )
            .await;
        assert_eq!(created.status, 200, "{b}: {:?}", created.body);
        assert_eq!(created.body["success"], true);
        assert_eq!(created.body["results"].as_array().unwrap().len(), 2);
        let list = t.get(&path).await;
        assert_eq!(list.body["total_number"], 4);
        assert_eq!(names(&list.body, "labels", "name"), vec!["cat", "dog", "Cat2", "草莓"]);
        let page = t.get(&format!("{path}?limit=3&offset=1")).await;
        assert_eq!(names(&page.body, "labels", "name"), vec!["草莓"]);

        let ids = t
            .samples(
                &ds,
                json!([
                    {"source": "http://x/a.jpg", "labels": [{"name": "cat"}]},
                    {"source": "http://x/b.jpg", "labels": [{"name": "cat"}, {"name": "dog"}]},
                    {"source": "http://x/c.jpg", "labels": [{"name": "草莓"}]}
                ]),
            )
            .await;

        let changed = t.put(&path, json!({"labels": [{"name": "cat", "property": {"@modelarts:color": "#8a1524", "@modelarts:rename_to": "pussycat"}}]})).await;
        assert_eq!(changed.status, 200, "{b}: {:?}", changed.body);
        let s = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[0]))
            .await
            .body;
        assert_eq!(s["labels"][0]["name"], "pussycat", "{b}: a rename reaches the samples");

        let by_name = t
            .put(
                &format!("{path}/Cat2?label_type=0"),
                json!({"@modelarts:color": "#93c47d"}),
            )
            .await;
        assert_eq!(by_name.status, 204, "{b}: {:?}", by_name.body);
        let list = t.get(&path).await.body;
        assert_eq!(list["labels"][2]["property"]["@modelarts:color"], "#93c47d");

        // Policy 1: pussycat goes, and so does the sample that carried only pussycat.
        let deleted = t
            .post(
                &format!("{path}/delete?delete_policy=1"),
                json!({"labels": [{"name": "pussycat"}]}),
            )
            .await;
        assert_eq!(deleted.status, 200, "{b}: {:?}", deleted.body);
        assert_eq!(
            t.get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[0]))
                .await
                .status,
            404
        );
        let kept = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[1]))
            .await
            .body;
        assert_eq!(names(&kept, "labels", "name"), vec!["dog"]);

        // By name, URL-encoded UTF-8: the label and the sample that had only it are gone.
        let del = t.delete(&format!("{path}/%E8%8D%89%E8%8E%93")).await;
        assert_eq!(del.status, 204, "{b}: {:?}", del.body);
        assert_eq!(
            t.get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[2]))
                .await
                .status,
            404
        );
        assert_eq!(names(&t.get(&path).await.body, "labels", "name"), vec!["dog", "Cat2"]);

        // Policy 0 keeps the samples, now unlabeled.
        let del = t
            .post(&format!("{path}/delete"), json!({"labels": [{"name": "dog"}]}))
            .await;
        assert_eq!(del.status, 200);
        let s = t
            .get(&format!("/datasets/{ds}/data-annotations/samples/{}", ids[1]))
            .await
            .body;
        assert_eq!(
            (s["labels"].as_array().unwrap().len(), s["sample_status"].as_str()),
            (0, Some("UN_ANNOTATION")),
            "{b}"
        );
    }
}
