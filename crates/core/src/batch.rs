//! The batch answer every batch endpoint gives: one result per
//! input item, in input order, and a top-level outcome that carries the first failure.
//! It must not decide an item: the use cases do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

/// Outcome of one item of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemResult {
    /// Whether this item was applied.
    pub success: bool,
    /// The item's sample id, where the item names a sample (an addition to the documented shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_id: Option<String>,
    /// Stored name of an added sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For added samples: the new sample id (as the provider answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
}

impl ItemResult {
    pub fn ok() -> Self {
        Self {
            success: true,
            ..Self::default()
        }
    }

    pub fn failed(err: &Error) -> Self {
        Self {
            success: false,
            error_code: Some(err.code.to_string()),
            error_msg: Some(err.message.clone()),
            ..Self::default()
        }
    }
}

/// Answer of a batch endpoint: `success` is true only when every item succeeded; otherwise the
/// first failure's code and message stand on top.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    pub results: Vec<ItemResult>,
}

impl BatchResponse {
    /// The answer of an all-or-nothing batch that failed: the items that passed are marked as
    /// not applied (`ModelArts.4417`), and the first real failure stands on top.
    pub fn none_applied(results: Vec<ItemResult>) -> Self {
        let not_applied = Error::bad_request(
            crate::error::codes::SAMPLE_LABELS_FAILED,
            "not applied: another item of this all-or-nothing batch failed",
        );
        let first = results.iter().find(|r| !r.success).cloned();
        let results = results
            .into_iter()
            .map(|r| {
                if r.success {
                    ItemResult {
                        sample_id: r.sample_id,
                        ..ItemResult::failed(&not_applied)
                    }
                } else {
                    r
                }
            })
            .collect();
        Self {
            success: false,
            error_code: first.as_ref().and_then(|r| r.error_code.clone()),
            error_msg: first.and_then(|r| r.error_msg),
            results,
        }
    }

    pub fn from_results(results: Vec<ItemResult>) -> Self {
        let first = results.iter().find(|r| !r.success);
        Self {
            success: first.is_none(),
            error_code: first.and_then(|r| r.error_code.clone()),
            error_msg: first.and_then(|r| r.error_msg.clone()),
            results,
        }
    }
}
