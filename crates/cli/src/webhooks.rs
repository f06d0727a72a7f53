//! The webhook settings of `serve`: the allow-list from `--webhook-allow` (or
//! `TEAMLABEL_WEBHOOK_ALLOW`, comma-separated) and the config file's `[webhooks]` section, which
//! may also hold the retry schedule and the log's retention. Checked here, so a bad value stops
//! the start with its name.

use std::time::Duration;

use serde::Deserialize;
use teamlabel_core::webhooks::guard::{AddressPolicy, Net};
use teamlabel_core::webhooks::WebhookSettings;

/// The `[webhooks]` section of a config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFile {
    /// Addresses or networks deliveries may reach although they are not public.
    pub allow: Option<Vec<String>>,
    pub max_attempts: Option<u32>,
    /// Seconds.
    pub backoff_base: Option<u64>,
    /// Seconds.
    pub backoff_cap: Option<u64>,
    /// Seconds for one attempt.
    pub timeout: Option<u64>,
    pub retention_days: Option<u64>,
}

fn within(name: &str, value: Option<u64>, range: std::ops::RangeInclusive<u64>, unit: &str) -> anyhow::Result<()> {
    if let Some(v) = value {
        anyhow::ensure!(
            range.contains(&v),
            "webhooks.{name} must be {} to {}{unit}, got {v}",
            range.start(),
            range.end()
        );
    }
    Ok(())
}

/// The settings after layering: the flag's (or environment's) allow-list replaces the file's.
pub fn settings(flag_allow: &[String], file: Option<&WebhooksFile>) -> anyhow::Result<WebhookSettings> {
    let empty = WebhooksFile::default();
    let file = file.unwrap_or(&empty);
    let defaults = WebhookSettings::default();
    let listed: Vec<String> = if flag_allow.is_empty() {
        file.allow.clone().unwrap_or_default()
    } else {
        flag_allow.to_vec()
    };
    let allow = listed
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.parse::<Net>().map_err(|e| anyhow::anyhow!("--webhook-allow: {e}")))
        .collect::<anyhow::Result<Vec<Net>>>()?;
    within("max_attempts", file.max_attempts.map(u64::from), 1..=100, "")?;
    within("backoff_base", file.backoff_base, 1..=3600, " seconds")?;
    within("backoff_cap", file.backoff_cap, 1..=86_400, " seconds")?;
    within("timeout", file.timeout, 1..=300, " seconds")?;
    within("retention_days", file.retention_days, 1..=3650, "")?;
    let settings = WebhookSettings {
        policy: AddressPolicy::new(allow),
        max_attempts: file.max_attempts.unwrap_or(defaults.max_attempts),
        backoff_base: file.backoff_base.map_or(defaults.backoff_base, Duration::from_secs),
        backoff_cap: file.backoff_cap.map_or(defaults.backoff_cap, Duration::from_secs),
        timeout: file.timeout.map_or(defaults.timeout, Duration::from_secs),
        retention: file
            .retention_days
            .map_or(defaults.retention, |d| Duration::from_secs(d * 86_400)),
        ..defaults
    };
    anyhow::ensure!(
        settings.backoff_cap >= settings.backoff_base,
        "webhooks.backoff_cap must not be below webhooks.backoff_base"
    );
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_replaces_the_files_allow_list_and_bad_values_are_named() {
        let file: WebhooksFile =
            toml::from_str("allow = [\"10.0.0.0/8\"]\nbackoff_base = 2\nbackoff_cap = 60").unwrap();
        let s = settings(&[], Some(&file)).unwrap();
        assert_eq!(s.policy.allow.len(), 1);
        assert_eq!(
            (s.backoff_base, s.backoff_cap),
            (Duration::from_secs(2), Duration::from_secs(60))
        );
        let s = settings(&["127.0.0.1,::1".into()], Some(&file)).unwrap();
        assert_eq!(
            s.policy.allow.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            ["127.0.0.1/32", "::1/128"]
        );
        let e = settings(&["localhost".into()], None).unwrap_err().to_string();
        assert!(e.contains("--webhook-allow") && e.contains("localhost"), "{e}");
        let bad: WebhooksFile = toml::from_str("max_attempts = 0").unwrap();
        assert!(settings(&[], Some(&bad))
            .unwrap_err()
            .to_string()
            .contains("webhooks.max_attempts"));
        let bad: WebhooksFile = toml::from_str("backoff_base = 10\nbackoff_cap = 5").unwrap();
        assert!(settings(&[], Some(&bad))
            .unwrap_err()
            .to_string()
            .contains("backoff_cap"));
        assert!(toml::from_str::<WebhooksFile>("allow_all = true").is_err());
    }
}
