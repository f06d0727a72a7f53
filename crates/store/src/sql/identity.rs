//! Identity and credentials, written once for both dialects: projects, users, tokens, sign-in
//! state, AK/SK pairs and settings. Every statement here is the same in SQLite and PostgreSQL,
//! so the whole `IdentityStore` is implemented here over `Db` and each backend only names
//! itself (`identity_store!`). Must not hash, seal or check credentials.

use teamlabel_core::error::Result;
use teamlabel_core::store::{AccessKeyRecord, Entity, Login, LoginState, Project, StoreError, TokenRecord, User};

use super::args;
use super::decode::Cells;
use super::{decode, Db, Listing, Stmt};

/// A user over `users u`.
pub const USER_COLUMNS: &str = "u.id, u.project_id, u.email, u.role, u.create_time";

/// An access key over `access_keys k`.
pub const ACCESS_KEY_COLUMNS: &str = "k.access_key, k.user_id, k.project_id, k.sealed_secret, k.description, \
     k.security_token_hash, k.expires_at, k.create_time";

fn insert_user_stmt(u: &User) -> Stmt {
    Stmt::new(
        "INSERT INTO users (id, project_id, email, role, create_time) VALUES ($1, $2, $3, $4, $5)",
        args![&u.id, &u.project_id, &u.email, u.role.code(), u.create_time],
    )
}

pub async fn insert_project<D: Db + ?Sized>(db: &D, project: &Project, owner: &User) -> Result<()> {
    let project_row = Stmt::new(
        "INSERT INTO projects (id, name, create_time) VALUES ($1, $2, $3)",
        args![&project.id, &project.name, project.create_time],
    );
    db.execute(vec![project_row, insert_user_stmt(owner)]).await?;
    Ok(())
}

pub async fn get_project<D: Db + ?Sized>(db: &D, id: &str) -> Result<Project> {
    let stmt = Stmt::new("SELECT id, name, create_time FROM projects WHERE id = $1", args![id]);
    let found = db.fetch_one(stmt, |r| decode::project(r, 0)).await?;
    Ok(found.ok_or_else(|| StoreError::not_found(Entity::Project, id))?)
}

pub async fn find_first_project<D: Db + ?Sized>(db: &D) -> Result<Option<Project>> {
    let stmt = Stmt::new(
        "SELECT id, name, create_time FROM projects ORDER BY create_time, id COLLATE \"C\" LIMIT 1",
        vec![],
    );
    db.fetch_one(stmt, |r| decode::project(r, 0)).await
}

pub async fn list_projects_by_name<D: Db + ?Sized>(db: &D, name: &str) -> Result<Vec<Project>> {
    let stmt = Stmt::new(
        "SELECT id, name, create_time FROM projects WHERE name = $1 ORDER BY create_time, id COLLATE \"C\"",
        args![name],
    );
    db.fetch_all(stmt, |r| decode::project(r, 0)).await
}

pub async fn insert_user<D: Db + ?Sized>(db: &D, user: &User) -> Result<()> {
    db.execute(vec![insert_user_stmt(user)]).await?;
    Ok(())
}

pub async fn find_user_by_email<D: Db + ?Sized>(db: &D, project_id: &str, email: &str) -> Result<Option<User>> {
    let stmt = Stmt::new(
        format!("SELECT {USER_COLUMNS} FROM users u WHERE u.project_id = $1 AND u.email = $2"),
        args![project_id, email],
    );
    db.fetch_one(stmt, |r| decode::user(r, 0)).await
}

pub async fn insert_token<D: Db + ?Sized>(db: &D, t: &TokenRecord) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO tokens (hash, user_id, project_id, expires_at, create_time) VALUES ($1, $2, $3, $4, $5)",
        args![&t.hash, &t.user_id, &t.project_id, t.expires_at, t.create_time],
    );
    db.execute(vec![stmt]).await?;
    Ok(())
}

pub async fn find_token<D: Db + ?Sized>(db: &D, hash: &str) -> Result<Option<(TokenRecord, User)>> {
    let stmt = Stmt::new(
        format!(
            "SELECT t.hash, t.user_id, t.project_id, t.expires_at, t.create_time, {USER_COLUMNS}
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1"
        ),
        args![hash],
    );
    db.fetch_one(stmt, |r| Ok((decode::token(r, 0)?, decode::user(r, 5)?)))
        .await
}

pub async fn find_login<D: Db + ?Sized>(db: &D, project_id: &str, id_or_email: &str) -> Result<Option<Login>> {
    let stmt = Stmt::new(
        format!(
            "SELECT {USER_COLUMNS}, u.password_hash, u.failed_logins, u.locked_until
             FROM users u WHERE u.project_id = $1 AND (u.id = $2 OR u.email = lower($2))"
        ),
        args![project_id, id_or_email],
    );
    db.fetch_one(stmt, decode::login).await
}

pub async fn set_password<D: Db + ?Sized>(db: &D, user_id: &str, password_hash: Option<&str>) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = 0 WHERE id = $1",
        args![user_id, password_hash],
    );
    if db.execute(vec![stmt]).await?[0] == 0 {
        return Err(StoreError::not_found(Entity::User, user_id).into());
    }
    Ok(())
}

pub async fn update_login_state<D: Db + ?Sized>(
    db: &D,
    user_id: &str,
    expected: LoginState,
    new: LoginState,
) -> Result<bool> {
    let stmt = Stmt::new(
        "UPDATE users SET failed_logins = $4, locked_until = $5
         WHERE id = $1 AND failed_logins = $2 AND locked_until = $3",
        args![
            user_id,
            expected.failed as i32,
            expected.locked_until,
            new.failed as i32,
            new.locked_until
        ],
    );
    Ok(db.execute(vec![stmt]).await?[0] == 1)
}

pub async fn insert_access_key<D: Db + ?Sized>(db: &D, k: &AccessKeyRecord) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO access_keys (access_key, user_id, project_id, sealed_secret, description,
                                  security_token_hash, expires_at, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            &k.access_key,
            &k.user_id,
            &k.project_id,
            k.sealed_secret.clone(),
            &k.description,
            &k.security_token_hash,
            k.expires_at,
            k.create_time
        ],
    );
    db.execute(vec![stmt]).await?;
    Ok(())
}

/// `ACCESS_KEY_COLUMNS, USER_COLUMNS`.
fn key_and_user(r: &dyn Cells) -> std::result::Result<(AccessKeyRecord, User), StoreError> {
    Ok((decode::access_key(r, 0)?, decode::user(r, 8)?))
}

pub async fn find_access_key<D: Db + ?Sized>(db: &D, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>> {
    let stmt = Stmt::new(
        format!(
            "SELECT {ACCESS_KEY_COLUMNS}, {USER_COLUMNS}
             FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = $1"
        ),
        args![access_key],
    );
    db.fetch_one(stmt, key_and_user).await
}

pub async fn list_access_keys<D: Db + ?Sized>(
    db: &D,
    project_id: &str,
    user_id: Option<&str>,
    now: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<(AccessKeyRecord, User)>)> {
    let mut q = db.query();
    let filter = format!(
        "k.project_id = {} AND (CAST({user} AS TEXT) IS NULL OR k.user_id = {user})
         AND (k.expires_at IS NULL OR k.expires_at > {})",
        q.text(project_id),
        q.int(now),
        user = q.arg(user_id.into()),
    );
    let count = format!("SELECT COUNT(*) FROM access_keys k WHERE {filter}");
    let list = Listing::new(q, count, |q| {
        format!(
            "SELECT {ACCESS_KEY_COLUMNS}, {USER_COLUMNS}
             FROM access_keys k JOIN users u ON u.id = k.user_id WHERE {filter}
             ORDER BY k.create_time DESC, k.access_key COLLATE \"C\" {}",
            q.page(offset, limit)
        )
    });
    db.fetch_list(list, key_and_user).await
}

pub async fn delete_access_key<D: Db + ?Sized>(db: &D, project_id: &str, access_key: &str) -> Result<bool> {
    let stmt = Stmt::new(
        "DELETE FROM access_keys WHERE project_id = $1 AND access_key = $2",
        args![project_id, access_key],
    );
    Ok(db.execute(vec![stmt]).await?[0] > 0)
}

pub async fn purge_expired_access_keys<D: Db + ?Sized>(db: &D, now: i64) -> Result<u64> {
    let stmt = Stmt::new(
        "DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at <= $1",
        args![now],
    );
    Ok(db.execute(vec![stmt]).await?[0])
}

pub async fn setting_or_insert<D: Db + ?Sized>(db: &D, name: &str, value: &str) -> Result<String> {
    let insert = Stmt::new(
        "INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        args![name, value],
    );
    db.execute(vec![insert]).await?;
    let read = Stmt::new("SELECT value FROM server_settings WHERE name = $1", args![name]);
    let found = db.fetch_one(read, |r| r.text(0)).await?;
    Ok(found.ok_or_else(|| StoreError::Internal(format!("setting {name} is missing")))?)
}

/// Implements `IdentityStore` for a backend with this module's functions.
macro_rules! identity_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl teamlabel_core::store::IdentityStore for $store {
            async fn insert_project(&self, p: &Project, owner: &User) -> Result<()> {
                $crate::sql::identity::insert_project(self, p, owner).await
            }
            async fn get_project(&self, id: &str) -> Result<Project> {
                $crate::sql::identity::get_project(self, id).await
            }
            async fn find_first_project(&self) -> Result<Option<Project>> {
                $crate::sql::identity::find_first_project(self).await
            }
            async fn insert_user(&self, user: &User) -> Result<()> {
                $crate::sql::identity::insert_user(self, user).await
            }
            async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>> {
                $crate::sql::identity::find_user_by_email(self, project_id, email).await
            }
            async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
                $crate::sql::identity::insert_token(self, token).await
            }
            async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>> {
                $crate::sql::identity::find_token(self, hash).await
            }
            async fn list_projects_by_name(&self, name: &str) -> Result<Vec<Project>> {
                $crate::sql::identity::list_projects_by_name(self, name).await
            }
            async fn find_login(&self, project_id: &str, id_or_email: &str) -> Result<Option<Login>> {
                $crate::sql::identity::find_login(self, project_id, id_or_email).await
            }
            async fn set_password(&self, user_id: &str, password_hash: Option<&str>) -> Result<()> {
                $crate::sql::identity::set_password(self, user_id, password_hash).await
            }
            async fn update_login_state(&self, user_id: &str, expected: LoginState, new: LoginState) -> Result<bool> {
                $crate::sql::identity::update_login_state(self, user_id, expected, new).await
            }
            async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
                $crate::sql::identity::insert_access_key(self, key).await
            }
            async fn find_access_key(&self, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>> {
                $crate::sql::identity::find_access_key(self, access_key).await
            }
            async fn list_access_keys(
                &self,
                project_id: &str,
                user_id: Option<&str>,
                now: i64,
                offset: u64,
                limit: u64,
            ) -> Result<(u64, Vec<(AccessKeyRecord, User)>)> {
                $crate::sql::identity::list_access_keys(self, project_id, user_id, now, offset, limit).await
            }
            async fn delete_access_key(&self, project_id: &str, access_key: &str) -> Result<bool> {
                $crate::sql::identity::delete_access_key(self, project_id, access_key).await
            }
            async fn purge_expired_access_keys(&self, now: i64) -> Result<u64> {
                $crate::sql::identity::purge_expired_access_keys(self, now).await
            }
            async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
                $crate::sql::identity::setting_or_insert(self, name, value).await
            }
        }
    };
}
pub(crate) use identity_store;
