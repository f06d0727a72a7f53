//! The batch answer every batch endpoint gives: one result per input item, in input order, and
//! a top-level outcome that carries the first failure. Shapes on the wire only: it must not
//! decide an item, touch storage or speak HTTP.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

impl ItemResult {
    /// An item that was applied.
    pub fn ok() -> Self {
        Self {
            success: true,
            ..Self::default()
        }
    }
}

impl BatchResponse {
    /// The answer over every item's result: a success only when every item succeeded; otherwise
    /// the first failure's code and message stand on top.
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
