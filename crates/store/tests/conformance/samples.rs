//! Samples: stored with labels and filtered; concurrent writes each get their own result.

use serde_json::json;
use teamlabel_api::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_core::error::codes;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{DatasetQuery, SampleQuery, SampleRecord};

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

#[tokio::test]
async fn a_kept_text_reads_back_through_every_sample_read_and_team_read() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "texts", DatasetType::TextClassification, 1);
        s.insert_dataset(&d, &[label("positive", LabelType::TextClassification)])
            .await
            .unwrap();
        let text = |name: &str, kept: Option<String>| SampleRecord {
            sample_type: SampleType::Text,
            content_type: Some("text/plain; charset=utf-8".into()),
            size: kept.as_ref().map_or(70_000, |t| t.len() as i64),
            inline_text: kept,
            metadata: obj(json!({})),
            ..sample(&d.id, name, vec![])
        };
        // 65,536 bytes of two-, three- and four-byte characters, with quotes and a newline.
        let full = format!("{}\"'\n{}", "ö数😀".repeat(7281), "é".repeat(2));
        assert_eq!(full.len(), 64 * 1024);
        let samples = vec![
            text("short.txt", Some("Zoë Ångström schrieb 数学".into())),
            text("full.txt", Some(full)),
            text("empty.txt", Some(String::new())),
            text("long.txt", None),
            sample(&d.id, "0.png", vec![]),
        ];
        s.insert_samples(&samples)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));

        for want in &samples {
            let got = s.get_sample(&d.id, &want.id).await.unwrap();
            assert_eq!(&got, want, "{}: {} reads back as written", b.name, want.name);
        }
        let all = SampleQuery {
            limit: 10,
            ascending: true,
            ..SampleQuery::default()
        };
        let (n, listed) = s.list_samples(&d.id, &all).await.unwrap();
        assert_eq!((n, &listed), (5, &samples), "{}: listed as written", b.name);
        let ids: Vec<String> = samples.iter().map(|x| x.id.clone()).collect();
        assert_eq!(
            s.load_samples(&d.id, &ids).await.unwrap(),
            samples,
            "{}: loaded as written",
            b.name
        );

        // Team reads select the copy's columns after the sample's: both decode.
        let team = workforce(&p.id, "labelers", 1);
        s.insert_workforce(&team).await.unwrap();
        let u = user(s, &p.id, "lab@example.com").await;
        let w = worker(&team.id, &u, teamlabel_core::iam::auth::Role::Labeler, 10);
        s.insert_worker(&w).await.unwrap();
        let t = task(&d.id, "t", 100, 1);
        s.insert_task(&t, std::slice::from_ref(&w.id)).await.unwrap();
        s.start_task(
            &t.id,
            &d.id,
            &SampleQuery::default(),
            std::slice::from_ref(&w.id),
            1,
            1,
            200,
        )
        .await
        .unwrap();
        let (n, rows) = s.list_team_samples(&t.id, &all_team_samples()).await.unwrap();
        assert_eq!(n, 5, "{}", b.name);
        for (row, want) in rows.iter().zip(&samples) {
            assert_eq!(&row.sample, want, "{}: {} in the team list", b.name, want.name);
            assert_eq!(
                (row.copy.worker_id.as_str(), row.copy.state.as_str(), row.copy.version),
                (w.id.as_str(), NONE, 0),
                "{}",
                b.name
            );
        }
        let loaded = s.load_team_samples(&t.id, &d.id, &ids).await.unwrap();
        for (one, want) in loaded.iter().zip(&samples) {
            assert_eq!(&one.sample, want, "{}: {} loaded for a team write", b.name, want.name);
            assert_eq!(one.copies.len(), 1, "{}", b.name);
            assert_eq!(one.copies[0].worker_id, w.id, "{}", b.name);
        }
    }
}
