//! Projects: creating a project with its owner, and checking the `{project_id}` of a request
//! against the caller. The project is the boundary of every other resource.
//! It must not read or write anything inside a project.

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{Principal, Role};
use crate::ids::is_hex32;
use crate::store::{Project, User};

impl App {
    /// Creates a project and its owner, and a token for the owner.
    pub async fn create_project(
        &self,
        name: &str,
        owner_email: &str,
        ttl_hours: u64,
    ) -> Result<(Project, User, String, i64)> {
        crate::text::check_text("project name", name, 64, "")?;
        if name.trim().is_empty() {
            return Err(Error::invalid("project name must not be empty"));
        }
        let owner_email = &owner_email.trim().to_lowercase();
        crate::text::check_email("owner email", owner_email)?;
        let now = now_ms();
        let project = Project {
            id: crate::ids::new_hex32(),
            name: name.to_string(),
            create_time: now,
        };
        let owner = User {
            id: crate::ids::new_hex32(),
            project_id: project.id.clone(),
            email: owner_email.to_string(),
            role: Role::Owner,
            create_time: now,
        };
        self.store.insert_project(&project, &owner).await?;
        let (token, expires_at) = self.issue_token(&owner, ttl_hours).await?;
        Ok((project, owner, token, expires_at))
    }
}

/// Checks the `{project_id}` of a path against the caller: a malformed id is 400, another
/// project's id is 403 (both `ModelArts.0210`).
pub fn check_project(principal: &Principal, project_id: &str) -> Result<()> {
    if !is_hex32(project_id) {
        return Err(Error::bad_request(
            codes::INVALID_PROJECT,
            format!("Invalid project ID: {project_id:?} is not 32 lowercase hex characters"),
        ));
    }
    if principal.project_id != project_id {
        return Err(Error::forbidden(
            codes::INVALID_PROJECT,
            "The project id in the request URL does not match the token.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_malformed_project_id_is_400_and_a_foreign_one_403() {
        let p = Principal {
            user_id: "u".into(),
            project_id: "0".repeat(32),
            email: "a@b.c".into(),
            role: Role::Owner,
        };
        assert_eq!(check_project(&p, "nope").unwrap_err().kind, ErrorKind::BadRequest);
        assert_eq!(
            check_project(&p, &"1".repeat(32)).unwrap_err().kind,
            ErrorKind::Forbidden
        );
        assert!(check_project(&p, &"0".repeat(32)).is_ok());
    }
}
