//! Team tasks: stored, listed, updated and found by member.

use serde_json::json;
use teamlabel_api::enums::DatasetType;
use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::new_alnum19;
use teamlabel_core::store::{SampleQuery, TaskRecord};

use crate::common::*;

#[tokio::test]
async fn tasks_are_stored_listed_updated_and_found_by_member() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "d", DatasetType::ImageClassification, 1);
        let d2 = dataset(&p.id, "d2", DatasetType::ImageClassification, 2);
        s.insert_dataset(&d, &[]).await.unwrap();
        s.insert_dataset(&d2, &[]).await.unwrap();
        let team = workforce(&p.id, "team", 1);
        s.insert_workforce(&team).await.unwrap();
        let mut members = Vec::new();
        for (j, email) in ["x@example.com", "y@example.com", "z@example.com"].iter().enumerate() {
            let u = user(s, &p.id, email).await;
            let w = worker(&team.id, &u, Role::Labeler, 10 + j as i64);
            s.insert_worker(&w).await.unwrap();
            members.push((u, w));
        }
        let (w1, w2, w3) = (&members[0].1, &members[1].1, &members[2].1);

        let t1 = task(&d.id, "first 10%", 10, 1);
        let t2 = TaskRecord {
            sample_conditions: None,
            data_sync_type: None,
            synchronize_data: false,
            auto_sync_dataset: false,
            ..task(&d.id, "second", 20, 2)
        };
        let t3 = task(&d.id, "third", 30, 1);
        s.insert_task(&t1, &[w1.id.clone(), w2.id.clone()])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        s.insert_task(&t2, &[w3.id.clone(), w1.id.clone()]).await.unwrap();
        s.insert_task(&t3, &[]).await.unwrap();
        s.insert_task(&task(&d2.id, "second", 5, 1), &[])
            .await
            .unwrap_or_else(|e| panic!("{}: the same name in another dataset: {e}", b.name));
        let dup = s.insert_task(&task(&d.id, "second", 40, 1), &[]).await.unwrap_err();
        assert_eq!(
            (dup.kind, dup.code),
            (ErrorKind::BadRequest, codes::TASK_EXISTS),
            "{}: duplicate name",
            b.name
        );
        assert_eq!(
            s.list_tasks(&d.id, 0, 10).await.unwrap().0,
            3,
            "{}: nothing of the duplicate",
            b.name
        );

        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap(), t1, "{}", b.name);
        assert_eq!(s.get_task(&d.id, &t2.id).await.unwrap(), t2, "{}", b.name);
        for (dataset_id, id) in [(&d2.id, &t1.id), (&d.id, &new_alnum19())] {
            let err = s.get_task(dataset_id, id).await.unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::NotFound, codes::TASK_NOT_FOUND),
                "{}: another dataset's task or no task",
                b.name
            );
        }

        let (total, rows) = s.list_tasks(&d.id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows),
            (3, vec![t3.clone(), t2.clone(), t1.clone()]),
            "{}: newest first",
            b.name
        );
        let (total, rows) = s.list_tasks(&d.id, 1, 2).await.unwrap();
        assert_eq!((total, rows), (3, vec![t1.clone()]), "{}: page 1 of 2", b.name);

        let mut of_t1 = vec![w1.clone(), w2.clone()];
        of_t1.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), of_t1, "{}", b.name);
        assert_eq!(s.task_workers(&t3.id).await.unwrap(), vec![], "{}", b.name);

        // Update without new members keeps them.
        let updated = TaskRecord {
            name: "first renamed".into(),
            description: "changed".into(),
            status: 1,
            workforces_config: json!({"workforces": [{"workforce_id": team.id, "workers": []}]}),
            update_time: 60,
            ..t1.clone()
        };
        s.update_task(&updated, None).await.unwrap();
        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap(), updated, "{}", b.name);
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), of_t1, "{}: members kept", b.name);
        // With new members, they replace the old.
        s.update_task(&updated, Some(std::slice::from_ref(&w3.id)))
            .await
            .unwrap();
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), vec![w3.clone()], "{}", b.name);
        let clash = s
            .update_task(
                &TaskRecord {
                    name: "third".into(),
                    ..updated.clone()
                },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(clash.code, codes::TASK_EXISTS, "{}: rename onto a taken name", b.name);
        let missing = s
            .update_task(
                &TaskRecord {
                    dataset_id: d2.id.clone(),
                    ..updated.clone()
                },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(
            (missing.kind, missing.code),
            (ErrorKind::NotFound, codes::TASK_NOT_FOUND),
            "{}",
            b.name
        );
        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap(), updated, "{}", b.name);

        // Tasks of a user, with the membership: z is in t1 (now) and t2.
        let z = &members[2].0;
        let (total, rows) = s.list_user_tasks(&z.id, 0, 10, false, false, None).await.unwrap();
        assert_eq!(
            (total, rows),
            (2, vec![(t2.clone(), w3.clone()), (updated.clone(), w3.clone())]),
            "{}: newest first",
            b.name
        );
        let (total, rows) = s.list_user_tasks(&z.id, 0, 10, true, true, None).await.unwrap();
        let names: Vec<&str> = rows.iter().map(|(t, _)| t.name.as_str()).collect();
        assert_eq!(
            (total, names),
            (2, vec!["first renamed", "second"]),
            "{}: by name",
            b.name
        );
        let (total, rows) = s.list_user_tasks(&z.id, 1, 1, false, false, None).await.unwrap();
        assert_eq!(
            (total, rows.len(), rows[0].0.id.as_str()),
            (2, 1, t1.id.as_str()),
            "{}: page 1",
            b.name
        );
        let (total, rows) = s
            .list_user_tasks(&z.id, 0, 10, false, false, Some("SEC"))
            .await
            .unwrap();
        assert_eq!(
            (total, rows.len(), rows[0].0.id.as_str()),
            (1, 1, t2.id.as_str()),
            "{}: search",
            b.name
        );
        let (total, _) = s.list_user_tasks(&z.id, 0, 10, false, false, Some("%")).await.unwrap();
        assert_eq!(total, 0, "{}: % is literal", b.name);
        let x = &members[0].0;
        let (total, rows) = s.list_user_tasks(&x.id, 0, 10, false, false, None).await.unwrap();
        assert_eq!((total, rows), (1, vec![(t2.clone(), w1.clone())]), "{}", b.name);
        let y = &members[1].0;
        assert_eq!(
            s.list_user_tasks(&y.id, 0, 10, false, false, None).await.unwrap().0,
            0,
            "{}: y left t1 with the new members",
            b.name
        );

        assert_eq!(
            s.delete_task(&d2.id, &t1.id).await.unwrap_err().code,
            codes::TASK_NOT_FOUND,
            "{}: delete through another dataset",
            b.name
        );
        s.delete_task(&d.id, &t1.id).await.unwrap();
        assert_eq!(s.get_task(&d.id, &t1.id).await.unwrap_err().code, codes::TASK_NOT_FOUND);
        assert_eq!(s.task_workers(&t1.id).await.unwrap(), vec![], "{}", b.name);
        assert_eq!(s.list_tasks(&d.id, 0, 10).await.unwrap().0, 2, "{}", b.name);
    }
}

/// A task with `synchronize_data` takes samples added after its start, through either insert,
/// in the transaction that adds them, continuing the start's round robin; a task without it,
/// or one not started, takes none.
#[tokio::test]
async fn a_synchronized_task_takes_samples_added_after_its_start() {
    for b in backends().await {
        let s = b.store.as_ref();
        let fx = fixture(s, 3, 2).await;
        let labelers: Vec<String> = fx.labelers.iter().map(|w| w.id.clone()).collect();
        let members = labelers.clone();
        let mut synced = task(&fx.dataset.id, "synced", 100, 1);
        synced.synchronize_data = true;
        s.insert_task(&synced, &members).await.unwrap();
        s.start_task(
            &synced.id,
            &fx.dataset.id,
            &SampleQuery::default(),
            &labelers,
            1,
            1,
            200,
        )
        .await
        .unwrap();
        let mut plain = task(&fx.dataset.id, "plain", 100, 1);
        plain.synchronize_data = false;
        s.insert_task(&plain, &members).await.unwrap();
        s.start_task(&plain.id, &fx.dataset.id, &SampleQuery::default(), &labelers, 1, 1, 200)
            .await
            .unwrap();
        let mut waiting = task(&fx.dataset.id, "waiting", 100, 2);
        waiting.synchronize_data = true;
        s.insert_task(&waiting, &members).await.unwrap();

        s.insert_samples(&[
            sample(&fx.dataset.id, "new-1.png", vec![]),
            sample(&fx.dataset.id, "new-2.png", vec![]),
        ])
        .await
        .unwrap();
        let taken = s
            .insert_new_samples(&[
                sample(&fx.dataset.id, "new-2.png", vec![]),
                sample(&fx.dataset.id, "new-3.png", vec![]),
            ])
            .await
            .unwrap();
        assert_eq!(taken, ["new-3.png"], "{}", b.name);

        // Positions 0..6 go to labelers 0 1 0 1 0 1.
        let per_worker = |mut c: Vec<teamlabel_core::store::CopyCount>| {
            c.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
            let mut out: Vec<(String, u64)> = Vec::new();
            for x in c {
                match out.iter_mut().find(|(w, _)| *w == x.worker_id) {
                    Some((_, n)) => *n += x.count,
                    None => out.push((x.worker_id, x.count)),
                }
            }
            out
        };
        let mut expected = vec![(labelers[0].clone(), 3), (labelers[1].clone(), 3)];
        expected.sort();
        assert_eq!(
            per_worker(s.task_copy_counts(&synced.id).await.unwrap()),
            expected,
            "{}",
            b.name
        );
        assert_eq!(s.task_sample_count(&synced.id).await.unwrap(), 6, "{}", b.name);
        assert_eq!(s.task_sample_count(&plain.id).await.unwrap(), 3, "{}", b.name);
        assert_eq!(s.task_sample_count(&waiting.id).await.unwrap(), 0, "{}", b.name);
        // Started later, the waiting task takes everything there is then.
        let n = s
            .start_task(
                &waiting.id,
                &fx.dataset.id,
                &SampleQuery::default(),
                &labelers,
                2,
                1,
                300,
            )
            .await
            .unwrap();
        assert_eq!(n, 6, "{}", b.name);
        s.insert_samples(&[sample(&fx.dataset.id, "new-4.png", vec![])])
            .await
            .unwrap();
        assert_eq!(s.task_sample_count(&waiting.id).await.unwrap(), 7, "{}", b.name);
        let copies: u64 = s
            .task_copy_counts(&waiting.id)
            .await
            .unwrap()
            .iter()
            .map(|c| c.count)
            .sum();
        assert_eq!(copies, 14, "{}: repetition 2 holds for new samples", b.name);
    }
}
