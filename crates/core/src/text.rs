//! Checks on free strings shared by every resource: names, descriptions, emails, paths.
//! A leaf: it must not import a domain module.

use crate::error::{Error, Result};

/// `[A-Za-z0-9_-]`, `min..=max` characters: dataset, team and task names.
pub fn check_name(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(Error::invalid(format!(
            "{field} must be {min} to {max} characters long, got {len}"
        )));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(Error::invalid(format!(
            "{field} may contain only letters, digits, '_' and '-'; found {c:?}"
        )));
    }
    Ok(())
}

/// Up to `max` characters, none of `forbidden`, no control characters.
pub fn check_text(field: &str, value: &str, max: usize, forbidden: &str) -> Result<()> {
    let len = value.chars().count();
    if len > max {
        return Err(Error::invalid(format!(
            "{field} must be at most {max} characters long, got {len}"
        )));
    }
    if let Some(c) = value.chars().find(|c| forbidden.contains(*c) || c.is_control()) {
        return Err(Error::invalid(format!(
            "{field} must not contain {c:?} (forbidden: {forbidden} and control characters)"
        )));
    }
    Ok(())
}

/// The characters descriptions may not contain.
pub const DESCRIPTION_FORBIDDEN: &str = "^!<>=&\"'";

pub fn check_description(field: &str, value: &str) -> Result<()> {
    check_text(field, value, 256, DESCRIPTION_FORBIDDEN)
}

/// A plain email check: one `@`, something on each side, no spaces, at most 254 characters.
pub fn check_email(field: &str, value: &str) -> Result<()> {
    let ok = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(value.split_once('@'), Some((user, host)) if !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.') && !host.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{field} is not a valid email address: {value:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_alphabet() {
        assert!(check_name("dataset_name", "dataset-457f_x", 1, 100).is_ok());
        assert!(check_name("dataset_name", "", 1, 100).is_err());
        assert!(check_name("dataset_name", "a b", 1, 100)
            .unwrap_err()
            .message
            .contains("' '"));
        assert!(check_name("dataset_name", &"a".repeat(101), 1, 100).is_err());
    }

    #[test]
    fn descriptions_refuse_the_documented_characters() {
        for c in DESCRIPTION_FORBIDDEN.chars() {
            assert!(check_description("description", &format!("a{c}b")).is_err());
        }
        assert!(check_description("description", "just a test").is_ok());
        assert!(check_description("description", &"x".repeat(257)).is_err());
    }

    #[test]
    fn emails_need_a_user_and_a_dotted_host() {
        assert!(check_email("email", "ann@example.com").is_ok());
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@host",
            "a nn@example.com",
            "a@b@c.com",
        ] {
            assert!(check_email("email", bad).is_err(), "{bad}");
        }
    }
}
