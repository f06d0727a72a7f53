//! The migrations of each dialect, embedded in the binary. Both lists have the same stems in the
//! same order (a test checks it), so a schema change is always made for both backends.

pub const SQLITE: &[(&str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    ("0002_team", include_str!("../migrations/sqlite/0002_team.sql")),
    (
        "0003_idempotency",
        include_str!("../migrations/sqlite/0003_idempotency.sql"),
    ),
    (
        "0004_credentials",
        include_str!("../migrations/sqlite/0004_credentials.sql"),
    ),
    (
        "0005_acceptance",
        include_str!("../migrations/sqlite/0005_acceptance.sql"),
    ),
    (
        "0006_sample_text",
        include_str!("../migrations/sqlite/0006_sample_text.sql"),
    ),
    ("0007_data_io", include_str!("../migrations/sqlite/0007_data_io.sql")),
    ("0008_sync", include_str!("../migrations/sqlite/0008_sync.sql")),
    ("0009_webhooks", include_str!("../migrations/sqlite/0009_webhooks.sql")),
    (
        "0010_compact_labels",
        include_str!("../migrations/sqlite/0010_compact_labels.sql"),
    ),
];

pub const POSTGRES: &[(&str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    ("0002_team", include_str!("../migrations/postgres/0002_team.sql")),
    (
        "0003_idempotency",
        include_str!("../migrations/postgres/0003_idempotency.sql"),
    ),
    (
        "0004_credentials",
        include_str!("../migrations/postgres/0004_credentials.sql"),
    ),
    (
        "0005_acceptance",
        include_str!("../migrations/postgres/0005_acceptance.sql"),
    ),
    (
        "0006_sample_text",
        include_str!("../migrations/postgres/0006_sample_text.sql"),
    ),
    ("0007_data_io", include_str!("../migrations/postgres/0007_data_io.sql")),
    ("0008_sync", include_str!("../migrations/postgres/0008_sync.sql")),
    (
        "0009_webhooks",
        include_str!("../migrations/postgres/0009_webhooks.sql"),
    ),
    (
        "0010_compact_labels",
        include_str!("../migrations/postgres/0010_compact_labels.sql"),
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn both_dialects_have_the_same_migration_stems() {
        let a: Vec<_> = super::SQLITE.iter().map(|(n, _)| *n).collect();
        let b: Vec<_> = super::POSTGRES.iter().map(|(n, _)| *n).collect();
        assert_eq!(a, b);
    }
}
