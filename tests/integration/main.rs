//! Agora's integration tests: one binary, each test with its own SQLite file, driving the real
//! router in-process.

mod util;

mod a11y;
mod admin;
mod admin_journey;
mod admin_members;
mod admin_structure;
mod archive;
mod backends;
mod bookmarks;
mod browser;
mod browser_uploads;
mod change_log;
mod cli;
mod csrf;
mod drafts;
mod feeds;
mod flows;
mod http;
mod invalidation;
mod jobs;
mod listings;
mod live;
mod notifications;
mod openapi;
mod pages;
mod permissions;
mod phone;
mod reliability;
mod review;
mod search;
mod search_eval;
mod search_index;
mod seed;
mod snapshots;
mod stackexchange;
mod threadpage;
mod uploads;
mod uploads_s3;
mod xss;
