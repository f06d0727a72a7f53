//! Hard-example values of labels and metadata: `@modelarts:hard`, its coefficient and reason
//! ids. Pure checks. It must not touch the store.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::rules::values::{key, rule, MAX_HARD_REASON};

pub(crate) fn check_hard_label_props(at: &str, property: &Map<String, Value>) -> Result<()> {
    if let Some(v) = property.get(key::HARD) {
        let ok = matches!(v, Value::Bool(_))
            || matches!(v.as_str(), Some("0" | "1" | "true" | "false"))
            || matches!(v.as_i64(), Some(0 | 1));
        if !ok {
            return Err(rule(format!(
                "{at}: {} must be \"0\", \"1\", \"true\" or \"false\"",
                key::HARD
            )));
        }
    }
    if let Some(v) = property.get(key::HARD_COEFFICIENT) {
        let c = v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse::<f64>().ok()));
        match c {
            Some(c) if (0.0..=1.0).contains(&c) => {}
            _ => {
                return Err(rule(format!(
                    "{at}: {} must be a number in [0, 1], got {v}",
                    key::HARD_COEFFICIENT
                )))
            }
        }
    }
    if let Some(v) = property.get(key::HARD_REASONS) {
        let s = v.as_str().ok_or_else(|| {
            rule(format!(
                "{at}: {} must be reason ids joined by '-', e.g. \"3-20-21\"",
                key::HARD_REASONS
            ))
        })?;
        parse_hard_reasons(s).map_err(|why| rule(format!("{at}: {}: {why}", key::HARD_REASONS)))?;
    }
    Ok(())
}

/// Parses a label's `"3-20-21"` hard-reason string into ids, each within 0..=30.
pub fn parse_hard_reasons(s: &str) -> std::result::Result<Vec<i64>, String> {
    s.split('-')
        .map(|part| {
            let id: i64 = part
                .parse()
                .map_err(|_| format!("{part:?} is not a reason id (0 to {MAX_HARD_REASON})"))?;
            check_reason(id)?;
            Ok(id)
        })
        .collect()
}

pub(crate) fn check_reason(id: i64) -> std::result::Result<(), String> {
    if (0..=MAX_HARD_REASON).contains(&id) {
        Ok(())
    } else {
        Err(format!("reason id {id} is outside 0 to {MAX_HARD_REASON}"))
    }
}
