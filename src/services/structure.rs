//! The forum's structure as administrators run it: areas, subtopics (with who may start
//! threads, whether tags are required and which are allowed), tags, and moving every thread
//! of a subtopic. Shared by `/admin/structure`, `/admin/tags`, `/api/v1/admin/...` and the
//! `agora area|subtopic|tag` commands: permission (administrators; the operator at a terminal
//! has no account), then the input (every problem by field), then one store transaction with
//! its audit entry. A clash the store finds (a slug taken, a subtopic still holding threads)
//! comes back as a field error too, nothing changed.

use agora_store::{
    AreaId, AreaInput, AreaRow, Audit, Direction, RedirectKind, StoreError, SubtopicId,
    SubtopicInput, SubtopicRow, SubtopicRules, TagBrief, TagId, TagInput, TagRow, WhoStarts,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::AppError;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::Action;

pub use crate::services::By;

impl By<'_> {
    /// Checks that this one may change the structure (administrators; the operator); the
    /// audit entry for `action` when an account acts (the operator's changes have none).
    fn structure_audit(
        self,
        action: &'static str,
        details: String,
    ) -> Result<Option<Audit>, AppError> {
        self.authorize(Action::Administer)?;
        Ok(self.account().map(|a| Audit {
            actor: a.brief.id,
            action,
            thread: None,
            post: None,
            target_user: None,
            details,
        }))
    }

    fn check(self) -> Result<(), AppError> {
        self.authorize(Action::Administer)
    }
}

/// Why a change was refused (nothing changed): the problems by field, and whether it clashed
/// with what is stored (a slug taken, a subtopic still holding threads: the API's 409)
/// rather than being bad input (400).
#[derive(Debug)]
pub struct Refused {
    pub errors: FieldErrors,
    pub conflict: bool,
}

impl Refused {
    /// The first problem as an API error.
    pub fn into_error(self) -> AppError {
        let (field, message) = self
            .errors
            .0
            .into_iter()
            .next()
            .unwrap_or(("body", "invalid".to_string()));
        if self.conflict {
            AppError::Conflict {
                param: field.to_string(),
                message,
            }
        } else {
            AppError::bad_param(field, message)
        }
    }
}

/// What a change returns: done, or why not.
pub type Outcome<T> = Result<Result<T, Refused>, AppError>;

pub const SLUG_CHARS: usize = 60;
pub const NAME_CHARS: usize = 80;
pub const DESCRIPTION_CHARS: usize = 500;
pub const URL_CHARS: usize = 500;

/// A store conflict (a slug taken, a non-empty subtopic) as the field it names.
fn outcome<T>(result: Result<T, StoreError>) -> Outcome<T> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(StoreError::Conflict { field, message }) => {
            let mut errors = FieldErrors::default();
            errors.add(field, message);
            Ok(Err(Refused {
                errors,
                conflict: true,
            }))
        }
        Err(err) => Err(err.into()),
    }
}

fn failed<T>(errors: FieldErrors) -> Outcome<T> {
    Ok(Err(Refused {
        errors,
        conflict: false,
    }))
}

/// A slug: lower-case letters (any script), digits and single dashes inside.
pub fn check_slug(field: &'static str, slug: &str, errors: &mut FieldErrors) {
    let n = slug.chars().count();
    if n == 0 {
        errors.add(field, "Write the address part, like getting-started.");
    } else if n > SLUG_CHARS {
        errors.add(
            field,
            format!("Keep it to {SLUG_CHARS} characters (it has {n})."),
        );
    } else if !slug
        .chars()
        .all(|c| c == '-' || (c.is_alphanumeric() && !c.is_uppercase()))
        || slug.starts_with('-')
        || slug.ends_with('-')
        || slug.contains("--")
    {
        errors.add(
            field,
            format!(
                "Use lower-case letters, digits and single dashes inside (“{}” would do).",
                agora_store::slugify(slug)
            ),
        );
    }
}

fn check_name(field: &'static str, name: &str, errors: &mut FieldErrors) {
    if !errors.text(field, name) {
        return;
    }
    let n = name.trim().chars().count();
    if n == 0 {
        errors.add(field, "Write a name.");
    } else if n > NAME_CHARS {
        errors.add(
            field,
            format!("Keep the name to {NAME_CHARS} characters (it has {n})."),
        );
    }
}

fn check_description(description: &str, errors: &mut FieldErrors) {
    if !errors.text("description", description) {
        return;
    }
    let n = description.trim().chars().count();
    if n > DESCRIPTION_CHARS {
        errors.add(
            "description",
            format!("Keep the description to {DESCRIPTION_CHARS} characters (it has {n})."),
        );
    }
}

/// A documentation link: empty, or an http(s) address with a host and no spaces.
pub fn check_url(field: &'static str, url: &str, errors: &mut FieldErrors) {
    if url.is_empty() || !errors.text(field, url) {
        return;
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        _ if url.chars().count() > URL_CHARS => errors.add(
            field,
            format!("Keep the address to {URL_CHARS} characters."),
        ),
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !url.chars().any(|c| c.is_whitespace() || c.is_control()) => {}
        _ => errors.add(
            field,
            "Write a whole web address starting with https:// (or http://).",
        ),
    }
}

// ---- reading ----

/// Every area with its subtopics (archived ones included), for the admin pages.
pub async fn areas(state: &AppState, by: By<'_>) -> Result<Vec<AreaRow>, AppError> {
    by.check()?;
    Ok(state.store.areas().await?)
}

/// Each subtopic's allowed tags (subtopics allowing any tag are absent).
pub async fn allowed_tags(
    state: &AppState,
    by: By<'_>,
) -> Result<Vec<(SubtopicId, TagBrief)>, AppError> {
    by.check()?;
    Ok(state.store.allowed_tags().await?)
}

pub async fn tags(state: &AppState, by: By<'_>) -> Result<Vec<TagRow>, AppError> {
    by.check()?;
    Ok(state.store.tags().await?)
}

pub async fn area(state: &AppState, id: AreaId) -> Result<AreaRow, AppError> {
    state
        .store
        .areas()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| AppError::not_found(format!("There is no area {}.", id.0)))
}

pub async fn area_by_slug(state: &AppState, slug: &str) -> Result<AreaRow, AppError> {
    state
        .store
        .areas()
        .await?
        .into_iter()
        .find(|a| a.slug == slug)
        .ok_or_else(|| AppError::not_found(format!("There is no area “{slug}”.")))
}

pub async fn subtopic(state: &AppState, id: SubtopicId) -> Result<SubtopicRow, AppError> {
    state
        .store
        .subtopic_by_id(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no subtopic {}.", id.0)))
}

/// A subtopic by `area/subtopic`.
pub async fn subtopic_by_path(state: &AppState, path: &str) -> Result<SubtopicRow, AppError> {
    let (area, sub) = path.split_once('/').unwrap_or((path, ""));
    state
        .store
        .subtopic(area.trim(), sub.trim())
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no subtopic “{path}”.")))
}

pub async fn tag(state: &AppState, slug: &str) -> Result<TagRow, AppError> {
    state
        .store
        .tag(slug)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no tag “{slug}”.")))
}

// ---- areas ----

/// An area as a form or the API sends it.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct AreaForm {
    /// The address part: lower-case letters, digits and dashes.
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl AreaForm {
    pub fn from_row(area: &AreaRow) -> AreaForm {
        AreaForm {
            slug: area.slug.clone(),
            name: area.name.clone(),
            description: area.description.clone(),
        }
    }

    fn check(&self) -> Result<AreaInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let slug = self.slug.trim();
        check_slug("slug", slug, &mut errors);
        check_name("name", &self.name, &mut errors);
        check_description(&self.description, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AreaInput {
            slug: slug.to_string(),
            name: self.name.trim().to_string(),
            description: self.description.trim().to_string(),
        })
    }
}

pub async fn create_area(state: &AppState, by: By<'_>, form: &AreaForm) -> Outcome<AreaId> {
    let audit = by.structure_audit(
        "area.create",
        format!("{} ({})", form.slug.trim(), form.name.trim()),
    )?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => return failed(errors),
    };
    outcome(state.store.create_area(input, audit).await)
}

pub async fn edit_area(state: &AppState, by: By<'_>, id: AreaId, form: &AreaForm) -> Outcome<()> {
    let before = area(state, id).await?;
    let audit = by.structure_audit(
        "area.edit",
        changes(&[
            ("slug", &before.slug, form.slug.trim()),
            ("name", &before.name, form.name.trim()),
            ("description", &before.description, form.description.trim()),
        ]),
    )?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => return failed(errors),
    };
    outcome(state.store.edit_area(id, input, audit).await)
}

/// "slug: a → b; name changed": what an edit changed, for the audit log.
fn changes(fields: &[(&str, &str, &str)]) -> String {
    let changed: Vec<String> = fields
        .iter()
        .filter(|(_, before, after)| before != after)
        .map(|(field, before, after)| {
            if *field == "slug" {
                format!("slug: {before} → {after}")
            } else {
                format!("{field} changed")
            }
        })
        .collect();
    if changed.is_empty() {
        "no changes".into()
    } else {
        changed.join("; ")
    }
}

pub async fn move_area(
    state: &AppState,
    by: By<'_>,
    id: AreaId,
    direction: Direction,
) -> Result<bool, AppError> {
    let area = area(state, id).await?;
    let audit = by.structure_audit(
        "area.move",
        format!("{} {}", area.slug, direction_word(direction)),
    )?;
    Ok(state.store.move_area(id, direction, audit).await?)
}

fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

pub async fn archive_area(
    state: &AppState,
    by: By<'_>,
    id: AreaId,
    archived: bool,
) -> Result<(), AppError> {
    let area = area(state, id).await?;
    let action = if archived {
        "area.archive"
    } else {
        "area.unarchive"
    };
    let audit = by.structure_audit(action, area.slug.clone())?;
    Ok(state.store.set_area_archived(id, archived, audit).await?)
}

pub async fn delete_area(state: &AppState, by: By<'_>, id: AreaId) -> Outcome<()> {
    let area = area(state, id).await?;
    let audit = by.structure_audit("area.delete", format!("{} ({})", area.slug, area.name))?;
    outcome(state.store.delete_area(id, audit).await)
}

// ---- subtopics ----

/// A subtopic as a form or the API sends it.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct SubtopicForm {
    /// The area's slug.
    pub area: String,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// An http(s) address, or empty for none.
    #[serde(default)]
    pub docs_url: String,
}

impl SubtopicForm {
    pub fn from_row(sub: &SubtopicRow) -> SubtopicForm {
        SubtopicForm {
            area: sub.area_slug.clone(),
            slug: sub.slug.clone(),
            name: sub.name.clone(),
            description: sub.description.clone(),
            docs_url: sub.docs_url.clone().unwrap_or_default(),
        }
    }

    async fn check(
        &self,
        state: &AppState,
    ) -> Result<Result<SubtopicInput, FieldErrors>, AppError> {
        let mut errors = FieldErrors::default();
        let area = state
            .store
            .areas()
            .await?
            .into_iter()
            .find(|a| a.slug == self.area.trim());
        if area.is_none() {
            errors.add("area", "Choose the area this subtopic belongs to.");
        }
        let slug = self.slug.trim();
        check_slug("slug", slug, &mut errors);
        check_name("name", &self.name, &mut errors);
        check_description(&self.description, &mut errors);
        let docs_url = self.docs_url.trim();
        check_url("docs_url", docs_url, &mut errors);
        Ok(match area {
            Some(area) if errors.is_empty() => Ok(SubtopicInput {
                area: area.id,
                slug: slug.to_string(),
                name: self.name.trim().to_string(),
                description: self.description.trim().to_string(),
                docs_url: (!docs_url.is_empty()).then(|| docs_url.to_string()),
            }),
            _ => Err(errors),
        })
    }
}

pub async fn create_subtopic(
    state: &AppState,
    by: By<'_>,
    form: &SubtopicForm,
) -> Outcome<SubtopicId> {
    let audit = by.structure_audit(
        "subtopic.create",
        format!(
            "{}/{} ({})",
            form.area.trim(),
            form.slug.trim(),
            form.name.trim()
        ),
    )?;
    let input = match form.check(state).await? {
        Ok(input) => input,
        Err(errors) => return failed(errors),
    };
    outcome(state.store.create_subtopic(input, audit).await)
}

pub async fn edit_subtopic(
    state: &AppState,
    by: By<'_>,
    id: SubtopicId,
    form: &SubtopicForm,
) -> Outcome<()> {
    let before = subtopic(state, id).await?;
    let old_path = format!("{}/{}", before.area_slug, before.slug);
    let new_path = format!("{}/{}", form.area.trim(), form.slug.trim());
    let audit = by.structure_audit(
        "subtopic.edit",
        format!(
            "{old_path}: {}",
            changes(&[
                ("slug", &old_path, &new_path),
                ("name", &before.name, form.name.trim()),
                ("description", &before.description, form.description.trim()),
                (
                    "docs_url",
                    before.docs_url.as_deref().unwrap_or(""),
                    form.docs_url.trim()
                ),
            ])
        ),
    )?;
    let input = match form.check(state).await? {
        Ok(input) => input,
        Err(errors) => return failed(errors),
    };
    outcome(state.store.edit_subtopic(id, input, audit).await)
}

pub async fn move_subtopic(
    state: &AppState,
    by: By<'_>,
    id: SubtopicId,
    direction: Direction,
) -> Result<bool, AppError> {
    let sub = subtopic(state, id).await?;
    let audit = by.structure_audit(
        "subtopic.move",
        format!(
            "{}/{} {}",
            sub.area_slug,
            sub.slug,
            direction_word(direction)
        ),
    )?;
    Ok(state.store.move_subtopic(id, direction, audit).await?)
}

pub async fn archive_subtopic(
    state: &AppState,
    by: By<'_>,
    id: SubtopicId,
    archived: bool,
) -> Result<(), AppError> {
    let sub = subtopic(state, id).await?;
    let action = if archived {
        "subtopic.archive"
    } else {
        "subtopic.unarchive"
    };
    let audit = by.structure_audit(action, format!("{}/{}", sub.area_slug, sub.slug))?;
    Ok(state
        .store
        .set_subtopic_archived(id, archived, audit)
        .await?)
}

/// A subtopic's rules as a form or the API sends them.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct RulesForm {
    /// `everyone`, or `staff` (announcements).
    pub who_starts: String,
    /// Whether a new thread needs at least one tag.
    #[serde(default)]
    pub tags_required: bool,
    /// The tags allowed, as slugs separated by spaces or commas; empty: any tag.
    #[serde(default)]
    pub allowed_tags: String,
}

impl RulesForm {
    pub fn from_row(sub: &SubtopicRow, allowed: &[(SubtopicId, TagBrief)]) -> RulesForm {
        RulesForm {
            who_starts: sub.who_starts.as_str().into(),
            tags_required: sub.tags_required,
            allowed_tags: allowed
                .iter()
                .filter(|(id, _)| *id == sub.id)
                .map(|(_, t)| t.slug.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

pub async fn set_rules(
    state: &AppState,
    by: By<'_>,
    id: SubtopicId,
    form: &RulesForm,
) -> Outcome<()> {
    let sub = subtopic(state, id).await?;
    let audit = by.structure_audit(
        "subtopic.rules",
        format!(
            "{}/{}: {} start threads; tags {}; allowed: {}",
            sub.area_slug,
            sub.slug,
            form.who_starts.trim(),
            if form.tags_required {
                "required"
            } else {
                "optional"
            },
            match form.allowed_tags.trim() {
                "" => "any",
                some => some,
            }
        ),
    )?;
    let mut errors = FieldErrors::default();
    let who_starts = match form.who_starts.trim().parse::<WhoStarts>() {
        Ok(w) => Some(w),
        Err(_) => {
            errors.add("who_starts", "Choose everyone, or staff only.");
            None
        }
    };
    let mut allowed = Vec::new();
    if errors.text("allowed_tags", &form.allowed_tags) {
        let wanted = crate::services::posting::parse_tags(&form.allowed_tags);
        let found = state.store.tag_ids(wanted.clone()).await?;
        let missing = missing_tags(&wanted, &found);
        if !missing.is_empty() {
            errors.add(
                "allowed_tags",
                format!("There is no tag {missing}: create it on the tags page first."),
            );
        }
        allowed = found.into_iter().map(|(_, id)| id).collect();
    }
    let Some(who_starts) = who_starts.filter(|_| errors.is_empty()) else {
        return failed(errors);
    };
    let rules = SubtopicRules {
        who_starts,
        tags_required: form.tags_required,
        allowed_tags: allowed,
    };
    outcome(state.store.set_subtopic_rules(id, rules, audit).await)
}

/// “a”, “b”: the wanted slugs that were not found.
pub fn missing_tags(wanted: &[String], found: &[(String, TagId)]) -> String {
    wanted
        .iter()
        .filter(|w| !found.iter().any(|(slug, _)| slug == *w))
        .map(|m| format!("“{m}”"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn delete_subtopic(state: &AppState, by: By<'_>, id: SubtopicId) -> Outcome<()> {
    let sub = subtopic(state, id).await?;
    let audit = by.structure_audit(
        "subtopic.delete",
        format!("{}/{} ({})", sub.area_slug, sub.slug, sub.name),
    )?;
    outcome(state.store.delete_subtopic(id, audit).await)
}

/// Moves every thread of subtopic `id` to `to` (`area/subtopic`) as one audited action;
/// returns how many moved.
pub async fn move_threads(state: &AppState, by: By<'_>, id: SubtopicId, to: &str) -> Outcome<u64> {
    let from = subtopic(state, id).await?;
    let (area, sub) = to.trim().split_once('/').unwrap_or((to.trim(), ""));
    let target = match state.store.subtopic_id(area, sub).await? {
        Some(target) if target != id => target,
        Some(_) => {
            let mut errors = FieldErrors::default();
            errors.add("move_to", "Choose another subtopic than this one.");
            return failed(errors);
        }
        None => {
            let mut errors = FieldErrors::default();
            errors.add("move_to", "Choose the subtopic the threads go to.");
            return failed(errors);
        }
    };
    let audit = by.structure_audit(
        "subtopic.move_threads",
        format!(
            "{} threads from {}/{} to {}",
            from.thread_count,
            from.area_slug,
            from.slug,
            to.trim()
        ),
    )?;
    outcome(state.store.move_subtopic_threads(id, target, audit).await)
}

// ---- tags ----

/// A tag as a form or the API sends it.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct TagForm {
    pub slug: String,
    /// Shown on the tag's page; the slug when empty.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl TagForm {
    pub fn from_row(tag: &TagRow) -> TagForm {
        TagForm {
            slug: tag.slug.clone(),
            name: tag.name.clone(),
            description: tag.description.clone(),
        }
    }

    fn check(&self) -> Result<TagInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let slug = self.slug.trim();
        check_slug("slug", slug, &mut errors);
        let name = match self.name.trim() {
            "" => slug,
            name => name,
        };
        if !self.name.trim().is_empty() {
            check_name("name", &self.name, &mut errors);
        }
        check_description(&self.description, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TagInput {
            slug: slug.to_string(),
            name: name.to_string(),
            description: self.description.trim().to_string(),
        })
    }
}

pub async fn create_tag(state: &AppState, by: By<'_>, form: &TagForm) -> Outcome<TagId> {
    let audit = by.structure_audit("tag.create", form.slug.trim().to_string())?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => return failed(errors),
    };
    outcome(state.store.create_tag(input, audit).await)
}

/// Renames or describes the tag `slug`.
pub async fn edit_tag(state: &AppState, by: By<'_>, slug: &str, form: &TagForm) -> Outcome<()> {
    let before = tag(state, slug).await?;
    let action = if before.slug != form.slug.trim() {
        "tag.rename"
    } else {
        "tag.edit"
    };
    let audit = by.structure_audit(
        action,
        changes(&[
            ("slug", &before.slug, form.slug.trim()),
            ("name", &before.name, form.name.trim()),
            ("description", &before.description, form.description.trim()),
        ]),
    )?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => return failed(errors),
    };
    outcome(state.store.edit_tag(before.id, input, audit).await)
}

/// Merges the tag `slug` into the tag `into`.
pub async fn merge_tag(state: &AppState, by: By<'_>, slug: &str, into: &str) -> Outcome<()> {
    let from = tag(state, slug).await?;
    let into = into.trim();
    let audit = by.structure_audit("tag.merge", format!("{} into {into}", from.slug))?;
    let mut errors = FieldErrors::default();
    if into.is_empty() {
        errors.add("into", "Choose the tag to merge into.");
        return failed(errors);
    }
    if into == from.slug {
        errors.add(
            "into",
            "A tag cannot be merged into itself: choose another.",
        );
        return failed(errors);
    }
    let Some(target) = state.store.tag(into).await? else {
        errors.add("into", format!("There is no tag “{into}”."));
        return failed(errors);
    };
    outcome(state.store.merge_tag(from.id, target.id, audit).await)
}

/// Deletes the tag `slug`, taking it off its threads; returns how many carried it.
pub async fn delete_tag(state: &AppState, by: By<'_>, slug: &str) -> Result<u64, AppError> {
    let tag = tag(state, slug).await?;
    let audit = by.structure_audit(
        "tag.delete",
        format!("{} (on {} threads)", tag.slug, tag.thread_count),
    )?;
    Ok(state.store.delete_tag(tag.id, audit).await?)
}

// ---- old addresses ----

/// Where a subtopic that is not at `area/sub` lives now, if it moved: its current
/// `(area, subtopic)` slugs. A renamed area's subtopics follow it.
pub async fn moved_subtopic(
    state: &AppState,
    area: &str,
    sub: &str,
) -> Result<Option<(String, String)>, AppError> {
    let store = &state.store;
    if let Some(id) = store
        .slug_redirect(RedirectKind::Subtopic, &format!("{area}/{sub}"))
        .await?
        && let Some(row) = store.subtopic_by_id(SubtopicId(id)).await?
    {
        return Ok(Some((row.area_slug, row.slug)));
    }
    if let Some(id) = store.slug_redirect(RedirectKind::Area, area).await?
        && let Some(area) = store.areas().await?.into_iter().find(|a| a.id.0 == id)
        && area.subtopics.iter().any(|s| s.slug == sub)
    {
        return Ok(Some((area.slug, sub.to_string())));
    }
    Ok(None)
}

/// Where a tag that is not at `slug` lives now, if it was renamed or merged.
pub async fn moved_tag(state: &AppState, slug: &str) -> Result<Option<String>, AppError> {
    let store = &state.store;
    match store.slug_redirect(RedirectKind::Tag, slug).await? {
        Some(id) => Ok(store.tag_by_id(TagId(id)).await?.map(|t| t.slug)),
        None => Ok(None),
    }
}
