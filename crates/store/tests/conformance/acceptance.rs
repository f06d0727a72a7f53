//! Review and acceptance: copy states read for drawing and counting; verdicts that set only their
//! judge's columns; rounds opened and closed, each in one transaction that a moved task, round,
//! copy or sample rolls back whole (4623 for the task or round, 4690 for a version); a label
//! write taking a copy out of its round; copy counts grouped by the verdicts.

use serde_json::json;
use teamlabel_api::enums::SampleStatus;
use teamlabel_core::error::{codes, Error, ErrorKind};
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    round_status, CopyCount, CopyMove, CopyRecord, CopyState, CopyVerdict, HistoryRecord, HistoryStep, Judge,
    RoundClose, RoundRecord, SampleRecord, SampleWrite, Store, TaskRecord, User, Verdicts,
};
use teamlabel_core::team::task_states::{state, status};

use crate::common::*;

/// Everything an acceptance write may touch, read back through the port: the task, its copies
/// (states, and records with labels), its rounds, the dataset's samples and the task's history
/// rows of each.
#[derive(Debug, PartialEq)]
struct Seen {
    task: TaskRecord,
    states: Vec<CopyState>,
    copies: Vec<Vec<CopyRecord>>,
    rounds: Vec<RoundRecord>,
    open: Option<RoundRecord>,
    samples: Vec<SampleRecord>,
    history: Vec<Vec<HistoryRecord>>,
}

async fn seen(s: &dyn Store, f: &Fixture, task_id: &str) -> Seen {
    let ids: Vec<String> = f.samples.iter().map(|x| x.id.clone()).collect();
    let mut history = Vec::new();
    for id in &ids {
        let (_, rows) = s.list_history(&f.dataset.id, id, 0, 100).await.unwrap();
        history.push(
            rows.into_iter()
                .filter(|h| h.task_id.as_deref() == Some(task_id))
                .collect(),
        );
    }
    Seen {
        task: s.get_task(&f.dataset.id, task_id).await.unwrap(),
        states: s.task_copy_states(task_id).await.unwrap(),
        copies: f.copies(s, task_id).await,
        rounds: s.list_rounds(task_id).await.unwrap(),
        open: s.open_round_of(task_id).await.unwrap(),
        samples: s.load_samples(&f.dataset.id, &ids).await.unwrap(),
        history,
    }
}

/// The copy of each sample of a task started with repetition 1, in sample order.
async fn single_copies(s: &dyn Store, f: &Fixture, task_id: &str) -> Vec<CopyRecord> {
    f.copies(s, task_id)
        .await
        .into_iter()
        .map(|mut c| {
            assert_eq!(c.len(), 1);
            c.remove(0)
        })
        .collect()
}

/// What `task_copy_states` should answer, from the copy records: by sample, then worker.
fn states_of(f: &Fixture, copies: &[Vec<CopyRecord>]) -> Vec<CopyState> {
    f.samples
        .iter()
        .zip(copies)
        .flat_map(|(x, cs)| {
            let mut cs = cs.clone();
            cs.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
            cs.into_iter().map(move |c| CopyState {
                id: c.id,
                sample_id: x.id.clone(),
                worker_id: c.worker_id,
                state: c.state,
                version: c.version,
                round_id: c.round_id,
                verdicts: c.verdicts,
            })
        })
        .collect()
}

/// An open round drawn at `time`: a seed near the top of the range, a rate, no number.
fn round(task_id: &str, id: &str, by: &User, time: i64) -> RoundRecord {
    RoundRecord {
        id: id.into(),
        task_id: task_id.into(),
        seed: 0x7edc_ba98_7654_3210,
        sampling_rate: Some(0.3),
        sampling_num: None,
        total_count: 3,
        sampled_count: 1,
        status: round_status::OPEN,
        action: None,
        overwrite: None,
        checked_count: 0,
        accepted_count: 0,
        rejected_count: 0,
        total_score: 0,
        created_by: by.id.clone(),
        closed_by: None,
        create_time: time,
        close_time: None,
    }
}

/// The round cancelled at `time`, the task back to running.
fn cancel(r: &RoundRecord, by: &User, time: i64) -> RoundClose {
    RoundClose {
        round: RoundRecord {
            status: round_status::CANCELLED,
            closed_by: Some(by.id.clone()),
            close_time: Some(time),
            ..r.clone()
        },
        task_status: status::RUNNING,
        event: None,
    }
}

/// The round as `list_rounds` shows it once `c` closed it.
fn closed(c: &RoundClose) -> RoundRecord {
    c.round.clone()
}

fn verdict(copy_id: i64, expected_version: i64, judge: Judge, to: &str, accept: bool, time: i64) -> CopyVerdict {
    CopyVerdict {
        copy_id,
        expected_version,
        judge,
        state: to.into(),
        accept,
        comment: None,
        score: None,
        update_time: time,
    }
}

fn moved(copy_id: i64, expected_version: i64, to: &str, round_id: Option<&str>, time: i64) -> CopyMove {
    CopyMove {
        copy_id,
        expected_version,
        state: to.into(),
        round_id: round_id.map(str::to_string),
        update_time: time,
    }
}

/// A history row of a review or acceptance step.
fn step(h: HistoryRecord, event: &str, comment: Option<&str>, from_workers: &[&str]) -> HistoryRecord {
    HistoryRecord {
        step: HistoryStep {
            event: event.into(),
            comment: comment.map(str::to_string),
            from_workers: from_workers.iter().map(|w| w.to_string()).collect(),
        },
        ..h
    }
}

/// A history row of a copy of the task.
fn copy_history(
    f: &Fixture,
    t: &TaskRecord,
    c: &CopyRecord,
    sample: usize,
    time: i64,
    states: (&str, &str),
) -> HistoryRecord {
    history(
        &f.dataset.id,
        &f.samples[sample].id,
        Some(&t.id),
        Some(&c.worker_id),
        &f.owner,
        time,
        states,
        "cat",
        c.version + 1,
    )
}

/// Accepted labels written to the dataset, at the sample's `expected` version.
fn sync(f: &Fixture, sample: usize, expected: i64, labels: Vec<PlacedLabel>, time: i64) -> SampleWrite {
    SampleWrite {
        dataset_id: f.dataset.id.clone(),
        sample_id: f.samples[sample].id.clone(),
        expected_version: expected,
        labels,
        metadata: obj(json!({"@modelarts:size": [100, 50, 3], "synced": time})),
        sample_usage: None,
        status: SampleStatus::ManualAnnotation,
        update_time: time,
    }
}

fn kind(e: &Error) -> (ErrorKind, &str) {
    (e.kind, e.code)
}

const VERSION: (ErrorKind, &str) = (ErrorKind::Conflict, codes::VERSION_CONFLICT);
const ROUND_OPEN: (ErrorKind, &str) = (ErrorKind::BadRequest, codes::TASK_CHECKING);

#[tokio::test]
async fn copy_states_list_every_copy_of_the_task_by_sample_then_worker() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 3).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 2).await;
        let other = f.started(s, "other", &order, 1).await;

        let states = s.task_copy_states(&t.id).await.unwrap();
        assert_eq!(states, states_of(&f, &f.copies(s, &t.id).await), "{}", b.name);
        assert_eq!(states.len(), 6, "{}: two copies of each sample", b.name);
        let samples: Vec<&str> = states.iter().map(|c| c.sample_id.as_str()).collect();
        let want: Vec<&str> = f.samples.iter().flat_map(|x| [x.id.as_str(); 2]).collect();
        assert_eq!(samples, want, "{}: in sample order, not by id", b.name);
        for pair in states.chunks(2) {
            assert!(pair[0].worker_id < pair[1].worker_id, "{}: then by worker", b.name);
        }
        for c in &states {
            assert_eq!(
                (c.state.as_str(), c.version, c.round_id.as_deref(), &c.verdicts),
                (NONE, 0, None, &Verdicts::default()),
                "{}: fresh copies",
                b.name
            );
        }

        // A label write, a verdict and a round show in the states.
        s.write_copies(&[write(states[3].id, 0, vec![], UNREVIEWED, 10)], &[])
            .await
            .unwrap();
        s.judge_copies(
            &[CopyVerdict {
                comment: Some("ok".into()),
                ..verdict(states[4].id, 0, Judge::Review, UNCHECK, true, 20)
            }],
            &[],
            &[],
        )
        .await
        .unwrap();
        let r = round(&t.id, "round-1", &f.owner, 30);
        s.open_round(
            &r,
            &[status::RUNNING],
            &[moved(states[0].id, 0, state::SAMPLED_UNCHECK, Some(&r.id), 30)],
            &[],
        )
        .await
        .unwrap();
        let after = s.task_copy_states(&t.id).await.unwrap();
        assert_eq!(after, states_of(&f, &f.copies(s, &t.id).await), "{}", b.name);
        let want = vec![
            CopyState {
                state: state::SAMPLED_UNCHECK.into(),
                version: 1,
                round_id: Some(r.id.clone()),
                ..states[0].clone()
            },
            states[1].clone(),
            states[2].clone(),
            CopyState {
                state: UNREVIEWED.into(),
                version: 1,
                ..states[3].clone()
            },
            CopyState {
                state: UNCHECK.into(),
                version: 1,
                verdicts: Verdicts {
                    review_accept: Some(true),
                    review_comment: Some("ok".into()),
                    ..Verdicts::default()
                },
                ..states[4].clone()
            },
            states[5].clone(),
        ];
        assert_eq!(after, want, "{}", b.name);

        // Another task's copies are its own; an unknown task has none.
        let theirs = s.task_copy_states(&other.id).await.unwrap();
        assert_eq!(theirs, states_of(&f, &f.copies(s, &other.id).await), "{}", b.name);
        assert_eq!(theirs.len(), 3, "{}", b.name);
        assert!(
            theirs.iter().all(|c| c.state == NONE && c.round_id.is_none()),
            "{}",
            b.name
        );
        assert_eq!(s.task_copy_states("no-such-task").await.unwrap(), vec![], "{}", b.name);
    }
}

#[tokio::test]
async fn verdicts_set_the_state_and_only_their_judges_columns_and_append_history() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let cs = single_copies(s, &f, &t.id).await;
        let (c0, c1) = (&cs[0], &cs[1]);
        let cat = placed(&f.cat, json!({"n": 1}));
        s.write_copies(&[write(c0.id, 0, vec![cat.clone()], UNREVIEWED, 20)], &[])
            .await
            .unwrap();

        // A reviewer's verdict: review_* set, the copy's labels untouched.
        let review = CopyVerdict {
            comment: Some("fine".into()),
            score: Some("A".into()),
            ..verdict(c0.id, 1, Judge::Review, UNCHECK, true, 30)
        };
        let h1 = step(
            history(
                &f.dataset.id,
                &f.samples[0].id,
                Some(&t.id),
                Some(&c0.worker_id),
                &f.owner,
                30,
                (UNREVIEWED, UNCHECK),
                "cat",
                2,
            ),
            "review",
            Some("fine"),
            &[],
        );
        s.judge_copies(&[review], std::slice::from_ref(&h1), &[])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let reviewed = Verdicts {
            review_accept: Some(true),
            review_comment: Some("fine".into()),
            review_score: Some("A".into()),
            ..Verdicts::default()
        };
        let after = single_copies(s, &f, &t.id).await;
        assert_eq!(
            after[0],
            CopyRecord {
                id: c0.id,
                worker_id: c0.worker_id.clone(),
                state: UNCHECK.into(),
                version: 2,
                labels: vec![cat.clone()],
                metadata: None,
                sample_usage: None,
                update_time: 30,
                verdicts: reviewed.clone(),
                round_id: None,
            },
            "{}",
            b.name
        );
        assert_eq!(&after[1], c1, "{}: the other copy untouched", b.name);

        // The owner's verdict sets check_* and keeps review_*; two copies in one call.
        let check = CopyVerdict {
            score: Some("3".into()),
            ..verdict(c0.id, 2, Judge::Check, state::SAMPLED_REJECTED, false, 40)
        };
        let review1 = CopyVerdict {
            comment: Some("redo".into()),
            ..verdict(c1.id, 0, Judge::Review, state::REJECTED, false, 40)
        };
        let h2 = step(
            history(
                &f.dataset.id,
                &f.samples[0].id,
                Some(&t.id),
                Some(&c0.worker_id),
                &f.owner,
                40,
                (UNCHECK, state::SAMPLED_REJECTED),
                "cat",
                3,
            ),
            "check",
            None,
            &[],
        );
        let h3 = step(
            history(
                &f.dataset.id,
                &f.samples[1].id,
                Some(&t.id),
                Some(&c1.worker_id),
                &f.owner,
                40,
                (NONE, state::REJECTED),
                "dog",
                1,
            ),
            "review",
            Some("redo"),
            &[&c1.worker_id, "someone-else"],
        );
        s.judge_copies(&[check, review1], &[h2.clone(), h3.clone()], &[])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let checked = Verdicts {
            check_accept: Some(false),
            check_comment: None,
            check_score: Some("3".into()),
            ..reviewed.clone()
        };
        let states = s.task_copy_states(&t.id).await.unwrap();
        assert_eq!(
            states,
            vec![
                CopyState {
                    id: c0.id,
                    sample_id: f.samples[0].id.clone(),
                    worker_id: c0.worker_id.clone(),
                    state: state::SAMPLED_REJECTED.into(),
                    version: 3,
                    round_id: None,
                    verdicts: checked.clone(),
                },
                CopyState {
                    id: c1.id,
                    sample_id: f.samples[1].id.clone(),
                    worker_id: c1.worker_id.clone(),
                    state: state::REJECTED.into(),
                    version: 1,
                    round_id: None,
                    verdicts: Verdicts {
                        review_accept: Some(false),
                        review_comment: Some("redo".into()),
                        ..Verdicts::default()
                    },
                },
            ],
            "{}",
            b.name
        );

        // A later review replaces all three review columns (to none) and keeps check_*.
        s.judge_copies(&[verdict(c0.id, 3, Judge::Review, UNCHECK, true, 50)], &[], &[])
            .await
            .unwrap();
        let c = &s.task_copy_states(&t.id).await.unwrap()[0];
        assert_eq!(
            (c.state.as_str(), c.version, &c.verdicts),
            (
                UNCHECK,
                4,
                &Verdicts {
                    review_accept: Some(true),
                    review_comment: None,
                    review_score: None,
                    ..checked.clone()
                }
            ),
            "{}",
            b.name
        );
        let labels = &single_copies(s, &f, &t.id).await[0].labels;
        assert_eq!(labels, &vec![cat.clone()], "{}: labels untouched", b.name);

        // History reads back with its step, newest first.
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(total, 2, "{}", b.name);
        assert_eq!(
            rows.iter().map(without_id).collect::<Vec<_>>(),
            vec![h2.clone(), h1.clone()],
            "{}",
            b.name
        );
        let (_, rows) = s.list_history(&f.dataset.id, &f.samples[1].id, 0, 10).await.unwrap();
        assert_eq!(
            rows.iter().map(without_id).collect::<Vec<_>>(),
            vec![h3.clone()],
            "{}: comment and from_workers",
            b.name
        );

        // Nothing to judge is nothing written.
        let before = seen(s, &f, &t.id).await;
        s.judge_copies(&[], &[], &[]).await.unwrap();
        assert_eq!(seen(s, &f, &t.id).await, before, "{}", b.name);
    }
}

#[tokio::test]
async fn a_stale_verdict_writes_nothing_of_its_batch() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let cs = single_copies(s, &f, &t.id).await;
        let (c0, c1) = (cs[0].id, cs[1].id);
        // c0 at version 1.
        s.write_copies(&[write(c0, 0, vec![], UNREVIEWED, 10)], &[])
            .await
            .unwrap();
        let before = seen(s, &f, &t.id).await;

        let h = |sample: usize| {
            step(
                copy_history(&f, &t, &cs[sample], sample, 20, (UNREVIEWED, UNCHECK)),
                "review",
                Some("x"),
                &[],
            )
        };
        let review = |copy: i64, expected: i64| verdict(copy, expected, Judge::Review, UNCHECK, true, 20);
        let check = |copy: i64, expected: i64| verdict(copy, expected, Judge::Check, state::SAMPLED_ACCEPTED, true, 20);
        let batches = [
            ("valid then stale", vec![review(c1, 0), review(c0, 0)]),
            ("stale then valid", vec![review(c0, 0), review(c1, 0)]),
            ("stale check", vec![review(c1, 0), check(c0, 0)]),
            ("the same copy twice at one version", vec![check(c0, 1), review(c0, 1)]),
            ("a copy that does not exist", vec![review(c1, 0), review(c1 + 1000, 0)]),
        ];
        for (what, batch) in batches {
            let err = s.judge_copies(&batch, &[h(1), h(0)], &[]).await.unwrap_err();
            assert_eq!(kind(&err), VERSION, "{}: {what}", b.name);
            assert_eq!(seen(s, &f, &t.id).await, before, "{}: {what}: nothing written", b.name);
        }
    }
}

#[tokio::test]
async fn opening_a_round_inserts_it_and_moves_the_task_and_the_copies() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 4, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let other = f.started(s, "other", &order, 1).await;
        assert_eq!(t.status, status::RUNNING, "{}", b.name);
        let cs = single_copies(s, &f, &t.id).await;
        let labels = vec![placed(&f.cat, json!({}))];
        s.write_copies(
            &[
                write(cs[0].id, 0, labels.clone(), UNCHECK, 10),
                write(cs[1].id, 0, labels.clone(), UNCHECK, 10),
                write(cs[2].id, 0, labels.clone(), UNCHECK, 10),
            ],
            &[],
        )
        .await
        .unwrap();
        let before_other = seen(s, &f, &other.id).await;

        let r = round(&t.id, "round-1", &f.owner, 300);
        let moves = vec![
            moved(cs[0].id, 1, state::SAMPLED_UNCHECK, Some(&r.id), 300),
            moved(cs[1].id, 1, UNCHECK, Some(&r.id), 300),
            moved(cs[2].id, 1, UNCHECK, Some(&r.id), 300),
        ];
        let h = step(
            history(
                &f.dataset.id,
                &f.samples[0].id,
                Some(&t.id),
                Some(&cs[0].worker_id),
                &f.owner,
                300,
                (UNCHECK, state::SAMPLED_UNCHECK),
                "cat",
                2,
            ),
            "draw",
            Some("drawn into acceptance round round-1"),
            &[],
        );
        s.open_round(
            &r,
            &[status::RUNNING, status::ACCEPTED, status::REJECTED],
            &moves,
            std::slice::from_ref(&h),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", b.name));

        assert_eq!(s.open_round_of(&t.id).await.unwrap(), Some(r.clone()), "{}", b.name);
        assert_eq!(s.list_rounds(&t.id).await.unwrap(), vec![r.clone()], "{}", b.name);
        assert_eq!(
            s.get_task(&f.dataset.id, &t.id).await.unwrap(),
            TaskRecord {
                status: status::ACCEPTING,
                update_time: 300,
                ..t.clone()
            },
            "{}: accepting",
            b.name
        );
        let after = single_copies(s, &f, &t.id).await;
        for (i, want) in [
            (state::SAMPLED_UNCHECK, 2, Some(r.id.as_str()), 300),
            (UNCHECK, 2, Some(r.id.as_str()), 300),
            (UNCHECK, 2, Some(r.id.as_str()), 300),
            (NONE, 0, None, 200),
        ]
        .into_iter()
        .enumerate()
        {
            let c = &after[i];
            assert_eq!(
                (c.state.as_str(), c.version, c.round_id.as_deref(), c.update_time),
                want,
                "{}: copy {i}",
                b.name
            );
            assert_eq!(c.labels, if i < 3 { labels.clone() } else { vec![] }, "{}", b.name);
        }
        let (total, rows) = s.list_history(&f.dataset.id, &f.samples[0].id, 0, 10).await.unwrap();
        assert_eq!(
            (total, rows.iter().map(without_id).collect::<Vec<_>>()),
            (1, vec![h]),
            "{}",
            b.name
        );

        // The other task is untouched.
        assert_eq!(seen(s, &f, &other.id).await, before_other, "{}", b.name);
        assert_eq!(s.open_round_of(&other.id).await.unwrap(), None, "{}", b.name);
        assert_eq!(s.list_rounds(&other.id).await.unwrap(), vec![], "{}", b.name);
    }
}

#[tokio::test]
async fn a_round_opens_once_and_only_from_the_statuses_given() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let u = f.started(s, "u", &order, 1).await;
        let r1 = round(&t.id, "round-1", &f.owner, 300);
        s.open_round(&r1, &[status::RUNNING], &[], &[])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let before_t = seen(s, &f, &t.id).await;
        let before_u = seen(s, &f, &u.id).await;

        // A second round of the same task: refused by the task's status, or (when the status is
        // allowed) by the one open round per task.
        let tc = single_copies(s, &f, &t.id).await;
        let r2 = round(&t.id, "round-2", &f.owner, 400);
        let moves = [moved(tc[0].id, 0, state::SAMPLED_UNCHECK, Some(&r2.id), 400)];
        let h = step(
            copy_history(&f, &t, &tc[0], 0, 400, (NONE, state::SAMPLED_UNCHECK)),
            "draw",
            None,
            &[],
        );
        for (what, from) in [
            (
                "the task is accepting",
                vec![status::RUNNING, status::ACCEPTED, status::REJECTED],
            ),
            ("one open round per task", vec![status::RUNNING, status::ACCEPTING]),
        ] {
            let err = s
                .open_round(&r2, &from, &moves, std::slice::from_ref(&h))
                .await
                .unwrap_err();
            assert_eq!(kind(&err), ROUND_OPEN, "{}: {what}", b.name);
            assert_eq!(
                seen(s, &f, &t.id).await,
                before_t,
                "{}: {what}: nothing written",
                b.name
            );
        }

        // A task not in one of the statuses given.
        let uc = single_copies(s, &f, &u.id).await;
        let r3 = round(&u.id, "round-3", &f.owner, 500);
        let moves = [moved(uc[1].id, 0, state::SAMPLED_UNCHECK, Some(&r3.id), 500)];
        let h = step(
            copy_history(&f, &u, &uc[1], 1, 500, (NONE, state::SAMPLED_UNCHECK)),
            "draw",
            None,
            &[],
        );
        let err = s
            .open_round(
                &r3,
                &[status::ACCEPTED, status::REJECTED],
                &moves,
                std::slice::from_ref(&h),
            )
            .await
            .unwrap_err();
        assert_eq!(kind(&err), ROUND_OPEN, "{}", b.name);
        assert_eq!(seen(s, &f, &u.id).await, before_u, "{}: nothing written", b.name);

        // From a status given, it opens beside the other task's round.
        s.open_round(&r3, &[status::RUNNING], &moves, std::slice::from_ref(&h))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(s.open_round_of(&u.id).await.unwrap(), Some(r3.clone()), "{}", b.name);
        assert_eq!(s.open_round_of(&t.id).await.unwrap(), Some(r1.clone()), "{}", b.name);
        assert_eq!(seen(s, &f, &t.id).await, before_t, "{}", b.name);
    }
}

#[tokio::test]
async fn a_stale_copy_rolls_back_the_round_and_the_task_status() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let cs = single_copies(s, &f, &t.id).await;
        // c0 at version 1.
        s.write_copies(&[write(cs[0].id, 0, vec![], UNCHECK, 10)], &[])
            .await
            .unwrap();
        let before = seen(s, &f, &t.id).await;

        let r = round(&t.id, "round-1", &f.owner, 300);
        let h = step(
            copy_history(&f, &t, &cs[1], 1, 300, (NONE, state::SAMPLED_UNCHECK)),
            "draw",
            None,
            &[],
        );
        let batches = [
            (
                "a stale copy",
                vec![
                    moved(cs[1].id, 0, state::SAMPLED_UNCHECK, Some(&r.id), 300),
                    moved(cs[0].id, 0, UNCHECK, Some(&r.id), 300),
                ],
            ),
            (
                "a copy that does not exist",
                vec![
                    moved(cs[1].id, 0, state::SAMPLED_UNCHECK, Some(&r.id), 300),
                    moved(cs[1].id + 1000, 0, UNCHECK, Some(&r.id), 300),
                ],
            ),
        ];
        for (what, moves) in batches {
            let err = s
                .open_round(&r, &[status::RUNNING], &moves, std::slice::from_ref(&h))
                .await
                .unwrap_err();
            assert_eq!(kind(&err), VERSION, "{}: {what}", b.name);
            assert_eq!(
                seen(s, &f, &t.id).await,
                before,
                "{}: {what}: no round, the task still running, no copy moved",
                b.name
            );
        }

        // At the right versions the same round opens.
        let moves = [
            moved(cs[1].id, 0, state::SAMPLED_UNCHECK, Some(&r.id), 300),
            moved(cs[0].id, 1, UNCHECK, Some(&r.id), 300),
        ];
        s.open_round(&r, &[status::RUNNING], &moves, std::slice::from_ref(&h))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(s.list_rounds(&t.id).await.unwrap(), vec![r.clone()], "{}", b.name);
        let task = s.get_task(&f.dataset.id, &t.id).await.unwrap();
        assert_eq!((task.status, task.update_time), (status::ACCEPTING, 300), "{}", b.name);
    }
}

#[tokio::test]
async fn closing_a_round_records_it_moves_the_copies_and_writes_the_dataset_labels() {
    for b in backends().await {
        let s = b.store.as_ref();
        // Samples: 0 dog, 1 cat, 2 - (dataset labels).
        let f = fixture(s, 3, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let cs = single_copies(s, &f, &t.id).await;
        let boxed = json!({"@modelarts:shape": "bndbox", "@modelarts:feature": [[5, 6], [7, 8]]});
        let l0 = vec![placed(&f.cat, boxed.clone())];
        let l1 = vec![placed(&f.dog, boxed.clone()), placed(&f.cat, json!({"x": 1}))];
        s.write_copies(
            &[
                write(cs[0].id, 0, l0.clone(), UNCHECK, 10),
                write(cs[1].id, 0, l1.clone(), UNCHECK, 10),
                write(cs[2].id, 0, vec![], UNCHECK, 10),
            ],
            &[],
        )
        .await
        .unwrap();
        let r = round(&t.id, "round-1", &f.owner, 300);
        s.open_round(
            &r,
            &[status::RUNNING],
            &[
                moved(cs[0].id, 1, state::SAMPLED_UNCHECK, Some(&r.id), 300),
                moved(cs[1].id, 1, UNCHECK, Some(&r.id), 300),
                moved(cs[2].id, 1, UNCHECK, Some(&r.id), 300),
            ],
            &[],
        )
        .await
        .unwrap();
        s.judge_copies(
            &[CopyVerdict {
                score: Some("5".into()),
                ..verdict(cs[0].id, 2, Judge::Check, state::SAMPLED_ACCEPTED, true, 400)
            }],
            &[],
            &[],
        )
        .await
        .unwrap();

        let close = RoundClose {
            round: RoundRecord {
                status: round_status::CLOSED,
                action: Some(0),
                overwrite: Some(true),
                checked_count: 1,
                accepted_count: 1,
                rejected_count: 0,
                total_score: 5,
                closed_by: Some(f.owner.id.clone()),
                close_time: Some(500),
                ..r.clone()
            },
            task_status: status::ACCEPTED,
            event: None,
        };
        let moves = [
            moved(cs[0].id, 3, ACCEPTED, None, 500),
            moved(cs[1].id, 2, ACCEPTED, None, 500),
            moved(cs[2].id, 2, ACCEPTED, None, 500),
        ];
        let samples = [
            SampleWrite {
                sample_usage: Some("TRAIN".into()),
                ..sync(&f, 0, 0, l0.clone(), 500)
            },
            sync(&f, 1, 0, l1.clone(), 500),
        ];
        let accept = |i: usize, from: &str| {
            step(
                copy_history(&f, &t, &cs[i], i, 500, (from, ACCEPTED)),
                "accept",
                Some("round-1 accepted"),
                &[],
            )
        };
        let synced = |i: usize, from: &[&str]| {
            step(
                history(
                    &f.dataset.id,
                    &f.samples[i].id,
                    Some(&t.id),
                    None,
                    &f.owner,
                    500,
                    ("MANUAL_ANNOTATION", "MANUAL_ANNOTATION"),
                    "cat",
                    1,
                ),
                "sync",
                None,
                from,
            )
        };
        let log = vec![
            accept(0, state::SAMPLED_ACCEPTED),
            accept(1, UNCHECK),
            accept(2, UNCHECK),
            synced(0, &[&cs[0].worker_id]),
            synced(1, &[&cs[1].worker_id, &cs[0].worker_id]),
        ];
        s.close_round(&close, &moves, &samples, &log)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));

        assert_eq!(s.open_round_of(&t.id).await.unwrap(), None, "{}", b.name);
        assert_eq!(s.list_rounds(&t.id).await.unwrap(), vec![closed(&close)], "{}", b.name);
        assert_eq!(
            s.get_task(&f.dataset.id, &t.id).await.unwrap(),
            TaskRecord {
                status: status::ACCEPTED,
                update_time: 500,
                ..t.clone()
            },
            "{}",
            b.name
        );
        let states = s.task_copy_states(&t.id).await.unwrap();
        assert_eq!(
            states
                .iter()
                .map(|c| (c.state.as_str(), c.version, c.round_id.as_deref()))
                .collect::<Vec<_>>(),
            vec![(ACCEPTED, 4, None), (ACCEPTED, 3, None), (ACCEPTED, 3, None)],
            "{}: out of the round",
            b.name
        );
        assert_eq!(
            states[0].verdicts,
            Verdicts {
                check_accept: Some(true),
                check_score: Some("5".into()),
                ..Verdicts::default()
            },
            "{}: verdicts kept",
            b.name
        );
        let copies = single_copies(s, &f, &t.id).await;
        assert_eq!(
            (copies[0].labels.clone(), copies[1].labels.clone()),
            (l0.clone(), l1.clone()),
            "{}: copy labels kept",
            b.name
        );

        // Dataset labels replaced, the version bumped, the sample not written untouched.
        let s0 = SampleRecord {
            labels: l0.clone(),
            status: SampleStatus::ManualAnnotation,
            version: 1,
            metadata: samples[0].metadata.clone(),
            sample_usage: Some("TRAIN".into()),
            update_time: 500,
            ..f.samples[0].clone()
        };
        let s1 = SampleRecord {
            labels: l1.clone(),
            status: SampleStatus::ManualAnnotation,
            version: 1,
            metadata: samples[1].metadata.clone(),
            update_time: 500,
            ..f.samples[1].clone()
        };
        assert_eq!(
            s.get_sample(&f.dataset.id, &f.samples[0].id).await.unwrap(),
            s0,
            "{}",
            b.name
        );
        let ids: Vec<String> = f.samples.iter().map(|x| x.id.clone()).collect();
        assert_eq!(
            s.load_samples(&f.dataset.id, &ids).await.unwrap(),
            vec![s0.clone(), s1.clone(), f.samples[2].clone()],
            "{}",
            b.name
        );

        // History in the order given, newest first.
        for (i, want) in [
            vec![log[3].clone(), log[0].clone()],
            vec![log[4].clone(), log[1].clone()],
            vec![log[2].clone()],
        ]
        .into_iter()
        .enumerate()
        {
            let (total, rows) = s.list_history(&f.dataset.id, &f.samples[i].id, 0, 10).await.unwrap();
            assert_eq!(
                (total, rows.iter().map(without_id).collect::<Vec<_>>()),
                (want.len() as u64, want),
                "{}: sample {i}",
                b.name
            );
        }
    }
}

#[tokio::test]
async fn a_round_closes_once_and_a_new_one_may_open_after_it() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let u = f.started(s, "u", &order, 1).await;
        let cs = single_copies(s, &f, &t.id).await;
        let r1 = round(&t.id, "round-1", &f.owner, 300);
        s.open_round(&r1, &[status::RUNNING], &[], &[]).await.unwrap();
        let c1 = cancel(&r1, &f.owner, 400);
        s.close_round(&c1, &[], &[], &[])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(s.open_round_of(&t.id).await.unwrap(), None, "{}", b.name);
        assert_eq!(s.list_rounds(&t.id).await.unwrap(), vec![closed(&c1)], "{}", b.name);
        let task = s.get_task(&f.dataset.id, &t.id).await.unwrap();
        assert_eq!((task.status, task.update_time), (status::RUNNING, 400), "{}", b.name);

        // Closing it again changes nothing, whatever else the close carries.
        let moves = [moved(cs[0].id, 0, ACCEPTED, None, 450)];
        let samples = [sync(&f, 0, 0, vec![placed(&f.cat, json!({}))], 450)];
        let h = step(
            copy_history(&f, &t, &cs[0], 0, 450, (NONE, ACCEPTED)),
            "accept",
            None,
            &[],
        );
        let before = seen(s, &f, &t.id).await;
        let err = s
            .close_round(&c1, &moves, &samples, std::slice::from_ref(&h))
            .await
            .unwrap_err();
        assert_eq!(kind(&err), ROUND_OPEN, "{}: closed already", b.name);
        assert_eq!(seen(s, &f, &t.id).await, before, "{}: nothing written", b.name);

        // A new round opens after it; rounds are listed oldest first.
        let r2 = round(&t.id, "round-2", &f.owner, 500);
        s.open_round(&r2, &[status::RUNNING], &[], &[]).await.unwrap();
        assert_eq!(s.open_round_of(&t.id).await.unwrap(), Some(r2.clone()), "{}", b.name);
        assert_eq!(
            s.list_rounds(&t.id).await.unwrap(),
            vec![closed(&c1), r2.clone()],
            "{}",
            b.name
        );

        // The ended round stays ended while another is open (the task's status would allow it);
        // a round closed under another task, or one that does not exist, likewise.
        let before = seen(s, &f, &t.id).await;
        let before_u = seen(s, &f, &u.id).await;
        for (what, close) in [
            ("the ended round", cancel(&r1, &f.owner, 550)),
            ("under another task", {
                let mut c = cancel(&r2, &f.owner, 550);
                c.round.task_id = u.id.clone();
                c
            }),
            ("no such round", {
                let mut c = cancel(&r2, &f.owner, 550);
                c.round.id = "round-9".into();
                c
            }),
        ] {
            let err = s
                .close_round(&close, &moves, &samples, std::slice::from_ref(&h))
                .await
                .unwrap_err();
            assert_eq!(kind(&err), ROUND_OPEN, "{}: {what}", b.name);
            assert_eq!(seen(s, &f, &t.id).await, before, "{}: {what}: nothing written", b.name);
            assert_eq!(
                seen(s, &f, &u.id).await,
                before_u,
                "{}: {what}: nothing written",
                b.name
            );
        }

        // A task moved out of accepting meanwhile: the round's close is rolled back too.
        s.update_task(
            &TaskRecord {
                status: status::RUNNING,
                ..before.task.clone()
            },
            None,
        )
        .await
        .unwrap();
        let before = seen(s, &f, &t.id).await;
        let err = s
            .close_round(&cancel(&r2, &f.owner, 600), &[], &[], &[])
            .await
            .unwrap_err();
        assert_eq!(kind(&err), ROUND_OPEN, "{}: task not accepting", b.name);
        assert_eq!(seen(s, &f, &t.id).await, before, "{}: the round still open", b.name);
        assert_eq!(s.open_round_of(&t.id).await.unwrap(), Some(r2.clone()), "{}", b.name);
    }
}

#[tokio::test]
async fn rounds_of_one_time_are_listed_by_id_in_code_point_order() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 1, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        // Code-point order puts upper case first; a linguistic collation would not.
        let mut want = Vec::new();
        for id in ["round-b", "Round-c", "round-a"] {
            let r = round(&t.id, id, &f.owner, 300);
            s.open_round(&r, &[status::RUNNING], &[], &[]).await.unwrap();
            let c = cancel(&r, &f.owner, 300);
            s.close_round(&c, &[], &[], &[]).await.unwrap();
            want.push(closed(&c));
        }
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(
            want.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            vec!["Round-c", "round-a", "round-b"]
        );
        assert_eq!(s.list_rounds(&t.id).await.unwrap(), want, "{}", b.name);
    }
}

#[tokio::test]
async fn a_stale_sample_or_copy_rolls_back_the_whole_close() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 2, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let cs = single_copies(s, &f, &t.id).await;
        let labels = vec![placed(&f.dog, json!({"y": 2}))];
        s.write_copies(
            &[
                write(cs[0].id, 0, labels.clone(), UNCHECK, 10),
                write(cs[1].id, 0, labels.clone(), UNCHECK, 10),
            ],
            &[],
        )
        .await
        .unwrap();
        let r = round(&t.id, "round-1", &f.owner, 300);
        s.open_round(
            &r,
            &[status::RUNNING],
            &[
                moved(cs[0].id, 1, UNCHECK, Some(&r.id), 300),
                moved(cs[1].id, 1, UNCHECK, Some(&r.id), 300),
            ],
            &[],
        )
        .await
        .unwrap();
        let before = seen(s, &f, &t.id).await;

        let mut close = cancel(&r, &f.owner, 500);
        close.round.status = round_status::CLOSED;
        close.round.action = Some(0);
        close.round.overwrite = Some(false);
        close.task_status = status::ACCEPTED;
        let moves = |v0: i64| {
            vec![
                moved(cs[0].id, v0, ACCEPTED, None, 500),
                moved(cs[1].id, 2, ACCEPTED, None, 500),
            ]
        };
        let log = [
            step(
                copy_history(&f, &t, &cs[0], 0, 500, (UNCHECK, ACCEPTED)),
                "accept",
                None,
                &[],
            ),
            step(
                copy_history(&f, &t, &cs[1], 1, 500, (UNCHECK, ACCEPTED)),
                "sync",
                None,
                &[&cs[1].worker_id],
            ),
        ];
        let cases = [
            (
                "a stale sample",
                moves(2),
                vec![sync(&f, 1, 0, labels.clone(), 500), sync(&f, 0, 7, labels.clone(), 500)],
            ),
            (
                "a stale copy",
                moves(1),
                vec![sync(&f, 1, 0, labels.clone(), 500), sync(&f, 0, 0, labels.clone(), 500)],
            ),
            (
                "a sample of another dataset",
                moves(2),
                vec![
                    sync(&f, 1, 0, labels.clone(), 500),
                    SampleWrite {
                        dataset_id: "another-dataset".into(),
                        ..sync(&f, 0, 0, labels.clone(), 500)
                    },
                ],
            ),
        ];
        for (what, moves, samples) in cases {
            let err = s.close_round(&close, &moves, &samples, &log).await.unwrap_err();
            assert_eq!(kind(&err), VERSION, "{}: {what}", b.name);
            assert_eq!(
                seen(s, &f, &t.id).await,
                before,
                "{}: {what}: the round open, the task accepting, copies in the round, labels and history as they were",
                b.name
            );
        }

        // At the right versions it closes.
        let samples = [sync(&f, 1, 0, labels.clone(), 500), sync(&f, 0, 0, labels.clone(), 500)];
        s.close_round(&close, &moves(2), &samples, &log)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(s.list_rounds(&t.id).await.unwrap(), vec![closed(&close)], "{}", b.name);
        for x in &f.samples {
            let got = s.get_sample(&f.dataset.id, &x.id).await.unwrap();
            assert_eq!((got.version, got.labels), (1, labels.clone()), "{}", b.name);
        }
    }
}

#[tokio::test]
async fn a_label_write_takes_a_copy_out_of_its_round() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 3, 1).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 1).await;
        let cs = single_copies(s, &f, &t.id).await;
        let r = round(&t.id, "round-1", &f.owner, 300);
        let moves: Vec<CopyMove> = cs.iter().map(|c| moved(c.id, 0, UNCHECK, Some(&r.id), 300)).collect();
        s.open_round(&r, &[status::RUNNING], &moves, &[]).await.unwrap();
        let rounds = |cs: &[CopyState]| -> Vec<Option<String>> { cs.iter().map(|c| c.round_id.clone()).collect() };
        let mut want = vec![Some(r.id.clone()); 3];
        assert_eq!(rounds(&s.task_copy_states(&t.id).await.unwrap()), want, "{}", b.name);

        let cat = vec![placed(&f.cat, json!({}))];
        let batches = [
            (
                "one copy",
                vec![write(cs[0].id, 1, cat.clone(), UNREVIEWED, 400)],
                vec![0],
            ),
            (
                "the same copy twice",
                vec![
                    write(cs[1].id, 1, cat.clone(), UNREVIEWED, 400),
                    write(cs[1].id, 2, vec![], UNREVIEWED, 401),
                ],
                vec![1],
            ),
            (
                "with a copy already out",
                vec![
                    write(cs[2].id, 1, cat.clone(), UNREVIEWED, 400),
                    write(cs[0].id, 2, vec![], UNREVIEWED, 400),
                ],
                vec![2],
            ),
        ];
        for (what, batch, out) in batches {
            s.write_copies(&batch, &[])
                .await
                .unwrap_or_else(|e| panic!("{}: {what}: {e}", b.name));
            for i in out {
                want[i] = None;
            }
            assert_eq!(
                rounds(&s.task_copy_states(&t.id).await.unwrap()),
                want,
                "{}: {what}",
                b.name
            );
        }
        assert_eq!(
            s.open_round_of(&t.id).await.unwrap(),
            Some(r.clone()),
            "{}: the round stays open",
            b.name
        );
    }
}

#[tokio::test]
async fn copy_counts_are_grouped_by_the_verdicts_too() {
    for b in backends().await {
        let s = b.store.as_ref();
        let f = fixture(s, 4, 2).await;
        let order = f.labelers_desc();
        let t = f.started(s, "t", &order, 2).await;
        let copies = f.copies(s, &t.id).await;
        let mut workers: Vec<String> = f.labelers.iter().map(|w| w.id.clone()).collect();
        workers.sort();
        let (wa, wb) = (&workers[0], &workers[1]);
        let copy = |sample: usize, w: &str| copies[sample].iter().find(|c| c.worker_id == w).unwrap().id;

        // wa: 0 and 1 passed by the reviewer, 2 rejected, 3 not reviewed; all __UNCHECK__.
        // wb: 0 passed by reviewer and owner, 1 rejected by the owner, 2 and 3 untouched.
        s.write_copies(&[write(copy(3, wa), 0, vec![], UNCHECK, 10)], &[])
            .await
            .unwrap();
        s.judge_copies(
            &[
                verdict(copy(0, wa), 0, Judge::Review, UNCHECK, true, 20),
                verdict(copy(1, wa), 0, Judge::Review, UNCHECK, true, 20),
                verdict(copy(2, wa), 0, Judge::Review, UNCHECK, false, 20),
                verdict(copy(0, wb), 0, Judge::Review, UNCHECK, true, 20),
                verdict(copy(0, wb), 1, Judge::Check, UNCHECK, true, 20),
                verdict(copy(1, wb), 0, Judge::Check, UNCHECK, false, 20),
            ],
            &[],
            &[],
        )
        .await
        .unwrap();

        let count = |w: &str, state: &str, review: Option<bool>, check: Option<bool>, n: u64| CopyCount {
            worker_id: w.into(),
            state: state.into(),
            count: n,
            review_accept: review,
            check_accept: check,
        };
        assert_eq!(
            s.task_copy_counts(&t.id).await.unwrap(),
            vec![
                count(wa, UNCHECK, None, None, 1),
                count(wa, UNCHECK, Some(false), None, 1),
                count(wa, UNCHECK, Some(true), None, 2),
                count(wb, NONE, None, None, 2),
                count(wb, UNCHECK, None, Some(false), 1),
                count(wb, UNCHECK, Some(true), Some(true), 1),
            ],
            "{}: by member, state, then verdicts (none first)",
            b.name
        );
        assert_eq!(
            counts(s.task_copy_counts(&t.id).await.unwrap())
                .iter()
                .map(|(_, _, n)| n)
                .sum::<u64>(),
            8,
            "{}",
            b.name
        );
    }
}
