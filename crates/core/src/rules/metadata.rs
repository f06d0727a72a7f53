//! Sample metadata: `@modelarts:` keys such as the image size and hard-example values. Pure
//! checks. It must not touch the store.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::rules::hard::check_reason;
use crate::rules::values::meta;

/// Checks sample metadata and answers the `[width, height]` it gives, if any.
pub fn check_metadata(metadata: &Map<String, Value>) -> Result<Option<(f64, f64)>> {
    let bad = |k: &str, what: &str| Error::invalid(format!("metadata.{k} must be {what}"));
    let mut size = None;
    for (k, v) in metadata.iter().filter(|(k, _)| k.starts_with("@modelarts:")) {
        match k.as_str() {
            meta::SIZE => {
                let dims: Option<Vec<i64>> = v.as_array().and_then(|a| a.iter().map(Value::as_i64).collect());
                match dims.as_deref() {
                    Some([w, h]) | Some([w, h, _]) if *w > 0 && *h > 0 => {
                        if let Some(&d) = dims.as_ref().and_then(|d| d.get(2)) {
                            if !(1..=4).contains(&d) {
                                return Err(bad(k, "[width, height] or [width, height, depth] with depth 1 to 4"));
                            }
                        }
                        size = Some((*w as f64, *h as f64));
                    }
                    _ => return Err(bad(k, "[width, height] or [width, height, depth] of positive integers")),
                }
            }
            meta::IMPORT_ORIGIN => {
                if v.as_i64().is_none() {
                    return Err(bad(k, "an integer"));
                }
            }
            meta::HARD => {
                if !(matches!(v, Value::Bool(_)) || matches!(v.as_f64(), Some(x) if x == 0.0 || x == 1.0)) {
                    return Err(bad(k, "0 or 1"));
                }
            }
            meta::HARD_COEFFICIENT => match v.as_f64() {
                Some(c) if (0.0..=1.0).contains(&c) => {}
                _ => return Err(bad(k, "a number in [0, 1]")),
            },
            meta::HARD_REASONS => {
                let ids: Option<Vec<i64>> = v.as_array().and_then(|a| a.iter().map(Value::as_i64).collect());
                let ids = ids.ok_or_else(|| bad(k, "a list of reason ids (integers 0 to 30)"))?;
                for id in ids {
                    check_reason(id).map_err(|why| Error::invalid(format!("metadata.{k}: {why}")))?;
                }
            }
            meta::PARENT_DURATION | meta::TIME_IN_VIDEO => match v.as_f64() {
                Some(x) if x >= 0.0 => {}
                _ => return Err(bad(k, "a number of seconds >= 0")),
            },
            meta::PARENT_SOURCE => {
                if !v.is_string() {
                    return Err(bad(k, "a string"));
                }
            }
            other => {
                return Err(Error::invalid(format!(
                    "metadata: unknown key {other}; known: {}, {}, {}, {}, {}, {}, {}, {}",
                    meta::SIZE,
                    meta::IMPORT_ORIGIN,
                    meta::HARD,
                    meta::HARD_COEFFICIENT,
                    meta::HARD_REASONS,
                    meta::PARENT_DURATION,
                    meta::TIME_IN_VIDEO,
                    meta::PARENT_SOURCE
                )))
            }
        }
    }
    Ok(size)
}
