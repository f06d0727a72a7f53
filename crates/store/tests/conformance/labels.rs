//! Label changes: applied in one transaction with their sample policy.

use serde_json::json;
use teamlabel_api::enums::{DatasetType, LabelType, SampleStatus};
use teamlabel_core::error::codes;
use teamlabel_core::store::DatasetChange;

use crate::common::*;

#[tokio::test]
async fn label_changes_apply_in_one_transaction_with_their_sample_policy() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "cls", DatasetType::ImageClassification, 1);
        s.insert_dataset(
            &d,
            &[
                label("cat", LabelType::ImageClassification),
                label("dog", LabelType::ImageClassification),
            ],
        )
        .await
        .unwrap();
        let labels = s.list_labels(&d.id).await.unwrap();
        let (cat, dog) = (&labels[0], &labels[1]);
        let only_cat = sample(&d.id, "cat.png", vec![placed(cat, json!({}))]);
        let both = sample(&d.id, "both.png", vec![placed(cat, json!({})), placed(dog, json!({}))]);
        let only_dog = sample(&d.id, "dog.png", vec![placed(dog, json!({}))]);
        s.insert_samples(&[only_cat.clone(), both.clone(), only_dog.clone()])
            .await
            .unwrap();

        // Rename dog, add bird, change the description and name.
        let mut renamed = dog.clone();
        renamed.name = "puppy".into();
        let change = DatasetChange {
            name: Some("renamed".into()),
            description: Some("new".into()),
            add_labels: vec![label("bird", LabelType::ImageClassification)],
            update_labels: vec![renamed],
            update_time: 7,
            ..DatasetChange::default()
        };
        assert!(s.update_dataset(&d.id, &change).await.unwrap().is_empty());
        let after = s.get_dataset(&p.id, &d.id).await.unwrap();
        assert_eq!(
            (after.name.as_str(), after.description.as_str(), after.update_time),
            ("renamed", "new", 7)
        );
        let names: Vec<_> = s
            .list_labels(&d.id)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(names, vec!["cat", "puppy", "bird"], "{}", b.name);
        assert_eq!(
            s.get_sample(&d.id, &only_dog.id).await.unwrap().labels[0].name,
            "puppy",
            "{}: renames reach samples",
            b.name
        );

        // A rename onto a taken name changes nothing.
        let mut clash = cat.clone();
        clash.name = "bird".into();
        let err = s
            .update_dataset(
                &d.id,
                &DatasetChange {
                    update_labels: vec![clash],
                    description: Some("x".into()),
                    ..DatasetChange::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::LABEL_EXISTS, "{}", b.name);
        assert_eq!(
            s.get_dataset(&p.id, &d.id).await.unwrap().description,
            "new",
            "{}: nothing half-written",
            b.name
        );

        // Policy 1: delete cat and the samples whose only label was cat.
        let deleted = s
            .update_dataset(
                &d.id,
                &DatasetChange {
                    delete_labels: vec![cat.id],
                    delete_policy: 1,
                    ..DatasetChange::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            deleted.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
            vec![only_cat.id.clone()],
            "{}",
            b.name
        );
        let kept = s.get_sample(&d.id, &both.id).await.unwrap();
        assert_eq!(kept.labels.len(), 1);
        assert_eq!(kept.status, SampleStatus::ManualAnnotation);

        // Policy 0: delete puppy; the sample that had only puppy stays, unlabeled.
        let puppy = s
            .list_labels(&d.id)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.name == "puppy")
            .unwrap();
        let deleted = s
            .update_dataset(
                &d.id,
                &DatasetChange {
                    delete_labels: vec![puppy.id],
                    ..DatasetChange::default()
                },
            )
            .await
            .unwrap();
        assert!(deleted.is_empty());
        let orphan = s.get_sample(&d.id, &only_dog.id).await.unwrap();
        assert_eq!(
            (orphan.labels.len(), orphan.status),
            (0, SampleStatus::UnAnnotation),
            "{}",
            b.name
        );

        // A dataset rename onto a taken name is the dataset's 400.
        s.insert_dataset(&dataset(&p.id, "taken", DatasetType::ImageClassification, 2), &[])
            .await
            .unwrap();
        let err = s
            .update_dataset(
                &d.id,
                &DatasetChange {
                    name: Some("taken".into()),
                    ..DatasetChange::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::DATASET_EXISTS, "{}", b.name);
    }
}
