//! The domain side of the batch answer (`teamlabel_api::batch`): an item that failed carries
//! the error's code and message, and an all-or-nothing batch that failed marks the items that
//! passed as not applied. It must not decide an item: the use cases do.

use teamlabel_api::batch::{BatchResponse, ItemResult};

use crate::error::{codes, Error};

/// The result of an item that failed with `err`.
pub fn failed(err: &Error) -> ItemResult {
    ItemResult {
        success: false,
        error_code: Some(err.code.to_string()),
        error_msg: Some(err.message.clone()),
        ..ItemResult::default()
    }
}

/// The answer of an all-or-nothing batch that failed: the items that passed are marked as
/// not applied (`ModelArts.4417`), and the first real failure stands on top.
pub fn none_applied(results: Vec<ItemResult>) -> BatchResponse {
    let not_applied = Error::bad_request(
        codes::SAMPLE_LABELS_FAILED,
        "not applied: another item of this all-or-nothing batch failed",
    );
    let first = results.iter().find(|r| !r.success).cloned();
    let results = results
        .into_iter()
        .map(|r| {
            if r.success {
                ItemResult {
                    sample_id: r.sample_id,
                    ..failed(&not_applied)
                }
            } else {
                r
            }
        })
        .collect();
    BatchResponse {
        success: false,
        error_code: first.as_ref().and_then(|r| r.error_code.clone()),
        error_msg: first.and_then(|r| r.error_msg),
        results,
    }
}
