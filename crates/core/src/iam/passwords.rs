//! The IAM-compatible sign-in: `POST /v3/auth/tokens` with the password method, scoped to a
//! project, as scripts and SDKs fetch a token before calling ModelArts (the token method, a
//! token exchanged for a new one, is in `tokens.rs`). Passwords are kept as Argon2id hashes;
//! five wrong passwords in a row lock the user for five minutes.
//!
//! teamlabel has no IAM domains: a project is its own account, so `domain` in a request is
//! accepted and not checked, and answers carry the project as the domain.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use teamlabel_api::iam::{ScopeProject, TokenAuth, TokenRequest};

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{codes, Error, ErrorKind, Result};
use crate::store::{Login, LoginState, Project, User};
use crate::telemetry;

/// Wrong passwords in a row that lock a user.
pub const MAX_WRONG_PASSWORDS: i64 = 5;
/// How long a lock lasts.
pub const LOCK_MS: i64 = 5 * 60 * 1000;
/// Lifetime of a token from the token endpoint (IAM's: 24 hours).
pub const TOKEN_TTL_HOURS: u64 = 24;
/// Password length bounds, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Milliseconds left of a lock at `now`, if the user is locked.
pub fn locked_for(state: LoginState, now: i64) -> Option<i64> {
    (state.locked_until > now).then(|| state.locked_until - now)
}

/// The sign-in state after an attempt at `now` (the user is not locked). A right password
/// clears it; a wrong one counts, and the fifth wrong one in a row starts a lock. A lock that
/// has ended starts a fresh count.
pub fn after_attempt(state: LoginState, right: bool, now: i64) -> LoginState {
    if right {
        return LoginState::default();
    }
    let before = if state.locked_until != 0 && state.locked_until <= now {
        LoginState::default()
    } else {
        state
    };
    let failed = before.failed + 1;
    if failed >= MAX_WRONG_PASSWORDS {
        LoginState {
            failed: 0,
            locked_until: now + LOCK_MS,
        }
    } else {
        LoginState {
            failed,
            locked_until: before.locked_until,
        }
    }
}

/// Argon2id with the crate's recommended parameters (19 MiB, 2 passes), as a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches a stored PHC string (false for a malformed one).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Hashed once, so an unknown user costs as much as a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("teamlabel: no such user").unwrap_or_default())
}

pub fn check_password_rules(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(Error::invalid(format!(
            "a password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, got {n}"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(Error::invalid("a password must not contain control characters"));
    }
    Ok(())
}

/// A token issued by the token endpoint, with who and where it is for.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub user: User,
    pub project: Project,
    /// The method it was issued for: `password` or `token`.
    pub method: &'static str,
}

fn sign_in_failed() -> Error {
    Error::unauthorized(codes::SIGN_IN_FAILED, "The user name, password or project is wrong")
}

fn locked(ms: i64) -> Error {
    let seconds = (ms + 999) / 1000;
    Error::new(
        ErrorKind::TooManyRequests,
        codes::USER_LOCKED,
        format!("The user is locked after {MAX_WRONG_PASSWORDS} wrong passwords in a row; try again in {seconds} s"),
    )
    .with_retry_after(seconds.max(1) as u64)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("password task: {e}")))
}

impl App {
    /// Sets a user's password (found by email or id); clears any lock.
    pub async fn set_password(&self, project_id: &str, user: &str, password: &str) -> Result<User> {
        check_password_rules(password)?;
        let user = self.find_user(project_id, user).await?;
        let password = password.to_string();
        let phc = blocking(move || hash_password(&password)).await??;
        self.store.set_password(&user.id, Some(&phc)).await?;
        Ok(user)
    }

    /// `POST /v3/auth/tokens`: the password method, or the token method (`exchange_token`).
    pub async fn sign_in(&self, req: TokenRequest) -> Result<IssuedToken> {
        let auth = req.auth;
        match auth.identity.methods.as_slice() {
            [m] if m == "password" => self.password_token(auth).await,
            [m] if m == "token" => {
                let token = auth
                    .identity
                    .token
                    .ok_or_else(|| Error::invalid("auth.identity.token is required"))?;
                self.exchange_token(token, auth.scope).await
            }
            _ => Err(Error::invalid(
                "auth.identity.methods must be [\"password\"] or [\"token\"]: the sign-in methods of this server",
            )),
        }
    }

    /// The password method of `POST /v3/auth/tokens`.
    async fn password_token(&self, auth: TokenAuth) -> Result<IssuedToken> {
        let password = auth
            .identity
            .password
            .ok_or_else(|| Error::invalid("auth.identity.password is required"))?;
        let scope = auth.scope.unwrap_or_default();
        if scope.domain.is_some() {
            return Err(Error::invalid(
                "auth.scope.domain: tokens are scoped to a project; give auth.scope.project",
            ));
        }
        let project = scope
            .project
            .ok_or_else(|| Error::invalid("auth.scope.project is required: tokens are scoped to a project"))?;
        let user_key = match (password.user.id.as_deref(), password.user.name.as_deref()) {
            (Some(id), _) if !id.is_empty() => id.to_string(),
            (_, Some(name)) if !name.is_empty() => name.trim().to_lowercase(),
            _ => return Err(Error::invalid("auth.identity.password.user needs a name or an id")),
        };
        let project = self.scope_project(project).await?;
        let login = self.store.find_login(&project.id, &user_key).await?;
        let user = self.check_password(login, password.user.password).await?;
        let (token, expires_at) = self.issue_token(&user, TOKEN_TTL_HOURS).await?;
        Ok(IssuedToken {
            token,
            issued_at: expires_at - TOKEN_TTL_HOURS as i64 * 3_600_000,
            expires_at,
            user,
            project,
            method: "password",
        })
    }

    async fn scope_project(&self, scope: ScopeProject) -> Result<Project> {
        match (scope.id.as_deref(), scope.name.as_deref()) {
            (Some(id), _) if !id.is_empty() => match self.store.get_project(id).await {
                Ok(p) => Ok(p),
                Err(e) if e.kind == ErrorKind::NotFound => Err(sign_in_failed()),
                Err(e) => Err(e),
            },
            (_, Some(name)) if !name.is_empty() => {
                let mut found = self.store.list_projects_by_name(name).await?;
                match found.len() {
                    0 => Err(sign_in_failed()),
                    1 => Ok(found.remove(0)),
                    n => Err(Error::invalid(format!(
                        "auth.scope.project.name {name:?} names {n} projects; scope by id instead"
                    ))),
                }
            }
            _ => Err(Error::invalid("auth.scope.project needs an id or a name")),
        }
    }

    /// Checks a password against a user (or against nothing, at the same cost), keeping the
    /// count of wrong ones and the lock.
    async fn check_password(&self, login: Option<Login>, password: String) -> Result<User> {
        let Some(mut login) = login else {
            let _ = blocking(move || verify_password(&password, dummy_hash())).await?;
            telemetry::sign_in("wrong");
            return Err(sign_in_failed());
        };
        for _ in 0..5 {
            let now = now_ms();
            if let Some(ms) = locked_for(login.state, now) {
                telemetry::sign_in("locked");
                return Err(locked(ms));
            }
            let (pw, phc) = (password.clone(), login.password_hash.clone());
            let right = blocking(move || verify_password(&pw, phc.as_deref().unwrap_or(dummy_hash()))).await?
                && login.password_hash.is_some();
            let next = after_attempt(login.state, right, now);
            if next == login.state || self.store.update_login_state(&login.user.id, login.state, next).await? {
                telemetry::sign_in(if right { "ok" } else { "wrong" });
                return match (right, locked_for(next, now)) {
                    (true, _) => Ok(login.user),
                    (false, Some(ms)) => {
                        telemetry::lockout();
                        Err(locked(ms))
                    }
                    (false, None) => Err(sign_in_failed()),
                };
            }
            // Another attempt changed the count first: read it again and decide again.
            login = self
                .store
                .find_login(&login.user.project_id, &login.user.id)
                .await?
                .ok_or_else(sign_in_failed)?;
        }
        Err(Error::conflict(
            codes::SIGN_IN_FAILED,
            "Too many concurrent sign-in attempts for this user; try again",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_passwords_in_a_row_lock_for_five_minutes() {
        let mut s = LoginState::default();
        for i in 1..MAX_WRONG_PASSWORDS {
            s = after_attempt(s, false, 1000);
            assert_eq!(s.failed, i);
            assert_eq!(locked_for(s, 1000), None);
        }
        s = after_attempt(s, false, 2000);
        assert_eq!(locked_for(s, 2000), Some(LOCK_MS));
        assert_eq!(locked_for(s, 2000 + LOCK_MS - 1), Some(1));
        assert_eq!(locked_for(s, 2000 + LOCK_MS), None);
        // After the lock, the count starts again.
        let after = after_attempt(s, false, 2000 + LOCK_MS);
        assert_eq!(
            after,
            LoginState {
                failed: 1,
                locked_until: 0
            }
        );
    }

    #[test]
    fn a_right_password_clears_the_count() {
        let s = after_attempt(after_attempt(LoginState::default(), false, 0), false, 0);
        assert_eq!(s.failed, 2);
        assert_eq!(after_attempt(s, true, 0), LoginState::default());
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(h, hash_password("correct horse").unwrap());
    }

    #[test]
    fn password_rules_bound_the_length() {
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("long enough").is_ok());
        assert!(check_password_rules(&"x".repeat(129)).is_err());
        assert!(check_password_rules("tab\tinside").is_err());
    }
}
