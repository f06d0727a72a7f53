//! DOC

use super::*;

#[async_trait]
impl IdentityStore for PgStore {
    async fn insert_project(&self, project: &Project, owner: &User) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(sql("begin"))?;
        tx.execute(
            "INSERT INTO projects (id, name, create_time) VALUES ($1, $2, $3)",
            &[&project.id, &project.name, &project.create_time],
        )
        .await
        .map_err(sql("insert project"))?;
        tx.execute(
            "INSERT INTO users (id, project_id, email, role, create_time)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &owner.id,
                &owner.project_id,
                &owner.email,
                &owner.role.code(),
                &owner.create_time,
            ],
        )
        .await
        .map_err(sql("insert project owner"))?;
        tx.commit().await.map_err(sql("commit insert project"))
    }

    async fn get_project(&self, id: &str) -> Result<Project> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT id, name, create_time FROM projects WHERE id = $1", &[&id])
            .await
            .map_err(sql("get project"))?
            .ok_or_else(|| Error::not_found(codes::INVALID_PROJECT, format!("Project not found: {id}")))?;
        project_from_row(&row)
    }

    async fn find_first_project(&self) -> Result<Option<Project>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, name, create_time FROM projects
                 ORDER BY create_time, id COLLATE \"C\"
                 LIMIT 1",
                &[],
            )
            .await
            .map_err(sql("find first project"))?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO users (id, project_id, email, role, create_time)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &user.id,
                    &user.project_id,
                    &user.email,
                    &user.role.code(),
                    &user.create_time,
                ],
            )
            .await
            .map_err(sql("insert user"))?;
        Ok(())
    }

    async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, project_id, email, role, create_time FROM users
                 WHERE project_id = $1 AND email = $2",
                &[&project_id, &email],
            )
            .await
            .map_err(sql("find user"))?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tokens (hash, user_id, project_id, expires_at, create_time)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &token.hash,
                    &token.user_id,
                    &token.project_id,
                    &token.expires_at,
                    &token.create_time,
                ],
            )
            .await
            .map_err(sql("insert token"))?;
        Ok(())
    }

    async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT t.hash, t.user_id, t.project_id AS token_project_id, t.expires_at,
                        t.create_time AS token_create_time,
                        u.id, u.project_id, u.email, u.role, u.create_time
                 FROM tokens t
                 JOIN users u ON u.id = t.user_id
                 WHERE t.hash = $1",
                &[&hash],
            )
            .await
            .map_err(sql("find token"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let token = TokenRecord {
            hash: col(&row, "hash")?,
            user_id: col(&row, "user_id")?,
            project_id: col(&row, "token_project_id")?,
            expires_at: col(&row, "expires_at")?,
            create_time: col(&row, "token_create_time")?,
        };
        Ok(Some((token, user_from_row(&row)?)))
    }

    async fn list_projects_by_name(&self, name: &str) -> Result<Vec<Project>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, create_time FROM projects WHERE name = $1 ORDER BY create_time, id COLLATE \"C\"",
                &[&name],
            )
            .await
            .map_err(sql("list projects by name"))?;
        rows.iter().map(project_from_row).collect()
    }

    async fn find_login(&self, project_id: &str, id_or_email: &str) -> Result<Option<Login>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, project_id, email, role, create_time, password_hash, failed_logins, locked_until
                 FROM users WHERE project_id = $1 AND (id = $2 OR email = lower($2))",
                &[&project_id, &id_or_email],
            )
            .await
            .map_err(sql("find login"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let failed: i32 = col(&row, "failed_logins")?;
        Ok(Some(Login {
            user: user_from_row(&row)?,
            password_hash: col(&row, "password_hash")?,
            state: LoginState {
                failed: i64::from(failed),
                locked_until: col(&row, "locked_until")?,
            },
        }))
    }

    async fn set_password(&self, user_id: &str, password_hash: Option<&str>) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = 0 WHERE id = $1",
                &[&user_id, &password_hash],
            )
            .await
            .map_err(sql("set password"))?;
        if n == 0 {
            return Err(Error::not_found(
                codes::INVALID_ARGUMENT,
                format!("User not found: {user_id}"),
            ));
        }
        Ok(())
    }

    async fn update_login_state(&self, user_id: &str, expected: LoginState, new: LoginState) -> Result<bool> {
        let client = self.client().await?;
        let (ef, nf) = (expected.failed as i32, new.failed as i32);
        let n = client
            .execute(
                "UPDATE users SET failed_logins = $4, locked_until = $5
                 WHERE id = $1 AND failed_logins = $2 AND locked_until = $3",
                &[&user_id, &ef, &expected.locked_until, &nf, &new.locked_until],
            )
            .await
            .map_err(sql("update login state"))?;
        Ok(n == 1)
    }

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO access_keys (access_key, user_id, project_id, sealed_secret, description,
                                          security_token_hash, expires_at, create_time)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &key.access_key,
                    &key.user_id,
                    &key.project_id,
                    &key.sealed_secret,
                    &key.description,
                    &key.security_token_hash,
                    &key.expires_at,
                    &key.create_time,
                ],
            )
            .await
            .map_err(sql("insert access key"))?;
        Ok(())
    }

    async fn find_access_key(&self, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                     FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = $1"
                ),
                &[&access_key],
            )
            .await
            .map_err(sql("find access key"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((access_key_from_row(&row)?, user_from_row(&row)?)))
    }

    async fn list_access_keys(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        now: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<(AccessKeyRecord, User)>)> {
        let client = self.client().await?;
        let filter = "k.project_id = $1 AND ($2::TEXT IS NULL OR k.user_id = $2)
                      AND (k.expires_at IS NULL OR k.expires_at > $3)";
        let total: i64 = client
            .query_one(
                &format!("SELECT COUNT(*) FROM access_keys k WHERE {filter}"),
                &[&project_id, &user_id, &now],
            )
            .await
            .map_err(sql("count access keys"))?
            .get(0);
        let (lim, off) = (limit as i64, (offset * limit) as i64);
        let rows = client
            .query(
                &format!(
                    "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                     FROM access_keys k JOIN users u ON u.id = k.user_id WHERE {filter}
                     ORDER BY k.create_time DESC, k.access_key COLLATE \"C\" LIMIT $4 OFFSET $5"
                ),
                &[&project_id, &user_id, &now, &lim, &off],
            )
            .await
            .map_err(sql("list access keys"))?;
        let keys = rows
            .iter()
            .map(|r| Ok((access_key_from_row(r)?, user_from_row(r)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok((total as u64, keys))
    }

    async fn delete_access_key(&self, project_id: &str, access_key: &str) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM access_keys WHERE project_id = $1 AND access_key = $2",
                &[&project_id, &access_key],
            )
            .await
            .map_err(sql("delete access key"))?;
        Ok(n > 0)
    }

    async fn purge_expired_access_keys(&self, now: i64) -> Result<u64> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at <= $1",
                &[&now],
            )
            .await
            .map_err(sql("purge access keys"))
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )
            .await
            .map_err(sql("insert setting"))?;
        let row = client
            .query_one("SELECT value FROM server_settings WHERE name = $1", &[&name])
            .await
            .map_err(sql("read setting"))?;
        col(&row, "value")
    }
}
