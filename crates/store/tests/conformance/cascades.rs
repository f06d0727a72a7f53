//! What deleting a sample, a task or a workforce removes and what it keeps.

use serde_json::json;
use teamlabel_core::iam::auth::Role;
use teamlabel_core::store::SampleQuery;

use crate::common::*;

#[tokio::test]
async fn deleting_a_sample_or_a_task_removes_copies_but_keeps_history() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 2).await;
        let copies = f.copies(s, &t.id).await;
        let c = copies[1][0].clone();
        let h = history(
            &f.dataset.id,
            &f.samples[1].id,
            Some(&t.id),
            Some(&c.worker_id),
            &f.owner,
            10,
            (NONE, UNREVIEWED),
            "cat",
            1,
        );
        s.write_copies(
            &[write(c.id, 0, vec![placed(&f.cat, json!({}))], UNREVIEWED, 10)],
            std::slice::from_ref(&h),
        )
        .await
        .unwrap();
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 3, "{}", b.name);

        // A sample goes with its copies.
        let deleted = s
            .delete_samples(&f.dataset.id, &[f.samples[1].id.clone()])
            .await
            .unwrap();
        assert_eq!(deleted.len(), 1, "{}", b.name);
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 2, "{}", b.name);
        let (total, rows) = s.list_team_samples(&t.id, &all_team_samples()).await.unwrap();
        assert_eq!(total, 4, "{}: copies of the deleted sample are gone", b.name);
        assert!(rows.iter().all(|r| r.sample.id != f.samples[1].id), "{}", b.name);
        let n: u64 = s.task_copy_counts(&t.id).await.unwrap().iter().map(|c| c.count).sum();
        assert_eq!(n, 4, "{}", b.name);
        assert_eq!(s.task_label_usage(&t.id).await.unwrap(), vec![], "{}", b.name);
        let ids: Vec<String> = f.samples.iter().map(|x| x.id.clone()).collect();
        let loaded = s.load_team_samples(&t.id, &f.dataset.id, &ids).await.unwrap();
        assert_eq!(
            loaded.iter().map(|x| x.sample.id.as_str()).collect::<Vec<_>>(),
            vec![f.samples[0].id.as_str(), f.samples[2].id.as_str()],
            "{}",
            b.name
        );
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows.iter().map(without_id).collect::<Vec<_>>()),
            (1, vec![h.clone()]),
            "{}: history outlives the sample",
            b.name
        );

        // A task goes with its copies and members; history stays.
        let h0 = history(
            &f.dataset.id,
            &f.samples[0].id,
            Some(&t.id),
            Some(&order[0]),
            &f.owner,
            20,
            (NONE, NONE),
            "dog",
            1,
        );
        s.write_copies(&[], std::slice::from_ref(&h0)).await.unwrap();
        assert!(s.worker_has_open_work(&order[0]).await.unwrap(), "{}", b.name);
        s.delete_task(&f.dataset.id, &t.id).await.unwrap();
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 0, "{}", b.name);
        assert_eq!(s.task_copy_counts(&t.id).await.unwrap(), vec![], "{}", b.name);
        assert_eq!(s.list_team_samples(&t.id, &all_team_samples()).await.unwrap().0, 0);
        assert_eq!(s.task_workers(&t.id).await.unwrap(), vec![], "{}", b.name);
        assert!(!s.worker_has_open_work(&order[0]).await.unwrap(), "{}", b.name);
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows.iter().map(without_id).collect::<Vec<_>>()),
            (1, vec![h0.clone()]),
            "{}: history outlives the task",
            b.name
        );
        assert_eq!(
            s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap().0,
            1
        );
        // The samples and members themselves stay.
        assert_eq!(
            s.get_sample(&f.dataset.id, &f.samples[0].id).await.unwrap(),
            f.samples[0]
        );
        assert_eq!(s.get_worker(&f.team.id, &order[0]).await.unwrap().id, order[0]);
    }
}

#[tokio::test]
async fn deleting_a_workforce_removes_its_task_memberships_and_copies() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 2).await;
        let other_team = workforce(&f.project.id, "others", 2);
        s.insert_workforce(&other_team).await.unwrap();
        let u = user(s, &f.project.id, "other@example.com").await;
        let outsider = worker(&other_team.id, &u, Role::Labeler, 30);
        s.insert_worker(&outsider).await.unwrap();
        let t = task(&f.dataset.id, "t", 100, 1);
        let members = vec![f.labelers[0].id.clone(), f.labelers[1].id.clone(), outsider.id.clone()];
        s.insert_task(&t, &members).await.unwrap();
        s.start_task(&t.id, &f.dataset.id, &SampleQuery::default(), &members, 1, 1, 200)
            .await
            .unwrap();
        assert_eq!(s.task_workers(&t.id).await.unwrap().len(), 3, "{}", b.name);

        s.delete_workforce(&f.project.id, &f.team.id).await.unwrap();
        assert_eq!(
            s.task_workers(&t.id).await.unwrap(),
            vec![outsider.clone()],
            "{}",
            b.name
        );
        assert_eq!(
            counts(s.task_copy_counts(&t.id).await.unwrap()),
            Vec::<(String, String, u64)>::new(),
            "{}: samples 0 and 1 went to the deleted team's members",
            b.name
        );
        assert_eq!(s.task_sample_count(&t.id).await.unwrap(), 0, "{}", b.name);
        assert_eq!(
            s.get_task(&f.dataset.id, &t.id).await.unwrap().status,
            1,
            "{}: the task stays",
            b.name
        );
    }
}

/// One sample with two labelers' copies in a started task, for history chains.
struct Chains {
    f: Fixture,
    task_id: String,
    workers: [String; 2],
}

impl Chains {
    async fn new(s: &dyn teamlabel_core::store::Store) -> Self {
        let f = fixture(s, 1, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 2).await;
        let copies = f.copies(s, &t.id).await;
        let workers = [copies[0][0].worker_id.clone(), copies[0][1].worker_id.clone()];
        Chains {
            f,
            task_id: t.id,
            workers,
        }
    }

    /// A history row of labeler `worker`'s copy (0 or 1), or of the dataset's labels (`None`).
    fn row(
        &self,
        worker: Option<usize>,
        time: i64,
        before: String,
        after: String,
    ) -> teamlabel_core::store::HistoryRecord {
        let worker = worker.map(|w| self.workers[w].as_str());
        let task = worker.map(|_| self.task_id.as_str());
        let mut h = history(
            &self.f.dataset.id,
            &self.f.samples[0].id,
            task,
            worker,
            &self.f.owner,
            time,
            ("A", "B"),
            "x",
            1,
        );
        (h.labels_before, h.labels_after) = (before, after);
        h
    }

    fn at<'a>(&'a self, backend: &'a str) -> (&'a str, &'a str, &'a str) {
        (&self.f.dataset.id, &self.f.samples[0].id, backend)
    }
}

/// One box label named `name`, as history JSON.
fn one_label(name: &str) -> String {
    json!([{"name": name, "property": {}, "type": 1}]).to_string()
}

/// A history row whose labels before are the previous row's labels after is stored without them
/// (migration `0010_compact_labels`); every row still reads back whole, among two copies of one
/// sample and a dataset-level row, and after the copies go with their task.
#[tokio::test]
async fn history_rows_read_back_whole_when_chained_and_after_their_copies_go() {
    for b in backends().await {
        let s = b.store.as_ref();
        let c = Chains::new(s).await;
        // Copy 0: [] -> cat -> dog -> cat; copy 1: [] -> car -> person, interleaved, with a
        // dataset-level row of the same sample between them.
        let written = vec![
            c.row(Some(0), 10, "[]".into(), one_label("cat")),
            c.row(Some(1), 11, "[]".into(), one_label("car")),
            c.row(None, 12, one_label("car"), one_label("x")),
            c.row(Some(0), 13, one_label("cat"), one_label("dog")),
            c.row(Some(1), 14, one_label("car"), one_label("person")),
            c.row(Some(0), 15, one_label("dog"), one_label("cat")),
        ];
        for h in &written {
            s.write_copies(&[], std::slice::from_ref(h)).await.unwrap();
        }
        let newest_first: Vec<_> = written.iter().rev().cloned().collect();
        read_history(s, c.at(b.name), &newest_first, "with their copies").await;
        s.delete_task(&c.f.dataset.id, &c.task_id).await.unwrap();
        read_history(s, c.at(b.name), &newest_first, "after the task went").await;
    }
}

/// Pruning history removes the oldest rows first and leaves every kept row whole: a row whose
/// labels before were left to a removed row gets them written out.
#[tokio::test]
async fn pruned_history_keeps_the_younger_rows_whole() {
    for b in backends().await {
        let s = b.store.as_ref();
        let c = Chains::new(s).await;
        // In time order: copy 0 [] -> cat -> dog, copy 1 [] -> car -> person, and a
        // dataset-level row; the second row of each copy is stored without its labels before.
        let written = vec![
            c.row(Some(0), 10, "[]".into(), one_label("cat")),
            c.row(Some(1), 20, "[]".into(), one_label("car")),
            c.row(Some(0), 30, one_label("cat"), one_label("dog")),
            c.row(None, 35, one_label("x"), one_label("y")),
            c.row(Some(1), 40, one_label("car"), one_label("person")),
        ];
        for h in &written {
            s.write_copies(&[], std::slice::from_ref(h)).await.unwrap();
        }
        assert_eq!(s.prune_history(25, 100).await.unwrap(), 2, "{}", b.name);
        assert_eq!(
            s.prune_history(25, 100).await.unwrap(),
            0,
            "{}: nothing older left",
            b.name
        );
        let kept: Vec<_> = written[2..].iter().rev().cloned().collect();
        read_history(s, c.at(b.name), &kept, "after pruning").await;
        // A limit removes that many at most; the rest goes on the next calls.
        assert_eq!(s.prune_history(1000, 1).await.unwrap(), 1, "{}", b.name);
        read_history(s, c.at(b.name), &kept[..2], "one more gone").await;
        assert_eq!(s.prune_history(1000, 100).await.unwrap(), 2, "{}", b.name);
        let sample = &c.f.samples[0].id;
        assert_eq!(
            s.list_history(&c.f.dataset.id, sample, 0, 10).await.unwrap().0,
            0,
            "{}",
            b.name
        );
    }
}

/// The history of a sample (`(dataset, sample, backend)`) reads back as `newest_first`, whole
/// and by page.
async fn read_history(
    s: &dyn teamlabel_core::store::Store,
    (dataset, sample, backend): (&str, &str, &str),
    newest_first: &[teamlabel_core::store::HistoryRecord],
    what: &str,
) {
    let json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
    let (total, rows) = s.list_history(dataset, sample, 0, 100).await.unwrap();
    assert_eq!(total, newest_first.len() as u64, "{backend}: {what}");
    let rows: Vec<_> = rows.iter().map(without_id).collect();
    assert_eq!(rows.len(), newest_first.len(), "{backend}: {what}");
    for (got, want) in rows.iter().zip(newest_first) {
        assert_eq!(json(&got.labels_before), json(&want.labels_before), "{backend}: {what}");
        assert_eq!(json(&got.labels_after), json(&want.labels_after), "{backend}: {what}");
        assert_eq!(
            (&got.task_id, &got.worker_id),
            (&want.task_id, &want.worker_id),
            "{backend}: {what}"
        );
    }
    // The second page of two (offset counts pages).
    let (_, page) = s.list_history(dataset, sample, 1, 2).await.unwrap();
    let want = &rows[rows.len().min(2)..rows.len().min(4)];
    assert_eq!(page.len(), want.len(), "{backend}: {what}: a page");
    for (got, want) in page.iter().zip(want) {
        assert_eq!(
            json(&got.labels_before),
            json(&want.labels_before),
            "{backend}: {what}: a page"
        );
    }
}
