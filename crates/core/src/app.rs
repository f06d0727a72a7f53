//! The application: the store and blob ports plus the limits, and the use cases that need no
//! resource of their own (authentication, project scoping, paging). Every use case follows the
//! same order: authorize, validate, then touch the store.

use std::sync::Arc;

use crate::blobs::BlobStore;
use crate::error::{codes, Error, Result};
use crate::iam::auth::{hash_token, Principal, Role};
use crate::ids::is_hex32;
use crate::store::Store;

/// Size limits; each has a flag and an environment variable in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes (ModelArts.4104 above it).
    pub max_body_bytes: usize,
    /// Most items in one batch request.
    pub max_batch: usize,
    /// Largest sample file in bytes (ModelArts.4656 above it).
    pub max_sample_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 12 * 1024 * 1024,
            max_batch: 1000,
            max_sample_bytes: 12_582_912,
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    /// Seals and opens the secret keys of AK/SK pairs.
    pub sealer: Arc<crate::iam::credentials::Sealer>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl App {
    /// An application with a fresh random sealing key; `teamlabel serve` replaces it with the
    /// key from its key file (`with_sealer`), so access keys outlive a restart.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, limits: Limits) -> Self {
        Self {
            store,
            blobs,
            limits,
            sealer: Arc::new(crate::iam::credentials::Sealer::generate()),
        }
    }

    pub fn with_sealer(mut self, sealer: crate::iam::credentials::Sealer) -> Self {
        self.sealer = Arc::new(sealer);
        self
    }

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

/// A page request: `offset` counts pages of `limit` rows (DESIGN.md, "Lists").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

/// Highest page number accepted, so `offset * limit` cannot overflow.
pub const MAX_PAGE: u64 = 1_000_000_000;

/// Parses `offset`/`limit` query values; out of range is 400 naming the allowed range.
pub fn parse_page(offset: Option<&str>, limit: Option<&str>, default_limit: u64, max_limit: u64) -> Result<Page> {
    let offset = match offset {
        None | Some("") => 0,
        Some(s) => parse_u64("offset", s, 0, MAX_PAGE)?,
    };
    let limit = match limit {
        None | Some("") => default_limit,
        Some(s) => parse_u64("limit", s, 1, max_limit)?,
    };
    Ok(Page { offset, limit })
}

/// Parses an integer query value within `min..=max`.
pub fn parse_u64(name: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    match value.trim().parse::<i64>() {
        Ok(n) if n >= min as i64 && n as u64 <= max => Ok(n as u64),
        _ => Err(Error::invalid(format!(
            "{name} must be an integer from {min} to {max}, got {value:?}"
        ))),
    }
}

pub fn parse_i64(name: &str, value: &str) -> Result<i64> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid(format!("{name} must be an integer, got {value:?}")))
}

pub fn parse_bool(name: &str, value: Option<&str>, default: bool) -> Result<bool> {
    match value {
        None | Some("") => Ok(default),
        Some("true") | Some("True") | Some("1") => Ok(true),
        Some("false") | Some("False") | Some("0") => Ok(false),
        Some(other) => Err(Error::invalid(format!("{name} must be true or false, got {other:?}"))),
    }
}

/// `asc` or `desc` (default `desc`); answers true for ascending.
pub fn parse_order(value: Option<&str>) -> Result<bool> {
    match value {
        None | Some("") | Some("desc") => Ok(false),
        Some("asc") => Ok(true),
        Some(other) => Err(Error::invalid(format!("order must be asc or desc, got {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn paging_counts_pages_and_refuses_out_of_range_values() {
        assert_eq!(parse_page(None, None, 10, 100).unwrap(), Page { offset: 0, limit: 10 });
        assert_eq!(
            parse_page(Some("2"), Some("100"), 10, 100).unwrap(),
            Page { offset: 2, limit: 100 }
        );
        for (o, l) in [
            (Some("-1"), None),
            (None, Some("0")),
            (None, Some("101")),
            (Some("x"), None),
        ] {
            let err = parse_page(o, l, 10, 100).unwrap_err();
            assert_eq!(err.code, codes::INVALID_ARGUMENT);
        }
        assert!(parse_page(None, Some("101"), 10, 100)
            .unwrap_err()
            .message
            .contains("1 to 100"));
    }

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

/// Formats epoch milliseconds as RFC 3339 UTC, e.g. `2026-11-28T17:08:19.000Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn rfc3339_formatting_matches_known_instants() {
        assert_eq!(super::format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::format_rfc3339(1_605_690_595_404), "2020-11-18T09:09:55.404Z");
        assert_eq!(super::format_rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}

impl App {
    /// Creates a project and its owner, and a token for the owner.
    pub async fn create_project(
        &self,
        name: &str,
        owner_email: &str,
        ttl_hours: u64,
    ) -> Result<(crate::store::Project, crate::store::User, String, i64)> {
        crate::text::check_text("project name", name, 64, "")?;
        if name.trim().is_empty() {
            return Err(Error::invalid("project name must not be empty"));
        }
        let owner_email = &owner_email.trim().to_lowercase();
        crate::text::check_email("owner email", owner_email)?;
        let now = now_ms();
        let project = crate::store::Project {
            id: crate::ids::new_hex32(),
            name: name.to_string(),
            create_time: now,
        };
        let owner = crate::store::User {
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

    pub(crate) async fn issue_token(&self, user: &crate::store::User, ttl_hours: u64) -> Result<(String, i64)> {
        if ttl_hours == 0 || ttl_hours > 24 * 366 {
            return Err(Error::invalid("token lifetime must be 1 to 8784 hours"));
        }
        let now = now_ms();
        let token = crate::iam::auth::new_token();
        let expires_at = now + (ttl_hours as i64) * 3_600_000;
        self.store
            .insert_token(&crate::store::TokenRecord {
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
