//! The store conformance suite: every `Store` method, against SQLite always and against
//! PostgreSQL when `TEST_DATABASE_URL` is set (each run in a schema of its own).

use serde_json::json;
use teamlabel_core::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_core::error::{codes, ErrorKind};
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{DatasetChange, DatasetQuery, SampleQuery, TokenRecord, User};

mod common;

use common::*;

#[tokio::test]
async fn projects_users_and_tokens_are_stored_and_found() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, owner) = project(s).await;
        assert_eq!(s.get_project(&p.id).await.unwrap(), p, "{}", b.name);
        assert_eq!(s.get_project(&new_hex32()).await.unwrap_err().kind, ErrorKind::NotFound);
        assert!(s.find_first_project().await.unwrap().is_some());
        assert_eq!(
            s.find_user_by_email(&p.id, &owner.email).await.unwrap(),
            Some(owner.clone())
        );
        assert_eq!(s.find_user_by_email(&p.id, "nobody@example.com").await.unwrap(), None);

        let member = User {
            id: new_hex32(),
            project_id: p.id.clone(),
            email: "m@example.com".into(),
            role: Role::Labeler,
            create_time: 2,
        };
        s.insert_user(&member).await.unwrap();
        assert!(
            s.insert_user(&User {
                id: new_hex32(),
                ..member.clone()
            })
            .await
            .is_err(),
            "{}: same email twice",
            b.name
        );

        let t = TokenRecord {
            hash: new_hex32(),
            user_id: member.id.clone(),
            project_id: p.id.clone(),
            expires_at: 99,
            create_time: 1,
        };
        s.insert_token(&t).await.unwrap();
        let (found, user) = s.find_token(&t.hash).await.unwrap().unwrap();
        assert_eq!((found, user), (t, member));
        assert_eq!(s.find_token("nope").await.unwrap(), None);
        s.ping().await.unwrap();
    }
}

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
async fn access_keys_logins_and_settings_are_stored_and_found() {
    use teamlabel_core::store::{AccessKeyRecord, LoginState};
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, owner) = project(s).await;
        let (other, stranger) = project(s).await;
        let key = |ak: &str, user: &User, expires_at: Option<i64>, time: i64| AccessKeyRecord {
            access_key: ak.to_string(),
            user_id: user.id.clone(),
            project_id: user.project_id.clone(),
            sealed_secret: vec![0, 1, 2, 255],
            description: "d".into(),
            security_token_hash: expires_at.map(|_| "h".to_string()),
            expires_at,
            create_time: time,
        };
        let (ak1, ak2, ak3) = (new_hex32(), new_hex32(), new_hex32());
        s.insert_access_key(&key(&ak1, &owner, None, 1)).await.unwrap();
        s.insert_access_key(&key(&ak2, &owner, Some(100), 2)).await.unwrap();
        s.insert_access_key(&key(&ak3, &stranger, None, 3)).await.unwrap();
        assert!(
            s.insert_access_key(&key(&ak1, &owner, None, 4)).await.is_err(),
            "{}",
            b.name
        );
        let (found, user) = s.find_access_key(&ak2).await.unwrap().unwrap();
        assert_eq!(
            (found, user),
            (key(&ak2, &owner, Some(100), 2), owner.clone()),
            "{}",
            b.name
        );
        assert_eq!(s.find_access_key("nope").await.unwrap(), None);

        // Newest first, the project's only, temporary ones only while valid.
        let listed = |now| s.list_access_keys(&p.id, None, now, 0, 10);
        let (n, rows) = listed(50).await.unwrap();
        let aks: Vec<&str> = rows.iter().map(|(k, _)| k.access_key.as_str()).collect();
        assert_eq!((n, aks), (2, vec![ak2.as_str(), ak1.as_str()]), "{}", b.name);
        assert_eq!(listed(100).await.unwrap().0, 1, "{}: expired", b.name);
        assert_eq!(
            s.list_access_keys(&p.id, Some(&owner.id), 50, 1, 1).await.unwrap().1[0]
                .0
                .access_key,
            ak1
        );
        assert_eq!(
            s.list_access_keys(&p.id, Some(&stranger.id), 50, 0, 10)
                .await
                .unwrap()
                .0,
            0
        );

        assert!(
            !s.delete_access_key(&other.id, &ak1).await.unwrap(),
            "{}: another project's key",
            b.name
        );
        assert!(s.delete_access_key(&p.id, &ak1).await.unwrap());
        assert!(!s.delete_access_key(&p.id, &ak1).await.unwrap());
        assert_eq!(s.purge_expired_access_keys(100).await.unwrap(), 1, "{}", b.name);
        assert_eq!(s.find_access_key(&ak2).await.unwrap(), None);
        assert!(s.find_access_key(&ak3).await.unwrap().is_some());

        // Sign-in state: by id or email, compare-and-set.
        let login = s.find_login(&p.id, &owner.email.to_uppercase()).await.unwrap().unwrap();
        assert_eq!((login.user.clone(), login.password_hash.clone()), (owner.clone(), None));
        assert_eq!(s.find_login(&p.id, &owner.id).await.unwrap().unwrap().user, owner);
        assert_eq!(s.find_login(&other.id, &owner.id).await.unwrap(), None, "{}", b.name);
        let locked = LoginState {
            failed: 0,
            locked_until: 500,
        };
        assert!(s
            .update_login_state(&owner.id, LoginState::default(), locked)
            .await
            .unwrap());
        assert!(!s
            .update_login_state(&owner.id, LoginState::default(), locked)
            .await
            .unwrap());
        assert_eq!(s.find_login(&p.id, &owner.id).await.unwrap().unwrap().state, locked);
        s.set_password(&owner.id, Some("$argon2id$x")).await.unwrap();
        let after = s.find_login(&p.id, &owner.id).await.unwrap().unwrap();
        assert_eq!(
            (after.password_hash.as_deref(), after.state),
            (Some("$argon2id$x"), LoginState::default())
        );
        assert_eq!(
            s.set_password(&new_hex32(), None).await.unwrap_err().kind,
            ErrorKind::NotFound
        );

        assert!(s.list_projects_by_name("p").await.unwrap().len() >= 2);
        assert_eq!(s.list_projects_by_name(&new_hex32()).await.unwrap(), vec![]);
        let name = new_hex32();
        assert_eq!(s.setting_or_insert(&name, "a").await.unwrap(), "a");
        assert_eq!(s.setting_or_insert(&name, "b").await.unwrap(), "a", "{}", b.name);
    }
}
