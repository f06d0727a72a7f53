//! Identity and credentials in the store: projects, users, API tokens, password sign-in state,
//! AK/SK pairs and server settings. Owns the records and the port; it must not hash, seal or
//! check anything (that is done in core before a record gets here) and knows no SQL.

use async_trait::async_trait;

use crate::error::Result;
use crate::iam::auth::Role;

/// A tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub create_time: i64,
}

/// A person inside a project, identified by email.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub project_id: String,
    pub email: String,
    /// Project-wide role: `Owner` for the project's owner; team roles come from team membership.
    pub role: Role,
    pub create_time: i64,
}

/// A stored API token: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub hash: String,
    pub user_id: String,
    pub project_id: String,
    pub expires_at: i64,
    pub create_time: i64,
}

/// An AK/SK pair. The secret is kept only sealed with the server's key (see
/// `credentials::Sealer`); a temporary pair also has the SHA-256 of its security token and an
/// expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessKeyRecord {
    pub access_key: String,
    pub user_id: String,
    pub project_id: String,
    pub sealed_secret: Vec<u8>,
    pub description: String,
    pub security_token_hash: Option<String>,
    /// `None` for a permanent pair.
    pub expires_at: Option<i64>,
    pub create_time: i64,
}

/// A user with what password sign-in needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    pub user: User,
    /// A PHC string (Argon2id); `None` until a password is set.
    pub password_hash: Option<String>,
    pub state: LoginState,
}

/// Consecutive wrong passwords and the end of a lock (epoch ms, 0 when not locked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginState {
    pub failed: i64,
    pub locked_until: i64,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn insert_project(&self, project: &Project, owner: &User) -> Result<()>;
    async fn get_project(&self, id: &str) -> Result<Project>;
    /// The oldest project, if the store has any (first start creates one).
    async fn find_first_project(&self) -> Result<Option<Project>>;
    async fn insert_user(&self, user: &User) -> Result<()>;
    async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>>;
    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;
    async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>>;
    async fn list_projects_by_name(&self, name: &str) -> Result<Vec<Project>>;
    /// A user of the project by id or by (lower-case) email, with the sign-in state.
    async fn find_login(&self, project_id: &str, id_or_email: &str) -> Result<Option<Login>>;
    /// Sets (or clears) a password; also clears wrong attempts and any lock.
    async fn set_password(&self, user_id: &str, password_hash: Option<&str>) -> Result<()>;
    /// Moves the sign-in state from `expected` to `new`; answers false (writing nothing) when
    /// another request changed it first.
    async fn update_login_state(&self, user_id: &str, expected: LoginState, new: LoginState) -> Result<bool>;
    /// A taken access key is a conflict (never expected: keys are random).
    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()>;
    async fn find_access_key(&self, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>>;
    /// Pairs of a project (of one user if given) with their users, newest first, temporary
    /// ones only while they are valid at `now`.
    async fn list_access_keys(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        now: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<(AccessKeyRecord, User)>)>;
    /// Deletes a pair of the project; answers whether it existed.
    async fn delete_access_key(&self, project_id: &str, access_key: &str) -> Result<bool>;
    /// Deletes temporary pairs that expired before `now`.
    async fn purge_expired_access_keys(&self, now: i64) -> Result<u64>;
    /// Stores `value` under `name` unless a value is there; answers the stored value.
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String>;
}
