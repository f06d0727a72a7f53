//! Webhooks in the store: endpoints round trip; an event handed to the outbox by a write lands
//! as one pending delivery per enabled endpoint of the dataset's project subscribed to it, and
//! not at all when the write is refused; claims hand a due delivery to one dispatcher until it is
//! recorded or its lease runs out; the log filters, pages, redelivers and purges.

use serde_json::json;
use teamlabel_api::enums::DatasetType;
use teamlabel_core::error::codes;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{
    delivery_status, DataTaskRecord, DataTaskUpdate, DeliveryAttempt, OutboxEvent, Store, TaskKind, WebhookRecord,
};
use teamlabel_core::team::task_states::state;

use crate::common::*;

fn hook(project_id: &str, events: &[&str], enabled: bool, time: i64) -> WebhookRecord {
    WebhookRecord {
        id: new_hex32(),
        project_id: project_id.into(),
        url: format!("https://hooks.example.com/{time}"),
        events: events.iter().map(|e| e.to_string()).collect(),
        description: String::new(),
        enabled,
        sealed_secret: vec![1, 2, 3, time as u8],
        create_time: time,
        update_time: time,
    }
}

fn event(dataset_id: &str, name: &str, time: i64) -> OutboxEvent {
    let id = new_hex32();
    OutboxEvent {
        payload: json!({"event_id": id, "event": name, "n": time}).to_string(),
        id,
        dataset_id: dataset_id.into(),
        event: name.into(),
        create_time: time,
    }
}

/// A running export of the dataset.
async fn export(s: &dyn Store, dataset_id: &str) -> DataTaskRecord {
    let t = DataTaskRecord {
        id: new_hex32(),
        dataset_id: dataset_id.into(),
        kind: TaskKind::Export,
        subtype: 0,
        status: "RUNNING".into(),
        request: json!({}),
        progress: json!({}),
        cursor: None,
        error_code: None,
        error_msg: None,
        create_time: 1,
        update_time: 1,
    };
    s.insert_data_task(&t).await.unwrap();
    t
}

/// Ends a task, handing `e` to the outbox with it.
fn ended(t: &DataTaskRecord, e: &OutboxEvent) -> DataTaskUpdate {
    DataTaskUpdate {
        id: t.id.clone(),
        from: vec!["RUNNING".into()],
        status: "SUCCESSED".into(),
        progress: json!({}),
        cursor: None,
        error_code: None,
        error_msg: None,
        update_time: e.create_time,
        event: Some(e.clone()),
    }
}

async fn log(s: &dyn Store, webhook_id: &str) -> Vec<teamlabel_core::store::DeliveryRecord> {
    s.list_deliveries(webhook_id, None, 0, 100).await.unwrap().1
}

#[tokio::test]
async fn events_reach_the_enabled_subscribers_of_the_project_only_with_their_write() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let (other, _) = project(s).await;
        let d = dataset(&p.id, "hooked", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[]).await.unwrap();
        let both = hook(&p.id, &["copy.labeled", "export.finished"], true, 10);
        let exports = hook(&p.id, &["export.finished"], true, 11);
        let off = hook(&p.id, &["export.finished"], false, 12);
        let labeled = hook(&p.id, &["copy.labeled"], true, 13);
        let elsewhere = hook(&other.id, &["export.finished"], true, 14);
        for h in [&both, &exports, &off, &labeled, &elsewhere] {
            s.insert_webhook(h).await.unwrap();
        }
        assert_eq!(
            s.get_webhook(&p.id, &both.id).await.unwrap().as_ref(),
            Some(&both),
            "{}",
            b.name
        );
        assert!(
            s.get_webhook(&other.id, &both.id).await.unwrap().is_none(),
            "{}",
            b.name
        );
        let (n, page) = s.list_webhooks(&p.id, 1, 2).await.unwrap();
        assert_eq!(
            (n, page),
            (4, vec![off.clone(), labeled.clone()]),
            "{}: oldest first, pages of 2",
            b.name
        );

        let t = export(s, &d.id).await;
        let e = event(&d.id, "export.finished", 50);
        // A refused write hands nothing over.
        let mut stale = ended(&t, &e);
        stale.from = vec!["QUEUING".into()];
        let err = s.update_data_task(&stale).await.unwrap_err();
        assert_eq!(err.code, codes::VERSION_CONFLICT, "{}", b.name);
        assert!(log(s, &both.id).await.is_empty(), "{}", b.name);

        s.update_data_task(&ended(&t, &e)).await.unwrap();
        for h in [&both, &exports] {
            let got = log(s, &h.id).await;
            assert_eq!(got.len(), 1, "{}", b.name);
            let d = &got[0];
            assert_eq!(d.id, format!("{}.{}", e.id, h.id), "{}", b.name);
            assert_eq!(
                (
                    d.event.as_str(),
                    d.payload.as_str(),
                    d.status.as_str(),
                    d.attempts,
                    d.next_attempt_at
                ),
                ("export.finished", e.payload.as_str(), delivery_status::PENDING, 0, 50),
                "{}",
                b.name
            );
        }
        for h in [&off, &labeled, &elsewhere] {
            assert!(log(s, &h.id).await.is_empty(), "{}: {}", b.name, h.url);
        }

        // The label write of a copy: refused at a stale version, nothing; applied, one delivery.
        let f = fixture(s, 1, 1).await;
        let mut mine = hook(&f.project.id, &["copy.labeled"], true, 20);
        s.insert_webhook(&mine).await.unwrap();
        let task = f.started(s, "t", &[f.labelers[0].id.clone()], 1).await;
        let copy = f.copies(s, &task.id).await[0][0].clone();
        let e = event(&f.dataset.id, "copy.labeled", 60);
        let stale = write(copy.id, copy.version + 1, Vec::new(), state::UNCHECK, 60);
        let err = s
            .write_copies_with(&[stale], &[], None, std::slice::from_ref(&e))
            .await
            .unwrap_err();
        assert_eq!(err.code, codes::VERSION_CONFLICT, "{}", b.name);
        assert!(log(s, &mine.id).await.is_empty(), "{}", b.name);
        let fresh = write(copy.id, copy.version, Vec::new(), state::UNCHECK, 60);
        s.write_copies_with(&[fresh], &[], None, std::slice::from_ref(&e))
            .await
            .unwrap();
        assert_eq!(log(s, &mine.id).await.len(), 1, "{}", b.name);

        // Unsubscribed, the next event reaches nobody; deleting takes the deliveries along.
        mine.events = vec!["copy.reviewed".into()];
        mine.update_time = 70;
        assert!(s.update_webhook(&mine).await.unwrap(), "{}", b.name);
        assert_eq!(
            s.get_webhook(&f.project.id, &mine.id).await.unwrap().unwrap(),
            mine,
            "{}",
            b.name
        );
        let copy = f.copies(s, &task.id).await[0][0].clone();
        let again = write(copy.id, copy.version, Vec::new(), state::UNCHECK, 70);
        s.write_copies_with(&[again], &[], None, &[event(&f.dataset.id, "copy.labeled", 70)])
            .await
            .unwrap();
        assert_eq!(log(s, &mine.id).await.len(), 1, "{}", b.name);
        assert!(s.delete_webhook(&f.project.id, &mine.id).await.unwrap(), "{}", b.name);
        assert!(!s.delete_webhook(&f.project.id, &mine.id).await.unwrap(), "{}", b.name);
        assert!(log(s, &mine.id).await.is_empty(), "{}", b.name);
        assert!(!s.update_webhook(&mine).await.unwrap(), "{}", b.name);
    }
}

#[tokio::test]
async fn a_claim_hands_a_due_delivery_out_once_until_its_attempt_is_recorded_or_its_lease_ends() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, _) = project(s).await;
        let d = dataset(&p.id, "hooked", DatasetType::ImageClassification, 1);
        s.insert_dataset(&d, &[]).await.unwrap();
        let h = hook(&p.id, &["export.finished"], true, 10);
        s.insert_webhook(&h).await.unwrap();
        let mut ids = Vec::new();
        for time in [30, 10, 20] {
            let e = event(&d.id, "export.finished", time);
            s.update_data_task(&ended(&export(s, &d.id).await, &e)).await.unwrap();
            ids.push(format!("{}.{}", e.id, h.id));
        }
        let (late, early, middle) = (&ids[0], &ids[1], &ids[2]);

        let first = s.claim_deliveries(100, 1000, 2).await.unwrap();
        let claimed: Vec<&str> = first.iter().map(|j| j.delivery.id.as_str()).collect();
        assert_eq!(
            claimed,
            [early.as_str(), middle.as_str()],
            "{}: earliest due first",
            b.name
        );
        assert_eq!(
            (first[0].url.as_str(), first[0].sealed_secret.as_slice()),
            (h.url.as_str(), h.sealed_secret.as_slice()),
            "{}",
            b.name
        );
        let second = s.claim_deliveries(100, 1000, 10).await.unwrap();
        assert_eq!(second.len(), 1, "{}", b.name);
        assert_eq!(&second[0].delivery.id, late, "{}", b.name);
        assert!(
            s.claim_deliveries(999, 2000, 10).await.unwrap().is_empty(),
            "{}: all are held",
            b.name
        );

        // The attempts: one delivered, one to retry at 1500, one failed for good.
        let attempt = |id: &str, status: &str, next: i64| DeliveryAttempt {
            id: id.into(),
            status: status.into(),
            attempts: 1,
            last_status_code: Some(if status == delivery_status::DELIVERED { 200 } else { 500 }),
            last_error: (status != delivery_status::DELIVERED).then(|| "the endpoint answered HTTP 500".into()),
            next_attempt_at: next,
            delivered_time: (status == delivery_status::DELIVERED).then_some(next),
        };
        s.record_attempt(&attempt(early, delivery_status::DELIVERED, 1001))
            .await
            .unwrap();
        s.record_attempt(&attempt(middle, delivery_status::PENDING, 1500))
            .await
            .unwrap();
        // `late` was claimed and never recorded: its lease ends at 1000.
        let again = s.claim_deliveries(1000, 3000, 10).await.unwrap();
        assert_eq!(again.len(), 1, "{}", b.name);
        assert_eq!(
            &again[0].delivery.id, late,
            "{}: a lease that ran out hands it out again",
            b.name
        );
        s.record_attempt(&attempt(late, delivery_status::FAILED, 1002))
            .await
            .unwrap();
        assert!(
            s.claim_deliveries(1499, 5000, 10).await.unwrap().is_empty(),
            "{}",
            b.name
        );
        let retry = s.claim_deliveries(1500, 5000, 10).await.unwrap();
        assert_eq!(retry.len(), 1, "{}", b.name);
        assert_eq!(
            (&retry[0].delivery.id, retry[0].delivery.attempts),
            (middle, 1),
            "{}",
            b.name
        );

        let (n, failed) = s
            .list_deliveries(&h.id, Some(delivery_status::FAILED), 0, 10)
            .await
            .unwrap();
        assert_eq!((n, failed[0].id.as_str()), (1, late.as_str()), "{}", b.name);
        assert_eq!(
            (failed[0].last_status_code, failed[0].last_error.as_deref()),
            (Some(500), Some("the endpoint answered HTTP 500")),
            "{}",
            b.name
        );
        let (n, page) = s.list_deliveries(&h.id, None, 1, 2).await.unwrap();
        assert_eq!(
            (n, page.len(), page[0].id.as_str()),
            (3, 1, early.as_str()),
            "{}: newest first",
            b.name
        );
        let delivered = s.get_delivery(&h.id, early).await.unwrap().unwrap();
        assert_eq!(
            (delivered.status.as_str(), delivered.delivered_time),
            (delivery_status::DELIVERED, Some(1001)),
            "{}",
            b.name
        );
        assert!(s.get_delivery("nope", early).await.unwrap().is_none(), "{}", b.name);

        assert!(s.redeliver(&h.id, late, 4000).await.unwrap(), "{}", b.name);
        assert!(!s.redeliver(&h.id, "nope", 4000).await.unwrap(), "{}", b.name);
        let back = s.get_delivery(&h.id, late).await.unwrap().unwrap();
        assert_eq!(
            (back.status.as_str(), back.attempts, back.next_attempt_at),
            (delivery_status::PENDING, 0, 4000),
            "{}",
            b.name
        );

        // Purged: finished ones created before the cut; the pending ones stay.
        assert_eq!(s.purge_deliveries(25).await.unwrap(), 1, "{}", b.name);
        let left: Vec<String> = log(s, &h.id).await.into_iter().map(|d| d.id).collect();
        assert_eq!(left, [late.clone(), middle.clone()], "{}", b.name);
    }
}
