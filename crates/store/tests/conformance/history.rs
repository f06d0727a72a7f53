//! Dataset-level sample writes with version checks, and the annotation history.

use serde_json::json;
use teamlabel_api::enums::SampleStatus;
use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::ids::{new_alnum19, new_hex32};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{SampleRecord, SampleWrite};

use crate::common::*;

#[tokio::test]
async fn sample_writes_replace_dataset_labels_with_version_checks() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Samples: 0 dog, 1 cat, 2 -.
        let f = fixture(s, 3, 0).await;
        let (s0, s1, s2) = (&f.samples[0], &f.samples[1], &f.samples[2]);

        let loaded = s
            .load_samples(
                &f.dataset.id,
                &[s2.id.clone(), new_hex32(), s0.id.clone(), s2.id.clone()],
            )
            .await
            .unwrap();
        assert_eq!(
            loaded,
            vec![s2.clone(), s0.clone()],
            "{}: with labels, in request order",
            b.name
        );
        assert_eq!(
            s.load_samples(&new_alnum19(), std::slice::from_ref(&s0.id))
                .await
                .unwrap(),
            vec![],
            "{}: another dataset",
            b.name
        );

        let sw = |x: &SampleRecord, expected: i64, labels: Vec<PlacedLabel>, time: i64| SampleWrite {
            dataset_id: f.dataset.id.clone(),
            sample_id: x.id.clone(),
            expected_version: expected,
            labels,
            metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": time})),
            sample_usage: None,
            status: SampleStatus::ManualAnnotation,
            update_time: time,
        };
        let h = |x: &SampleRecord, time: i64, version_after: i64| {
            history(
                &f.dataset.id,
                &x.id,
                None,
                None,
                &f.owner,
                time,
                ("UN_ANNOTATION", "MANUAL_ANNOTATION"),
                "cat",
                version_after,
            )
        };
        let cat = placed(&f.cat, json!({"@modelarts:shape": "bndbox"}));
        let dog = placed(&f.dog, json!({}));

        let first = SampleWrite {
            sample_usage: Some("TEST".into()),
            ..sw(s2, 0, vec![cat.clone(), dog.clone()], 50)
        };
        let h1 = h(s2, 50, 1);
        s.write_samples(&[first], std::slice::from_ref(&h1))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let want = SampleRecord {
            labels: vec![cat.clone(), dog.clone()],
            metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": 50})),
            sample_usage: Some("TEST".into()),
            status: SampleStatus::ManualAnnotation,
            update_time: 50,
            version: 1,
            ..s2.clone()
        };
        assert_eq!(s.get_sample(&f.dataset.id, &s2.id).await.unwrap(), want, "{}", b.name);

        // Usage left out keeps the old; labels and status replace.
        let cleared = SampleWrite {
            status: SampleStatus::UnAnnotation,
            ..sw(s2, 1, vec![], 60)
        };
        let h2 = h(s2, 60, 2);
        s.write_samples(&[cleared], std::slice::from_ref(&h2)).await.unwrap();
        let want = SampleRecord {
            labels: vec![],
            metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": 60})),
            status: SampleStatus::UnAnnotation,
            update_time: 60,
            version: 2,
            ..want
        };
        assert_eq!(s.get_sample(&f.dataset.id, &s2.id).await.unwrap(), want, "{}", b.name);

        // A stale write: nothing of the batch, not the valid write before it, nor history.
        for batch in [
            vec![sw(s0, 0, vec![cat.clone()], 70), sw(s2, 1, vec![dog.clone()], 70)],
            vec![sw(s2, 1, vec![dog.clone()], 70), sw(s0, 0, vec![cat.clone()], 70)],
            vec![sw(s1, 0, vec![dog.clone()], 70), sw(s1, 0, vec![cat.clone()], 70)],
            vec![
                sw(s0, 0, vec![cat.clone()], 70),
                SampleWrite {
                    dataset_id: new_alnum19(),
                    ..sw(s1, 0, vec![cat.clone()], 70)
                },
            ],
        ] {
            let err = s
                .write_samples(&batch, &[h(s0, 70, 1), h(s2, 70, 3)])
                .await
                .unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::Conflict, codes::VERSION_CONFLICT),
                "{}",
                b.name
            );
            assert_eq!(
                s.load_samples(&f.dataset.id, &[s0.id.clone(), s1.id.clone(), s2.id.clone()])
                    .await
                    .unwrap(),
                vec![s0.clone(), s1.clone(), want.clone()],
                "{}: nothing written",
                b.name
            );
            assert_eq!(
                s.list_history(&f.dataset.id, &s0.id, 0, 10).await.unwrap().0,
                0,
                "{}",
                b.name
            );
            assert_eq!(
                s.list_history(&f.dataset.id, &s2.id, 0, 10).await.unwrap().0,
                2,
                "{}",
                b.name
            );
        }

        // The same sample twice in one call, at v and v + 1.
        let twice = vec![
            sw(s1, 0, vec![dog.clone()], 80),
            sw(s1, 1, vec![cat.clone(), cat.clone()], 81),
        ];
        s.write_samples(&twice, &[h(s1, 80, 1), h(s1, 81, 2)])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(
            s.get_sample(&f.dataset.id, &s1.id).await.unwrap(),
            SampleRecord {
                labels: vec![cat.clone(), cat.clone()],
                metadata: obj(json!({"@modelarts:size": [1, 2, 3], "w": 81})),
                status: SampleStatus::ManualAnnotation,
                update_time: 81,
                version: 2,
                ..s1.clone()
            },
            "{}",
            b.name
        );
        let mut usage_now = usage(s.label_usage(&f.dataset.id).await.unwrap());
        usage_now.sort();
        let mut want_usage = vec![(f.cat.id, 2, 1), (f.dog.id, 1, 1)];
        want_usage.sort();
        assert_eq!(usage_now, want_usage, "{}: s0 dog, s1 cat cat", b.name);

        let (total, rows) = s.list_history(&f.dataset.id, &s2.id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows.iter().map(without_id).collect::<Vec<_>>()),
            (2, vec![h2.clone(), h1.clone()]),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn history_is_listed_newest_first_with_paging_and_a_total() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let t = f.started(s, "t", &[f.labelers[0].id.clone()], 1).await;
        let copy = f.copies(s, &t.id).await[0][0].clone();
        let mut written = Vec::new();
        for v in 0..5_i64 {
            let h = history(
                &f.dataset.id,
                &f.samples[0].id,
                Some(&t.id),
                Some(&copy.worker_id),
                &f.owner,
                100 + v,
                (NONE, UNREVIEWED),
                &format!("l{v}"),
                v + 1,
            );
            s.write_copies(
                &[write(copy.id, v, vec![], UNREVIEWED, 100 + v)],
                std::slice::from_ref(&h),
            )
            .await
            .unwrap();
            written.push(h);
        }
        // Another sample's and another dataset's rows are not listed.
        let other = history(
            &f.dataset.id,
            &f.samples[1].id,
            None,
            None,
            &f.owner,
            1,
            (NONE, NONE),
            "x",
            1,
        );
        let elsewhere = history(
            &new_alnum19(),
            &f.samples[0].id,
            None,
            None,
            &f.owner,
            1,
            (NONE, NONE),
            "x",
            1,
        );
        s.write_samples(&[], &[other, elsewhere]).await.unwrap();

        written.reverse();
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(total, 5, "{}", b.name);
        assert_eq!(rows.iter().map(without_id).collect::<Vec<_>>(), written, "{}", b.name);
        assert!(rows.windows(2).all(|w| w[0].id > w[1].id), "{}: ids descend", b.name);
        let (total, page) = s.list_history(&f.dataset.id, &f.samples[0].id, 1, 2).await.unwrap();
        assert_eq!((total, page), (5, rows[2..4].to_vec()), "{}: page 1 of 2", b.name);
        let (total, page) = s.list_history(&f.dataset.id, &f.samples[0].id, 2, 2).await.unwrap();
        assert_eq!((total, page), (5, rows[4..].to_vec()), "{}: last page", b.name);
        let (total, page) = s.list_history(&f.dataset.id, &f.samples[0].id, 3, 2).await.unwrap();
        assert_eq!((total, page.len()), (5, 0), "{}", b.name);
        assert_eq!(
            s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap().0,
            1
        );
        assert_eq!(s.list_history(&f.dataset.id, &new_hex32(), 0, 10).await.unwrap().0, 0);
    }
}
