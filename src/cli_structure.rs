//! `agora area|subtopic|tag …`: the forum's structure from the command line, for scripted
//! set-ups. The same services as `/admin/structure`, `/admin/tags` and the admin API, run as
//! the operator (no account: the change log records no actor, as for `agora settings set`).
//! Problems are printed by field and the command exits 1, nothing changed.

use clap::Subcommand;

use crate::app::AppState;
use crate::error::AppError;
use crate::services::structure::{self, AreaForm, By, Outcome, RulesForm, SubtopicForm, TagForm};
use agora_store::Direction;

const OPERATOR: By<'static> = By::Operator;

#[derive(Debug, Subcommand)]
pub enum AreaCommand {
    /// Every area with its subtopics, in order.
    List,
    /// Create an area (last in order).
    Create {
        /// The address part, e.g. getting-started.
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Change an area; a new slug keeps the old addresses redirecting.
    Edit {
        slug: String,
        #[arg(long = "slug")]
        new_slug: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Archive (read-only, off the home page), or `--archive false` to bring it back.
        #[arg(long)]
        archive: Option<bool>,
        /// `up` or `down`: one place in the order.
        #[arg(long = "move")]
        move_to: Option<String>,
    },
    /// Delete an area with no subtopics.
    Delete { slug: String },
}

#[derive(Debug, Subcommand)]
pub enum SubtopicCommand {
    /// Every subtopic with its rules.
    List,
    /// Create a subtopic, e.g. `agora subtopic create apps/networking --name Networking`.
    Create {
        /// AREA/SLUG.
        path: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, default_value = "")]
        docs_url: String,
    },
    /// Change a subtopic, its rules, its order or whether it is archived.
    Edit {
        /// AREA/SLUG.
        path: String,
        /// Move it to another area (by slug).
        #[arg(long)]
        area: Option<String>,
        #[arg(long = "slug")]
        new_slug: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// An http(s) address; "" removes it.
        #[arg(long)]
        docs_url: Option<String>,
        /// everyone, or staff (announcements).
        #[arg(long)]
        who_starts: Option<String>,
        #[arg(long)]
        tags_required: Option<bool>,
        /// The allowed tags' slugs, separated by spaces; "" allows any.
        #[arg(long)]
        allowed_tags: Option<String>,
        #[arg(long)]
        archive: Option<bool>,
        /// `up` or `down`: one place within its area.
        #[arg(long = "move")]
        move_to: Option<String>,
    },
    /// Move every thread of a subtopic to another.
    MoveThreads {
        /// AREA/SLUG the threads leave.
        path: String,
        /// AREA/SLUG they go to.
        #[arg(long)]
        to: String,
    },
    /// Delete a subtopic holding no threads.
    Delete { path: String },
}

#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// Every tag with its thread count.
    List,
    Create {
        slug: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Rename a tag (its old address redirects), and optionally describe it.
    Rename {
        slug: String,
        new_slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Merge a tag into another: its threads carry the other.
    Merge {
        slug: String,
        #[arg(long)]
        into: String,
    },
    /// Delete a tag, taking it off its threads.
    Delete { slug: String },
}

fn direction(text: &str) -> anyhow::Result<Direction> {
    match text {
        "up" => Ok(Direction::Up),
        "down" => Ok(Direction::Down),
        other => anyhow::bail!("--move takes up or down, not {other:?}"),
    }
}

/// A refusal printed by field.
fn done<T>(outcome: Outcome<T>) -> anyhow::Result<T> {
    match outcome.map_err(plain)? {
        Ok(value) => Ok(value),
        Err(refused) => Err(anyhow::anyhow!(
            "{}",
            refused
                .errors
                .0
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

fn plain(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.public_message())
}

pub async fn area(state: &AppState, command: AreaCommand) -> anyhow::Result<()> {
    match command {
        AreaCommand::List => {
            for area in structure::areas(state, OPERATOR).await.map_err(plain)? {
                let archived = if area.archived { " (archived)" } else { "" };
                println!("{}\t{}{archived}", area.slug, area.name);
                for sub in &area.subtopics {
                    println!("  {}/{}\t{}", area.slug, sub.slug, sub.name);
                }
            }
        }
        AreaCommand::Create {
            slug,
            name,
            description,
        } => {
            let form = AreaForm {
                slug,
                name,
                description,
            };
            done(structure::create_area(state, OPERATOR, &form).await)?;
            eprintln!("created area {}", form.slug.trim());
        }
        AreaCommand::Edit {
            slug,
            new_slug,
            name,
            description,
            archive,
            move_to,
        } => {
            let area = structure::area_by_slug(state, &slug).await.map_err(plain)?;
            if new_slug.is_some() || name.is_some() || description.is_some() {
                let mut form = AreaForm::from_row(&area);
                form.slug = new_slug.unwrap_or(form.slug);
                form.name = name.unwrap_or(form.name);
                form.description = description.unwrap_or(form.description);
                done(structure::edit_area(state, OPERATOR, area.id, &form).await)?;
            }
            if let Some(archived) = archive {
                structure::archive_area(state, OPERATOR, area.id, archived)
                    .await
                    .map_err(plain)?;
            }
            if let Some(to) = move_to {
                structure::move_area(state, OPERATOR, area.id, direction(&to)?)
                    .await
                    .map_err(plain)?;
            }
            eprintln!("saved area {slug}");
        }
        AreaCommand::Delete { slug } => {
            let area = structure::area_by_slug(state, &slug).await.map_err(plain)?;
            done(structure::delete_area(state, OPERATOR, area.id).await)?;
            eprintln!("deleted area {slug}");
        }
    }
    Ok(())
}

pub async fn subtopic(state: &AppState, command: SubtopicCommand) -> anyhow::Result<()> {
    match command {
        SubtopicCommand::List => {
            let allowed = structure::allowed_tags(state, OPERATOR)
                .await
                .map_err(plain)?;
            for area in structure::areas(state, OPERATOR).await.map_err(plain)? {
                for sub in &area.subtopics {
                    let rules = RulesForm::from_row(sub, &allowed);
                    println!(
                        "{}/{}\t{}\t{} threads\tstart: {}\ttags: {}{}{}",
                        area.slug,
                        sub.slug,
                        sub.name,
                        sub.thread_count,
                        rules.who_starts,
                        if rules.tags_required {
                            "required"
                        } else {
                            "optional"
                        },
                        if rules.allowed_tags.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", rules.allowed_tags)
                        },
                        if sub.archived { "\tarchived" } else { "" }
                    );
                }
            }
        }
        SubtopicCommand::Create {
            path,
            name,
            description,
            docs_url,
        } => {
            let (area, slug) = path
                .split_once('/')
                .ok_or_else(|| anyhow::anyhow!("write the subtopic as AREA/SLUG"))?;
            let form = SubtopicForm {
                area: area.to_string(),
                slug: slug.to_string(),
                name,
                description,
                docs_url,
            };
            done(structure::create_subtopic(state, OPERATOR, &form).await)?;
            eprintln!("created subtopic {path}");
        }
        SubtopicCommand::Edit {
            path,
            area,
            new_slug,
            name,
            description,
            docs_url,
            who_starts,
            tags_required,
            allowed_tags,
            archive,
            move_to,
        } => {
            let sub = structure::subtopic_by_path(state, &path)
                .await
                .map_err(plain)?;
            if area.is_some()
                || new_slug.is_some()
                || name.is_some()
                || description.is_some()
                || docs_url.is_some()
            {
                let mut form = SubtopicForm::from_row(&sub);
                form.area = area.unwrap_or(form.area);
                form.slug = new_slug.unwrap_or(form.slug);
                form.name = name.unwrap_or(form.name);
                form.description = description.unwrap_or(form.description);
                form.docs_url = docs_url.unwrap_or(form.docs_url);
                done(structure::edit_subtopic(state, OPERATOR, sub.id, &form).await)?;
            }
            if who_starts.is_some() || tags_required.is_some() || allowed_tags.is_some() {
                let allowed = state.store.allowed_tags().await?;
                let mut rules = RulesForm::from_row(&sub, &allowed);
                rules.who_starts = who_starts.unwrap_or(rules.who_starts);
                rules.tags_required = tags_required.unwrap_or(rules.tags_required);
                rules.allowed_tags = allowed_tags.unwrap_or(rules.allowed_tags);
                done(structure::set_rules(state, OPERATOR, sub.id, &rules).await)?;
            }
            if let Some(archived) = archive {
                structure::archive_subtopic(state, OPERATOR, sub.id, archived)
                    .await
                    .map_err(plain)?;
            }
            if let Some(to) = move_to {
                structure::move_subtopic(state, OPERATOR, sub.id, direction(&to)?)
                    .await
                    .map_err(plain)?;
            }
            eprintln!("saved subtopic {path}");
        }
        SubtopicCommand::MoveThreads { path, to } => {
            let sub = structure::subtopic_by_path(state, &path)
                .await
                .map_err(plain)?;
            let moved = done(structure::move_threads(state, OPERATOR, sub.id, &to).await)?;
            eprintln!("moved {moved} threads from {path} to {to}");
        }
        SubtopicCommand::Delete { path } => {
            let sub = structure::subtopic_by_path(state, &path)
                .await
                .map_err(plain)?;
            done(structure::delete_subtopic(state, OPERATOR, sub.id).await)?;
            eprintln!("deleted subtopic {path}");
        }
    }
    Ok(())
}

pub async fn tag(state: &AppState, command: TagCommand) -> anyhow::Result<()> {
    match command {
        TagCommand::List => {
            for tag in structure::tags(state, OPERATOR).await.map_err(plain)? {
                println!("{}\t{}\t{} threads", tag.slug, tag.name, tag.thread_count);
            }
        }
        TagCommand::Create {
            slug,
            name,
            description,
        } => {
            let form = TagForm {
                slug,
                name,
                description,
            };
            done(structure::create_tag(state, OPERATOR, &form).await)?;
            eprintln!("created tag {}", form.slug.trim());
        }
        TagCommand::Rename {
            slug,
            new_slug,
            name,
            description,
        } => {
            let tag = structure::tag(state, &slug).await.map_err(plain)?;
            let mut form = TagForm::from_row(&tag);
            form.slug = new_slug;
            form.name = name.unwrap_or(form.name);
            form.description = description.unwrap_or(form.description);
            done(structure::edit_tag(state, OPERATOR, &slug, &form).await)?;
            eprintln!("renamed tag {slug} to {}", form.slug.trim());
        }
        TagCommand::Merge { slug, into } => {
            done(structure::merge_tag(state, OPERATOR, &slug, &into).await)?;
            eprintln!("merged tag {slug} into {into}");
        }
        TagCommand::Delete { slug } => {
            let threads = structure::delete_tag(state, OPERATOR, &slug)
                .await
                .map_err(plain)?;
            eprintln!("deleted tag {slug} (taken off {threads} threads)");
        }
    }
    Ok(())
}
