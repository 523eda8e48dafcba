//! Black-box API tests: each test starts the real server on a random port, with a fresh
//! database, and talks HTTP to it. Every test runs on SQLite and on PostgreSQL.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;
mod rfc9162;

mod accounts;
mod admin;
mod bad_input;
mod cdss;
mod early_warning;
mod fhir;
mod nlp;
mod operations;
mod records;
mod research;
mod rights;
mod web_ui;
