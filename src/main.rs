//! The `agora` binary: parses the command line and runs the chosen command.

use std::io::Write;

use agora::cli::{
    Cli, Command, ConfigCommand, DbCommand, DemoCommand, ImportArgs, ImportSource, PostsCommand,
    SearchCommand, ServeArgs, SettingsCommand, UploadsCommand, UserCommand,
};
use agora::config;
use agora::services::{archive, stackexchange};
use agora_store::{DatabaseUrl, Store, StoreOptions};
use clap::Parser;

/// mimalloc: the forum allocates many small, short-lived strings per page; measured ~15% of
/// an uncached listing's time went to glibc malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    if let Command::Config {
        command: ConfigCommand::Example,
    } = command
    {
        print!("{}", config::EXAMPLE);
        return Ok(());
    }
    let mut config = cli.global.load_config()?;
    match command {
        Command::Serve(args) => {
            if let Some(listen) = args.listen {
                config.listen = listen;
            }
            if args.no_demo {
                config.demo = false;
            }
            agora::server::serve(config).await
        }
        Command::Import(ImportArgs {
            source:
                Some(ImportSource::Stackexchange {
                    dir,
                    site_url,
                    site_name,
                    subtopic,
                }),
            ..
        }) => {
            let store = open_store(&config).await?;
            let started = std::time::Instant::now();
            let options = stackexchange::ImportOptions {
                site_url,
                site_name,
                subtopic,
                progress: Some(archive::progress_bar("importing")),
            };
            let report = stackexchange::import_dir(&store, &dir, &options).await;
            store.close().await?;
            let report = report?;
            eprintln!(
                "imported {} threads, {} posts ({} added to threads imported before), {} users, \
                 {} tags, {} comments and {} revisions from {} into {} in {:.1} s; {} posts were \
                 here already",
                report.threads,
                report.posts,
                report.appended,
                report.users,
                report.tags,
                report.comments,
                report.revisions,
                report.source,
                report.subtopic,
                started.elapsed().as_secs_f64(),
                report.already,
            );
            if report.orphans > 0 {
                eprintln!(
                    "left out {} answers whose question is not in the dump",
                    report.orphans
                );
            }
            Ok(())
        }
        Command::Import(ImportArgs { file, .. }) => {
            let file = file.unwrap_or_default();
            let store = open_store(&config).await?;
            let blobs = agora::blobs::Blobs::open(&config.uploads, &config.data_dir)?;
            let stats = archive::import_file(&store, &blobs, &file).await?;
            store.close().await?;
            eprintln!(
                "imported {} users, {} threads and {} posts from {}",
                stats.users,
                stats.threads,
                stats.posts,
                file.display()
            );
            if stats.uploads > 0 {
                eprintln!(
                    "and {} uploads, their files from {} into {}",
                    stats.uploads,
                    archive::files_dir(&file).display(),
                    blobs.describe()
                );
            }
            Ok(())
        }
        Command::Export { file } => {
            let store = open_store(&config).await?;
            let blobs = agora::blobs::Blobs::open(&config.uploads, &config.data_dir)?;
            let posts = archive::export_file(&store, &blobs, &file).await?;
            eprintln!("exported {posts} posts to {}", file.display());
            Ok(())
        }
        Command::Generate {
            threads,
            replies_per_thread,
            seed,
        } => {
            let store = open_store(&config).await?;
            let started = std::time::Instant::now();
            let plan = agora::services::generate::Plan {
                threads,
                replies_per_thread,
                seed,
            };
            let stats = agora::services::generate::generate(
                &store,
                plan,
                archive::progress_bar("generating"),
            )
            .await?;
            store.close().await?;
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "generated {} users, {} threads and {} posts in {seconds:.1} s ({:.0} posts/s)",
                stats.users,
                stats.threads,
                stats.posts,
                stats.posts as f64 / seconds
            );
            Ok(())
        }
        Command::Ceiling { listen, bytes } => agora::server::ceiling(listen, bytes).await,
        Command::Db { command } => db(command, &config).await,
        Command::Config { .. } => Ok(()),
        Command::User { command } => user(command, config).await,
        Command::Search { command } => search(command, config).await,
        Command::Uploads {
            command: UploadsCommand::Migrate { to },
        } => {
            let from = agora::blobs::Blobs::open(&config.uploads, &config.data_dir)?;
            let to = agora::blobs::Blobs::from_url(&to, &config.uploads.s3)?;
            eprintln!(
                "copying uploads from {} to {}",
                from.describe(),
                to.describe()
            );
            let started = std::time::Instant::now();
            let bar = archive::progress_bar_of("copying", "files");
            let done = agora::services::uploads::migrate(&from, &to, Some(bar.clone())).await;
            bar.finish_and_clear();
            let done = done?;
            eprintln!(
                "copied {} files and thumbnails ({}) in {:.1} s; {} were there already. \
                 Now set uploads.store to the new store and restart.",
                done.copied,
                agora::services::uploads::human_size(done.bytes),
                started.elapsed().as_secs_f64(),
                done.skipped
            );
            Ok(())
        }
        Command::Posts {
            command: PostsCommand::Rerender,
        } => {
            let state = agora::app::AppState::open(config).await?;
            let started = std::time::Instant::now();
            let bar = archive::progress_bar("rendering");
            let posts = archive::rerender_posts(&state.store, Some(bar.clone())).await;
            bar.finish_and_clear();
            state.store.close().await?;
            eprintln!(
                "rendered {} posts again in {:.1} s (renderer version {})",
                posts?,
                started.elapsed().as_secs_f64(),
                agora_markup::VERSION
            );
            Ok(())
        }
        Command::Area { command } => {
            structure(config, async |state| {
                agora::cli_structure::area(state, command).await
            })
            .await
        }
        Command::Subtopic { command } => {
            structure(config, async |state| {
                agora::cli_structure::subtopic(state, command).await
            })
            .await
        }
        Command::Tag { command } => {
            structure(config, async |state| {
                agora::cli_structure::tag(state, command).await
            })
            .await
        }
        Command::Settings { command } => settings(command, config).await,
        Command::Demo {
            command: DemoCommand::Remove,
        } => {
            let state = agora::app::AppState::open(config).await?;
            let removed = agora::services::settings::remove_demo_as(&state, None).await?;
            eprintln!(
                "removed the demo: {} threads, {} subtopics, {} areas, {} tags, {} accounts \
                 ({} demo threads kept: members wrote in them)",
                removed.threads,
                removed.subtopics,
                removed.areas,
                removed.tags,
                removed.users,
                removed.kept_threads
            );
            state.store.close().await?;
            Ok(())
        }
    }
}

async fn settings(command: SettingsCommand, config: config::Config) -> anyhow::Result<()> {
    let state = agora::app::AppState::open(config).await?;
    let current = serde_json::to_value(&state.site().settings)?;
    let result = match command {
        SettingsCommand::Get { field: None } => {
            println!("{}", serde_json::to_string_pretty(&current)?);
            Ok(())
        }
        SettingsCommand::Get { field: Some(field) } => match current.get(&field) {
            Some(serde_json::Value::String(text)) => {
                println!("{text}");
                Ok(())
            }
            Some(value) => {
                println!("{value}");
                Ok(())
            }
            None => Err(anyhow::anyhow!("there is no setting {field:?}")),
        },
        SettingsCommand::Set { field, value } => {
            // A text setting takes VALUE as text ("2024" is a name too); others read JSON.
            let value = match current.get(&field) {
                Some(serde_json::Value::String(_)) => serde_json::Value::String(value),
                _ => serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value)),
            };
            let mut changes = serde_json::Map::new();
            changes.insert(field.clone(), value);
            let settings = state
                .site()
                .settings
                .with_changes(changes)
                .map_err(|(field, why)| anyhow::anyhow!("{field}: {why}"))?;
            match agora::services::settings::save_as_operator(&state, settings)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                Ok(()) => {
                    eprintln!("{field} saved; running servers follow within seconds");
                    Ok(())
                }
                Err(errors) => Err(anyhow::anyhow!(
                    "refused, nothing changed: {}",
                    errors
                        .0
                        .iter()
                        .map(|(f, m)| format!("{f}: {m}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
            }
        }
    };
    state.store.close().await?;
    result
}

async fn search(command: SearchCommand, config: config::Config) -> anyhow::Result<()> {
    let state = agora::app::AppState::open(config).await?;
    let search = &state.search;
    match command {
        SearchCommand::Reindex => {
            let started = std::time::Instant::now();
            let bar = archive::progress_bar("indexing");
            bar.set_length(state.store.post_count().await?.max(0) as u64);
            let documents = search.rebuild(&state.store, Some(bar.clone())).await?;
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            let status = search.status(&state.store).await?;
            eprintln!(
                "indexed {documents} documents (each visible post, and each thread as a whole) in {seconds:.1} s ({:.0} documents/s); generation {}, {} bytes ({:.0} bytes/document)",
                documents as f64 / seconds.max(0.001),
                status.generation,
                status.bytes,
                status.bytes as f64 / (documents.max(1) as f64)
            );
        }
        SearchCommand::Related => {
            let started = std::time::Instant::now();
            let bar = archive::progress_bar_of("related threads", "threads");
            let found = search.fill_related(&state.store, Some(bar.clone())).await?;
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "found related threads for {found} threads in {seconds:.1} s ({:.0} threads/s)",
                found as f64 / seconds.max(0.001)
            );
        }
        SearchCommand::Status => {
            let status = search.status(&state.store).await?;
            println!("{}", serde_json::to_string_pretty(&status)?);
        }
    }
    state.store.close().await?;
    Ok(())
}

async fn user(command: UserCommand, config: config::Config) -> anyhow::Result<()> {
    use agora::services::accounts::{self, CreatedBy, SignUp};
    let state = agora::app::AppState::open(config).await?;
    let result = match command {
        UserCommand::Create {
            name,
            email,
            role,
            title,
            password,
        } => {
            let generated = password.is_none();
            let password = match password {
                Some(p) => p,
                None => agora::auth::new_secret()?.chars().take(20).collect(),
            };
            let form = SignUp {
                username: name.clone(),
                email,
                password: password.clone(),
                display_name: String::new(),
            };
            match accounts::sign_up(&state, &form, role, title, CreatedBy::Operator).await? {
                Ok(account) => {
                    eprintln!(
                        "created {} ({})",
                        account.brief.username, account.brief.role
                    );
                    if generated {
                        println!("password: {password}");
                        eprintln!("(shown once; they can change it in their settings)");
                    }
                    Ok(())
                }
                Err(errors) => Err(anyhow::anyhow!(
                    "{}",
                    errors
                        .0
                        .iter()
                        .map(|(field, message)| format!("{field}: {message}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )),
            }
        }
        UserCommand::SetRole { name, role, title } => {
            let account =
                agora::services::accounts::set_role_by_operator(&state, &name, role, title)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "{} is now {role} (recorded in the audit log)",
                account.brief.username
            );
            Ok(())
        }
        other => members_command(&state, other).await,
    };
    state.store.close().await?;
    result
}

/// Runs an `agora area|subtopic|tag` command against the forum, then closes the store.
async fn structure<F>(config: config::Config, command: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&agora::app::AppState) -> anyhow::Result<()>,
{
    let state = agora::app::AppState::open(config).await?;
    let result = command(&state).await;
    state.store.close().await?;
    result
}

/// `agora user list/set-name/reset-password/delete/anonymise/invite`: the operator (no
/// account) through the same services as the admin pages.
async fn members_command(state: &agora::app::AppState, command: UserCommand) -> anyhow::Result<()> {
    use agora::services::accounts::FieldErrors;
    use agora::services::members::{self, By, MemberParams};
    fn fields(errors: FieldErrors) -> anyhow::Error {
        anyhow::anyhow!(
            "{}",
            errors
                .0
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
    fn app(error: agora::error::AppError) -> anyhow::Error {
        anyhow::anyhow!("{error}")
    }
    let by = By::Operator;
    match command {
        UserCommand::List { role, search, page } => {
            let params = MemberParams {
                q: search.unwrap_or_default(),
                role,
                page: page.max(1),
                ..MemberParams::default()
            };
            let view = members::directory(state, by, &params, "")
                .await
                .map_err(app)?;
            for m in &view.members {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    m.username,
                    m.role,
                    m.email.as_deref().unwrap_or("-"),
                    m.joined.iso,
                    m.posts.value
                );
            }
            eprintln!(
                "{} accounts (page {} of {})",
                view.total, view.pager.page, view.pager.pages
            );
        }
        UserCommand::SetName { name, display_name } => {
            members::set_display_name(state, by, &name, &display_name)
                .await
                .map_err(app)?
                .map_err(fields)?;
            eprintln!("{name} is now shown as {display_name:?} (recorded in the audit log)");
        }
        UserCommand::ResetPassword { name } => {
            members::send_reset(state, by, &name).await.map_err(app)?;
            eprintln!("a password-reset email to {name} is queued");
        }
        UserCommand::Delete { name, confirm } => {
            let deleted = members::delete(state, by, &name, &confirm)
                .await
                .map_err(app)?
                .map_err(fields)?;
            eprintln!(
                "deleted {name}: {} threads and {} replies removed",
                deleted.threads, deleted.replies
            );
        }
        UserCommand::Anonymise { name, confirm } => {
            members::anonymise(state, by, &name, &confirm)
                .await
                .map_err(app)?
                .map_err(fields)?;
            eprintln!("anonymised {name}: their posts stay, under \"anonymous\"");
        }
        UserCommand::Invite { email, role, from } => {
            members::invite_as_operator(state, &from, &email, role)
                .await
                .map_err(app)?
                .map_err(fields)?;
            eprintln!("invited {email} as {role}, from {from}");
        }
        UserCommand::Create { .. } | UserCommand::SetRole { .. } => {}
    }
    Ok(())
}

async fn db(command: DbCommand, config: &config::Config) -> anyhow::Result<()> {
    match command {
        DbCommand::Copy { from, to } => {
            let options = StoreOptions {
                read_connections: 1,
                bulk: true,
                ..config.store_options()
            };
            let source = Store::open(&DatabaseUrl::parse(&from)?, options.clone()).await?;
            let target = Store::open(&DatabaseUrl::parse(&to)?, options).await?;
            if !target.is_empty().await? {
                anyhow::bail!("{to} already holds a forum; copy into a new, empty database");
            }
            let bar = archive::progress_bar("reading");
            let forum = source.export().await?;
            bar.finish_and_clear();
            let stats =
                archive::import(&target, forum, Some(archive::progress_bar("copying"))).await?;
            target.close().await?;
            eprintln!(
                "copied {} users, {} threads and {} posts from {from} to {to}",
                stats.users, stats.threads, stats.posts
            );
            eprintln!(
                "note: sessions and API tokens are not copied: people sign in again on the new \
                 database and make new tokens"
            );
            Ok(())
        }
        DbCommand::Backup { file } => {
            if file.exists() {
                anyhow::bail!("{} exists already; name a new file", file.display());
            }
            let store = open_store(config).await?;
            store.backup(&file).await?;
            eprintln!(
                "wrote a consistent copy of the database to {}",
                file.display()
            );
            Ok(())
        }
        DbCommand::Restore { file } => {
            let DatabaseUrl::Sqlite(target) = config.database()? else {
                anyhow::bail!(
                    "`agora db restore` restores SQLite backups; restore PostgreSQL with \
                     pg_restore (see the README): each node's search index notices and rebuilds"
                );
            };
            let _lock = agora_store::sqlite::hold_lock(&target, true)?;
            let (from, to) = (file.clone(), target.clone());
            tokio::task::spawn_blocking(move || agora_store::sqlite::restore(&from, &to)).await??;
            let store = open_store(config).await?;
            let identity = store.renew_database_id().await?;
            let head = store.change_head().await?;
            store.close().await?;
            eprintln!(
                "restored {} from {} (change log at {head}); the database's new identity is {identity}, \
                 so search indexes rebuild when the forum starts. The replaced database is kept as \
                 {}.before-restore (with its -wal); delete it once you are sure.",
                target.display(),
                file.display(),
                target.display()
            );
            Ok(())
        }
        DbCommand::Check { fix, json } => {
            let store = open_store(config).await?;
            let findings = store.check().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&findings)?);
            } else {
                for f in &findings {
                    println!(
                        "{} {} {}: {}. Fix: {}",
                        f.kind, f.place, f.id, f.detail, f.fix
                    );
                }
                println!(
                    "{} finding(s): {} control character(s), {} counter(s), {} orphan(s)",
                    findings.len(),
                    findings
                        .iter()
                        .filter(|f| f.kind == "control_character")
                        .count(),
                    findings.iter().filter(|f| f.kind == "counter").count(),
                    findings.iter().filter(|f| f.kind == "orphan").count(),
                );
            }
            if fix && findings.iter().any(|f| f.kind == "counter") {
                store.recount().await?;
                let left = store.check().await?;
                let counters = left.iter().filter(|f| f.kind == "counter").count();
                eprintln!("recounted every counter; {counters} counter finding(s) remain");
                store.close().await?;
                if left.is_empty() {
                    return Ok(());
                }
                std::process::exit(1);
            }
            store.close().await?;
            if !findings.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        DbCommand::ProbeWrites { count } => {
            let store = open_store(config).await?;
            let mut out = std::io::stdout().lock();
            for i in 0..count {
                let id = store.enqueue_job("probe", &i.to_string()).await?;
                writeln!(out, "acked {id}")?;
                out.flush()?;
            }
            Ok(())
        }
    }
}

async fn open_store(config: &config::Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        read_connections: 1,
        ..config.store_options()
    };
    Ok(Store::open(&config.database()?, options).await?)
}
