//! The IAM-compatible routes: Keystone v3 version discovery (`GET /`, `GET /v3`), the token
//! endpoint (`/v3/auth/tokens`, password or token method) and the AK/SK credential API
//! (`/v3.0/OS-CREDENTIAL/...`), shaped as the provider's IAM answers them so existing scripts
//! and SDKs, Huawei's and OpenStack-style ones (keystoneauth1, openstacksdk), can fetch tokens,
//! find the ModelArts endpoint in the token's catalog and manage keys against this server.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use teamlabel_api::iam::{
    CreateCredentialRequest, CredentialResponse, IdentityVersion, ListCredentialsQuery, ListCredentialsResponse,
    MediaType, SecurityTokenRequest, SecurityTokenResponse, TokenRequest, VersionLink, VersionResponse, VersionValues,
    VersionsResponse,
};
use teamlabel_core::clock::format_rfc3339;
use teamlabel_core::iam::passwords::IssuedToken;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody, KeystoneErrorBody};
use crate::extract::{BaseUrl, Caller, Json, Query};
use crate::ServerState;

/// The Keystone v3 minor version and date the provider's IAM announces.
const IDENTITY_VERSION: &str = "v3.6";
const IDENTITY_VERSION_UPDATED: &str = "2016-04-04T00:00:00Z";
/// The region of every catalog endpoint: one server is one region.
const REGION: &str = "local";

fn identity_v3(base: &str) -> IdentityVersion {
    IdentityVersion {
        id: IDENTITY_VERSION.to_string(),
        status: "stable".to_string(),
        updated: IDENTITY_VERSION_UPDATED.to_string(),
        links: vec![VersionLink {
            rel: "self".to_string(),
            href: format!("{base}/v3/"),
        }],
        media_types: vec![MediaType {
            base: "application/json".to_string(),
            media_type: "application/vnd.openstack.identity-v3+json".to_string(),
        }],
    }
}

/// The identity API versions of this server (Keystone v3 only), for clients given the server's
/// root as their `auth_url`. 300 Multiple Choices, as Keystone and the provider's IAM answer.
/// A browser (`Accept: text/html`) is sent to the labeling page instead. Needs no credentials.
#[utoipa::path(get, path = "/", tag = "iam", security(()),
    responses((status = 300, body = VersionsResponse),
        (status = 303, description = "A browser (Accept: text/html) is sent to the labeling page at /ui/")))]
pub async fn identity_versions(BaseUrl(base): BaseUrl, headers: axum::http::HeaderMap) -> Response {
    if crate::web::wants_html(&headers) {
        return crate::web::to_page();
    }
    let body = VersionsResponse {
        versions: VersionValues {
            values: vec![identity_v3(&base)],
        },
    };
    (StatusCode::MULTIPLE_CHOICES, axum::Json(body)).into_response()
}

/// The Keystone v3 version document, which keystoneauth1-based clients read from their
/// `auth_url` before signing in. Needs no credentials.
#[utoipa::path(get, path = "/v3", tag = "iam", security(()),
    responses((status = 200, body = VersionResponse)))]
pub async fn identity_version(BaseUrl(base): BaseUrl) -> axum::Json<VersionResponse> {
    axum::Json(VersionResponse {
        version: identity_v3(&base),
    })
}

/// The same version document at the URL its `self` link names (`/v3/`), for clients that
/// follow it or are given it as their `auth_url`.
#[utoipa::path(get, path = "/v3/", tag = "iam", security(()),
    responses((status = 200, body = VersionResponse)))]
pub async fn identity_version_at_self(base: BaseUrl) -> axum::Json<VersionResponse> {
    identity_version(base).await
}

/// The body of a token answer (the token itself is in `X-Subject-Token`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    #[schema(value_type = Object)]
    pub token: serde_json::Value,
}

/// Sign in, scoped to a project; the token is in the `X-Subject-Token` header. Needs no
/// credentials. Methods: `["password"]` (five wrong passwords in a row lock the user for five
/// minutes, 429), or `["token"]` with a token of this server in `auth.identity.token.id`,
/// exchanged for a new token of the same user and project that expires when it does.
///
/// The catalog holds `modelarts` and `iam` at the server's base URL, and `modelartsv2` (public,
/// internal and admin) at `{base}/v2/{project_id}`, where OpenStack-style SDKs look ModelArts
/// up; every endpoint is in region `local`. `?nocatalog` leaves the catalog out. Errors carry
/// Keystone's `error` object beside the ModelArts fields.
#[utoipa::path(post, path = "/v3/auth/tokens", tag = "iam", security(()), request_body = TokenRequest,
    params(("nocatalog" = Option<String>, Query, description = "Present: the answer has no catalog")),
    responses((status = 201, body = TokenResponse, headers(("X-Subject-Token" = String, description = "The token"))),
        (status = 400, body = KeystoneErrorBody), (status = 401, body = KeystoneErrorBody),
        (status = 409, description = "Too many concurrent sign-in attempts for this user; try again", body = KeystoneErrorBody),
        (status = 429, body = KeystoneErrorBody)))]
pub async fn create_token(
    State(s): State<ServerState>,
    BaseUrl(base): BaseUrl,
    RawQuery(query): RawQuery,
    Json(req): Json<TokenRequest>,
) -> ApiResult<Response> {
    let issued = s.app.sign_in(req).await?;
    let with_catalog = !query
        .unwrap_or_default()
        .split('&')
        .any(|p| p == "nocatalog" || p.starts_with("nocatalog="));
    let body = TokenResponse {
        token: token_body(&issued, &base, with_catalog),
    };
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    let header = HeaderValue::from_str(&issued.token).expect("tokens are visible ASCII");
    response.headers_mut().insert("x-subject-token", header);
    Ok(response)
}

fn token_body(issued: &IssuedToken, base: &str, with_catalog: bool) -> Value {
    let project = &issued.project;
    let mut token = json!({
        "expires_at": format_rfc3339(issued.expires_at),
        "issued_at": format_rfc3339(issued.issued_at),
        "methods": [issued.method],
        "user": {
            "id": issued.user.id,
            "name": issued.user.email,
            "domain": {"id": project.id, "name": project.name},
            "password_expires_at": "",
        },
        "project": {
            "id": project.id,
            "name": project.name,
            "domain": {"id": project.id, "name": project.name},
        },
        "roles": [{"id": format!("{}", issued.user.role.code()), "name": role_name(issued.user.role)}],
    });
    if with_catalog {
        token["catalog"] = catalog(base, &project.id);
    }
    token
}

/// The service catalog: `modelarts` and `iam` at the base URL (as the Huawei SDKs expect), and
/// `modelartsv2` at the project's ModelArts v2 root with the three interfaces Keystone lists.
fn catalog(base: &str, project_id: &str) -> Value {
    let service = |service: &str, url: &str, interfaces: &[&str]| {
        let endpoints: Vec<Value> = interfaces
            .iter()
            .map(|interface| {
                json!({
                    "id": teamlabel_core::ids::new_hex32(),
                    "interface": interface,
                    "region": REGION,
                    "region_id": REGION,
                    "url": url,
                })
            })
            .collect();
        json!({
            "id": teamlabel_core::ids::new_hex32(),
            "type": service,
            "name": service,
            "endpoints": endpoints,
        })
    };
    json!([
        service("modelarts", base, &["public"]),
        service("iam", base, &["public"]),
        service(
            "modelartsv2",
            &format!("{base}/v2/{project_id}"),
            &["public", "internal", "admin"]
        ),
    ])
}

fn role_name(role: teamlabel_core::iam::auth::Role) -> &'static str {
    use teamlabel_core::iam::auth::Role;
    match role {
        Role::Owner => "owner",
        Role::Manager => "manager",
        Role::Reviewer => "reviewer",
        Role::Labeler => "member",
    }
}

/// Create a permanent AK/SK pair for a user of the caller's project (owner only). The secret
/// is in this answer only.
#[utoipa::path(post, path = "/v3.0/OS-CREDENTIAL/credentials", tag = "iam", request_body = CreateCredentialRequest,
    responses((status = 201, body = CredentialResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No user with this email in the project", body = ErrorBody)))]
pub async fn create_credential(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Json(req): Json<CreateCredentialRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(s.app.create_credential(&p, req).await?)))
}

/// List the project's AK/SK pairs, without secrets (owner only).
#[utoipa::path(get, path = "/v3.0/OS-CREDENTIAL/credentials", tag = "iam", params(ListCredentialsQuery),
    responses((status = 200, body = ListCredentialsResponse), (status = 403, body = ErrorBody),
        (status = 404, description = "`user_id` names no user of the project", body = ErrorBody)))]
pub async fn list_credentials(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Query(q): Query<ListCredentialsQuery>,
) -> ApiResult<axum::Json<ListCredentialsResponse>> {
    Ok(axum::Json(s.app.list_credentials(&p, &q).await?))
}

#[derive(Debug, Deserialize)]
pub struct AccessKeyPath {
    pub access_key: String,
}

/// Get an AK/SK pair, without its secret (owner only).
#[utoipa::path(get, path = "/v3.0/OS-CREDENTIAL/credentials/{access_key}", tag = "iam",
    params(("access_key" = String, Path)),
    responses((status = 200, body = CredentialResponse), (status = 404, body = ErrorBody)))]
pub async fn get_credential(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<AccessKeyPath>,
) -> ApiResult<axum::Json<CredentialResponse>> {
    Ok(axum::Json(s.app.get_credential(&p, &at.access_key).await?))
}

/// Revoke an AK/SK pair (owner only); it fails from the next request on.
#[utoipa::path(delete, path = "/v3.0/OS-CREDENTIAL/credentials/{access_key}", tag = "iam",
    params(("access_key" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_credential(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Path(at): Path<AccessKeyPath>,
) -> ApiResult<StatusCode> {
    s.app.delete_credential(&p, &at.access_key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issue temporary AK/SK credentials with a security token for the caller (15 minutes to 24
/// hours); requests signed with them must carry `X-Security-Token`.
#[utoipa::path(post, path = "/v3.0/OS-CREDENTIAL/securitytokens", tag = "iam", request_body = SecurityTokenRequest,
    responses((status = 201, body = SecurityTokenResponse), (status = 400, body = ErrorBody)))]
pub async fn create_security_token(
    State(s): State<ServerState>,
    Caller(p): Caller,
    Json(req): Json<SecurityTokenRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.app.create_security_token(&p, req).await?),
    ))
}
