//! Team, member and task management: bad requests refused with nothing changed, member
//! emails without regard to case, task members in the shape the member list answers.

use super::*;

#[tokio::test]
async fn bad_team_member_and_task_requests_are_refused_and_change_nothing() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, true).await;
        let team = fx.team.clone();
        let owner = t.token.clone();
        let ann = fx.ann.clone();
        // A second team holding the owner as a member, a manager in the first team, a dataset
        // without labels and a task (Bob only) not started yet.
        let reserve = expect(
            &t,
            "team",
            &t.post("/workforces", json!({"workforce_name": "reserve"})).await,
            201,
        )["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        add_member(&t, &reserve, OWNER, 0).await;
        let owner_member = member_id(&t, &reserve, OWNER).await;
        add_member(&t, &team, "mia@example.com", 2).await;
        let bare = t.dataset("bare", 900, json!([])).await;
        let round2 = create_task(&t, &fx.ds, "round-2", &team, &[BOB]).await;
        let round2_path = format!("/datasets/{}/workforce-tasks/{round2}", fx.ds);
        let tasks = format!("/datasets/{}/workforce-tasks", fx.ds);
        let members = format!("/workforces/{team}/workers");
        let task_ok =
            json!({"task_name": "round-3", "repetition": 1, "workforces_config": team_config(&team, &[ANN, BOB])});
        let task = |extra: Value| bytes(with(&task_ok, extra));
        let cfg_workers =
            |workers: Value| json!({"workforces_config": {"workforces": [{"workforce_id": team, "workers": workers}]}});

        let r = |case: &str,
                 token: &str,
                 method: Method,
                 path: &str,
                 body: Option<Vec<u8>>,
                 status,
                 code,
                 fragment: &str|
         -> Refusal {
            (
                case.into(),
                token.into(),
                method,
                path.into(),
                body,
                status,
                code,
                fragment.into(),
            )
        };
        #[rustfmt::skip]
        let rows: Vec<Refusal> = vec![
            // Teams.
            r("team name missing", &owner, Method::POST, "/workforces", bytes(json!({})), 400, INVALID, "workforce_name is required"),
            r("team name empty", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": ""})), 400, INVALID, "workforce_name must be 1 to 64 characters long, got 0"),
            r("team name of 65 characters", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "t".repeat(65)})), 400, INVALID, "workforce_name must be 1 to 64"),
            r("team name not ASCII", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "équipe"})), 400, INVALID, "workforce_name may contain only letters, digits, '_' and '-'; found 'é'"),
            r("team name with a space", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "a b"})), 400, INVALID, "workforce_name may contain only letters, digits, '_' and '-'; found ' '"),
            r("team name a number", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": 5})), 400, INVALID, "workforce_name: invalid type"),
            r("team description with <", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "new", "description": "a<b"})), 400, INVALID, "description must not contain '<'"),
            r("duplicate team name", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "annotators"})), 400, WORKFORCE_EXISTS, "already exists"),
            r("renaming a team to a taken name", &owner, Method::PUT, &format!("/workforces/{reserve}"), bytes(json!({"workforce_name": "annotators"})), 400, WORKFORCE_EXISTS, "already exists"),
            r("renaming a team to a bad name", &owner, Method::PUT, &format!("/workforces/{reserve}"), bytes(json!({"workforce_name": "a/b"})), 400, INVALID, "workforce_name may contain only"),
            r("an unknown team", &owner, Method::GET, &format!("/workforces/{UNKNOWN_ID19}"), None, 404, WORKFORCE_NOT_FOUND, "The workforce does not exist"),
            r("members of an unknown team", &owner, Method::POST, &format!("/workforces/{UNKNOWN_ID19}/workers"), bytes(json!({"emails": "new@example.com", "role": 0})), 404, WORKFORCE_NOT_FOUND, UNKNOWN_ID19),
            r("deleting a team whose members have work", &owner, Method::DELETE, &format!("/workforces/{team}"), None, 400, WORKER_HAS_TASK, "has unfinished work in a team task"),
            r("a labeler listing teams", &ann, Method::GET, "/workforces", None, 403, NOT_AUTHORIZED, "(GET /v2/{project_id}/workforces) operation: it is for the owner"),
            r("a labeler creating a team", &ann, Method::POST, "/workforces", bytes(json!({"workforce_name": "mine"})), 403, NOT_AUTHORIZED, "(POST /v2/{project_id}/workforces) operation: it is for the owner"),
            // Members.
            r("member email invalid", &owner, Method::POST, &members, bytes(json!({"emails": "not-an-email", "role": 0})), 400, INVALID, "emails is not a valid email address: \"not-an-email\""),
            r("member email without a dot in the host", &owner, Method::POST, &members, bytes(json!({"emails": "x@localhost", "role": 0})), 400, INVALID, "emails is not a valid email address"),
            r("member email missing", &owner, Method::POST, &members, bytes(json!({"role": 0})), 400, INVALID, "emails is required"),
            r("member emails a list", &owner, Method::POST, &members, bytes(json!({"emails": ["x@example.com"], "role": 0})), 400, INVALID, "emails: invalid type"),
            r("member role 3", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": 3})), 400, INVALID, "role must be 0 (labeler), 1 (reviewer) or 2 (team manager), got 3"),
            r("member role \"x\"", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": "x"})), 400, INVALID, "role must be 0 (labeler), 1 (reviewer) or 2 (team manager), got \"x\""),
            r("member role -1", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": -1})), 400, INVALID, "role must be 0"),
            r("member role missing", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com"})), 400, INVALID, "role is required"),
            r("duplicate member", &owner, Method::POST, &members, bytes(json!({"emails": ANN, "role": 1})), 400, WORKER_EXISTS, "already exists"),
            r("second manager", &owner, Method::POST, &members, bytes(json!({"emails": "max@example.com", "role": 2})), 400, ONE_MANAGER, "manager should be one"),
            r("second manager, role as a string", &owner, Method::POST, &members, bytes(json!({"emails": "max@example.com", "role": "2"})), 400, ONE_MANAGER, "manager should be one"),
            r("making a second manager", &owner, Method::PUT, &format!("{members}/{}", fx.bob_id), bytes(json!({"role": 2})), 400, ONE_MANAGER, "manager should be one"),
            r("changing a member to role 3", &owner, Method::PUT, &format!("{members}/{}", fx.bob_id), bytes(json!({"role": 3})), 400, INVALID, "role must be 0"),
            r("an unknown member", &owner, Method::GET, &format!("{members}/{UNKNOWN_HEX}"), None, 404, WORKER_NOT_FOUND, "The worker does not exist"),
            r("deleting an unknown member", &owner, Method::DELETE, &format!("{members}/{UNKNOWN_HEX}"), None, 404, WORKER_NOT_FOUND, UNKNOWN_HEX),
            r("deleting a member with unfinished work", &owner, Method::DELETE, &format!("{members}/{}", fx.ann_id), None, 400, WORKER_HAS_TASK, "Can not delete worker who has task: ann@example.com"),
            r("deleting oneself", &owner, Method::DELETE, &format!("/workforces/{reserve}/workers/{owner_member}"), None, 400, DELETE_YOURSELF, "Can not delete yourself"),
            r("a labeler adding a member", &ann, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": 0})), 403, NOT_AUTHORIZED, "it is for the owner, manager of the team"),
            // Tasks.
            r("a task on a dataset without labels", &owner, Method::POST, &format!("/datasets/{bare}/workforce-tasks"), task(json!({})), 400, LABELS_NOT_SET, "Dataset labels not set"),
            r("a task name taken", &owner, Method::POST, &tasks, task(json!({"task_name": "round-1"})), 400, TASK_EXISTS, "already exists"),
            r("a task name missing", &owner, Method::POST, &tasks, task(json!({"task_name": null})), 400, INVALID, "task_name is required"),
            r("a task name with a slash", &owner, Method::POST, &tasks, task(json!({"task_name": "a/b"})), 400, INVALID, "task_name may contain only"),
            r("a task name of 65 characters", &owner, Method::POST, &tasks, task(json!({"task_name": "n".repeat(65)})), 400, INVALID, "task_name must be 1 to 64"),
            r("repetition 0", &owner, Method::POST, &tasks, task(json!({"repetition": 0})), 400, TOO_FEW_LABELERS, "repetition must be 1 to the number of labelers (2), got 0"),
            r("repetition above the labelers", &owner, Method::POST, &tasks, task(json!({"repetition": 3})), 400, TOO_FEW_LABELERS, "repetition must be 1 to the number of labelers (2), got 3"),
            r("repetition a string", &owner, Method::POST, &tasks, task(json!({"repetition": "1"})), 400, INVALID, "repetition: invalid type"),
            r("only a reviewer chosen", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"email": RITA}]))), 400, TOO_FEW_LABELERS, "at least one labeler"),
            r("an unknown team", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_id": UNKNOWN_ID19}]}})), 404, WORKFORCE_NOT_FOUND, UNKNOWN_ID19),
            r("a team id that cannot be one", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_id": "no such team"}]}})), 404, WORKFORCE_NOT_FOUND, "The workforce does not exist"),
            r("an unknown member email", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"email": ANN}, {"email": "zed@example.com"}]))), 404, WORKER_NOT_FOUND, "workforces_config.workforces[0].workers[1] is not a member of team annotators"),
            r("an unknown member id", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"worker_id": UNKNOWN_HEX}]))), 404, WORKER_NOT_FOUND, "workers[0] is not a member"),
            r("a member of another team", &owner, Method::POST, &tasks, task(cfg_workers(json!([{"worker_id": owner_member}]))), 404, WORKER_NOT_FOUND, "workers[0] is not a member"),
            r("a member entry naming nobody", &owner, Method::POST, &tasks, task(cfg_workers(json!([{}]))), 400, INVALID, "workers[0] needs email or worker_id"),
            r("workforces_config missing", &owner, Method::POST, &tasks, task(json!({"workforces_config": null})), 400, INVALID, "workforces_config is required"),
            r("no teams", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": []}})), 400, INVALID, "must name at least one team"),
            r("a team without its id", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_name": "annotators"}]}})), 400, INVALID, "workforces_config.workforces[0].workforce_id is required"),
            r("agency", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"agency": "mia@example.com", "workforces": [{"workforce_id": team}]}})), 400, INVALID, "workforces_config.agency"),
            r("synchronize_auto_labeling_data true", &owner, Method::POST, &tasks, task(json!({"synchronize_auto_labeling_data": true})), 400, INVALID, "synchronize_auto_labeling_data must be false"),
            r("data_sync_type 2 (labels)", &owner, Method::POST, &tasks, task(json!({"data_sync_type": 2})), 400, INVALID, "data_sync_type 2 synchronizes labels"),
            r("data_sync_type 7", &owner, Method::POST, &tasks, task(json!({"data_sync_type": 7})), 400, INVALID, "data_sync_type must be 0 (none), 1 (data)"),
            r("sample_conditions not JSON", &owner, Method::POST, &tasks, task(json!({"sample_conditions": "labels please"})), 400, INVALID, "sample_conditions"),
            r("a task of an unknown dataset", &owner, Method::POST, &format!("/datasets/{UNKNOWN_ID19}/workforce-tasks"), task(json!({})), 404, DATASET_NOT_FOUND, UNKNOWN_ID19),
            r("a labeler creating a task", &ann, Method::POST, &tasks, task(json!({})), 401, MEMBER_CREATES_TASK, "only the project owner creates team tasks"),
            r("an unknown task", &owner, Method::GET, &format!("{tasks}/{UNKNOWN_ID19}"), None, 404, TASK_NOT_FOUND, "Workforce task does not exist"),
            r("starting twice", &owner, Method::POST, &fx.task, bytes(json!({})), 400, TASK_START_FAILED, "it is in status 1, not 6"),
            r("starting with another dataset_id", &owner, Method::POST, &round2_path, bytes(json!({"dataset_id": fx.foreign_ds})), 400, INVALID, "dataset_id in the body does not match the path"),
            r("starting with only a reviewer", &owner, Method::POST, &round2_path, bytes(cfg_workers(json!([{"email": RITA}]))), 400, TOO_FEW_LABELERS, "at least one labeler"),
            r("a labeler starting a task", &ann, Method::POST, &round2_path, bytes(json!({})), 403, FORBIDDEN, "is for the owner, manager of the task; you (ann@example.com) are not"),
            r("updating members after the start", &owner, Method::PUT, &fx.task, bytes(cfg_workers(json!([{"email": ANN}]))), 400, INVALID, "workforces_config can only change before the task starts"),
            r("renaming a task to a taken name", &owner, Method::PUT, &fx.task, bytes(json!({"task_name": "round-2"})), 400, TASK_EXISTS, "already exists"),
            r("renaming a task to a bad name", &owner, Method::PUT, &fx.task, bytes(json!({"task_name": "round 2"})), 400, INVALID, "task_name may contain only"),
            r("a labeler updating a task", &ann, Method::PUT, &fx.task, bytes(json!({"description": "mine"})), 403, FORBIDDEN, "is for the owner, manager of the task; you (ann@example.com) are not"),
            r("a labeler deleting a task", &ann, Method::DELETE, &fx.task, None, 403, FORBIDDEN, "is for the owner, manager of the task; you (ann@example.com) are not"),
            r("a labeler reading a task she is not in", &ann, Method::GET, &round2_path, None, 403, FORBIDDEN, "is for the owner, manager, reviewer, labeler of the task"),
            r("a labeler reading member progress", &ann, Method::GET, &format!("{}/metrics", fx.task), None, 403, FORBIDDEN, "/metrics is for the owner, manager of the task"),
        ];
        let datasets = [fx.ds.as_str(), bare.as_str(), fx.foreign_ds.as_str()];
        let (tr, dr) = (&t, &datasets);
        run_refusals(&t, &rows, move || team_state(tr, dr)).await;

        member_tasks_after_the_refusals(&t, &fx, &members, &datasets, &round2).await;
    }
}

/// After the refusals: a batch deletion of a member with work fails that item and deletes
/// nobody, and each member's list of tasks shows only the tasks they are in.
async fn member_tasks_after_the_refusals(t: &TestApp, fx: &Fx, members: &str, datasets: &[&str], round2: &str) {
    let b = t.backend;
    let ann = &fx.ann;
    // Batch deletion of a member with work fails that item and deletes nobody.
    let before = team_state(t, datasets).await;
    let a = t
        .post(&format!("{members}/batch-delete"), json!({"workers": [fx.ann_id]}))
        .await;
    assert_eq!(a.status, 200, "{b}: {}", a.body);
    assert_eq!(a.body["success"], false, "{b}: {}", a.body);
    assert_eq!(a.body["results"][0]["error_code"], WORKER_HAS_TASK, "{b}: {}", a.body);
    assert_eq!(before, team_state(t, datasets).await, "{b}: nobody deleted");

    // A labeler's list of member tasks shows only the tasks she is in.
    let mine = expect(
        t,
        "worker tasks",
        &call(t, ann, Method::GET, "/workforces/worker-tasks", None).await,
        200,
    );
    assert_eq!(mine["count"], 1, "{b}: {mine}");
    let only = &mine["worker_tasks"][0];
    assert_eq!(
        (&only["task_id"], &only["email"], &only["role"], &only["worker_id"]),
        (&json!(fx.task_id), &json!(ANN), &json!(0), &json!(fx.ann_id)),
        "{b}: {mine}"
    );
    assert_eq!(
        only["sample_stats"]["total_sample_count"],
        ANN_SAMPLES.len(),
        "{b}: {mine}"
    );
    let reviewer = call(
        t,
        fx.rita.as_deref().unwrap(),
        Method::GET,
        "/workforces/worker-tasks",
        None,
    )
    .await;
    let reviewer = expect(t, "reviewer tasks", &reviewer, 200);
    assert_eq!(reviewer["count"], 1, "{b}: {reviewer}");
    assert_eq!(reviewer["worker_tasks"][0]["role"], 1, "{b}: {reviewer}");
    let bobs = expect(
        t,
        "bob tasks",
        &call(t, &fx.bob, Method::GET, "/workforces/worker-tasks", None).await,
        200,
    );
    let ids: Vec<&str> = bobs["worker_tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["task_id"].as_str())
        .collect();
    assert!(ids.contains(&fx.task_id.as_str()), "{b}: {bobs}");
    assert!(
        !ids.iter().any(|id| *id != fx.task_id && *id != round2),
        "{b}: only Bob's tasks: {bobs}"
    );
}

/// Emails name members without regard to case everywhere else (a task's `workers`, the batch
/// `email`), so a second member whose email differs only in case would be a second person the
/// rest of the API cannot tell apart from the first.
#[tokio::test]
async fn a_member_email_in_another_case_is_the_same_member() {
    for t in crate::helpers::spawn_all().await {
        let b = t.backend;
        let team = expect(
            &t,
            "team",
            &t.post("/workforces", json!({"workforce_name": "crew"})).await,
            201,
        )["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        add_member(&t, &team, ANN, 0).await;
        let members = format!("/workforces/{team}/workers");
        let before = expect(&t, "members", &t.get(&members).await, 200);
        for variant in ["Ann@Example.COM", "ANN@EXAMPLE.COM"] {
            let a = t.post(&members, json!({"emails": variant, "role": 0})).await;
            if let Err(why) = check_refused(&a, 400, WORKER_EXISTS, "already exists") {
                panic!("{b} {variant}: {why}");
            }
        }
        assert_eq!(
            before,
            expect(&t, "members", &t.get(&members).await, 200),
            "{b}: nobody added"
        );
    }
}

/// A task's members may be sent in the whole documented Worker shape, as the member list answers
/// them: the member is picked by `worker_id` or `email`, and the other fields describe it. Only a
/// `workforce_id` other than the team the member is listed under is refused.
#[tokio::test]
async fn a_task_member_may_be_sent_as_the_member_list_answers_it() {
    for t in crate::helpers::spawn_all().await {
        let ds = t.dataset("free", 900, all_labels()).await;
        let team = expect(
            &t,
            "team",
            &t.post("/workforces", json!({"workforce_name": "annotators"})).await,
            201,
        )["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        add_member(&t, &team, ANN, 0).await;
        let tasks = format!("/datasets/{ds}/workforce-tasks");
        let listed =
            expect(&t, "members", &t.get(&format!("/workforces/{team}/workers")).await, 200)["workers"][0].clone();
        for key in [
            "worker_id",
            "workforce_id",
            "email",
            "role",
            "status",
            "description",
            "create_time",
            "update_time",
        ] {
            assert!(
                listed.get(key).is_some(),
                "{}: the member list answers {key}: {listed}",
                t.backend
            );
        }
        let staffed = |worker: Value| json!({"task_name": "round-1", "workforces_config": {"workforces": [{"workforce_id": team, "workers": [worker]}]}});
        let rows: Vec<Refusal> = vec![(
            "a member listed under another team".into(),
            t.token.clone(),
            Method::POST,
            tasks.clone(),
            bytes(staffed(with(&listed, json!({"workforce_id": UNKNOWN_ID19})))),
            400,
            INVALID,
            "workforces_config.workforces[0].workers[0].workforce_id".into(),
        )];
        let datasets = [ds.as_str()];
        let (tr, dr) = (&t, &datasets);
        run_refusals(&t, &rows, move || async move { team_state(tr, dr).await }).await;

        let a = t.post(&tasks, staffed(listed.clone())).await;
        let created = expect(&t, "a task staffed with a listed member", &a, 200)["task_id"]
            .as_str()
            .unwrap()
            .to_string();
        let read = expect(&t, "task", &t.get(&format!("{tasks}/{created}")).await, 200);
        assert_eq!(
            read["workforces_config"]["workforces"][0]["workers"],
            json!([{"email": ANN, "worker_id": listed["worker_id"], "role": 0}]),
            "{}: the member alone, as answered before",
            t.backend
        );
    }
}
