//! The command line: `agora [serve]`, `agora import FILE`, `agora import stackexchange DIR`,
//! `agora export FILE`, `agora config example`. Flags override the config file; `AGORA_*` variables stand in for
//! flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "agora",
    version,
    about = "A fast developer-community forum in one binary."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (see `agora config example`).
    #[arg(long, global = true, env = "AGORA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory, holding the SQLite database agora.db [default: ./agora-data].
    #[arg(long, global = true, env = "AGORA_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Database URL: a file path or sqlite://PATH [default: DIR/agora.db].
    #[arg(long, global = true, env = "AGORA_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the forum (the default command).
    Serve(ServeArgs),
    /// Load an archive (docs/archive-format.md) into an empty forum, or a Stack Exchange
    /// data dump into any forum (`agora import stackexchange DIR`).
    Import(ImportArgs),
    /// Write the whole forum to an archive file.
    Export {
        /// The archive file to write.
        file: PathBuf,
    },
    /// Fill an empty forum with deterministic synthetic content (for benchmarks).
    Generate {
        /// Threads to create.
        #[arg(long, default_value_t = 1000)]
        threads: u64,
        /// Average replies per thread (each thread gets 0 to twice this many).
        #[arg(long, default_value_t = 9)]
        replies_per_thread: u64,
        /// Seed: the same seed and sizes always give the same forum.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Serve a fixed page of BYTES bytes with the same HTTP stack: the machine's ceiling,
    /// measured by the benchmark beside the real pages.
    Ceiling {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value_t = 20_000)]
        bytes: usize,
    },
    /// Database tools: copy between backends, back up, check durability.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Accounts: create, list, set a role or name, send a reset, delete, anonymise, invite.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The search index: rebuild it, or see where it stands.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// The live site settings (what /admin/settings edits): read or change them; a running
    /// forum follows within a second.
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// Posts: render every stored post again with this build's Markdown renderer (start-up
    /// does it by itself when the renderer's version changed).
    Posts {
        #[command(subcommand)]
        command: PostsCommand,
    },
    /// Uploaded files: copy them to another store (a bucket that several nodes share, or
    /// back to a directory).
    Uploads {
        #[command(subcommand)]
        command: UploadsCommand,
    },
    /// The demo content.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Areas: list, create, edit (rename, archive, reorder), delete.
    Area {
        #[command(subcommand)]
        command: crate::cli_structure::AreaCommand,
    },
    /// Subtopics: list, create, edit (rules, archive, reorder), move every thread, delete.
    Subtopic {
        #[command(subcommand)]
        command: crate::cli_structure::SubtopicCommand,
    },
    /// Tags: list, create, rename, merge, delete.
    Tag {
        #[command(subcommand)]
        command: crate::cli_structure::TagCommand,
    },
}

/// `agora import FILE` or `agora import stackexchange DIR`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ImportArgs {
    /// The archive file to read (into an empty forum).
    #[arg(required = true)]
    pub file: Option<PathBuf>,
    #[command(subcommand)]
    pub source: Option<ImportSource>,
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// A Stack Exchange data dump (the unpacked folder: Posts.xml, Users.xml, Comments.xml,
    /// and where present PostHistory.xml, Votes.xml, Tags.xml, PostLinks.xml), into this
    /// forum whether it is empty or not. Every post credits its author and links to the
    /// original (CC BY-SA). Running it again adds nothing; on a newer dump, only what is new.
    Stackexchange {
        /// The dump's folder.
        dir: PathBuf,
        /// The site the dump is from, which every post links back to [default: the folder's
        /// name, when it is a host name like history.meta.stackexchange.com].
        #[arg(long, value_name = "URL")]
        site_url: Option<String>,
        /// The site's name as posts credit it [default: from the host, e.g. "History Meta
        /// Stack Exchange"].
        #[arg(long, value_name = "NAME")]
        site_name: Option<String>,
        /// Where the threads go, made when missing [default: imported/<site-name>, in an
        /// area "Imported"].
        #[arg(long, value_name = "AREA/SUBTOPIC")]
        subtopic: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print every setting as JSON, or one field's value.
    Get {
        /// A field, e.g. name or registration.
        field: Option<String>,
    },
    /// Change one field. VALUE is JSON when it parses as JSON (true, 5, ["a"], {"n":1,"secs":60}),
    /// else a string: `agora settings set name "Rust Forum"`.
    Set { field: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum PostsCommand {
    /// Render every post's stored HTML again from its Markdown (new highlighting, for one).
    Rerender,
}

#[derive(Debug, Subcommand)]
pub enum UploadsCommand {
    /// Copy every uploaded file and thumbnail from the configured store to another, with a
    /// progress bar; then set `uploads.store` (and `uploads.s3`) to it and restart. What the
    /// destination holds already is skipped, so a stopped copy can be run again; nothing is
    /// deleted from the source.
    Migrate {
        /// `s3://BUCKET?endpoint=http://host:9000&region=us-east-1&allow_http=true`
        /// (credentials from `uploads.s3` or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or a
        /// directory (`file:///srv/agora-uploads` or a plain path).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Remove what the demo wrote and nothing else.
    Remove,
}

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild this node's index from the database into a new generation, then switch to it
    /// atomically (a running server follows within seconds).
    Reindex,
    /// Documents, size, position and lag behind the change log.
    Status,
    /// Find the related threads (shown under each thread) of every thread that has none yet,
    /// on every core. A running server does this too, slowly, in the background.
    Related,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (its email counts as confirmed; reserved names are allowed here).
    /// Without --password a random one is made and printed once.
    Create {
        /// The username, e.g. quinn or 张伟.
        name: String,
        #[arg(long)]
        email: String,
        /// admin, staff, moderator or member.
        #[arg(long, default_value = "member")]
        role: agora_store::Role,
        /// A staff title shown beside the name, e.g. "Developer Technical Support".
        #[arg(long)]
        title: Option<String>,
        /// The password (prefer the environment variable, which stays out of shell history).
        #[arg(long, env = "AGORA_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Change an account's role (and staff title).
    SetRole {
        name: String,
        /// admin, staff, moderator or member.
        role: agora_store::Role,
        #[arg(long)]
        title: Option<String>,
    },
    /// List accounts (newest first), one per line: username, role, email, joined, posts.
    List {
        /// Only this role.
        #[arg(long)]
        role: Option<agora_store::Role>,
        /// The start of a username, display name or email address.
        #[arg(long)]
        search: Option<String>,
        /// Which page of 30.
        #[arg(long, default_value_t = 1)]
        page: u32,
    },
    /// Set an account's display name.
    SetName { name: String, display_name: String },
    /// Email the account a password-reset link.
    ResetPassword { name: String },
    /// Delete an account with every post it wrote and the threads it started.
    Delete {
        name: String,
        /// Type the username again to confirm.
        #[arg(long)]
        confirm: String,
    },
    /// Anonymise an account: its posts stay, under "anonymous".
    Anonymise {
        name: String,
        /// Type the username again to confirm.
        #[arg(long)]
        confirm: String,
    },
    /// Email an invitation to join (for an invite-only forum).
    Invite {
        email: String,
        /// admin, staff, moderator or member.
        #[arg(long, default_value = "member")]
        role: agora_store::Role,
        /// The account the invitation is from (its email and the list name it).
        #[arg(long)]
        from: String,
    },
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "AGORA_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Do not load the demo content into a new, empty database.
    #[arg(long)]
    pub no_demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy a whole forum into an empty database, e.g. from SQLite to PostgreSQL.
    Copy {
        /// Source database URL (a path, sqlite://PATH or postgres://…).
        #[arg(long, value_name = "URL")]
        from: String,
        /// Target database URL; it must be empty (new).
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Write a consistent copy of the SQLite database while the forum runs.
    Backup {
        /// The file to write (must not exist).
        file: PathBuf,
    },
    /// Replace the SQLite database with a backup (from `agora db backup`), with the server
    /// stopped. The restored database gets a new identity, so every node's search index
    /// notices and rebuilds. PostgreSQL is restored with pg_restore.
    Restore {
        /// The backup file to restore.
        file: PathBuf,
    },
    /// Find what is wrong in the data: text with control characters, counters that disagree
    /// with their rows, rows whose parent is gone. Exits 1 if anything is found.
    Check {
        /// Recount every counter (nothing else is changed).
        #[arg(long)]
        fix: bool,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write COUNT small jobs one transaction at a time, printing each id once it is
    /// committed: a crash test for "no acknowledged write is lost".
    ProbeWrites {
        #[arg(long, default_value_t = 1000)]
        count: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a documented example configuration with every default.
    Example,
}

impl GlobalArgs {
    /// The configuration: defaults, then the file, then flags and environment.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(data) = &self.data {
            config.data_dir = data.clone();
        }
        if let Some(url) = &self.database {
            config.database_url = url.clone();
        }
        // Fail early, before anything is created, on a scheme we cannot open.
        config.database()?;
        Ok(config)
    }
}
