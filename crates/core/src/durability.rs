//! The durability guard: a write the server acknowledged must survive a crash, so the server
//! refuses to start when the database is set up weaker than the defaults (unless told to accept
//! it). Pure: the settings are read by the store, judged here. It must not open a database itself.

/// The settings that are weaker than the defaults, each as a sentence naming the setting.
pub fn weaknesses(backend: &str, settings: &[(String, String)]) -> Vec<String> {
    let get = |name: &str| {
        settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mut weak = Vec::new();
    let mut require = |name: &str, ok: &[&str], want: &str| match get(name) {
        Some(v) if ok.contains(&v.as_str()) => {}
        Some(v) => weak.push(format!("{backend} {name} is {v}, weaker than {want}")),
        None => weak.push(format!("{backend} {name} could not be read")),
    };
    match backend {
        "sqlite" => {
            require("journal_mode", &["wal"], "wal");
            require("synchronous", &["full", "extra"], "FULL");
        }
        "postgres" => {
            require("fsync", &["on"], "on");
            require(
                "synchronous_commit",
                &["on", "remote_apply", "remote_write", "local"],
                "on",
            );
            require("full_page_writes", &["on"], "on");
        }
        other => weak.push(format!("unknown backend {other}")),
    }
    weak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn the_defaults_pass_and_each_weaker_setting_is_named() {
        assert!(weaknesses("sqlite", &s(&[("journal_mode", "wal"), ("synchronous", "FULL")])).is_empty());
        assert!(weaknesses("sqlite", &s(&[("journal_mode", "wal"), ("synchronous", "EXTRA")])).is_empty());
        let weak = weaknesses("sqlite", &s(&[("journal_mode", "delete"), ("synchronous", "NORMAL")]));
        assert_eq!(weak.len(), 2);
        assert!(weak[1].contains("synchronous is normal"));
        let ok = s(&[
            ("fsync", "on"),
            ("synchronous_commit", "on"),
            ("full_page_writes", "on"),
        ]);
        assert!(weaknesses("postgres", &ok).is_empty());
        for (name, value) in [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ] {
            let mut settings = ok.clone();
            settings.iter_mut().find(|(n, _)| n == name).unwrap().1 = value.to_string();
            let weak = weaknesses("postgres", &settings);
            assert_eq!(weak.len(), 1, "{name}");
            assert!(weak[0].contains(name));
        }
        assert_eq!(weaknesses("postgres", &[]).len(), 3);
    }
}
