//! AK/SK credentials: issuing pairs (permanent ones for a user, temporary ones with a security
//! token), keeping their secrets sealed, listing and revoking them, and authenticating a signed
//! request with them. The bodies and answers (in `teamlabel_api::iam`) follow the IAM credential
//! API (`/v3.0/OS-CREDENTIAL/credentials`, `/v3.0/OS-CREDENTIAL/securitytokens`).
//! Secrets are stored sealed (see `iam::sealer`). The database keeps a check value of the
//! sealing key, so a server started with another key refuses to start instead of failing every
//! signature. It must not keep a secret unsealed.

use rand::Rng;
use teamlabel_api::iam::{
    CreateCredentialRequest, Credential, CredentialResponse, ListCredentialsQuery, ListCredentialsResponse,
    SecurityTokenRequest, SecurityTokenResponse, TemporaryCredential,
};
use teamlabel_api::signing::{self, Received, SignatureError};

use crate::app::App;
use crate::clock::{format_rfc3339, now_ms};
use crate::error::{codes, Error, Result};
use crate::iam::auth::{hash_token, Principal};
use crate::iam::policy::{self, Op};
use crate::iam::sealer::Sealer;
use crate::query::parse_page;
use crate::store::{AccessKeyRecord, User};
use crate::text::check_description;

/// Characters of an access key (as the provider's: 20 upper-case letters and digits).
pub const ACCESS_KEY_LEN: usize = 20;
/// Characters of a secret key.
pub const SECRET_KEY_LEN: usize = 40;
/// Most permanent pairs one user may hold.
pub const MAX_KEYS_PER_USER: u64 = 10;
/// Lifetime bounds of temporary credentials, in seconds (the provider's: 15 minutes to 24 hours).
pub const MIN_TEMPORARY_SECONDS: i64 = 900;
pub const MAX_TEMPORARY_SECONDS: i64 = 86_400;

/// Name of the setting that holds the sealing key's check value (a backup compares it with the
/// key file it archives).
pub const KEY_CHECK_SETTING: &str = "sealing_key_check";

fn random_upper_alnum(n: usize) -> String {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..n).map(|_| SET[rng.gen_range(0..SET.len())] as char).collect()
}

fn random_alnum(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn credential_to_api(k: &AccessKeyRecord, email: &str, secret: Option<String>) -> Credential {
    Credential {
        access: k.access_key.clone(),
        secret,
        status: "active".into(),
        user_id: k.user_id.clone(),
        email: email.to_string(),
        description: k.description.clone(),
        create_time: format_rfc3339(k.create_time),
        expires_at: k.expires_at.map(format_rfc3339),
    }
}

/// A new pair: the record to store and the secret to show once.
fn new_pair(sealer: &Sealer, user: &User, description: &str, now: i64) -> (AccessKeyRecord, String) {
    let access_key = random_upper_alnum(ACCESS_KEY_LEN);
    let secret = random_alnum(SECRET_KEY_LEN);
    let record = AccessKeyRecord {
        sealed_secret: sealer.seal(&access_key, secret.as_bytes()),
        access_key,
        user_id: user.id.clone(),
        project_id: user.project_id.clone(),
        description: description.to_string(),
        security_token_hash: None,
        expires_at: None,
        create_time: now,
    };
    (record, secret)
}

fn sig_error(e: SignatureError) -> Error {
    let code = match e {
        SignatureError::Malformed(_) => codes::AUTH_HEADER_INVALID,
        _ => codes::SIGNATURE_INVALID,
    };
    Error::unauthorized(code, format!("Invalid AK/SK signature: {e}"))
}

impl App {
    /// Makes sure the database belongs to this sealing key: the first server records the key's
    /// check value; a server with another key is refused with an explanation.
    pub async fn check_sealing_key(&self) -> Result<()> {
        let mine = self.sealer.check_value();
        let stored = self.store.setting_or_insert(KEY_CHECK_SETTING, &mine).await?;
        if stored != mine {
            return Err(Error::invalid(
                "the sealing key does not match this database: its access keys were sealed with another key. \
                 Start with the key file the database was created with (--secret-key-file)",
            ));
        }
        Ok(())
    }

    /// Issues a permanent pair for a user found by email (for the command line).
    pub async fn issue_access_key(
        &self,
        project_id: &str,
        email: &str,
        description: &str,
    ) -> Result<(Credential, User)> {
        let user = self.find_user(project_id, email).await?;
        let credential = self.issue_for(&user, description).await?;
        Ok((credential, user))
    }

    async fn issue_for(&self, user: &User, description: &str) -> Result<Credential> {
        check_description("description", description)?;
        let (_, keys) = self
            .store
            .list_access_keys(&user.project_id, Some(&user.id), now_ms(), 0, 100)
            .await?;
        let permanent_held = keys.iter().filter(|(k, _)| k.expires_at.is_none()).count() as u64;
        if permanent_held >= MAX_KEYS_PER_USER {
            return Err(Error::bad_request(
                codes::CREDENTIAL_LIMIT,
                format!(
                    "User {} already holds {MAX_KEYS_PER_USER} access keys: delete one before creating another",
                    user.email
                ),
            ));
        }
        let (record, secret) = new_pair(&self.sealer, user, description, now_ms());
        self.store.insert_access_key(&record).await?;
        Ok(credential_to_api(&record, &user.email, Some(secret)))
    }

    /// A user of a project by id or email; 404 when there is none.
    pub(crate) async fn find_user(&self, project_id: &str, id_or_email: &str) -> Result<User> {
        self.store.get_project(project_id).await?;
        let key = id_or_email.trim().to_lowercase();
        Ok(self
            .store
            .find_login(project_id, &key)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    codes::USER_NOT_FOUND,
                    format!("No user {id_or_email:?} in project {project_id}"),
                )
            })?
            .user)
    }

    /// POST /v3.0/OS-CREDENTIAL/credentials.
    pub async fn create_credential(&self, p: &Principal, req: CreateCredentialRequest) -> Result<CredentialResponse> {
        policy::authorize(p, Op::CreateCredential, &policy::Standing::project(p))?;
        let c = req.credential;
        let user = match (c.user_id.as_deref(), c.email.as_deref()) {
            (Some(_), Some(_)) => return Err(Error::invalid("credential: give user_id or email, not both")),
            (Some(id), None) => self.find_user(&p.project_id, id).await?,
            (None, Some(email)) => self.find_user(&p.project_id, email).await?,
            (None, None) => self.find_user(&p.project_id, &p.user_id).await?,
        };
        let credential = self.issue_for(&user, c.description.as_deref().unwrap_or("")).await?;
        Ok(CredentialResponse { credential })
    }

    /// GET /v3.0/OS-CREDENTIAL/credentials: the project's pairs, without secrets.
    pub async fn list_credentials(&self, p: &Principal, q: &ListCredentialsQuery) -> Result<ListCredentialsResponse> {
        policy::authorize(p, Op::ListCredentials, &policy::Standing::project(p))?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 100, 100)?;
        let user = match q.user_id.as_deref().filter(|u| !u.is_empty()) {
            Some(id) => Some(self.find_user(&p.project_id, id).await?),
            None => None,
        };
        let (total, keys) = self
            .store
            .list_access_keys(
                &p.project_id,
                user.as_ref().map(|u| u.id.as_str()),
                now_ms(),
                page.offset,
                page.limit,
            )
            .await?;
        let credentials = keys.iter().map(|(k, u)| credential_to_api(k, &u.email, None)).collect();
        Ok(ListCredentialsResponse {
            total_number: total,
            credentials,
        })
    }

    async fn credential_of_project(&self, project_id: &str, access_key: &str) -> Result<(AccessKeyRecord, User)> {
        let not_found = || {
            Error::not_found(
                codes::CREDENTIAL_NOT_FOUND,
                format!("Access key does not exist: {access_key}"),
            )
        };
        let (record, user) = self.store.find_access_key(access_key).await?.ok_or_else(not_found)?;
        let expired = record.expires_at.is_some_and(|t| t <= now_ms());
        if record.project_id != project_id || expired {
            return Err(not_found());
        }
        Ok((record, user))
    }

    /// GET /v3.0/OS-CREDENTIAL/credentials/{access_key}.
    pub async fn get_credential(&self, p: &Principal, access_key: &str) -> Result<CredentialResponse> {
        policy::authorize(p, Op::GetCredential, &policy::Standing::project(p))?;
        let (record, user) = self.credential_of_project(&p.project_id, access_key).await?;
        Ok(CredentialResponse {
            credential: credential_to_api(&record, &user.email, None),
        })
    }

    /// DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}: the pair stops working with the
    /// next request (every request looks its key up).
    pub async fn delete_credential(&self, p: &Principal, access_key: &str) -> Result<()> {
        policy::authorize(p, Op::DeleteCredential, &policy::Standing::project(p))?;
        self.credential_of_project(&p.project_id, access_key).await?;
        if !self.store.delete_access_key(&p.project_id, access_key).await? {
            return Err(Error::not_found(
                codes::CREDENTIAL_NOT_FOUND,
                format!("Access key does not exist: {access_key}"),
            ));
        }
        Ok(())
    }

    /// POST /v3.0/OS-CREDENTIAL/securitytokens: a temporary pair for the caller, valid with
    /// its `X-Security-Token` until it expires.
    pub async fn create_security_token(
        &self,
        p: &Principal,
        req: SecurityTokenRequest,
    ) -> Result<SecurityTokenResponse> {
        policy::authorize(p, Op::CreateSecurityToken, &policy::Standing::project(p))?;
        let identity = req.auth.identity;
        if identity.methods != ["token"] {
            return Err(Error::invalid(
                "auth.identity.methods must be [\"token\"]: temporary credentials are issued for the caller",
            ));
        }
        let seconds = identity
            .token
            .and_then(|t| t.duration_seconds)
            .unwrap_or(MIN_TEMPORARY_SECONDS);
        if !(MIN_TEMPORARY_SECONDS..=MAX_TEMPORARY_SECONDS).contains(&seconds) {
            return Err(Error::invalid(format!(
                "auth.identity.token.duration_seconds must be {MIN_TEMPORARY_SECONDS} to {MAX_TEMPORARY_SECONDS}, got {seconds}"
            )));
        }
        let user = self.find_user(&p.project_id, &p.user_id).await?;
        let now = now_ms();
        self.store.purge_expired_access_keys(now).await?;
        let (mut record, secret) = new_pair(&self.sealer, &user, "temporary", now);
        let security_token = format!("tls_{}", random_alnum(96));
        record.security_token_hash = Some(hash_token(&security_token));
        record.expires_at = Some(now + seconds * 1000);
        self.store.insert_access_key(&record).await?;
        Ok(SecurityTokenResponse {
            credential: TemporaryCredential {
                access: record.access_key,
                secret,
                securitytoken: security_token,
                expires_at: format_rfc3339(now + seconds * 1000),
            },
        })
    }

    /// Authenticates an `SDK-HMAC-SHA256` request; every failure is 401 with a message naming
    /// the check that failed. `now` is in seconds since the epoch.
    pub async fn authenticate_signature(&self, req: &Received<'_>, authorization: &str, now: i64) -> Result<Principal> {
        let auth = signing::parse_authorization(authorization).map_err(sig_error)?;
        let unknown = || {
            Error::unauthorized(
                codes::SIGNATURE_INVALID,
                "Invalid AK/SK signature: the access key is not known to this server (unknown or revoked)",
            )
        };
        let (record, user) = self
            .store
            .find_access_key(&auth.access_key)
            .await?
            .ok_or_else(unknown)?;
        let security_token = req
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-security-token"))
            .map(|(_, v)| String::from_utf8_lossy(v).trim().to_string());
        match (&record.security_token_hash, security_token) {
            (Some(expected), Some(given)) => {
                if record.expires_at.is_some_and(|t| t <= now * 1000) {
                    return Err(Error::unauthorized(
                        codes::SIGNATURE_INVALID,
                        "Invalid AK/SK signature: the temporary credential has expired",
                    ));
                }
                use subtle::ConstantTimeEq;
                if !bool::from(hash_token(&given).as_bytes().ct_eq(expected.as_bytes())) {
                    return Err(Error::unauthorized(
                        codes::SIGNATURE_INVALID,
                        "Invalid AK/SK signature: X-Security-Token does not belong to this access key",
                    ));
                }
            }
            (Some(_), None) => {
                return Err(Error::unauthorized(
                    codes::SIGNATURE_INVALID,
                    "Invalid AK/SK signature: a temporary access key needs its X-Security-Token",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::unauthorized(
                    codes::SIGNATURE_INVALID,
                    "Invalid AK/SK signature: X-Security-Token was sent with a permanent access key",
                ))
            }
            (None, None) => {}
        }
        let secret = self
            .sealer
            .open(&record.access_key, &record.sealed_secret)
            .ok_or_else(|| Error::internal(format!("access key {} cannot be unsealed", record.access_key)))?;
        signing::verify(req, &auth, &secret, now).map_err(sig_error)?;
        Ok(Principal {
            user_id: user.id,
            project_id: user.project_id,
            email: user.email,
            role: user.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_provider_forms() {
        let k = random_upper_alnum(ACCESS_KEY_LEN);
        assert_eq!(k.len(), 20);
        assert!(k.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(random_alnum(SECRET_KEY_LEN).len(), 40);
    }
}
