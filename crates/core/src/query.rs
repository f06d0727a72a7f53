//! Query-string values: paging (`offset` counts pages of `limit` rows) and integers, booleans
//! and sort orders. Pure parsing that answers 400 naming the allowed values; no store, no use
//! cases.

use crate::error::{Error, Result};

/// A page request: `offset` counts pages of `limit` rows.
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
    use crate::error::codes;

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
}
