//! Datasets: listed, sorted, filtered and paged within their project.

use teamlabel_api::enums::{DatasetType, LabelType};
use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::store::DatasetQuery;

use crate::common::*;

#[tokio::test]
async fn datasets_are_listed_sorted_filtered_and_paged_within_their_project() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let names = ["b_cat", "a_dog", "c_100%", "d_cat"];
        for (i, n) in names.iter().enumerate() {
            let t = if i == 3 {
                DatasetType::ObjectDetection
            } else {
                DatasetType::ImageClassification
            };
            s.insert_dataset(
                &dataset(&p.id, n, t, 10 + i as i64),
                &[label("Cat", LabelType::ImageClassification)],
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
        s.insert_dataset(&dataset(&other.id, "a_dog", DatasetType::ImageClassification, 1), &[])
            .await
            .unwrap();
        let dup = s
            .insert_dataset(&dataset(&p.id, "a_dog", DatasetType::ImageClassification, 5), &[])
            .await
            .unwrap_err();
        assert_eq!(dup.code, codes::DATASET_EXISTS, "{}", b.name);

        let q = DatasetQuery {
            offset: 0,
            limit: 10,
            sort_by_name: false,
            ascending: false,
            search_content: None,
            dataset_type: None,
        };
        let (total, rows) = s.list_datasets(&p.id, &q).await.unwrap();
        assert_eq!(total, 4);
        assert_eq!(
            rows.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            vec!["d_cat", "c_100%", "a_dog", "b_cat"]
        );

        let by_name = DatasetQuery {
            sort_by_name: true,
            ascending: true,
            limit: 2,
            offset: 1,
            ..q.clone()
        };
        let (total, rows) = s.list_datasets(&p.id, &by_name).await.unwrap();
        assert_eq!(total, 4);
        assert_eq!(
            rows.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            vec!["c_100%", "d_cat"],
            "{}: page 1 of 2",
            b.name
        );

        let search = DatasetQuery {
            search_content: Some("CAT".into()),
            ..q.clone()
        };
        assert_eq!(
            s.list_datasets(&p.id, &search).await.unwrap().0,
            2,
            "{}: case-insensitive",
            b.name
        );
        let percent = DatasetQuery {
            search_content: Some("0%".into()),
            ..q.clone()
        };
        assert_eq!(
            s.list_datasets(&p.id, &percent).await.unwrap().0,
            1,
            "{}: % is literal",
            b.name
        );
        let underscore = DatasetQuery {
            search_content: Some("_".into()),
            ..q.clone()
        };
        assert_eq!(s.list_datasets(&p.id, &underscore).await.unwrap().0, 4);
        let typed = DatasetQuery {
            dataset_type: Some(DatasetType::ObjectDetection),
            ..q.clone()
        };
        assert_eq!(s.list_datasets(&p.id, &typed).await.unwrap().1[0].name, "d_cat");

        let d = &rows[1];
        assert_eq!(s.get_dataset(&p.id, &d.id).await.unwrap(), *d);
        assert_eq!(
            s.get_dataset(&other.id, &d.id).await.unwrap_err().code,
            codes::DATASET_NOT_FOUND,
            "{}: another project's id",
            b.name
        );
        assert_eq!(
            s.delete_dataset(&other.id, &d.id).await.unwrap_err().kind,
            ErrorKind::NotFound
        );
        s.delete_dataset(&p.id, &d.id).await.unwrap();
        assert_eq!(s.get_dataset(&p.id, &d.id).await.unwrap_err().kind, ErrorKind::NotFound);
        assert!(
            s.list_labels(&d.id).await.unwrap().is_empty(),
            "{}: labels go with the dataset",
            b.name
        );
    }
}
