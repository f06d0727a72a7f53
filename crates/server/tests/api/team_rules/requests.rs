//! Whole-request failures of the team batch update and unknown fields in team bodies: one
//! error for the request, nothing written.

use super::*;

#[tokio::test]
async fn whole_request_failures_answer_one_error_and_change_nothing() {
    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, true).await;
        let img = fx.id("img");
        let team = &fx.team;
        // A task not started yet, a task of another dataset, and a project user outside the task.
        let unstarted = create_task(&t, &fx.ds, "round-2", team, &[ANN, BOB]).await;
        let elsewhere = create_task(&t, &fx.foreign_ds, "elsewhere", team, &[ANN, BOB]).await;
        add_member(&t, team, "zed@example.com", 0).await;
        let zed = token(&t, "zed@example.com").await;
        let (_, other_token) = t.other_project().await;

        let path = fx.samples_path();
        let good = json!({"samples": [{"sample_id": img, "labels": [{"name": "cat"}]}]});
        let many: Vec<Value> = (0..1001).map(|_| json!({"sample_id": img, "labels": []})).collect();
        let big = format!(
            r#"{{"samples": [{{"sample_id": "{img}", "labels": [{{"name": "cat", "property": {{"pad": "{}"}}}}]}}]}}"#,
            "A".repeat(13 * 1024 * 1024)
        );
        let ann = fx.ann.clone();
        let row =
            |case: &str, token: &str, path: &str, body: Option<Vec<u8>>, status, code, fragment: &str| -> Refusal {
                (
                    case.into(),
                    token.into(),
                    Method::PUT,
                    path.into(),
                    body,
                    status,
                    code,
                    fragment.into(),
                )
            };
        #[rustfmt::skip]
        let mut rows: Vec<Refusal> = vec![
            row("not JSON", &ann, &path, Some(b"labels please".to_vec()), 400, BAD_JSON, "Incorrect JSON format"),
            row("truncated JSON", &ann, &path, Some(b"{\"samples\": [".to_vec()), 400, BAD_JSON, "Incorrect JSON format"),
            row("empty body", &ann, &path, Some(Vec::new()), 400, EMPTY_REQUEST, "Empty request"),
            row("samples an object", &ann, &path, bytes(json!({"samples": {}})), 400, INVALID, "samples: invalid type"),
            row("an item null", &ann, &path, bytes(json!({"samples": [null]})), 400, INVALID, "samples[0]: invalid type: null"),
            row("sample_id a number", &ann, &path, bytes(json!({"samples": [{"sample_id": 5}]})), 400, INVALID, "samples[0].sample_id: invalid type"),
            row("labels a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "labels": "cat"}]})), 400, INVALID, "samples[0].labels: invalid type"),
            row("score a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "labels": [{"name": "cat", "score": "high"}]}]})), 400, INVALID, "samples[0].labels[0].score: invalid type"),
            row("label type a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "labels": [{"name": "cat", "type": "0"}]}]})), 400, INVALID, "samples[0].labels[0].type: invalid type"),
            row("version a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "version": "1"}]})), 400, INVALID, "samples[0].version: invalid type"),
            row("sample_type a string", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "sample_type": "0"}]})), 400, INVALID, "samples[0].sample_type: invalid type"),
            row("metadata a list", &ann, &path, bytes(json!({"samples": [{"sample_id": img, "metadata": []}]})), 400, INVALID, "samples[0].metadata: invalid type"),
            row("1001 samples", &ann, &path, bytes(json!({"samples": many})), 400, INVALID, "samples: at most 1000 samples per request, got 1001"),
            row("13 MiB body", &ann, &path, Some(big.into_bytes()), 413, BODY_TOO_LARGE, "size exceeds"),
            row("batch email not an email", &ann, &path, bytes(with(&good, json!({"email": "ann"}))), 400, INVALID, "email is not a valid email address"),
            row("atomic=maybe", &ann, &format!("{path}?atomic=maybe"), bytes(good.clone()), 400, INVALID, "atomic"),
            row("unknown dataset", &ann, &format!("/datasets/{UNKNOWN_ID19}/workforce-tasks/{}/data-annotations/samples", fx.task_id), bytes(good.clone()), 404, DATASET_NOT_FOUND, UNKNOWN_ID19),
            row("unknown task", &ann, &format!("/datasets/{}/workforce-tasks/{UNKNOWN_ID19}/data-annotations/samples", fx.ds), bytes(good.clone()), 404, TASK_NOT_FOUND, "Workforce task does not exist"),
            row("a task of another dataset", &ann, &format!("/datasets/{}/workforce-tasks/{elsewhere}/data-annotations/samples", fx.ds), bytes(good.clone()), 404, TASK_NOT_FOUND, "Workforce task does not exist"),
            row("a task not started, by a labeler", &ann, &format!("/datasets/{}/workforce-tasks/{unstarted}/data-annotations/samples", fx.ds), bytes(good.clone()), 403, FORBIDDEN, "it is in status 6"),
            row("a task not started, by the owner", &t.token, &format!("/datasets/{}/workforce-tasks/{unstarted}/data-annotations/samples", fx.ds), bytes(json!({"email": ANN, "samples": [{"sample_id": img, "labels": []}]})), 403, FORBIDDEN, "it is in status 6"),
            row("a reviewer writing", fx.rita.as_deref().unwrap(), &path, bytes(good.clone()), 403, FORBIDDEN, "labeler of the task (own copies); you (rita@example.com) are not"),
            row("a project user outside the task", &zed, &path, bytes(good.clone()), 403, FORBIDDEN, "labeler of the task (own copies); you (zed@example.com) are not"),
            row("a token of another project", &other_token, &path, bytes(good.clone()), 403, INVALID_PROJECT, "does not match the token"),
            row("no token", "", &path, bytes(good.clone()), 401, TOKEN_MISSING, "Token doesn't exist"),
            row("an unknown token", "not-a-token", &path, bytes(good.clone()), 401, TOKEN_INVALID, ""),
        ];
        let (tr, fxr) = (&t, &fx);
        // Reading: a labeler reads only her own copies.
        rows.push((
            "a labeler reading the other labeler's copies".into(),
            ann.clone(),
            Method::GET,
            format!("{path}?worker_id={}", fx.bob_id),
            None,
            403,
            FORBIDDEN,
            "a labeler reads only their own samples".into(),
        ));
        rows.push((
            "a labeler reading a sample of the other labeler".into(),
            ann.clone(),
            Method::GET,
            format!("{path}/{}", fx.id("bob_img")),
            None,
            404,
            SAMPLE_NOT_FOUND,
            "Sample not found".into(),
        ));
        run_refusals(&t, &rows, move || async move { json!(copies(tr, fxr).await) }).await;

        // The same good body is applied once the refusals are over: nothing above was a no-op
        // because of the body itself.
        let a = call(&t, &fx.ann, Method::PUT, &path, Some(good.clone())).await;
        assert_eq!(a.body["success"], true, "{}: {}", t.backend, a.body);
        // An empty batch is a success that changes nothing.
        let before = copies(&t, &fx).await;
        let a = call(&t, &fx.ann, Method::PUT, &path, Some(json!({"samples": []}))).await;
        assert_eq!(
            (a.status, &a.body),
            (200, &json!({"success": true, "results": []})),
            "{}",
            t.backend
        );
        assert_eq!(before, copies(&t, &fx).await, "{}", t.backend);
    }
}

/// Team, member and task bodies and the team batch update refuse fields they do not define, at
/// the top and inside every nested object, with a message that begins with the field's JSON path;
/// nothing is written. A misspelt item field (`lables`) fails the whole batch instead of clearing
/// the copy's labels as an item without `labels` would.
#[tokio::test]
async fn unknown_fields_in_team_bodies_are_refused_with_their_path_and_change_nothing() {
    // Every team write route has a row below (the dataset, label and sample routes are covered
    // in the invalid_input module, which also checks that every write route belongs to one of the two).
    let doc = serde_json::to_value(teamlabel_server::openapi()).unwrap();
    let mut routes: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("");
            if op.get("requestBody").is_some() && ["workforces", "workforce-tasks", "team-samples"].contains(&tag) {
                routes.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes.sort();
    #[rustfmt::skip]
    let mut covered = vec![
        "POST /v2/{project_id}/workforces",
        "PUT /v2/{project_id}/workforces/{workforce_id}",
        "POST /v2/{project_id}/workforces/{workforce_id}/workers",
        "POST /v2/{project_id}/workforces/{workforce_id}/workers/batch-delete",
        "PUT /v2/{project_id}/workforces/{workforce_id}/workers/{worker_id}",
        "POST /v2/{project_id}/datasets/{dataset_id}/workforce-tasks",
        "POST /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}",
        "PUT /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}",
        "PUT /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{workforce_task_id}/data-annotations/samples",
    ];
    covered.sort();
    assert_eq!(routes, covered, "every team write route has a row below");

    for t in crate::helpers::spawn_all().await {
        let fx = setup(&t, false).await;
        let team = fx.team.clone();
        let owner = t.token.clone();
        let img = fx.id("img");
        let round2 = create_task(&t, &fx.ds, "round-2", &team, &[BOB]).await;
        let round2_path = format!("/datasets/{}/workforce-tasks/{round2}", fx.ds);
        let tasks = format!("/datasets/{}/workforce-tasks", fx.ds);
        let members = format!("/workforces/{team}/workers");
        let samples = fx.samples_path();
        let task_ok =
            json!({"task_name": "round-3", "repetition": 1, "workforces_config": team_config(&team, &[ANN, BOB])});
        let task = |extra: Value| bytes(with(&task_ok, extra));
        let config = |team_cfg: Value| task(json!({"workforces_config": {"workforces": [team_cfg]}}));
        let item = |extra: Value| with(&json!({"sample_id": img, "labels": [{"name": "cat"}]}), extra);
        // The message begins with the JSON path of the unknown field (`at` holds it).
        let row = |case: &str, token: &str, method: Method, path: &str, body, at: &str, field: &str| -> Refusal {
            let at = if at.is_empty() {
                field.to_string()
            } else {
                format!("{at}.{field}")
            };
            (
                case.into(),
                token.into(),
                method,
                path.into(),
                body,
                400,
                INVALID,
                format!("{at}: unknown field `{field}`"),
            )
        };
        #[rustfmt::skip]
        let rows: Vec<Refusal> = vec![
            // One unknown top-level field per route; each body is valid without it.
            row("create team", &owner, Method::POST, "/workforces", bytes(json!({"workforce_name": "crew", "descripton": "misspelt"})), "", "descripton"),
            row("update team", &owner, Method::PUT, &format!("/workforces/{team}"), bytes(json!({"description": "renamed", "name": "crew"})), "", "name"),
            row("add member (the field is emails)", &owner, Method::POST, &members, bytes(json!({"emails": "new@example.com", "role": 0, "email": "new@example.com"})), "", "email"),
            row("remove members", &owner, Method::POST, &format!("{members}/batch-delete"), bytes(json!({"workers": [fx.bob_id], "worker_ids": [fx.bob_id]})), "", "worker_ids"),
            row("update member", &owner, Method::PUT, &format!("{members}/{}", fx.ann_id), bytes(json!({"description": "lead", "roles": 1})), "", "roles"),
            row("create task", &owner, Method::POST, &tasks, task(json!({"repetitions": 2})), "", "repetitions"),
            row("start task", &owner, Method::POST, &round2_path, bytes(json!({"task_id": round2, "force": true})), "", "force"),
            row("update task", &owner, Method::PUT, &round2_path, bytes(json!({"description": "second pass", "task_description": "second pass"})), "", "task_description"),
            row("team label update", &fx.ann, Method::PUT, &samples, bytes(json!({"samples": [item(json!({}))], "emial": ANN})), "", "emial"),
            // One row per nested object type (and per route that takes one).
            row("the staffing of a new task", &owner, Method::POST, &tasks, task(json!({"workforces_config": {"workforces": [{"workforce_id": team}], "teams": [team]}})), "workforces_config", "teams"),
            row("a team of a new task", &owner, Method::POST, &tasks, config(json!({"workforce_id": team, "members": [{"email": ANN}]})), "workforces_config.workforces[0]", "members"),
            row("a member of a new task", &owner, Method::POST, &tasks, config(json!({"workforce_id": team, "workers": [{"email": ANN, "name": "Ann"}]})), "workforces_config.workforces[0].workers[0]", "name"),
            row("a member of a task start", &owner, Method::POST, &round2_path, bytes(json!({"workforces_config": {"workforces": [{"workforce_id": team, "workers": [{"email": BOB, "mail": BOB}]}]}})), "workforces_config.workforces[0].workers[0]", "mail"),
            row("a team of a task update", &owner, Method::PUT, &round2_path, bytes(json!({"workforces_config": {"workforces": [{"workforce_id": team, "workforce": "annotators"}]}})), "workforces_config.workforces[0]", "workforce"),
            row("an item of the team label update", &fx.ann, Method::PUT, &samples, bytes(json!({"samples": [{"sample_id": img, "lables": [{"name": "cat"}]}]})), "samples[0]", "lables"),
            row("a label of an item of the team label update", &fx.ann, Method::PUT, &samples, bytes(json!({"samples": [item(json!({"labels": [{"name": "cat", "scroe": 1}]}))]})), "samples[0].labels[0]", "scroe"),
        ];
        let datasets = [fx.ds.as_str()];
        let (tr, fxr, dr) = (&t, &fx, &datasets);
        let state = move || async move { json!({"team": team_state(tr, dr).await, "copies": copies(tr, fxr).await}) };
        run_refusals_checked(&t, &rows, check_refused_at, state).await;
    }
}
