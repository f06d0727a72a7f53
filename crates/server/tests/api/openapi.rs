//! The committed `openapi.json` is the API contract; it must be what the code generates. The
//! health check and the document itself are served without a token.

use serde_json::json;
use teamlabel_client::Method;

#[test]
fn the_committed_openapi_document_matches_the_routes() {
    let generated = serde_json::to_string_pretty(&teamlabel_server::openapi()).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi.json is out of date; regenerate it with: cargo run -q -p teamlabel -- openapi > openapi.json"
    );
}

#[test]
fn every_documented_endpoint_of_the_foundation_is_routed() {
    let doc = serde_json::to_value(teamlabel_server::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v2/{project_id}/datasets", "get"),
        ("/v2/{project_id}/datasets", "post"),
        ("/v2/{project_id}/datasets/{dataset_id}", "get"),
        ("/v2/{project_id}/datasets/{dataset_id}", "put"),
        ("/v2/{project_id}/datasets/{dataset_id}", "delete"),
        ("/v2/{project_id}/datasets/{dataset_id}/data-annotations/stats", "get"),
        ("/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", "get"),
        ("/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", "post"),
        ("/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels", "put"),
        (
            "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/delete",
            "post",
        ),
        (
            "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/{label_name}",
            "put",
        ),
        (
            "/v2/{project_id}/datasets/{dataset_id}/data-annotations/labels/{label_name}",
            "delete",
        ),
        ("/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples", "get"),
        (
            "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples",
            "post",
        ),
        (
            "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/delete",
            "post",
        ),
        (
            "/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples/{sample_id}",
            "get",
        ),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing"
        );
    }
}

/// Every route the router serves has a row in the policy table, and every row a route: a route
/// added without deciding who may call it fails here.
#[test]
fn every_route_is_in_the_policy_table_and_every_row_is_routed() {
    use std::collections::BTreeSet;
    let doc = serde_json::to_value(teamlabel_server::openapi()).unwrap();
    let routed: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let table: BTreeSet<(String, String)> = teamlabel_core::iam::policy::ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let unlisted: Vec<_> = routed.difference(&table).collect();
    let unrouted: Vec<_> = table.difference(&routed).collect();
    assert!(unlisted.is_empty(), "routes missing from policy::ROUTES: {unlisted:?}");
    assert!(unrouted.is_empty(), "policy::ROUTES rows without a route: {unrouted:?}");
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    for t in crate::helpers::spawn_all().await {
        let h = t.send(Method::GET, "/health", None, None).await;
        assert_eq!(h.status, 200);
        assert_eq!(h.body, json!({"status": "ok", "backend": t.backend}));
        let doc = t.send(Method::GET, "/openapi.json", None, None).await;
        assert_eq!(doc.status, 200);
        assert!(
            doc.body["paths"]["/v2/{project_id}/datasets/{dataset_id}/data-annotations/samples"]["post"].is_object()
        );
    }
}

/// What runs before every handler can answer on every route, so the document says so: 401 and
/// 403 wherever credentials are needed, 400 wherever the request carries a value, and a 400 of a
/// batch route admits both of its bodies. scripts/fuzz-api checks the answers themselves.
#[test]
fn every_operation_documents_the_answers_of_its_extractors() {
    let doc = serde_json::to_value(teamlabel_server::openapi()).unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let open = op["security"] == json!([{}]);
            if !open {
                for status in ["401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} does not document {status}"
                    );
                }
            }
            if path.contains('{') || op.get("requestBody").is_some() {
                assert!(responses.contains_key("400"), "{method} {path} does not document 400");
            }
            let bad = &responses
                .get("400")
                .map(|r| r["content"]["application/json"]["schema"].clone());
            if let Some(schema) = bad {
                assert_ne!(
                    schema,
                    &json!({"$ref": "#/components/schemas/BatchResponse"}),
                    "{method} {path}: a malformed request answers the error body, not a BatchResponse"
                );
            }
        }
    }
}
