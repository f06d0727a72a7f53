//! Speech times: `hh:mm:ss.SSS` values of `@modelarts:start_time` / `end_time`. Pure checks.
//! It must not touch the store.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::rules::values::rule;

pub(crate) fn required_time(at: &str, property: &Map<String, Value>, k: &str) -> Result<u64> {
    let s = property
        .get(k)
        .ok_or_else(|| rule(format!("{at}: a speech paragraph label needs {k} (hh:mm:ss.SSS)")))?
        .as_str()
        .ok_or_else(|| rule(format!("{at}: {k} must be a string hh:mm:ss.SSS")))?;
    parse_time(s).ok_or_else(|| rule(format!("{at}: {k} {s:?} is not a time hh:mm:ss.SSS")))
}

/// Parses `hh:mm:ss.SSS` into milliseconds (minutes and seconds below 60).
pub fn parse_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 12 || b[2] != b':' || b[5] != b':' || b[8] != b'.' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (h, m, sec, ms) = (num(0..2)?, num(3..5)?, num(6..8)?, num(9..12)?);
    if m >= 60 || sec >= 60 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// Formats milliseconds as `hh:mm:ss.SSS` (hours below 100).
pub fn format_time(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        h,
        rest / 60_000,
        (rest % 60_000) / 1000,
        rest % 1000
    )
}
