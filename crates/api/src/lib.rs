//! teamlabel-api: the wire of the teamlabel API, shared by the server and its clients. It owns
//! what both ends must agree on byte for byte: the request and response types of the API, one
//! module per domain, with their OpenAPI descriptions, the closed value sets ([`enums`]), the civil time of instants ([`time`]) and the
//! `SDK-HMAC-SHA256` request signature ([`signing`]).
//!
//! It must not decide rules (validation beyond the shape stays in `teamlabel-core`), hold an
//! HTTP client or a server, or touch storage: it depends on no other teamlabel crate, so a
//! client can use it without pulling in the server.
#![forbid(unsafe_code)]

pub mod batch;
pub mod data_io;
pub mod datasets;
pub mod enums;
pub mod iam;
pub mod keys;
pub mod labels;
pub mod samples;
pub mod signing;
pub mod team;
pub mod time;
pub mod webhooks;
