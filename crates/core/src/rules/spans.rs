//! Text spans: `@modelarts:start_index` / `end_index` of entity labels within the sample's text.
//! Pure checks. It must not touch the store.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::rules::values::{key, rule};

pub(crate) fn check_span(at: &str, property: &Map<String, Value>, text_len: Option<usize>) -> Result<()> {
    let index = |k: &str| -> Result<i64> {
        property
            .get(k)
            .ok_or_else(|| rule(format!("{at}: an entity label needs {k}")))?
            .as_i64()
            .ok_or_else(|| rule(format!("{at}: {k} must be an integer")))
    };
    let (start, end) = (index(key::START_INDEX)?, index(key::END_INDEX)?);
    check_span_bounds(start, end, text_len).map_err(|why| rule(format!("{at}: {why}")))
}

/// `0 <= start < end <= len` (end exclusive), `len` in Unicode scalar values when known.
pub fn check_span_bounds(start: i64, end: i64, text_len: Option<usize>) -> std::result::Result<(), String> {
    if start < 0 {
        return Err(format!("{} must be >= 0, got {start}", key::START_INDEX));
    }
    if start >= end {
        return Err(format!(
            "{} ({start}) must be less than {} ({end})",
            key::START_INDEX,
            key::END_INDEX
        ));
    }
    if let Some(len) = text_len {
        if end as u64 > len as u64 {
            return Err(format!(
                "{} ({end}) is past the end of the text ({len} characters)",
                key::END_INDEX
            ));
        }
    }
    Ok(())
}
