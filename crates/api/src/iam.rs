//! Identity on the wire: the token request (password sign-in scoped to a project, or a token
//! exchanged for a new one), the Keystone version documents, the AK/SK credential bodies and
//! answers, and the temporary security token. Shapes only: it must not check passwords or keys,
//! decide who may do what, touch storage or speak HTTP.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub auth: TokenAuth,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenAuth {
    pub identity: TokenIdentity,
    /// Tokens are scoped to a project: required with the password method; with the token
    /// method it may be left out, and if given it must name the token's own project.
    #[serde(default)]
    pub scope: Option<TokenScope>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIdentity {
    /// `["password"]` (with `password`) or `["token"]` (with `token`).
    pub methods: Vec<String>,
    #[serde(default)]
    pub password: Option<PasswordIdentity>,
    #[serde(default)]
    pub token: Option<TokenIdentityToken>,
}

/// The token method: a token of this server exchanged for a new one of the same user and
/// project, which expires when this one does.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIdentityToken {
    /// The token (as sent in `X-Auth-Token`).
    pub id: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIdentity {
    pub user: PasswordUser,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordUser {
    /// The user's email (or give `id`).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    pub password: String,
    /// Accepted and not checked: a teamlabel project is its own account.
    #[serde(default)]
    pub domain: Option<NameOrId>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameOrId {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenScope {
    #[serde(default)]
    pub project: Option<ScopeProject>,
    /// A domain scope is refused: ModelArts is called with project-scoped tokens.
    #[serde(default)]
    pub domain: Option<NameOrId>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeProject {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub domain: Option<NameOrId>,
}

/// An access key as answered: never with its secret, except once at creation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Credential {
    pub access: String,
    /// Only in the answer that creates the pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `active` (a revoked pair is deleted).
    pub status: String,
    pub user_id: String,
    /// The user's email (an addition).
    pub email: String,
    pub description: String,
    pub create_time: String,
    /// For temporary pairs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    pub credential: CreateCredential,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCredential {
    /// The user (32 hex characters) of the caller's project; or give `email`. Neither: the
    /// caller.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The user's email (an addition to the IAM shape).
    #[serde(default)]
    pub email: Option<String>,
    /// 0 to 256 characters.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialResponse {
    pub credential: Credential,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListCredentialsResponse {
    pub total_number: u64,
    pub credentials: Vec<Credential>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCredentialsQuery {
    /// Only this user's pairs.
    pub user_id: Option<String>,
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 100).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
}

/// `{"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityTokenRequest {
    pub auth: SecurityTokenAuth,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityTokenAuth {
    pub identity: SecurityTokenIdentity,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityTokenIdentity {
    /// Must be `["token"]`.
    pub methods: Vec<String>,
    #[serde(default)]
    pub token: Option<SecurityTokenDuration>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityTokenDuration {
    /// 900 to 86400 (default 900).
    #[serde(default)]
    pub duration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemporaryCredential {
    pub access: String,
    pub secret: String,
    pub securitytoken: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecurityTokenResponse {
    pub credential: TemporaryCredential,
}

/// The Keystone v3 version a server speaks, as `GET /v3` and `GET /` describe it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityVersion {
    /// `v3.6`, the Keystone v3 minor version the provider's IAM announces.
    pub id: String,
    /// `stable`.
    pub status: String,
    /// When this version last changed (RFC 3339).
    pub updated: String,
    /// `self`: the v3 root of this server (ending in `/v3/`).
    pub links: Vec<VersionLink>,
    #[serde(rename = "media-types")]
    pub media_types: Vec<MediaType>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionLink {
    /// `self`.
    pub rel: String,
    pub href: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MediaType {
    /// `application/json`.
    pub base: String,
    /// `application/vnd.openstack.identity-v3+json`.
    #[serde(rename = "type")]
    pub media_type: String,
}

/// `GET /v3`: `{"version": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionResponse {
    pub version: IdentityVersion,
}

/// `GET /`: `{"versions": {"values": [...]}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionsResponse {
    pub versions: VersionValues,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionValues {
    pub values: Vec<IdentityVersion>,
}
