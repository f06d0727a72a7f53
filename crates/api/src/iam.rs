//! Identity on the wire: the token request (password sign-in scoped to a project), the AK/SK
//! credential bodies and answers, and the temporary security token. Shapes only: it must not
//! check passwords or keys, decide who may do what, touch storage or speak HTTP.

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
    /// Required: tokens are scoped to a project.
    #[serde(default)]
    pub scope: Option<TokenScope>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIdentity {
    /// Must be `["password"]`.
    pub methods: Vec<String>,
    #[serde(default)]
    pub password: Option<PasswordIdentity>,
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
