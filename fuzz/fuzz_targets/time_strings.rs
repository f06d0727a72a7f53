//! The time strings: `hh:mm:ss.SSS` in labels and the `X-Sdk-Date` of a signature. Any string
//! parses or is refused without a panic, and what parses formats back to a string that parses
//! to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teamlabel_api::signing::{format_sdk_date, parse_sdk_date};
use teamlabel_core::rules::times::{format_time, parse_time};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(ms) = parse_time(s) {
        assert_eq!(parse_time(&format_time(ms)), Some(ms), "{s:?}");
    }
    if let Some(secs) = parse_sdk_date(s) {
        assert_eq!(parse_sdk_date(&format_sdk_date(secs)), Some(secs), "{s:?}");
    }
});
