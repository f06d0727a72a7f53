//! Samples: stored with labels and filtered; concurrent writes each get their own result.

use serde_json::json;
use teamlabel_api::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_core::error::codes;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{DatasetQuery, SampleQuery};

use crate::common::*;

#[tokio::test]
async fn samples_are_stored_with_labels_and_filtered() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "det", DatasetType::ObjectDetection, 1);
        s.insert_dataset(
            &d,
            &[
                label("car", LabelType::ObjectDetection),
                label("bus", LabelType::ObjectDetection),
            ],
        )
        .await
        .unwrap();
        let labels = s.list_labels(&d.id).await.unwrap();
        assert_eq!(
            labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            vec!["car", "bus"]
        );
        let (car, bus) = (&labels[0], &labels[1]);
        let boxed = json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [3, 4]]});
        let samples = vec![
            sample(
                &d.id,
                "0.png",
                vec![placed(car, boxed.clone()), placed(car, boxed.clone())],
            ),
            sample(&d.id, "1.png", vec![placed(bus, boxed.clone())]),
            sample(
                &d.id,
                "2.png",
                vec![placed(car, boxed.clone()), placed(bus, boxed.clone())],
            ),
            sample(&d.id, "3.png", vec![]),
        ];
        s.insert_samples(&samples)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let dup = s.insert_samples(&[sample(&d.id, "0.png", vec![])]).await.unwrap_err();
        assert_eq!(dup.code, codes::SAMPLE_EXISTS, "{}", b.name);

        let got = s.get_sample(&d.id, &samples[2].id).await.unwrap();
        assert_eq!(got, samples[2], "{}: a sample reads back as written", b.name);
        assert_eq!(
            s.get_sample(&d.id, &new_hex32()).await.unwrap_err().code,
            codes::SAMPLE_NOT_FOUND
        );

        let all = SampleQuery {
            limit: 10,
            ..SampleQuery::default()
        };
        let (n, rows) = s.list_samples(&d.id, &all).await.unwrap();
        assert_eq!(n, 4);
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["3.png", "2.png", "1.png", "0.png"]
        );
        assert_eq!(rows[1], samples[2]);
        let asc_page = SampleQuery {
            limit: 3,
            offset: 1,
            ascending: true,
            ..SampleQuery::default()
        };
        let (n, rows) = s.list_samples(&d.id, &asc_page).await.unwrap();
        assert_eq!(
            (n, rows.len(), rows[0].name.as_str()),
            (4, 1, "3.png"),
            "{}: page 1 of size 3",
            b.name
        );

        let unlabeled = SampleQuery {
            statuses: Some(vec![SampleStatus::UnAnnotation]),
            ..all.clone()
        };
        assert_eq!(s.list_samples(&d.id, &unlabeled).await.unwrap().0, 1);
        let with_car = SampleQuery {
            label_groups: vec![vec![car.id]],
            ..all.clone()
        };
        assert_eq!(s.list_samples(&d.id, &with_car).await.unwrap().0, 2);
        let car_and_bus = SampleQuery {
            label_groups: vec![vec![car.id], vec![bus.id]],
            ..all.clone()
        };
        assert_eq!(s.list_samples(&d.id, &car_and_bus).await.unwrap().1[0].name, "2.png");
        let car_or_bus = SampleQuery {
            label_groups: vec![vec![car.id, bus.id]],
            ..all.clone()
        };
        assert_eq!(s.list_samples(&d.id, &car_or_bus).await.unwrap().0, 3);
        let nothing = SampleQuery {
            label_groups: vec![vec![]],
            ..all.clone()
        };
        assert_eq!(
            s.list_samples(&d.id, &nothing).await.unwrap().0,
            0,
            "{}: an empty group matches nothing",
            b.name
        );
        let by_name = SampleQuery {
            name: Some("1.png".into()),
            ..all.clone()
        };
        assert_eq!(s.list_samples(&d.id, &by_name).await.unwrap().0, 1);
        let by_type = SampleQuery {
            sample_type: Some(SampleType::Text),
            ..all.clone()
        };
        assert_eq!(s.list_samples(&d.id, &by_type).await.unwrap().0, 0);

        let counts = s.sample_counts(&[d.id.clone(), "none".into()]).await.unwrap();
        assert_eq!(
            (
                counts[&d.id].total,
                counts[&d.id].un_annotation,
                counts[&d.id].manual_annotation
            ),
            (4, 1, 3)
        );
        assert_eq!(counts["none"].total, 0);
        let mut usage = s.label_usage(&d.id).await.unwrap();
        usage.sort_by_key(|u| u.label_id);
        assert_eq!(
            usage.iter().map(|u| (u.count, u.sample_count)).collect::<Vec<_>>(),
            vec![(3, 2), (2, 2)],
            "{}",
            b.name
        );

        let names = s
            .find_sample_names(&d.id, &["0.png".into(), "9.png".into()])
            .await
            .unwrap();
        assert_eq!(names.into_iter().collect::<Vec<_>>(), vec!["0.png".to_string()]);

        let sha = samples[0].blob_sha256.clone().unwrap();
        assert!(s.blob_in_use(&sha).await.unwrap());
        let deleted = s
            .delete_samples(&d.id, &[samples[0].id.clone(), new_hex32()])
            .await
            .unwrap();
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].blob_sha256.as_deref(), Some(sha.as_str()));
        assert!(!s.blob_in_use(&sha).await.unwrap(), "{}", b.name);
        assert_eq!(s.list_samples(&d.id, &all).await.unwrap().0, 3);
    }
}

#[tokio::test]
async fn concurrent_writes_each_get_their_own_result_and_a_failure_spares_its_neighbours() {
    for b in backends().await {
        let (p, _) = project(b.store.as_ref()).await;
        // 64 concurrent inserts, every fourth reusing a name: those fail alone.
        let mut tasks = Vec::new();
        for i in 0..64 {
            let store = b.store.clone();
            let pid = p.id.clone();
            let name = if i % 4 == 3 {
                format!("d{}", i - 1)
            } else {
                format!("d{i}")
            };
            tasks.push(tokio::spawn(async move {
                // Give the duplicate a head start of nothing: order is up to the scheduler.
                if i % 4 == 3 {
                    tokio::task::yield_now().await;
                }
                store
                    .insert_dataset(&dataset(&pid, &name, DatasetType::ImageClassification, i), &[])
                    .await
            }));
        }
        let mut ok = 0;
        let mut taken = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(e) => {
                    assert_eq!(e.code, codes::DATASET_EXISTS, "{}: {e}", b.name);
                    taken += 1;
                }
            }
        }
        assert_eq!((ok, taken), (48, 16), "{}", b.name);
        let q = DatasetQuery {
            offset: 0,
            limit: 100,
            sort_by_name: true,
            ascending: true,
            search_content: None,
            dataset_type: None,
        };
        assert_eq!(
            b.store.list_datasets(&p.id, &q).await.unwrap().0,
            48,
            "{}: every acknowledged write is there",
            b.name
        );
    }
}
