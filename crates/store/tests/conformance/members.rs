//! Workers (team members): stored, listed, filtered, updated and deleted.

use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{WorkerQuery, WorkerRecord};

use crate::common::*;

#[tokio::test]
async fn workers_are_stored_listed_filtered_updated_and_deleted() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let a = workforce(&p.id, "a", 1);
        let bb = workforce(&p.id, "b", 2);
        let elsewhere = workforce(&other.id, "a", 3);
        for f in [&a, &bb, &elsewhere] {
            s.insert_workforce(f).await.unwrap();
        }
        let carol = user(s, &p.id, "carol@example.com").await;
        let alice = user(s, &p.id, "alice@example.com").await;
        let bob = user(s, &p.id, "bob@example.com").await;
        let stranger = user(s, &other.id, "zed@example.com").await;
        let w1 = worker(&a.id, &carol, Role::Labeler, 10);
        let w2 = worker(&a.id, &alice, Role::Reviewer, 11);
        let w3 = worker(&a.id, &bob, Role::Labeler, 12);
        let w4 = worker(&bb.id, &carol, Role::Manager, 13);
        let w5 = worker(&elsewhere.id, &stranger, Role::Labeler, 14);
        for w in [&w1, &w2, &w3, &w4, &w5] {
            s.insert_worker(w).await.unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
        let dup = s
            .insert_worker(&WorkerRecord {
                id: new_hex32(),
                role: Role::Reviewer,
                ..w1.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (dup.kind, dup.code),
            (ErrorKind::BadRequest, codes::WORKER_EXISTS),
            "{}: the same user twice in a team",
            b.name
        );

        assert_eq!(
            s.get_worker(&a.id, &w1.id).await.unwrap(),
            w1,
            "{}: email filled",
            b.name
        );
        let err = s.get_worker(&bb.id, &w1.id).await.unwrap_err();
        assert_eq!(
            (err.kind, err.code),
            (ErrorKind::NotFound, codes::WORKER_NOT_FOUND),
            "{}: another team's member",
            b.name
        );
        assert_eq!(
            s.get_workforce(&p.id, &a.id).await.unwrap().worker_count,
            3,
            "{}",
            b.name
        );

        let of_a = WorkerQuery {
            workforce_id: Some(a.id.clone()),
            limit: 10,
            ..WorkerQuery::default()
        };
        let (total, rows) = s.list_workers(&p.id, &of_a).await.unwrap();
        assert_eq!(total, 3, "{}", b.name);
        assert_eq!(
            rows,
            vec![w3.clone(), w2.clone(), w1.clone()],
            "{}: newest first",
            b.name
        );
        let asc = WorkerQuery {
            ascending: true,
            ..of_a.clone()
        };
        assert_eq!(
            ids(&s.list_workers(&p.id, &asc).await.unwrap().1),
            ids(&[w1.clone(), w2.clone(), w3.clone()]),
            "{}",
            b.name
        );
        let by_email = WorkerQuery {
            sort_by_email: true,
            ascending: true,
            ..of_a.clone()
        };
        assert_eq!(
            ids(&s.list_workers(&p.id, &by_email).await.unwrap().1),
            ids(&[w2.clone(), w3.clone(), w1.clone()]),
            "{}: alice, bob, carol",
            b.name
        );
        let by_email_desc = WorkerQuery {
            ascending: false,
            ..by_email.clone()
        };
        assert_eq!(
            ids(&s.list_workers(&p.id, &by_email_desc).await.unwrap().1),
            ids(&[w1.clone(), w3.clone(), w2.clone()]),
            "{}",
            b.name
        );

        // Project-wide: every team of the project, not another project's.
        let project_wide = WorkerQuery {
            sort_by_email: true,
            ascending: true,
            offset: 1,
            limit: 2,
            ..WorkerQuery::default()
        };
        let mut carols = [w1.id.clone(), w4.id.clone()];
        carols.sort();
        let (total, rows) = s.list_workers(&p.id, &project_wide).await.unwrap();
        assert_eq!(total, 4, "{}: project-wide", b.name);
        assert_eq!(
            ids(&rows),
            vec![carols[0].as_str(), carols[1].as_str()],
            "{}: page 1 of 2 by email, ties by id",
            b.name
        );
        let labelers = WorkerQuery {
            role: Some(Role::Labeler),
            ascending: true,
            limit: 10,
            ..WorkerQuery::default()
        };
        let (total, rows) = s.list_workers(&p.id, &labelers).await.unwrap();
        assert_eq!(
            (total, rows),
            (2, vec![w1.clone(), w3.clone()]),
            "{}: role filter",
            b.name
        );
        let managers_of_a = WorkerQuery {
            role: Some(Role::Manager),
            ..of_a.clone()
        };
        assert_eq!(s.list_workers(&p.id, &managers_of_a).await.unwrap().0, 0, "{}", b.name);

        // Update role and description.
        let promoted = WorkerRecord {
            role: Role::Reviewer,
            description: "lead".into(),
            update_time: 40,
            ..w3.clone()
        };
        s.update_worker(&promoted).await.unwrap();
        assert_eq!(s.get_worker(&a.id, &w3.id).await.unwrap(), promoted, "{}", b.name);
        let err = s
            .update_worker(&WorkerRecord {
                workforce_id: bb.id.clone(),
                ..promoted.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code),
            (ErrorKind::NotFound, codes::WORKER_NOT_FOUND),
            "{}: update through another team",
            b.name
        );

        assert_eq!(
            s.workers_of_user(&carol.id).await.unwrap(),
            vec![w1.clone(), w4.clone()],
            "{}: every membership, oldest first",
            b.name
        );
        assert_eq!(s.workers_of_user(&new_hex32()).await.unwrap(), vec![], "{}", b.name);

        // Only members of the team are deleted; only they are answered.
        let deleted = s
            .delete_workers(&a.id, &[w3.id.clone(), new_hex32(), w4.id.clone(), w2.id.clone()])
            .await
            .unwrap();
        assert_eq!(deleted, vec![w3.id.clone(), w2.id.clone()], "{}", b.name);
        assert_eq!(s.get_worker(&bb.id, &w4.id).await.unwrap(), w4, "{}", b.name);
        assert_eq!(
            s.get_worker(&a.id, &w3.id).await.unwrap_err().code,
            codes::WORKER_NOT_FOUND,
            "{}",
            b.name
        );
        let (total, rows) = s.list_workers(&p.id, &of_a).await.unwrap();
        assert_eq!((total, rows), (1, vec![w1.clone()]), "{}", b.name);
        assert_eq!(
            s.delete_workers(&a.id, std::slice::from_ref(&w3.id)).await.unwrap(),
            Vec::<String>::new(),
            "{}: already gone",
            b.name
        );
    }
}
