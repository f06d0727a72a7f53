//! Bearer tokens: issuing a token for a user, resolving an `X-Auth-Token` to its principal, and
//! the token method of `POST /v3/auth/tokens` (a token exchanged for a new one). Stores only
//! token hashes; knows nothing of HTTP headers.

use teamlabel_api::iam::{TokenIdentityToken, TokenScope};

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{hash_token, Principal};
use crate::iam::passwords::IssuedToken;
use crate::store::{TokenRecord, User};

impl App {
    /// Resolves an `X-Auth-Token` to its principal: unknown is 401 `ModelArts.0203`, expired is
    /// 401 `ModelArts.0202`.
    pub async fn authenticate_token(&self, token: &str) -> Result<Principal> {
        let (_, user) = self.live_token(token, "X-Auth-Token").await?;
        Ok(Principal {
            user_id: user.id,
            project_id: user.project_id,
            email: user.email,
            role: user.role,
        })
    }

    /// The record and user of a token that is known and not expired; `what` names where the
    /// token came from in the refusal.
    async fn live_token(&self, token: &str, what: &str) -> Result<(TokenRecord, User)> {
        let found = self.store.find_token(&hash_token(token)).await?;
        let (record, user) = found.ok_or_else(|| {
            Error::unauthorized(
                codes::TOKEN_INVALID,
                format!("Invalid token: {what} is not a token of this server"),
            )
        })?;
        if record.expires_at <= now_ms() {
            return Err(Error::unauthorized(
                codes::TOKEN_EXPIRED,
                "Invalid token header because the token has expired",
            ));
        }
        Ok((record, user))
    }

    /// The token method of `POST /v3/auth/tokens`: a new token for the user and project of a
    /// live token. As Keystone does, the new token expires when the old one does, so exchanging
    /// tokens never extends a sign-in. A scope, if given, must name the token's own project
    /// (by id or name); a domain scope is refused as for the password method.
    pub async fn exchange_token(&self, token: TokenIdentityToken, scope: Option<TokenScope>) -> Result<IssuedToken> {
        if token.id.trim().is_empty() {
            return Err(Error::invalid("auth.identity.token.id is required"));
        }
        let (record, user) = self.live_token(token.id.trim(), "auth.identity.token.id").await?;
        let project = self.store.get_project(&user.project_id).await?;
        if let Some(scope) = scope {
            if scope.domain.is_some() {
                return Err(Error::invalid(
                    "auth.scope.domain: tokens are scoped to a project; give auth.scope.project",
                ));
            }
            if let Some(wanted) = scope.project {
                let matches = match (wanted.id.as_deref(), wanted.name.as_deref()) {
                    (Some(id), _) if !id.is_empty() => id == project.id,
                    (_, Some(name)) if !name.is_empty() => name == project.name,
                    _ => return Err(Error::invalid("auth.scope.project needs an id or a name")),
                };
                if !matches {
                    return Err(Error::unauthorized(
                        codes::SIGN_IN_FAILED,
                        "auth.scope.project is not the project of the token: a token is exchanged only for a token of its own project",
                    ));
                }
            }
        }
        let issued_at = now_ms();
        let new = self.store_token(&user, issued_at, record.expires_at).await?;
        Ok(IssuedToken {
            token: new,
            issued_at,
            expires_at: record.expires_at,
            user,
            project,
            method: "token",
        })
    }

    /// Issues a token for a user of a project, found by email.
    pub async fn create_token(&self, project_id: &str, email: &str, ttl_hours: u64) -> Result<(String, i64)> {
        self.store.get_project(project_id).await?;
        let email = &email.trim().to_lowercase();
        let user = self.store.find_user_by_email(project_id, email).await?.ok_or_else(|| {
            Error::not_found(
                codes::INVALID_ARGUMENT,
                format!("no user {email:?} in project {project_id}"),
            )
        })?;
        self.issue_token(&user, ttl_hours).await
    }

    pub(crate) async fn issue_token(&self, user: &User, ttl_hours: u64) -> Result<(String, i64)> {
        if ttl_hours == 0 || ttl_hours > 24 * 366 {
            return Err(Error::invalid("token lifetime must be 1 to 8784 hours"));
        }
        let now = now_ms();
        let expires_at = now + (ttl_hours as i64) * 3_600_000;
        Ok((self.store_token(user, now, expires_at).await?, expires_at))
    }

    async fn store_token(&self, user: &User, now: i64, expires_at: i64) -> Result<String> {
        let token = crate::iam::auth::new_token();
        self.store
            .insert_token(&TokenRecord {
                hash: hash_token(&token),
                user_id: user.id.clone(),
                project_id: user.project_id.clone(),
                expires_at,
                create_time: now,
            })
            .await?;
        Ok(token)
    }
}
