//! Listing team samples: filtered, paged and ordered by sample then member.

use serde_json::json;
use teamlabel_core::ids::new_alnum19;
use teamlabel_core::store::{CopyRecord, Labeler, TeamSampleQuery, TeamSampleRow};

use crate::common::*;

/// What a listing case is about, its query and the (sample, member) pairs it answers.
type ListCase = (&'static str, TeamSampleQuery, Vec<(String, String)>);

#[tokio::test]
async fn team_samples_are_listed_filtered_paged_and_ordered_by_sample_then_member() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Samples: 0 dog, 1 cat, 2 -, 3 cat+dog (dataset labels, which the copy filters ignore).
        let f = fixture(s, 4, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 2).await;
        let mut by_id = f.labelers.clone();
        by_id.sort_by(|a, b| a.id.cmp(&b.id));
        let labelers: Vec<Labeler> = by_id
            .iter()
            .map(|w| Labeler {
                worker_id: w.id.clone(),
                email: w.email.clone(),
                role: w.role,
            })
            .collect();

        let key = |rows: &[TeamSampleRow]| -> Vec<(String, String)> {
            rows.iter()
                .map(|r| (r.sample.id.clone(), r.copy.worker_id.clone()))
                .collect()
        };
        let pairs: Vec<(String, String)> = f
            .samples
            .iter()
            .flat_map(|x| by_id.iter().map(move |w| (x.id.clone(), w.id.clone())))
            .collect();

        let (total, rows) = s.list_team_samples(&t.id, &all_team_samples()).await.unwrap();
        assert_eq!(total, 8, "{}", b.name);
        assert_eq!(key(&rows), pairs, "{}: by sample, then member id", b.name);
        for r in &rows {
            assert_eq!(r.labelers, labelers, "{}: every labeler of the sample", b.name);
            let want = f.samples.iter().find(|x| x.id == r.sample.id).unwrap();
            assert_eq!(bare(&r.sample), bare(want), "{}", b.name);
            assert_eq!(
                (r.copy.state.as_str(), r.copy.version, r.copy.labels.len()),
                (NONE, 0, 0),
                "{}",
                b.name
            );
        }

        let page = TeamSampleQuery {
            offset: 1,
            limit: 3,
            ..TeamSampleQuery::default()
        };
        let (total, rows) = s.list_team_samples(&t.id, &page).await.unwrap();
        assert_eq!(
            (total, key(&rows)),
            (8, pairs[3..6].to_vec()),
            "{}: page 1 of 3",
            b.name
        );

        let mine = TeamSampleQuery {
            worker_id: Some(by_id[1].id.clone()),
            ..all_team_samples()
        };
        let (total, rows) = s.list_team_samples(&t.id, &mine).await.unwrap();
        let want: Vec<(String, String)> = pairs.iter().filter(|(_, w)| *w == by_id[1].id).cloned().collect();
        assert_eq!((total, key(&rows)), (4, want), "{}: one member", b.name);
        assert_eq!(
            rows[0].labelers, labelers,
            "{}: labelers are all, whatever the filter",
            b.name
        );

        let one = TeamSampleQuery {
            sample_id: Some(f.samples[2].id.clone()),
            ..all_team_samples()
        };
        let (total, rows) = s.list_team_samples(&t.id, &one).await.unwrap();
        assert_eq!((total, key(&rows)), (2, pairs[4..6].to_vec()), "{}: one sample", b.name);

        // Label some copies: (s1, m0) cat, (s2, m1) cat+dog, (s3, m0) dog.
        let copies = f.copies(s, &t.id).await;
        let copy_of = |sample: usize, member: usize| -> CopyRecord {
            copies[sample]
                .iter()
                .find(|c| c.worker_id == by_id[member].id)
                .unwrap()
                .clone()
        };
        let (c10, c21, c30) = (copy_of(1, 0), copy_of(2, 1), copy_of(3, 0));
        let cat = placed(&f.cat, json!({}));
        let dog = placed(&f.dog, json!({}));
        s.write_copies(
            &[
                write(c10.id, 0, vec![cat.clone()], UNREVIEWED, 10),
                write(c21.id, 0, vec![cat.clone(), dog.clone()], UNREVIEWED, 10),
                write(c30.id, 0, vec![dog.clone()], ACCEPTED, 10),
            ],
            &[],
        )
        .await
        .unwrap();

        let filtered = |states: Option<Vec<&str>>, groups: Vec<Vec<i64>>| TeamSampleQuery {
            states: states.map(|v| v.into_iter().map(str::to_string).collect()),
            label_groups: groups,
            ..all_team_samples()
        };
        let pair = |sample: usize, member: usize| (f.samples[sample].id.clone(), by_id[member].id.clone());
        #[rustfmt::skip]
        let cases: Vec<ListCase> = vec![
            ("unreviewed", filtered(Some(vec![UNREVIEWED]), vec![]), vec![pair(1, 0), pair(2, 1)]),
            ("unreviewed or accepted", filtered(Some(vec![UNREVIEWED, ACCEPTED]), vec![]), vec![pair(1, 0), pair(2, 1), pair(3, 0)]),
            ("no states", filtered(Some(vec![]), vec![]), vec![]),
            ("none", filtered(Some(vec![NONE]), vec![]), vec![pair(0, 0), pair(0, 1), pair(1, 1), pair(2, 0), pair(3, 1)]),
            ("cat", filtered(None, vec![vec![f.cat.id]]), vec![pair(1, 0), pair(2, 1)]),
            ("cat or dog", filtered(None, vec![vec![f.cat.id, f.dog.id]]), vec![pair(1, 0), pair(2, 1), pair(3, 0)]),
            ("cat and dog", filtered(None, vec![vec![f.cat.id], vec![f.dog.id]]), vec![pair(2, 1)]),
            ("empty group", filtered(None, vec![vec![]]), vec![]),
            ("dog, accepted", filtered(Some(vec![ACCEPTED]), vec![vec![f.dog.id]]), vec![pair(3, 0)]),
        ];
        for (what, query, want) in cases {
            let (total, rows) = s.list_team_samples(&t.id, &query).await.unwrap();
            assert_eq!((total, key(&rows)), (want.len() as u64, want), "{}: {what}", b.name);
        }
        let one_mine = TeamSampleQuery {
            worker_id: Some(by_id[1].id.clone()),
            sample_id: Some(f.samples[2].id.clone()),
            ..all_team_samples()
        };
        let (total, rows) = s.list_team_samples(&t.id, &one_mine).await.unwrap();
        assert_eq!(total, 1, "{}", b.name);
        assert_eq!(
            rows[0].copy,
            CopyRecord {
                id: c21.id,
                worker_id: by_id[1].id.clone(),
                state: UNREVIEWED.into(),
                version: 1,
                labels: vec![cat.clone(), dog.clone()],
                metadata: None,
                sample_usage: None,
                update_time: 10,
                verdicts: Default::default(),
                round_id: None,
            },
            "{}: the copy with its labels",
            b.name
        );
        assert_eq!(
            s.list_team_samples(&new_alnum19(), &all_team_samples())
                .await
                .unwrap()
                .0,
            0,
            "{}: another task",
            b.name
        );
    }
}

/// A copy's labels are kept as one value with the label ids (migration `0010_compact_labels`):
/// a renamed label reads back under its new name, a deleted one is gone from the copies, the
/// label filter and the statistics, and a label added after it (which SQLite may give the freed
/// id) does not appear in them.
#[tokio::test]
async fn copies_follow_label_renames_and_deletions() {
    use teamlabel_core::store::DatasetChange;
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let copies = f.copies(s, &t.id).await;
        let c = copies[0][0].clone();
        let boxed = |x: i64| json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[x, 2], [3, 4]]});
        let labels = vec![
            placed(&f.dog, boxed(1)),
            placed(&f.cat, boxed(2)),
            placed(&f.dog, boxed(3)),
        ];
        s.write_copies(&[write(c.id, 0, labels.clone(), UNREVIEWED, 10)], &[])
            .await
            .unwrap();
        let read = || async { f.copies(s, &t.id).await[0][0].labels.clone() };
        assert_eq!(read().await, labels, "{}: in order, with names", b.name);
        let usage = s.task_label_usage(&t.id).await.unwrap();
        assert_eq!(
            usage
                .iter()
                .map(|u| (u.label_id, u.count, u.sample_count))
                .collect::<Vec<_>>(),
            vec![(f.cat.id, 1, 1), (f.dog.id, 2, 1)],
            "{}",
            b.name
        );

        let mut lion = f.cat.clone();
        lion.name = "lion".into();
        s.update_dataset(
            &f.dataset.id,
            &DatasetChange {
                update_labels: vec![lion],
                ..DatasetChange::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(read().await[1].name, "lion", "{}: a rename reaches copies", b.name);

        s.update_dataset(
            &f.dataset.id,
            &DatasetChange {
                delete_labels: vec![f.dog.id],
                ..DatasetChange::default()
            },
        )
        .await
        .unwrap();
        s.update_dataset(
            &f.dataset.id,
            &DatasetChange {
                add_labels: vec![label("bird", teamlabel_api::enums::LabelType::ObjectDetection)],
                ..DatasetChange::default()
            },
        )
        .await
        .unwrap();
        let bird = s
            .list_labels(&f.dataset.id)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.name == "bird")
            .unwrap();
        let left = read().await;
        assert_eq!(left.len(), 1, "{}: the deleted label is gone: {left:?}", b.name);
        assert_eq!(
            (left[0].label_id, left[0].name.as_str()),
            (f.cat.id, "lion"),
            "{}",
            b.name
        );
        let usage = s.task_label_usage(&t.id).await.unwrap();
        assert_eq!(
            usage.iter().map(|u| (u.label_id, u.count)).collect::<Vec<_>>(),
            vec![(f.cat.id, 1)],
            "{}",
            b.name
        );
        for (group, expected) in [(vec![f.cat.id], 1), (vec![bird.id], 0), (vec![f.dog.id], 0)] {
            let q = TeamSampleQuery {
                label_groups: vec![group.clone()],
                ..all_team_samples()
            };
            assert_eq!(
                s.list_team_samples(&t.id, &q).await.unwrap().0,
                expected,
                "{}: {group:?}",
                b.name
            );
        }
    }
}
