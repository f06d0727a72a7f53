//! The API tests, one binary: each module starts the real server on 127.0.0.1:0 on every backend
//! under test (see `helpers`) and talks HTTP to it. Modules are named by domain.

mod acceptance;
mod browser;
mod data_io;
mod datasets;
mod exports;
mod helpers;
mod iam;
mod invalid_input;
mod isolation;
mod labels;
mod observability;
mod openapi;
#[path = "../../../store/tests/conformance/common/s3_bucket.rs"]
mod s3_bucket;
mod samples;
mod slow_clients;
mod sync;
mod team;
mod team_rules;
mod web;
mod webhooks;
