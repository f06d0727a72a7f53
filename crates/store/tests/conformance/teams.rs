//! Workforces (teams): stored, listed, sorted, searched, paged, updated and deleted with their members.

use teamlabel_api::enums::DatasetType;
use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::new_alnum19;
use teamlabel_core::store::{WorkerQuery, WorkforceQuery, WorkforceRecord};

use crate::common::*;

#[tokio::test]
async fn workforces_are_stored_listed_sorted_searched_and_paged_within_their_project() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let teams: Vec<WorkforceRecord> = ["beta", "a_team", "c100%", "x10y", "ateam"]
            .iter()
            .enumerate()
            .map(|(i, n)| workforce(&p.id, n, 10 + i as i64))
            .collect();
        for t in &teams {
            s.insert_workforce(t)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
        s.insert_workforce(&workforce(&other.id, "beta", 1))
            .await
            .unwrap_or_else(|e| panic!("{}: the same name in another project: {e}", b.name));
        let dup = s.insert_workforce(&workforce(&p.id, "beta", 99)).await.unwrap_err();
        assert_eq!(
            (dup.kind, dup.code),
            (ErrorKind::BadRequest, codes::WORKFORCE_EXISTS),
            "{}: duplicate name",
            b.name
        );

        assert_eq!(
            s.get_workforce(&p.id, &teams[0].id).await.unwrap(),
            teams[0],
            "{}",
            b.name
        );
        for (project_id, id) in [(&other.id, &teams[0].id), (&p.id, &new_alnum19())] {
            let err = s.get_workforce(project_id, id).await.unwrap_err();
            assert_eq!(
                (err.kind, err.code),
                (ErrorKind::NotFound, codes::WORKFORCE_NOT_FOUND),
                "{}: another project's team or no team",
                b.name
            );
        }

        let q = WorkforceQuery {
            limit: 10,
            ..WorkforceQuery::default()
        };
        let (total, rows) = s.list_workforces(&p.id, &q).await.unwrap();
        assert_eq!(total, 5, "{}", b.name);
        assert_eq!(
            names(&rows),
            vec!["ateam", "x10y", "c100%", "a_team", "beta"],
            "{}: newest first",
            b.name
        );
        assert_eq!(rows[4], teams[0], "{}", b.name);

        let oldest_first = WorkforceQuery {
            ascending: true,
            limit: 2,
            ..q.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &oldest_first).await.unwrap();
        assert_eq!((total, names(&rows)), (5, vec!["beta", "a_team"]), "{}", b.name);

        let by_name = WorkforceQuery {
            sort_by_name: true,
            ascending: true,
            ..q.clone()
        };
        let (_, rows) = s.list_workforces(&p.id, &by_name).await.unwrap();
        assert_eq!(
            names(&rows),
            vec!["a_team", "ateam", "beta", "c100%", "x10y"],
            "{}: by name, bytewise",
            b.name
        );
        let page = WorkforceQuery {
            offset: 1,
            limit: 2,
            ..by_name.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &page).await.unwrap();
        assert_eq!(
            (total, names(&rows)),
            (5, vec!["beta", "c100%"]),
            "{}: offset counts pages",
            b.name
        );
        let last_page = WorkforceQuery {
            offset: 2,
            limit: 2,
            ascending: false,
            ..by_name.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &last_page).await.unwrap();
        assert_eq!(
            (total, names(&rows)),
            (5, vec!["a_team"]),
            "{}: name desc, page 2",
            b.name
        );
        let beyond = WorkforceQuery {
            offset: 5,
            limit: 2,
            ..by_name.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &beyond).await.unwrap();
        assert_eq!((total, rows.len()), (5, 0), "{}", b.name);

        for (search, expected) in [
            ("_", vec!["a_team"]),
            ("0%", vec!["c100%"]),
            ("%", vec!["c100%"]),
            ("TEAM", vec!["a_team", "ateam"]),
            ("10", vec!["c100%", "x10y"]),
            ("zzz", vec![]),
        ] {
            let searched = WorkforceQuery {
                search_content: Some(search.into()),
                ..by_name.clone()
            };
            let (total, rows) = s.list_workforces(&p.id, &searched).await.unwrap();
            assert_eq!(
                (total, names(&rows)),
                (expected.len() as u64, expected),
                "{}: search {search:?} (% and _ literal, case-insensitive)",
                b.name
            );
        }

        // Only teams with a member chosen for the task.
        let d = dataset(&p.id, "d", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[]).await.unwrap();
        let u = user(s, &p.id, "m@example.com").await;
        let in_beta = worker(&teams[0].id, &u, Role::Labeler, 20);
        let in_ateam = worker(&teams[4].id, &u, Role::Reviewer, 21);
        s.insert_worker(&in_beta).await.unwrap();
        s.insert_worker(&in_ateam).await.unwrap();
        let t = task(&d.id, "t", 30, 1);
        s.insert_task(&t, std::slice::from_ref(&in_beta.id)).await.unwrap();
        let of_task = WorkforceQuery {
            task_id: Some(t.id.clone()),
            ..q.clone()
        };
        let (total, rows) = s.list_workforces(&p.id, &of_task).await.unwrap();
        assert_eq!(
            (total, rows.clone()),
            (
                1,
                vec![WorkforceRecord {
                    worker_count: 1,
                    ..teams[0].clone()
                }]
            ),
            "{}: task filter, worker_count",
            b.name
        );
        let none = WorkforceQuery {
            task_id: Some(new_alnum19()),
            ..q.clone()
        };
        assert_eq!(s.list_workforces(&p.id, &none).await.unwrap().0, 0, "{}", b.name);
        assert_eq!(
            s.list_workforces(&other.id, &q).await.unwrap().0,
            1,
            "{}: the other project's teams",
            b.name
        );
    }
}

#[tokio::test]
async fn workforces_are_updated_and_deleted_with_their_members() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let team = workforce(&p.id, "team", 1);
        let taken = workforce(&p.id, "taken", 2);
        s.insert_workforce(&team).await.unwrap();
        s.insert_workforce(&taken).await.unwrap();

        let renamed = WorkforceRecord {
            name: "renamed".into(),
            description: "new words".into(),
            update_time: 50,
            ..team.clone()
        };
        s.update_workforce(&renamed).await.unwrap();
        assert_eq!(s.get_workforce(&p.id, &team.id).await.unwrap(), renamed, "{}", b.name);
        let clash = s
            .update_workforce(&WorkforceRecord {
                name: "taken".into(),
                ..renamed.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            clash.code,
            codes::WORKFORCE_EXISTS,
            "{}: rename onto a taken name",
            b.name
        );
        assert_eq!(s.get_workforce(&p.id, &team.id).await.unwrap(), renamed, "{}", b.name);
        let missing = s
            .update_workforce(&WorkforceRecord {
                project_id: other.id.clone(),
                ..renamed.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (missing.kind, missing.code),
            (ErrorKind::NotFound, codes::WORKFORCE_NOT_FOUND),
            "{}: another project's team is not updated",
            b.name
        );

        let (u1, u2) = (
            user(s, &p.id, "u1@example.com").await,
            user(s, &p.id, "u2@example.com").await,
        );
        let w1 = worker(&team.id, &u1, Role::Labeler, 10);
        let w2 = worker(&team.id, &u2, Role::Manager, 11);
        let kept = worker(&taken.id, &u1, Role::Labeler, 12);
        for w in [&w1, &w2, &kept] {
            s.insert_worker(w).await.unwrap();
        }
        assert_eq!(
            s.get_workforce(&p.id, &team.id).await.unwrap().worker_count,
            2,
            "{}",
            b.name
        );

        let err = s.delete_workforce(&other.id, &team.id).await.unwrap_err();
        assert_eq!(
            (err.kind, err.code),
            (ErrorKind::NotFound, codes::WORKFORCE_NOT_FOUND),
            "{}: delete from another project",
            b.name
        );
        s.delete_workforce(&p.id, &team.id).await.unwrap();
        assert_eq!(
            s.get_workforce(&p.id, &team.id).await.unwrap_err().code,
            codes::WORKFORCE_NOT_FOUND,
            "{}",
            b.name
        );
        let gone = s.get_worker(&team.id, &w1.id).await.unwrap_err();
        assert_eq!(
            (gone.kind, gone.code),
            (ErrorKind::NotFound, codes::WORKER_NOT_FOUND),
            "{}: members go with the team",
            b.name
        );
        let (total, rows) = s
            .list_workers(
                &p.id,
                &WorkerQuery {
                    limit: 10,
                    ..WorkerQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((total, ids(&rows)), (1, vec![kept.id.as_str()]), "{}", b.name);
        assert_eq!(s.workers_of_user(&u2.id).await.unwrap(), vec![], "{}", b.name);
        assert_eq!(
            s.delete_workforce(&p.id, &team.id).await.unwrap_err().code,
            codes::WORKFORCE_NOT_FOUND,
            "{}: twice",
            b.name
        );
    }
}
