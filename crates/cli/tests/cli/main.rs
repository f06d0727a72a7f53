//! The CLI tests, one binary: each module runs the built `teamlabel` binary as a user would.
//! `smoke` covers the commands and settings, `crash` kills servers mid-write, `backup` backs up a
//! server under load and restores it, `two_servers` runs two servers on one PostgreSQL schema,
//! `sdk_clients` drives the server with the official Python SDK and with OpenStack-style clients
//! (keystoneauth1, openstacksdk; the interpreter is taken from `TEAMLABEL_TEST_PYTHON`; see
//! `scripts/test`), `observability` reads the server's log lines and its metrics listener,
//! `objects` serves with sample files in an S3-compatible service (`TEST_S3_ENDPOINT`),
//! `data_io` runs `import` and `export` against a server and on a stopped server's data dir,
//! `webhooks` kills a server whose webhook delivery is still due and sees it delivered after the
//! restart.

mod backup;
mod crash;
mod data_io;
mod helpers;
mod objects;
mod observability;
mod sdk_clients;
mod smoke;
mod two_servers;
mod webhooks;
