//! Starting a team task: which copies each labeler gets, with repetition and a sample filter.

use teamlabel_core::error::codes;
use teamlabel_core::store::{SampleQuery, TaskRecord};

use crate::common::*;

#[tokio::test]
async fn start_task_assigns_sample_i_to_labeler_i_mod_n_in_the_given_order() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 5, 2).await;
        let order = f.labelers_desc();
        let t = task(&f.dataset.id, "t", 100, 1);
        s.insert_task(&t, &order).await.unwrap();
        // Paging is ignored.
        let paged = SampleQuery {
            offset: 3,
            limit: 1,
            ..SampleQuery::default()
        };
        let n = s
            .start_task(&t.id, &f.dataset.id, &paged, &order, 1, 1, 200)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(n, 5, "{}", b.name);
        assert_eq!(
            s.get_task(&f.dataset.id, &t.id).await.unwrap(),
            TaskRecord {
                status: 1,
                update_time: 200,
                ..t.clone()
            },
            "{}: status set",
            b.name
        );

        let copies = f.copies(s, &t.id).await;
        for (i, c) in copies.iter().enumerate() {
            assert_eq!(c.len(), 1, "{}: sample {i}", b.name);
            assert_eq!(
                (
                    c[0].worker_id.as_str(),
                    c[0].state.as_str(),
                    c[0].version,
                    c[0].labels.len(),
                    c[0].metadata.clone(),
                    c[0].sample_usage.clone(),
                    c[0].update_time
                ),
                (order[i % 2].as_str(), NONE, 0, 0, None, None, 200),
                "{}: sample {i} goes to labeler {}",
                b.name,
                i % 2
            );
        }
        assert_eq!(
            counts(s.task_copy_counts(&t.id).await.unwrap()),
            {
                let mut want = vec![
                    (order[0].clone(), NONE.to_string(), 3),
                    (order[1].clone(), NONE.to_string(), 2),
                ];
                want.sort();
                want
            },
            "{}",
            b.name
        );
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 5, "{}", b.name);
        assert_eq!(
            s.task_label_usage(&t.id).await.unwrap(),
            vec![],
            "{}: empty copies",
            b.name
        );

        // Not enough labelers for the repetition.
        let t2 = task(&f.dataset.id, "t2", 100, 3);
        s.insert_task(&t2, &order).await.unwrap();
        let err = s
            .start_task(&t2.id, &f.dataset.id, &SampleQuery::default(), &order, 3, 1, 200)
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::TASK_START_FAILED, "{}", b.name);
        assert_eq!(s.task_sample_count(&t2.id).await.unwrap(), 0, "{}", b.name);
        assert_eq!(s.get_task(&f.dataset.id, &t2.id).await.unwrap().status, 6, "{}", b.name);
    }
}

#[tokio::test]
async fn start_task_with_repetition_gives_each_sample_distinct_labelers() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 5, 3).await;
        // An order that is neither the ids' nor the insertion order.
        let order = vec![
            f.labelers[1].id.clone(),
            f.labelers[2].id.clone(),
            f.labelers[0].id.clone(),
        ];
        let t = f.started(s, "t", &order, 2).await;
        assert_eq!((t.status, t.update_time), (1, 200), "{}", b.name);
        let copies = f.copies(s, &t.id).await;
        for (i, c) in copies.iter().enumerate() {
            let mut got: Vec<&str> = c.iter().map(|c| c.worker_id.as_str()).collect();
            got.sort();
            let mut want = vec![order[(i * 2) % 3].as_str(), order[(i * 2 + 1) % 3].as_str()];
            want.sort();
            assert_eq!(got, want, "{}: sample {i}", b.name);
            let mut by_id: Vec<&str> = c.iter().map(|c| c.worker_id.as_str()).collect();
            by_id.dedup();
            assert_eq!(by_id.len(), 2, "{}: distinct labelers", b.name);
        }
        // Labeler 0 of the order: samples 0, 1, 3, 4; 1: 0, 2, 3; 2: 1, 2, 4.
        let mut want = vec![
            (order[0].clone(), NONE.to_string(), 4),
            (order[1].clone(), NONE.to_string(), 3),
            (order[2].clone(), NONE.to_string(), 3),
        ];
        want.sort();
        assert_eq!(counts(s.task_copy_counts(&t.id).await.unwrap()), want, "{}", b.name);
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 5, "{}", b.name);
    }
}

#[tokio::test]
async fn start_task_assigns_only_the_samples_matching_the_filter() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Samples: 0 dog, 1 cat, 2 -, 3 cat+dog, 4 -, 5 cat.
        let f = fixture(s, 6, 2).await;
        let order = f.labelers_desc();
        let members: Vec<String> = f.labelers.iter().map(|w| w.id.clone()).collect();
        #[rustfmt::skip]
        let cases: Vec<(SampleQuery, Vec<usize>)> = vec![
            (SampleQuery { label_groups: vec![vec![f.cat.id]], ..SampleQuery::default() }, vec![1, 3, 5]),
            (SampleQuery { label_groups: vec![vec![f.cat.id, f.dog.id]], ..SampleQuery::default() }, vec![0, 1, 3, 5]),
            (SampleQuery { label_groups: vec![vec![f.cat.id], vec![f.dog.id]], ..SampleQuery::default() }, vec![3]),
            (SampleQuery { name: Some("2.png".into()), ..SampleQuery::default() }, vec![2]),
            (SampleQuery { label_groups: vec![vec![]], ..SampleQuery::default() }, vec![]),
        ];
        for (k, (query, chosen)) in cases.into_iter().enumerate() {
            let t = task(&f.dataset.id, &format!("t{k}"), 100, 1);
            s.insert_task(&t, &members).await.unwrap();
            let n = s
                .start_task(&t.id, &f.dataset.id, &query, &order, 1, 1, 300)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert_eq!(n, chosen.len() as u64, "{}: case {k}", b.name);
            assert_eq!(s.get_task(&f.dataset.id, &t.id).await.unwrap().status, 1, "{}", b.name);
            let (total, rows) = s.list_team_samples(&t.id, &all_team_samples()).await.unwrap();
            let got: Vec<(&str, &str)> = rows
                .iter()
                .map(|r| (r.sample.id.as_str(), r.copy.worker_id.as_str()))
                .collect();
            let want: Vec<(&str, &str)> = chosen
                .iter()
                .enumerate()
                .map(|(i, &sample)| (f.samples[sample].id.as_str(), order[i % 2].as_str()))
                .collect();
            assert_eq!(total, chosen.len() as u64, "{}: case {k}", b.name);
            assert_eq!(got, want, "{}: case {k}: i counts among the matching samples", b.name);
        }
    }
}
