//! Identity and access: who the caller is (principals, roles, tokens, passwords, AK/SK
//! credentials) and what they may do (the route policy). Declares submodules only.

pub mod auth;
pub mod credentials;
pub mod passwords;
pub mod policy;
pub mod projects;
pub mod sealer;
pub mod tokens;
