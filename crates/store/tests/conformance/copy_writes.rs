//! Copy writes: labels replaced, state set, version bumped; stale writes write nothing; open work.

use serde_json::json;
use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::ids::{new_alnum19, new_hex32};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{CopyRecord, CopyWrite, SampleRecord, TaskRecord};

use crate::common::*;

#[tokio::test]
async fn copy_writes_replace_labels_set_state_and_bump_the_version() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;

        // Only existing ids, in request order, each once, with their copies.
        let asked = vec![
            f.samples[2].id.clone(),
            new_hex32(),
            f.samples[0].id.clone(),
            f.samples[2].id.clone(),
        ];
        let loaded = s.load_team_samples(&t.id, &f.dataset.id, &asked).await.unwrap();
        let got: Vec<SampleRecord> = loaded.iter().map(|x| bare(&x.sample)).collect();
        assert_eq!(got, vec![bare(&f.samples[2]), bare(&f.samples[0])], "{}", b.name);
        assert_eq!(
            loaded.iter().map(|x| x.copies.len()).collect::<Vec<_>>(),
            vec![1, 1],
            "{}",
            b.name
        );
        assert!(
            s.load_team_samples(&t.id, &new_alnum19(), &asked)
                .await
                .unwrap()
                .is_empty(),
            "{}: another dataset",
            b.name
        );
        let c0 = loaded[1].copies[0].clone();
        assert_eq!(
            c0,
            CopyRecord {
                id: c0.id,
                worker_id: order[0].clone(),
                state: NONE.into(),
                version: 0,
                labels: vec![],
                metadata: None,
                sample_usage: None,
                update_time: 200,
                verdicts: Default::default(),
                round_id: None,
            },
            "{}: an empty copy",
            b.name
        );

        let boxed = json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[1, 2], [3, 4]]});
        let cat = PlacedLabel {
            instance_id: Some("i1".into()),
            score: None,
            annotated_by: None,
            ..placed(&f.cat, boxed.clone())
        };
        let first = CopyWrite {
            metadata: Some(obj(json!({"k": 1, "nested": {"a": [true, null]}}))),
            sample_usage: Some("TRAIN".into()),
            ..write(c0.id, 0, vec![cat.clone()], UNREVIEWED, 50)
        };
        let h1 = history(
            &f.dataset.id,
            &f.samples[0].id,
            Some(&t.id),
            Some(&order[0]),
            &f.owner,
            50,
            (NONE, UNREVIEWED),
            "cat",
            1,
        );
        s.write_copies(&[first], std::slice::from_ref(&h1))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let after = &f.copies(s, &t.id).await[0][0];
        assert_eq!(
            after,
            &CopyRecord {
                id: c0.id,
                worker_id: order[0].clone(),
                state: UNREVIEWED.into(),
                version: 1,
                labels: vec![cat.clone()],
                metadata: Some(obj(json!({"k": 1, "nested": {"a": [true, null]}}))),
                sample_usage: Some("TRAIN".into()),
                update_time: 50,
                verdicts: Default::default(),
                round_id: None,
            },
            "{}",
            b.name
        );

        // Labels replace; metadata and usage left out keep the old.
        let dogs = vec![placed(&f.dog, boxed.clone()), placed(&f.dog, json!({"x": 1}))];
        let h2 = history(
            &f.dataset.id,
            &f.samples[0].id,
            Some(&t.id),
            Some(&order[0]),
            &f.owner,
            60,
            (UNREVIEWED, UNCHECK),
            "dog",
            2,
        );
        s.write_copies(&[write(c0.id, 1, dogs.clone(), UNCHECK, 60)], std::slice::from_ref(&h2))
            .await
            .unwrap();
        let after = &f.copies(s, &t.id).await[0][0];
        assert_eq!(
            after,
            &CopyRecord {
                id: c0.id,
                worker_id: order[0].clone(),
                state: UNCHECK.into(),
                version: 2,
                labels: dogs.clone(),
                metadata: Some(obj(json!({"k": 1, "nested": {"a": [true, null]}}))),
                sample_usage: Some("TRAIN".into()),
                update_time: 60,
                verdicts: Default::default(),
                round_id: None,
            },
            "{}: metadata None keeps the old",
            b.name
        );
        // The other copies are untouched.
        let copies = f.copies(s, &t.id).await;
        assert_eq!(
            (
                copies[1][0].version,
                copies[1][0].state.as_str(),
                copies[1][0].labels.len()
            ),
            (0, NONE, 0),
            "{}",
            b.name
        );

        // An empty label set clears.
        s.write_copies(&[write(c0.id, 2, vec![], UNREVIEWED, 70)], &[])
            .await
            .unwrap();
        let after = &f.copies(s, &t.id).await[0][0];
        assert_eq!(
            (after.version, after.labels.len(), after.state.as_str()),
            (3, 0, UNREVIEWED),
            "{}",
            b.name
        );
        s.write_copies(&[write(c0.id, 3, dogs.clone(), UNREVIEWED, 80)], &[])
            .await
            .unwrap();

        assert_eq!(
            counts(s.task_copy_counts(&t.id).await.unwrap()),
            {
                let mut want = vec![
                    (order[0].clone(), NONE.to_string(), 1),
                    (order[0].clone(), UNREVIEWED.to_string(), 1),
                    (order[1].clone(), NONE.to_string(), 1),
                ];
                want.sort();
                want
            },
            "{}",
            b.name
        );
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 3, "{}", b.name);
        assert_eq!(
            usage(s.task_label_usage(&t.id).await.unwrap()),
            vec![(f.dog.id, 2, 1)],
            "{}: copy labels, not dataset labels",
            b.name
        );

        // History rows were appended, newest first.
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(total, 2, "{}", b.name);
        assert_eq!(
            rows.iter().map(without_id).collect::<Vec<_>>(),
            vec![h2.clone(), h1.clone()],
            "{}",
            b.name
        );
        assert!(rows[0].id > rows[1].id, "{}: ids grow", b.name);
        // Dataset-level labels are not touched by copy writes.
        let s0 = s.get_sample(&f.dataset.id, &f.samples[0].id).await.unwrap();
        assert_eq!(s0, f.samples[0], "{}", b.name);
    }
}

#[tokio::test]
async fn a_stale_copy_write_writes_nothing_of_its_batch() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let copies = f.copies(s, &t.id).await;
        let (c0, c1) = (copies[0][0].id, copies[1][0].id);
        // c0 at version 1.
        s.write_copies(&[write(c0, 0, vec![placed(&f.cat, json!({}))], UNREVIEWED, 10)], &[])
            .await
            .unwrap();
        let before = f.copies(s, &t.id).await;

        let h = |sample: usize, time: i64| {
            history(
                &f.dataset.id,
                &f.samples[sample].id,
                Some(&t.id),
                Some(&order[sample % 2]),
                &f.owner,
                time,
                (NONE, UNREVIEWED),
                "dog",
                1,
            )
        };
        // A valid write before the stale one, then after it; copy ids in both orders.
        let batches = [
            vec![
                write(c1, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
                write(c0, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
            ],
            vec![
                write(c0, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
                write(c1, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
            ],
            vec![
                write(c0, 1, vec![placed(&f.dog, json!({}))], UNCHECK, 20),
                write(c1, 5, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
            ],
            vec![
                write(c1, 0, vec![placed(&f.dog, json!({}))], UNREVIEWED, 20),
                write(c1, 0, vec![placed(&f.cat, json!({}))], UNREVIEWED, 20),
            ],
        ];
        for (k, batch) in batches.iter().enumerate() {
            let err = s.write_copies(batch, &[h(1, 20), h(0, 20)]).await.unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::Conflict, codes::VERSION_CONFLICT),
                "{}: batch {k}",
                b.name
            );
            assert_eq!(
                f.copies(s, &t.id).await,
                before,
                "{}: batch {k}: nothing written",
                b.name
            );
            for sample in &f.samples {
                assert_eq!(
                    s.list_history(&f.dataset.id, &sample.id, 0, 10).await.unwrap().0,
                    0,
                    "{}: batch {k}: no history",
                    b.name
                );
            }
        }
        // A copy that does not exist is a conflict too.
        let err = s
            .write_copies(&[write(c1 + 1000, 0, vec![], UNREVIEWED, 20)], &[h(1, 20)])
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::VERSION_CONFLICT, "{}", b.name);
        assert_eq!(
            s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap().0,
            0
        );
        assert_eq!(
            usage(s.task_label_usage(&t.id).await.unwrap()),
            vec![(f.cat.id, 1, 1)],
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn the_same_copy_written_twice_in_one_call_ends_with_the_second_write() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let c = f.copies(s, &t.id).await[1][0].clone();
        s.write_copies(&[write(c.id, 0, vec![], UNREVIEWED, 5)], &[])
            .await
            .unwrap();
        let v = 1;
        let second = vec![placed(&f.dog, json!({"n": 2})), placed(&f.cat, json!({"n": 3}))];
        let batch = vec![
            CopyWrite {
                metadata: Some(obj(json!({"first": true}))),
                ..write(c.id, v, vec![placed(&f.cat, json!({"n": 1}))], UNREVIEWED, 10)
            },
            CopyWrite {
                sample_usage: Some("EVAL".into()),
                ..write(c.id, v + 1, second.clone(), UNCHECK, 11)
            },
        ];
        let hs = vec![
            history(
                &f.dataset.id,
                &f.samples[1].id,
                Some(&t.id),
                Some(&c.worker_id),
                &f.owner,
                10,
                (UNREVIEWED, UNREVIEWED),
                "cat",
                v + 1,
            ),
            history(
                &f.dataset.id,
                &f.samples[1].id,
                Some(&t.id),
                Some(&c.worker_id),
                &f.owner,
                11,
                (UNREVIEWED, UNCHECK),
                "dog",
                v + 2,
            ),
        ];
        s.write_copies(&batch, &hs)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let after = f.copies(s, &t.id).await[1][0].clone();
        assert_eq!(
            after,
            CopyRecord {
                id: c.id,
                worker_id: c.worker_id.clone(),
                state: UNCHECK.into(),
                version: v + 2,
                labels: second.clone(),
                metadata: Some(obj(json!({"first": true}))),
                sample_usage: Some("EVAL".into()),
                update_time: 11,
                verdicts: Default::default(),
                round_id: None,
            },
            "{}",
            b.name
        );
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap();
        assert_eq!(total, 2, "{}", b.name);
        assert_eq!(
            rows.iter().map(without_id).collect::<Vec<_>>(),
            vec![hs[1].clone(), hs[0].clone()],
            "{}: in the order given, newest first",
            b.name
        );
        assert_eq!(
            usage(s.task_label_usage(&t.id).await.unwrap()),
            {
                let mut want = vec![(f.cat.id, 1, 1), (f.dog.id, 1, 1)];
                want.sort();
                want
            },
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn a_member_has_open_work_until_every_copy_is_accepted_or_the_task_is_finished() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 3).await;
        let order: Vec<String> = f.labelers.iter().take(2).map(|w| w.id.clone()).collect();
        let idle = &f.labelers[2].id;
        assert!(
            !s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: no copies",
            b.name
        );
        let t = f.started(s, "t", &order, 1).await;
        assert!(s.worker_has_open_work(&order[0]).await.unwrap(), "{}", b.name);
        assert!(s.worker_has_open_work(&order[1]).await.unwrap(), "{}", b.name);
        assert!(
            !s.worker_has_open_work(idle).await.unwrap(),
            "{}: a member without copies",
            b.name
        );

        // Labeler 0 has samples 0 and 2.
        let copies = f.copies(s, &t.id).await;
        s.write_copies(&[write(copies[0][0].id, 0, vec![], ACCEPTED, 10)], &[])
            .await
            .unwrap();
        assert!(
            s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: one copy left",
            b.name
        );
        s.write_copies(&[write(copies[2][0].id, 0, vec![], UNCHECK, 10)], &[])
            .await
            .unwrap();
        assert!(
            s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: not accepted",
            b.name
        );
        s.write_copies(&[write(copies[2][0].id, 1, vec![], ACCEPTED, 11)], &[])
            .await
            .unwrap();
        assert!(
            !s.worker_has_open_work(&order[0]).await.unwrap(),
            "{}: all accepted",
            b.name
        );
        assert!(s.worker_has_open_work(&order[1]).await.unwrap(), "{}", b.name);

        // A finished task (status 3) leaves no open work.
        s.update_task(&TaskRecord { status: 3, ..t.clone() }, None)
            .await
            .unwrap();
        assert!(
            !s.worker_has_open_work(&order[1]).await.unwrap(),
            "{}: task finished",
            b.name
        );
        s.update_task(&TaskRecord { status: 2, ..t.clone() }, None)
            .await
            .unwrap();
        assert!(
            s.worker_has_open_work(&order[1]).await.unwrap(),
            "{}: status 2 is open",
            b.name
        );
    }
}
