//! Bearer tokens: issuing a token for a user and resolving an `X-Auth-Token` to its principal.
//! Stores only token hashes; knows nothing of HTTP headers.

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{hash_token, Principal};
use crate::store::{TokenRecord, User};

impl App {
    /// Resolves an `X-Auth-Token` to its principal: unknown is 401 `ModelArts.0203`, expired is
    /// 401 `ModelArts.0202`.
    pub async fn authenticate_token(&self, token: &str) -> Result<Principal> {
        let found = self.store.find_token(&hash_token(token)).await?;
        let (record, user) = found.ok_or_else(|| {
            Error::unauthorized(
                codes::TOKEN_INVALID,
                "Invalid token: X-Auth-Token is not a token of this server",
            )
        })?;
        if record.expires_at <= now_ms() {
            return Err(Error::unauthorized(
                codes::TOKEN_EXPIRED,
                "Invalid token header because the token has expired",
            ));
        }
        Ok(Principal {
            user_id: user.id,
            project_id: user.project_id,
            email: user.email,
            role: user.role,
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
        let token = crate::iam::auth::new_token();
        let expires_at = now + (ttl_hours as i64) * 3_600_000;
        self.store
            .insert_token(&TokenRecord {
                hash: hash_token(&token),
                user_id: user.id.clone(),
                project_id: user.project_id.clone(),
                expires_at,
                create_time: now,
            })
            .await?;
        Ok((token, expires_at))
    }
}
