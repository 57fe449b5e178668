//! Agora: a fast developer-community forum in one binary. This library is the whole server;
//! `main.rs` only parses the command line. See ARCHITECTURE.md for the map.

pub mod api;
pub mod app;
pub mod assets;
pub mod auth;
pub mod blobs;
pub mod body;
pub mod cli;
pub mod cli_structure;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod health;
pub mod http_cache;
pub mod jobs;
pub mod limits;
pub mod media;
pub mod paths;
pub mod router;
pub mod server;
pub mod services;
pub mod settings;
pub mod views;
pub mod web;
