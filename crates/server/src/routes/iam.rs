//! The IAM-compatible routes: the password token endpoint (`/v3/auth/tokens`) and the AK/SK
//! credential API (`/v3.0/OS-CREDENTIAL/...`), shaped as the provider's IAM answers them so
//! existing scripts and SDKs can fetch tokens and manage keys against this server.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use teamlabel_api::iam::{
    CreateCredentialRequest, CredentialResponse, ListCredentialsQuery, ListCredentialsResponse, SecurityTokenRequest,
    SecurityTokenResponse, TokenRequest,
};
use teamlabel_core::clock::format_rfc3339;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{BaseUrl, Caller, Json, Query};
use crate::ServerState;

/// The body of a token answer (the token itself is in `X-Subject-Token`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    #[schema(value_type = Object)]
    pub token: serde_json::Value,
}

/// Sign in with a password, scoped to a project; the token is in the `X-Subject-Token` header.
/// Needs no credentials. Five wrong passwords in a row lock the user for five minutes (429).
#[utoipa::path(post, path = "/v3/auth/tokens", tag = "iam", security(()), request_body = TokenRequest,
    responses((status = 201, body = TokenResponse, headers(("X-Subject-Token" = String, description = "The token"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "Too many concurrent sign-in attempts for this user; try again", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn create_token(
    State(s): State<ServerState>,
    BaseUrl(base): BaseUrl,
    Json(req): Json<TokenRequest>,
) -> ApiResult<Response> {
    let issued = s.app.password_token(req).await?;
    let project = json!({
        "id": issued.project.id,
        "name": issued.project.name,
        "domain": {"id": issued.project.id, "name": issued.project.name},
    });
    let endpoint = |service: &str| {
        json!({
            "id": teamlabel_core::ids::new_hex32(),
            "type": service,
            "name": service,
            "endpoints": [{
                "id": teamlabel_core::ids::new_hex32(),
                "interface": "public",
                "region": "local",
                "region_id": "local",
                "url": base,
            }],
        })
    };
    let body = TokenResponse {
        token: json!({
            "expires_at": format_rfc3339(issued.expires_at),
            "issued_at": format_rfc3339(issued.issued_at),
            "methods": ["password"],
            "user": {
                "id": issued.user.id,
                "name": issued.user.email,
                "domain": {"id": issued.project.id, "name": issued.project.name},
                "password_expires_at": "",
            },
            "project": project,
            "roles": [{"id": format!("{}", issued.user.role.code()), "name": role_name(issued.user.role)}],
            "catalog": [endpoint("modelarts"), endpoint("iam")],
        }),
    };
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    let header = HeaderValue::from_str(&issued.token).expect("tokens are visible ASCII");
    response.headers_mut().insert("x-subject-token", header);
    Ok(response)
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
    responses((status = 200, body = ListCredentialsResponse), (status = 403, body = ErrorBody)))]
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
