//! Agora's integration tests: one binary, each test with its own SQLite file, driving the real
//! router in-process.

mod util;

mod archive;
mod backends;
mod cli;
mod feeds;
mod http;
mod openapi;
mod pages;
mod seed;
mod snapshots;
