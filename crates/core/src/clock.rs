//! The clock and how instants are written: milliseconds since the Unix epoch and their RFC 3339
//! form (the civil-date arithmetic is `teamlabel_api::time`'s). A leaf: it imports nothing of
//! the crate.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Formats epoch milliseconds as RFC 3339 UTC, e.g. `2026-11-28T17:08:19.000Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let t = teamlabel_api::time::civil(ms.div_euclid(1000));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_formatting_matches_known_instants() {
        assert_eq!(super::format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::format_rfc3339(1_605_690_595_404), "2020-11-18T09:09:55.404Z");
        assert_eq!(super::format_rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
