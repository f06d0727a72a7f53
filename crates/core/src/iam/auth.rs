//! Principals, roles and API tokens. A token is 32 random bytes shown once; only its SHA-256 is
//! stored, so a copy of the database does not hold usable tokens.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// The four roles of the team workflow, ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Labeler = 0,
    Reviewer = 1,
    Manager = 2,
    Owner = 3,
}

impl Role {
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i64) -> Option<Role> {
        match code {
            0 => Some(Role::Labeler),
            1 => Some(Role::Reviewer),
            2 => Some(Role::Manager),
            3 => Some(Role::Owner),
            _ => None,
        }
    }
}

/// Who is calling: a user of one project, as proven by a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub project_id: String,
    pub email: String,
    pub role: Role,
}

/// Tokens carry this prefix so they are recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "tl_";

/// A new random token (prefix + 64 hex characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed_deterministically() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 67);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[3..]));
    }
}
