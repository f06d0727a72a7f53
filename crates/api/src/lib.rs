//! teamlabel-api: the wire of the teamlabel API, shared by the server and its clients. It owns
//! what both ends must agree on byte for byte: the request and response types of the API and the
//! `SDK-HMAC-SHA256` request signature ([`signing`]).
//!
//! It must not hold an HTTP client, a server, storage or domain rules: it depends on no other
//! teamlabel crate, so a client can use it without pulling in the server.
#![forbid(unsafe_code)]

pub mod signing;
