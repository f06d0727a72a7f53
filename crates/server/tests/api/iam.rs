//! Credentials over HTTP: AK/SK signatures (each failed check has its own 401 message), the
//! owner's credential API and revocation, temporary credentials with a security token, the
//! password token endpoint and its lockout, and what OpenStack-style clients rely on: Keystone
//! version discovery, the `modelartsv2` catalog entry, Keystone's error shape on `/v3` and the
//! token method. The official SDK's view of the same is in
//! `crates/cli/tests/cli/sdk_clients.rs`.

use crate::helpers::{Answer, TestApp};
use serde_json::{json, Value};
use teamlabel_api::signing as aksk;
use teamlabel_client::Method;
use teamlabel_core::clock::now_ms;
use teamlabel_core::store::LoginState;

/// `X-Sdk-Date` for `offset_s` seconds from now.
fn sdk_date(offset_s: i64) -> String {
    aksk::format_sdk_date(now_ms() / 1000 + offset_s)
}

/// A request to sign and send; the fields are what a test tampers with.
struct Signed {
    method: Method,
    /// Path and query as sent.
    target: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    authorization: String,
}

/// Signs like the SDK: every header given is signed, with host and x-sdk-date.
fn sign(t: &TestApp, method: Method, target: &str, body: &[u8], ak: &str, sk: &str, date: &str) -> Signed {
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("host".to_string(), t.addr.clone()),
        ("x-sdk-date".to_string(), date.to_string()),
    ];
    sign_headers(method, target, body, ak, sk, headers)
}

fn sign_headers(
    method: Method,
    target: &str,
    body: &[u8],
    ak: &str,
    sk: &str,
    headers: Vec<(String, String)>,
) -> Signed {
    let raw: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
        .collect();
    let received = aksk::Received {
        method: method.as_str(),
        target,
        headers: &raw,
        body,
    };
    let authorization = aksk::authorization(&received, ak, sk.as_bytes()).unwrap();
    Signed {
        method,
        target: target.to_string(),
        body: body.to_vec(),
        authorization,
        headers,
    }
}

/// Sends a request signed (or tampered with) by hand: no credentials of the client's, the
/// signed headers but `host` (the client sends that one), the `Authorization` built above, and
/// the body byte for byte with no content type but the one among the headers.
async fn send_signed(t: &TestApp, s: &Signed) -> Answer {
    let mut req = t.client.request_root(s.method.clone(), &s.target);
    for (n, v) in &s.headers {
        if n != "host" {
            req = req.header(n, v);
        }
    }
    req = req.header("authorization", &s.authorization);
    if !s.body.is_empty() {
        req = req.body_bytes(s.body.clone());
    }
    req.send().await.unwrap().into()
}

/// A new permanent pair for a user of the test project, through the owner's API.
async fn create_pair(t: &TestApp, body: Value) -> (String, String) {
    let a = t
        .send(
            Method::POST,
            "/v3.0/OS-CREDENTIAL/credentials",
            Some(&t.token),
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
    let c = &a.body["credential"];
    (
        c["access"].as_str().unwrap().to_string(),
        c["secret"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn signed_requests_pass_and_each_failed_check_is_401_with_its_own_message() {
    for t in crate::helpers::spawn_all().await {
        let (ak, sk) = create_pair(&t, json!({"credential": {"description": "ci"}})).await;
        let p = &t.project_id;
        let list = format!("/v2/{p}/datasets?limit=5&offset=0");
        let create = format!("/v2/{p}/datasets");
        let body = br#"{"dataset_name": "signed", "dataset_type": 0}"#;

        let ok = send_signed(&t, &sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0))).await;
        assert_eq!(ok.status, 200, "{}: {:?}", t.backend, ok.body);
        let ok = send_signed(&t, &sign(&t, Method::POST, &create, body, &ak, &sk, &sdk_date(0))).await;
        assert_eq!(ok.status, 201, "{}: {:?}", t.backend, ok.body);
        // The client's query order does not matter: the server sorts.
        let reordered = sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0));
        let swapped = Signed {
            target: format!("/v2/{p}/datasets?offset=0&limit=5"),
            ..reordered
        };
        assert_eq!(send_signed(&t, &swapped).await.status, 200, "{}", t.backend);

        type Tamper = Box<dyn Fn(Signed) -> Signed>;
        #[rustfmt::skip]
        let cases: Vec<(&str, Signed, Tamper, &str, &str)> = vec![
            ("wrong secret key", sign(&t, Method::GET, &list, b"", &ak, "not-the-secret", &sdk_date(0)), Box::new(|s| s), "ModelArts.0206", "the signature does not match the request"),
            ("unknown access key", sign(&t, Method::GET, &list, b"", "AAAAAAAAAAAAAAAAAAAA", &sk, &sdk_date(0)), Box::new(|s| s), "ModelArts.0206", "the access key is not known to this server"),
            ("date 16 minutes old", sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(-16 * 60)), Box::new(|s| s), "ModelArts.0206", "s behind the server's clock, more than the 900 s allowed"),
            ("date 16 minutes ahead", sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(16 * 60)), Box::new(|s| s), "ModelArts.0206", "s ahead of the server's clock, more than the 900 s allowed"),
            ("tampered body", sign(&t, Method::POST, &create, body, &ak, &sk, &sdk_date(0)), Box::new(|s| Signed { body: br#"{"dataset_name": "signeD", "dataset_type": 0}"#.to_vec(), ..s }), "ModelArts.0206", "the signature does not match the request"),
            ("tampered path", sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0)), Box::new(move |s| Signed { target: s.target.replace("/datasets", "/workforces"), ..s }), "ModelArts.0206", "/workforces/\\n"),
            ("tampered query", sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0)), Box::new(|s| Signed { target: s.target.replace("limit=5", "limit=6"), ..s }), "ModelArts.0206", "limit=6&offset=0"),
            ("tampered signed header", sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0)), Box::new(|mut s| { s.headers.retain(|(n, _)| n != "content-type"); s.headers.push(("content-type".into(), "text/plain".into())); s }), "ModelArts.0206", "content-type:text/plain"),
            ("signed header not sent", sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0)), Box::new(|mut s| { s.headers.retain(|(n, _)| n != "content-type"); s }), "ModelArts.0206", "signed header content-type is not in the request"),
            ("host not signed", sign_headers(Method::GET, &list, b"", &ak, &sk, vec![("x-sdk-date".into(), sdk_date(0))]), Box::new(|s| s), "ModelArts.0206", "SignedHeaders must include host"),
            ("malformed header", sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0)), Box::new(|s| Signed { authorization: s.authorization.replace(", Signature=", ", Sig="), ..s }), "ModelArts.0205", "malformed Authorization header"),
        ];
        for (name, signed, tamper, code, message) in cases {
            let a = send_signed(&t, &tamper(signed)).await;
            assert_eq!((a.status, a.code()), (401, code), "{}: {name}: {:?}", t.backend, a.body);
            assert!(a.msg().contains(message), "{}: {name}: {}", t.backend, a.msg());
        }
        // Nothing a refused request carried was written.
        let names: Vec<String> = t.get("/datasets").await.body["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["dataset_name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["signed"], "{}", t.backend);

        // X-Project-Id names the credential's project, or it is 403.
        let mut s = sign(&t, Method::GET, &list, b"", &ak, &sk, &sdk_date(0));
        s.headers.push(("x-project-id".into(), "0".repeat(32)));
        let mut s = sign_headers(s.method, &s.target, b"", &ak, &sk, s.headers);
        let a = send_signed(&t, &s).await;
        assert_eq!((a.status, a.code()), (403, "ModelArts.0210"), "{}", t.backend);
        s.headers.retain(|(n, _)| n != "x-project-id");
        s.headers.push(("x-project-id".into(), t.project_id.clone()));
        s = sign_headers(s.method, &s.target, b"", &ak, &sk, s.headers);
        assert_eq!(send_signed(&t, &s).await.status, 200, "{}", t.backend);

        // Another project's path: 403.
        let (other, _) = t.other_project().await;
        let a = send_signed(
            &t,
            &sign(
                &t,
                Method::GET,
                &format!("/v2/{other}/datasets"),
                b"",
                &ak,
                &sk,
                &sdk_date(0),
            ),
        )
        .await;
        assert_eq!((a.status, a.code()), (403, "ModelArts.0210"), "{}", t.backend);
    }
}

#[tokio::test]
async fn the_owner_lists_and_revokes_pairs_and_a_revoked_pair_fails_on_the_next_request() {
    for t in crate::helpers::spawn_all().await {
        // A member of a team gets a pair by email.
        let team = t.post("/workforces", json!({"workforce_name": "crew"})).await.body["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        let add = t
            .post(
                &format!("/workforces/{team}/workers"),
                json!({"emails": "Ann@Example.com", "role": 0}),
            )
            .await;
        assert_eq!(add.status, 201, "{}: {:?}", t.backend, add.body);
        let (ann_ak, ann_sk) = create_pair(&t, json!({"credential": {"email": "ann@example.com"}})).await;
        let (owner_ak, _) = create_pair(&t, json!({"credential": {}})).await;

        let list = t
            .send(Method::GET, "/v3.0/OS-CREDENTIAL/credentials", Some(&t.token), None)
            .await;
        assert_eq!(list.status, 200, "{}", t.backend);
        assert_eq!(list.body["total_number"], 2, "{}", t.backend);
        for c in list.body["credentials"].as_array().unwrap() {
            assert!(
                c.get("secret").is_none(),
                "{}: a listed pair shows its secret",
                t.backend
            );
            assert_eq!(c["status"], "active");
        }
        assert!(!list.bytes.windows(ann_sk.len()).any(|w| w == ann_sk.as_bytes()));
        let mine = t
            .send(
                Method::GET,
                &format!(
                    "/v3.0/OS-CREDENTIAL/credentials?user_id={}",
                    list.body["credentials"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["access"] == owner_ak.as_str())
                        .unwrap()["user_id"]
                        .as_str()
                        .unwrap()
                ),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(mine.body["total_number"], 1, "{}: {:?}", t.backend, mine.body);
        let one = t
            .send(
                Method::GET,
                &format!("/v3.0/OS-CREDENTIAL/credentials/{ann_ak}"),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(
            (one.status, one.body["credential"]["email"].as_str()),
            (200, Some("ann@example.com")),
            "{}",
            t.backend
        );

        // Ann's pair works for what a labeler may do, and is refused what she may not.
        let tasks = format!("/v2/{}/workforces/worker-tasks", t.project_id);
        let a = send_signed(&t, &sign(&t, Method::GET, &tasks, b"", &ann_ak, &ann_sk, &sdk_date(0))).await;
        assert_eq!(a.status, 200, "{}: {:?}", t.backend, a.body);
        let creds = "/v3.0/OS-CREDENTIAL/credentials";
        let a = send_signed(&t, &sign(&t, Method::GET, creds, b"", &ann_ak, &ann_sk, &sdk_date(0))).await;
        assert_eq!((a.status, a.code()), (403, "ModelArts.0108"), "{}", t.backend);

        // Another project's owner cannot see or revoke the pair.
        let (_, other_token) = t.other_project().await;
        for method in [Method::GET, Method::DELETE] {
            let a = t
                .send(
                    method,
                    &format!("/v3.0/OS-CREDENTIAL/credentials/{ann_ak}"),
                    Some(&other_token),
                    None,
                )
                .await;
            assert_eq!((a.status, a.code()), (404, "ModelArts.4694"), "{}", t.backend);
        }

        let revoke = t
            .send(
                Method::DELETE,
                &format!("/v3.0/OS-CREDENTIAL/credentials/{ann_ak}"),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(revoke.status, 204, "{}: {:?}", t.backend, revoke.body);
        let a = send_signed(&t, &sign(&t, Method::GET, &tasks, b"", &ann_ak, &ann_sk, &sdk_date(0))).await;
        assert_eq!((a.status, a.code()), (401, "ModelArts.0206"), "{}", t.backend);
        assert!(a.msg().contains("unknown or revoked"), "{}", a.msg());

        // Bad requests.
        for (body, message) in [
            (json!({"credential": {"email": "nobody@example.com"}}), "No user"),
            (
                json!({"credential": {"user_id": "x", "email": "ann@example.com"}}),
                "not both",
            ),
            (json!({"credential": {}, "extra": 1}), "unknown field `extra`"),
        ] {
            let a = t
                .send(Method::POST, creds, Some(&t.token), Some(body.to_string().into_bytes()))
                .await;
            assert!(
                a.status == 400 || a.status == 404,
                "{}: {body}: {:?}",
                t.backend,
                a.body
            );
            assert!(a.msg().contains(message), "{}: {body}: {}", t.backend, a.msg());
        }
    }
}

#[tokio::test]
async fn temporary_credentials_need_their_security_token() {
    for t in crate::helpers::spawn_all().await {
        let a = t
            .send(
                Method::POST,
                "/v3.0/OS-CREDENTIAL/securitytokens",
                Some(&t.token),
                Some(
                    json!({"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await;
        assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
        let c = &a.body["credential"];
        let (ak, sk, st) = (
            c["access"].as_str().unwrap(),
            c["secret"].as_str().unwrap(),
            c["securitytoken"].as_str().unwrap(),
        );
        let list = format!("/v2/{}/datasets", t.project_id);
        let with = |token: &str| {
            let headers = vec![
                ("host".to_string(), t.addr.clone()),
                ("x-sdk-date".to_string(), sdk_date(0)),
                ("x-security-token".to_string(), token.to_string()),
            ];
            sign_headers(Method::GET, &list, b"", ak, sk, headers)
        };
        assert_eq!(send_signed(&t, &with(st)).await.status, 200, "{}", t.backend);
        let wrong = send_signed(&t, &with("tls_wrong")).await;
        assert_eq!(wrong.status, 401, "{}", t.backend);
        assert!(wrong.msg().contains("does not belong"), "{}", wrong.msg());
        let without = send_signed(&t, &sign(&t, Method::GET, &list, b"", ak, sk, &sdk_date(0))).await;
        assert_eq!(without.status, 401, "{}", t.backend);
        assert!(
            without.msg().contains("needs its X-Security-Token"),
            "{}",
            without.msg()
        );

        let a = t
            .send(
                Method::POST,
                "/v3.0/OS-CREDENTIAL/securitytokens",
                Some(&t.token),
                Some(
                    json!({"auth": {"identity": {"methods": ["token"], "token": {"duration": 900}}}})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await;
        assert_eq!(a.status, 400, "{}", t.backend);
        assert!(
            a.msg().starts_with("auth.identity.token.duration: unknown field"),
            "{}",
            a.msg()
        );
        for seconds in [899, 86_401] {
            let a = t
                .send(
                    Method::POST,
                    "/v3.0/OS-CREDENTIAL/securitytokens",
                    Some(&t.token),
                    Some(
                        json!({"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": seconds}}}})
                            .to_string()
                            .into_bytes(),
                    ),
                )
                .await;
            assert_eq!(a.status, 400, "{}: {seconds}", t.backend);
        }
    }
}

async fn sign_in(t: &TestApp, user: &str, password: &str, scope: Value) -> Answer {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": user, "password": password, "domain": {"name": "any"}}}},
        "scope": {"project": scope},
    }});
    t.send(
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(body.to_string().into_bytes()),
    )
    .await
}

#[tokio::test]
async fn a_password_signs_in_to_a_project_by_id_or_name_and_the_token_works() {
    for t in crate::helpers::spawn_all().await {
        t.app
            .set_password(&t.project_id, "owner@example.com", "correct horse")
            .await
            .unwrap();
        for scope in [json!({"id": t.project_id}), json!({"name": "test"})] {
            let a = sign_in(&t, "Owner@Example.com", "correct horse", scope.clone()).await;
            assert_eq!(a.status, 201, "{}: {scope}: {:?}", t.backend, a.body);
            let token = a.headers["x-subject-token"].to_str().unwrap().to_string();
            let body = &a.body["token"];
            assert_eq!(body["project"]["id"], t.project_id.as_str());
            assert_eq!(body["user"]["name"], "owner@example.com");
            assert_eq!(body["methods"], json!(["password"]));
            assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
            let modelarts = body["catalog"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["type"] == "modelarts")
                .unwrap();
            assert_eq!(modelarts["endpoints"][0]["url"], t.client.base_url());
            let a = t.send(Method::GET, &t.path("/datasets"), Some(&token), None).await;
            assert_eq!(a.status, 200, "{}", t.backend);
        }
        for (user, password, scope, status, code) in [
            (
                "owner@example.com",
                "wrong horse",
                json!({"name": "test"}),
                401,
                "ModelArts.4697",
            ),
            (
                "nobody@example.com",
                "correct horse",
                json!({"name": "test"}),
                401,
                "ModelArts.4697",
            ),
            (
                "owner@example.com",
                "correct horse",
                json!({"name": "nope"}),
                401,
                "ModelArts.4697",
            ),
            (
                "owner@example.com",
                "correct horse",
                json!({"id": "0".repeat(32)}),
                401,
                "ModelArts.4697",
            ),
            ("owner@example.com", "correct horse", json!({}), 400, "ModelArts.0101"),
        ] {
            let a = sign_in(&t, user, password, scope.clone()).await;
            assert_eq!((a.status, a.code()), (status, code), "{}: {user} {scope}", t.backend);
            assert!(a.headers.get("x-subject-token").is_none());
        }
        for (body, message) in [
            (
                json!({"auth": {"identity": {"methods": ["totp"]}}}),
                "methods must be [\"password\"] or [\"token\"]",
            ),
            (
                json!({"auth": {"identity": {"methods": ["password", "token"]}}}),
                "methods must be [\"password\"] or [\"token\"]",
            ),
            // The token method is accepted now, and needs its token.
            (
                json!({"auth": {"identity": {"methods": ["token"]}}}),
                "auth.identity.token is required",
            ),
            (
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "owner@example.com", "password": "correct horse"}}}}}),
                "auth.scope.project is required",
            ),
            (
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "owner@example.com", "password": "correct horse", "pwd": 1}}}, "scope": {"project": {"name": "test"}}}}),
                "unknown field `pwd`",
            ),
        ] {
            let a = t
                .send(
                    Method::POST,
                    "/v3/auth/tokens",
                    None,
                    Some(body.to_string().into_bytes()),
                )
                .await;
            assert_eq!(a.status, 400, "{}: {body}", t.backend);
            assert!(a.msg().contains(message), "{}: {}", t.backend, a.msg());
        }
    }
}

#[tokio::test]
async fn five_wrong_passwords_in_a_row_lock_the_user_for_five_minutes() {
    for t in crate::helpers::spawn_all().await {
        t.app
            .set_password(&t.project_id, "owner@example.com", "correct horse")
            .await
            .unwrap();
        let scope = json!({"name": "test"});
        // A right password clears the count.
        for _ in 0..4 {
            assert_eq!(
                sign_in(&t, "owner@example.com", "wrong", scope.clone()).await.status,
                401
            );
        }
        assert_eq!(
            sign_in(&t, "owner@example.com", "correct horse", scope.clone())
                .await
                .status,
            201
        );
        for _ in 0..4 {
            assert_eq!(
                sign_in(&t, "owner@example.com", "wrong", scope.clone()).await.status,
                401
            );
        }
        // The fifth wrong one in a row locks; then even the right one is refused.
        let locked = sign_in(&t, "owner@example.com", "wrong", scope.clone()).await;
        assert_eq!((locked.status, locked.code()), (429, "ModelArts.4693"), "{}", t.backend);
        assert_eq!(
            (&locked.body["error"]["code"], &locked.body["error"]["title"]),
            (&json!(429), &json!("Too Many Requests")),
            "{}: {:?}",
            t.backend,
            locked.body
        );
        let retry: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((299..=300).contains(&retry), "{}: Retry-After {retry}", t.backend);
        let still = sign_in(&t, "owner@example.com", "correct horse", scope.clone()).await;
        assert_eq!(still.status, 429, "{}", t.backend);
        assert!(still.msg().contains("try again in 300 s") || still.msg().contains("try again in 299 s"));

        // Five minutes later (the lock moved into the past), the right password works.
        let login = t
            .app
            .store
            .find_login(&t.project_id, "owner@example.com")
            .await
            .unwrap()
            .unwrap();
        let ended = LoginState {
            failed: 0,
            locked_until: now_ms() - 1,
        };
        assert!(t
            .app
            .store
            .update_login_state(&login.user.id, login.state, ended)
            .await
            .unwrap());
        assert_eq!(
            sign_in(&t, "owner@example.com", "correct horse", scope.clone())
                .await
                .status,
            201
        );
    }
}

/// The catalog entry of a service type in a token answer.
fn service<'a>(token: &'a Value, service_type: &str) -> &'a Value {
    token["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == service_type)
        .unwrap_or_else(|| panic!("no {service_type} in {token}"))
}

/// Signs the owner in with a password; the token and the answer's `token` object.
async fn owner_token(t: &TestApp) -> (String, Value) {
    t.app
        .set_password(&t.project_id, "owner@example.com", "correct horse")
        .await
        .unwrap();
    let a = sign_in(t, "owner@example.com", "correct horse", json!({"id": t.project_id})).await;
    assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
    let token = a.headers["x-subject-token"].to_str().unwrap().to_string();
    (token, a.body["token"].clone())
}

/// A token request with the token method.
async fn exchange(t: &TestApp, identity_token: Value, scope: Option<Value>) -> Answer {
    let mut body = json!({"auth": {"identity": {"methods": ["token"], "token": identity_token}}});
    if let Some(scope) = scope {
        body["auth"]["scope"] = scope;
    }
    t.send(
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(body.to_string().into_bytes()),
    )
    .await
}

#[tokio::test]
async fn the_token_catalog_lists_modelartsv2_at_the_projects_v2_root_beside_the_old_entries() {
    for t in crate::helpers::spawn_all().await {
        let (token, body) = owner_token(&t).await;
        let base = t.client.base_url().to_string();
        let types: Vec<&str> = body["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["modelarts", "iam", "modelartsv2"], "{}", t.backend);
        // The entries the Huawei SDKs read are as they were: one public endpoint at the base URL.
        for old in ["modelarts", "iam"] {
            let endpoints = service(&body, old)["endpoints"].as_array().unwrap();
            assert_eq!(endpoints.len(), 1, "{}: {old}", t.backend);
            assert_eq!(
                (
                    &endpoints[0]["interface"],
                    &endpoints[0]["region"],
                    &endpoints[0]["url"]
                ),
                (&json!("public"), &json!("local"), &json!(base)),
                "{}: {old}",
                t.backend
            );
        }
        // modelartsv2: public, internal and admin, in the same region, at /v2/{project_id}.
        let v2 = service(&body, "modelartsv2");
        assert_eq!(v2["name"], "modelartsv2");
        let root = format!("{base}/v2/{}", t.project_id);
        let mut interfaces = Vec::new();
        for e in v2["endpoints"].as_array().unwrap() {
            assert_eq!(
                (&e["region"], &e["region_id"], &e["url"]),
                (&json!("local"), &json!("local"), &json!(root)),
                "{}: {e}",
                t.backend
            );
            assert_eq!(e["id"].as_str().unwrap().len(), 32);
            interfaces.push(e["interface"].as_str().unwrap());
        }
        interfaces.sort();
        assert_eq!(interfaces, ["admin", "internal", "public"], "{}", t.backend);
        // The URL is where a client appends the ModelArts paths.
        let created = t
            .send(
                Method::POST,
                &format!("{}/datasets", root.strip_prefix(&base).unwrap()),
                Some(&token),
                Some(br#"{"dataset_name": "from-catalog", "dataset_type": 0}"#.to_vec()),
            )
            .await;
        assert_eq!(created.status, 201, "{}: {:?}", t.backend, created.body);

        // ?nocatalog, as keystoneauth1 asks when a plugin does not want the catalog.
        let a = t
            .send(
                Method::POST,
                "/v3/auth/tokens?nocatalog",
                None,
                Some(
                    json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await;
        assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
        assert!(a.body["token"].get("catalog").is_none(), "{}: {:?}", t.backend, a.body);
        assert_eq!(a.body["token"]["project"]["id"], t.project_id.as_str());
    }
}

#[tokio::test]
async fn version_discovery_answers_keystone_v3_documents_without_credentials() {
    for t in crate::helpers::spawn_all().await {
        let base = t.client.base_url().to_string();
        let v3 = t.send(Method::GET, "/v3", None, None).await;
        assert_eq!(v3.status, 200, "{}: {:?}", t.backend, v3.body);
        let version = &v3.body["version"];
        assert_eq!(
            version,
            &json!({
                "id": "v3.6",
                "status": "stable",
                "updated": "2016-04-04T00:00:00Z",
                "links": [{"rel": "self", "href": format!("{base}/v3/")}],
                "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
            }),
            "{}",
            t.backend
        );
        // The root lists the versions (only v3), with Keystone's 300 Multiple Choices.
        let root = t.send(Method::GET, "/", None, None).await;
        assert_eq!(root.status, 300, "{}: {:?}", t.backend, root.body);
        assert!(root.headers.get("location").is_none());
        assert_eq!(root.body, json!({"versions": {"values": [version]}}), "{}", t.backend);
        // A token does not change the answer, nor the trailing slash of the self link.
        let with_token = t.send(Method::GET, "/v3", Some(&t.token), None).await;
        assert_eq!(with_token.body, v3.body, "{}", t.backend);
        let at_self = t.send(Method::GET, "/v3/", None, None).await;
        assert_eq!((at_self.status, &at_self.body), (200, &v3.body), "{}", t.backend);
    }
}

#[tokio::test]
async fn errors_below_v3_carry_keystones_error_object_beside_the_modelarts_fields() {
    for t in crate::helpers::spawn_all().await {
        t.app
            .set_password(&t.project_id, "owner@example.com", "correct horse")
            .await
            .unwrap();
        let wrong = sign_in(&t, "owner@example.com", "wrong horse", json!({"name": "test"})).await;
        let bad_json = t
            .send(Method::POST, "/v3/auth/tokens", None, Some(b"{\"auth\": ".to_vec()))
            .await;
        let get_tokens = t.send(Method::GET, "/v3/auth/tokens", None, None).await;
        let post_v3 = t.send(Method::POST, "/v3", None, Some(b"{}".to_vec())).await;
        let unknown = t.send(Method::GET, "/v3/projects", Some(&t.token), None).await;
        let bad_token = exchange(&t, json!({"id": "tl_nope"}), None).await;
        for (what, a, status, title, code) in [
            ("wrong password", &wrong, 401, "Unauthorized", "ModelArts.4697"),
            ("bad JSON", &bad_json, 400, "Bad Request", "ModelArts.4105"),
            (
                "GET /v3/auth/tokens",
                &get_tokens,
                405,
                "Method Not Allowed",
                "ModelArts.4204",
            ),
            ("POST /v3", &post_v3, 405, "Method Not Allowed", "ModelArts.4204"),
            ("unknown path", &unknown, 404, "Not Found", "ModelArts.4204"),
            ("unknown token", &bad_token, 401, "Unauthorized", "ModelArts.0203"),
        ] {
            assert_eq!(a.status, status, "{}: {what}: {:?}", t.backend, a.body);
            let keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["error", "error_code", "error_msg"], "{}: {what}", t.backend);
            assert_eq!(
                a.body["error"],
                json!({"code": status, "title": title, "message": a.msg()}),
                "{}: {what}",
                t.backend
            );
            assert!(!a.msg().is_empty(), "{}: {what}", t.backend);
            assert_eq!(a.code(), code, "{}: {what}", t.backend);
            assert_eq!(a.headers["content-type"], "application/json", "{}: {what}", t.backend);
        }
        assert!(wrong.msg().contains("password"), "{}", wrong.msg());
        assert_eq!(wrong.headers["www-authenticate"], "X-Auth-Token");

        // Every other route keeps the ModelArts body alone, /v3.0 (the provider's own
        // credential API) included.
        for target in [
            t.path("/datasets"),
            "/v3.0/OS-CREDENTIAL/credentials".to_string(),
            "/v30".to_string(),
        ] {
            let a = t.send(Method::GET, &target, None, None).await;
            assert!(
                a.status == 401 || a.status == 404,
                "{}: {target}: {:?}",
                t.backend,
                a.body
            );
            let keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["error_code", "error_msg"], "{}: {target}", t.backend);
        }
    }
}

#[tokio::test]
async fn a_token_is_exchanged_for_a_new_token_of_the_same_user_and_project_that_expires_with_it() {
    for t in crate::helpers::spawn_all().await {
        let (first, signed_in) = owner_token(&t).await;
        let same_project = [
            None,
            Some(json!({"project": {"id": t.project_id}})),
            Some(json!({"project": {"name": "test", "domain": {"name": "any"}}})),
        ];
        let mut previous = first.clone();
        for scope in same_project {
            // Each new token is exchanged again in turn: the expiry never moves.
            let a = exchange(&t, json!({"id": previous}), scope.clone()).await;
            assert_eq!(a.status, 201, "{}: {scope:?}: {:?}", t.backend, a.body);
            let token = a.headers["x-subject-token"].to_str().unwrap().to_string();
            assert_ne!(token, previous, "{}", t.backend);
            let body = &a.body["token"];
            assert_eq!(body["methods"], json!(["token"]), "{}", t.backend);
            assert_eq!(body["user"], signed_in["user"], "{}", t.backend);
            assert_eq!(body["project"], signed_in["project"], "{}", t.backend);
            assert_eq!(body["roles"], signed_in["roles"], "{}", t.backend);
            assert_eq!(body["expires_at"], signed_in["expires_at"], "{}", t.backend);
            assert!(body["issued_at"].as_str().unwrap() >= signed_in["issued_at"].as_str().unwrap());
            assert_eq!(
                service(body, "modelartsv2")["endpoints"][0]["url"],
                format!("{}/v2/{}", t.client.base_url(), t.project_id)
            );
            let listed = t.send(Method::GET, &t.path("/datasets"), Some(&token), None).await;
            assert_eq!(listed.status, 200, "{}", t.backend);
            previous = token;
        }
        // The token exchanged still works: exchanging does not revoke.
        let listed = t.send(Method::GET, &t.path("/datasets"), Some(&first), None).await;
        assert_eq!(listed.status, 200, "{}", t.backend);

        // A labeler's token gives a labeler's token.
        let team = t.post("/workforces", json!({"workforce_name": "crew"})).await.body["workforce_id"]
            .as_str()
            .unwrap()
            .to_string();
        crate::helpers::add_member(&t, &team, "ann@example.com", 0).await;
        let ann = crate::helpers::token(&t, "ann@example.com").await;
        let a = exchange(&t, json!({"id": ann}), None).await;
        assert_eq!(a.status, 201, "{}: {:?}", t.backend, a.body);
        assert_eq!(a.body["token"]["user"]["name"], "ann@example.com");
        assert_eq!(a.body["token"]["roles"][0]["name"], "member");
        let ann2 = a.headers["x-subject-token"].to_str().unwrap().to_string();
        let refused = t.send(Method::GET, &t.path("/datasets"), Some(&ann2), None).await;
        assert_eq!(
            (refused.status, refused.code()),
            (403, "ModelArts.0108"),
            "{}",
            t.backend
        );

        // An expired token is refused, as in X-Auth-Token.
        let expired = teamlabel_core::iam::auth::new_token();
        let user_id = signed_in["user"]["id"].as_str().unwrap().to_string();
        t.app
            .store
            .insert_token(&teamlabel_core::store::TokenRecord {
                hash: teamlabel_core::iam::auth::hash_token(&expired),
                user_id,
                project_id: t.project_id.clone(),
                expires_at: now_ms() - 1,
                create_time: now_ms() - 3_600_000,
            })
            .await
            .unwrap();
        let (other_project, other_token) = t.other_project().await;
        #[rustfmt::skip]
        let refusals = [
            ("expired token", json!({"id": expired}), None, 401, "ModelArts.0202", "expired"),
            ("unknown token", json!({"id": "tl_".to_string() + &"0".repeat(64)}), None, 401, "ModelArts.0203", "auth.identity.token.id is not a token of this server"),
            ("another project by id", json!({"id": first}), Some(json!({"project": {"id": other_project}})), 401, "ModelArts.4697", "not the project of the token"),
            ("another project by name", json!({"id": first}), Some(json!({"project": {"name": "other"}})), 401, "ModelArts.4697", "not the project of the token"),
            ("the other project's token for this one", json!({"id": other_token}), Some(json!({"project": {"id": t.project_id}})), 401, "ModelArts.4697", "not the project of the token"),
            ("a domain scope", json!({"id": first}), Some(json!({"domain": {"name": "test"}})), 400, "ModelArts.0101", "auth.scope.domain"),
            ("a project with neither id nor name", json!({"id": first}), Some(json!({"project": {}})), 400, "ModelArts.0101", "needs an id or a name"),
            ("an empty id", json!({"id": " "}), None, 400, "ModelArts.0101", "auth.identity.token.id is required"),
            ("no id", json!({}), None, 400, "ModelArts.0101", "auth.identity.token: missing field `id`"),
            ("an unknown field", json!({"id": first, "duration_seconds": 900}), None, 400, "ModelArts.0101", "unknown field `duration_seconds`"),
        ];
        for (what, identity_token, scope, status, code, message) in refusals {
            let a = exchange(&t, identity_token, scope).await;
            assert_eq!(
                (a.status, a.code()),
                (status, code),
                "{}: {what}: {:?}",
                t.backend,
                a.body
            );
            assert!(a.msg().contains(message), "{}: {what}: {}", t.backend, a.msg());
            assert_eq!(a.body["error"]["code"], status, "{}: {what}", t.backend);
            assert!(a.headers.get("x-subject-token").is_none(), "{}: {what}", t.backend);
        }
    }
}
