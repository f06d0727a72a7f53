//! DOC

use super::*;

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn insert_project(&self, project: &Project, owner: &User) -> Result<()> {
        let (project, owner) = (project.clone(), owner.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO projects (id, name, create_time) VALUES (?1, ?2, ?3)",
                params![project.id, project.name, project.create_time],
            )
            .map_err(db_err)?;
            tx.execute(
                "INSERT INTO users (id, project_id, email, role, create_time) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    owner.id,
                    owner.project_id,
                    owner.email,
                    owner.role.code(),
                    owner.create_time
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_project(&self, id: &str) -> Result<Project> {
        let id = id.to_string();
        let found = self
            .read({
                let id = id.clone();
                move |c| {
                    c.query_row("SELECT id, name, create_time FROM projects WHERE id = ?1", [id], |r| {
                        Ok(Project {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            create_time: r.get(2)?,
                        })
                    })
                    .optional()
                }
            })
            .await?;
        found.ok_or_else(|| Error::not_found(codes::INVALID_PROJECT, format!("Project does not exist: {id}")))
    }

    async fn find_first_project(&self) -> Result<Option<Project>> {
        self.read(|c| {
            c.query_row(
                "SELECT id, name, create_time FROM projects ORDER BY create_time, id LIMIT 1",
                [],
                |r| {
                    Ok(Project {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        create_time: r.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        let u = user.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO users (id, project_id, email, role, create_time) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![u.id, u.project_id, u.email, u.role.code(), u.create_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_user_by_email(&self, project_id: &str, email: &str) -> Result<Option<User>> {
        let (p, e) = (project_id.to_string(), email.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT id, project_id, email, role, create_time FROM users WHERE project_id = ?1 AND email = ?2",
                params![p, e],
                |r| user_from_row(r, 0),
            )
            .optional()
        })
        .await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let t = token.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO tokens (hash, user_id, project_id, expires_at, create_time) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.hash, t.user_id, t.project_id, t.expires_at, t.create_time],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_token(&self, hash: &str) -> Result<Option<(TokenRecord, User)>> {
        let hash = hash.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT t.hash, t.user_id, t.project_id, t.expires_at, t.create_time,
                        u.id, u.project_id, u.email, u.role, u.create_time
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?1",
                [hash],
                |r| {
                    Ok((
                        TokenRecord {
                            hash: r.get(0)?,
                            user_id: r.get(1)?,
                            project_id: r.get(2)?,
                            expires_at: r.get(3)?,
                            create_time: r.get(4)?,
                        },
                        user_from_row(r, 5)?,
                    ))
                },
            )
            .optional()
        })
        .await
    }

    async fn list_projects_by_name(&self, name: &str) -> Result<Vec<Project>> {
        let name = name.to_string();
        self.read(move |c| {
            let mut stmt =
                c.prepare("SELECT id, name, create_time FROM projects WHERE name = ?1 ORDER BY create_time, id")?;
            let rows = stmt.query_map([name], |r| {
                Ok(Project {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    create_time: r.get(2)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn find_login(&self, project_id: &str, id_or_email: &str) -> Result<Option<Login>> {
        let (p, key) = (project_id.to_string(), id_or_email.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT id, project_id, email, role, create_time, password_hash, failed_logins, locked_until
                 FROM users WHERE project_id = ?1 AND (id = ?2 OR email = lower(?2))",
                params![p, key],
                |r| {
                    Ok(Login {
                        user: user_from_row(r, 0)?,
                        password_hash: r.get(5)?,
                        state: LoginState {
                            failed: r.get(6)?,
                            locked_until: r.get(7)?,
                        },
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn set_password(&self, user_id: &str, password_hash: Option<&str>) -> Result<()> {
        let (u, h) = (user_id.to_string(), password_hash.map(str::to_string));
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = 0 WHERE id = ?1",
                    params![u, h],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::not_found(
                    codes::INVALID_ARGUMENT,
                    format!("User not found: {u}"),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn update_login_state(&self, user_id: &str, expected: LoginState, new: LoginState) -> Result<bool> {
        let u = user_id.to_string();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE users SET failed_logins = ?4, locked_until = ?5
                     WHERE id = ?1 AND failed_logins = ?2 AND locked_until = ?3",
                    params![u, expected.failed, expected.locked_until, new.failed, new.locked_until],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        let k = key.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO access_keys (access_key, user_id, project_id, sealed_secret, description,
                                          security_token_hash, expires_at, create_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    k.access_key,
                    k.user_id,
                    k.project_id,
                    k.sealed_secret,
                    k.description,
                    k.security_token_hash,
                    k.expires_at,
                    k.create_time
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_access_key(&self, access_key: &str) -> Result<Option<(AccessKeyRecord, User)>> {
        let ak = access_key.to_string();
        self.read(move |c| {
            c.query_row(
                &format!(
                    "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                     FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = ?1"
                ),
                [ak],
                |r| Ok((access_key_from_row(r)?, user_from_row(r, 8)?)),
            )
            .optional()
        })
        .await
    }

    async fn list_access_keys(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        now: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<(AccessKeyRecord, User)>)> {
        let (p, u) = (project_id.to_string(), user_id.map(str::to_string));
        self.read(move |c| {
            let filter = "k.project_id = ?1 AND (?2 IS NULL OR k.user_id = ?2)
                          AND (k.expires_at IS NULL OR k.expires_at > ?3)";
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM access_keys k WHERE {filter}"),
                params![p, u, now],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(&format!(
                "SELECT {ACCESS_KEY_COLUMNS}, u.id, u.project_id, u.email, u.role, u.create_time
                 FROM access_keys k JOIN users u ON u.id = k.user_id WHERE {filter}
                 ORDER BY k.create_time DESC, k.access_key LIMIT ?4 OFFSET ?5"
            ))?;
            let rows = stmt
                .query_map(params![p, u, now, limit as i64, (offset * limit) as i64], |r| {
                    Ok((access_key_from_row(r)?, user_from_row(r, 8)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total as u64, rows))
        })
        .await
    }

    async fn delete_access_key(&self, project_id: &str, access_key: &str) -> Result<bool> {
        let (p, ak) = (project_id.to_string(), access_key.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM access_keys WHERE project_id = ?1 AND access_key = ?2",
                    params![p, ak],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn purge_expired_access_keys(&self, now: i64) -> Result<u64> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                    [now],
                )
                .map_err(db_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        let (n, v) = (name.to_string(), value.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO server_settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![n, v],
            )
            .map_err(db_err)?;
            tx.query_row("SELECT value FROM server_settings WHERE name = ?1", [n], |r| r.get(0))
                .map_err(db_err)
        })
        .await
    }
}
