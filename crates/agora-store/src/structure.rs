//! The forum's structure, as an administrator changes it: areas, subtopics (with their rules)
//! and tags. Every write is one transaction holding the change, its audit entry (when an
//! account made it) and its change-log entries: `TaxonomyChanged` for the structure, and one
//! per thread it touched (`ThreadMoved`, or `ThreadRewritten` when what the search index holds
//! for the thread changed). Old slugs are kept in `slug_redirects`; they are only consulted
//! when nothing lives at an address, so a redirect can never hide a real page or loop.

use crate::db::{Conn, params};
use crate::model::{
    AreaId, Audit, ChangeKind, NewThread, PostId, SubtopicId, SubtopicRow, TagBrief, TagId, TagRow,
    ThreadId, Timestamp, UserId, WhoStarts,
};
use crate::postgres::PgConn;

use crate::{Backend, Store, StoreError, forum, queries, sql, sqlite};

/// An area's editable fields.
#[derive(Clone, Debug)]
pub struct AreaInput {
    pub slug: String,
    pub name: String,
    pub description: String,
}

/// A subtopic's editable fields (`area`: where it lives; changing it moves the subtopic).
#[derive(Clone, Debug)]
pub struct SubtopicInput {
    pub area: AreaId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub docs_url: Option<String>,
}

/// Who may start threads in a subtopic, whether tags are required, and which are allowed
/// (none listed: any tag).
#[derive(Clone, Debug)]
pub struct SubtopicRules {
    pub who_starts: WhoStarts,
    pub tags_required: bool,
    pub allowed_tags: Vec<TagId>,
}

/// A tag's editable fields.
#[derive(Clone, Debug)]
pub struct TagInput {
    pub slug: String,
    pub name: String,
    pub description: String,
}

/// What a slug redirect names: `slug_redirects.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectKind {
    Area,
    /// `old_slug` is `area/subtopic`.
    Subtopic,
    Tag,
}

impl RedirectKind {
    fn as_str(self) -> &'static str {
        match self {
            RedirectKind::Area => "area",
            RedirectKind::Subtopic => "subtopic",
            RedirectKind::Tag => "tag",
        }
    }
}

/// Moving an area or a subtopic one place up or down among its siblings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

fn conflict(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Conflict {
        field,
        message: message.into(),
    }
}

fn actor(audit: &Option<Audit>) -> Option<UserId> {
    audit.as_ref().map(|a| a.actor)
}

/// The audit entry (when an account acted) and the structure's change-log entry.
async fn taxonomy_changed<C: Conn>(conn: &mut C, audit: &Option<Audit>) -> Result<(), StoreError> {
    if let Some(audit) = audit {
        forum::record_audit(conn, audit).await?;
    }
    queries::append_change(conn, ChangeKind::TaxonomyChanged, actor(audit), None, None).await
}

async fn thread_changed<C: Conn>(
    conn: &mut C,
    kind: ChangeKind,
    audit: &Option<Audit>,
    threads: &[ThreadId],
) -> Result<(), StoreError> {
    for thread in threads {
        queries::append_change(conn, kind.clone(), actor(audit), Some(*thread), None).await?;
    }
    Ok(())
}

async fn ids<C: Conn>(conn: &mut C, sql: &str, id: i64) -> Result<Vec<i64>, StoreError> {
    conn.query(sql, params![id])
        .await?
        .iter()
        .map(|row| row.int(0))
        .collect()
}

/// Points `old` at `target` (replacing whatever it pointed at).
async fn add_redirect<C: Conn>(
    conn: &mut C,
    kind: RedirectKind,
    old: &str,
    target: i64,
) -> Result<(), StoreError> {
    clear_redirect(conn, kind, old).await?;
    conn.execute(
        "INSERT INTO slug_redirects (kind, old_slug, target_id) VALUES (?1, ?2, ?3)",
        params![kind.as_str(), old, target],
    )
    .await?;
    Ok(())
}

/// Forgets `slug` as an old address: something lives there now.
pub(crate) async fn clear_redirect<C: Conn>(
    conn: &mut C,
    kind: RedirectKind,
    slug: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM slug_redirects WHERE kind = ?1 AND old_slug = ?2",
        params![kind.as_str(), slug],
    )
    .await?;
    Ok(())
}

async fn forget_target<C: Conn>(
    conn: &mut C,
    kind: RedirectKind,
    target: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM slug_redirects WHERE kind = ?1 AND target_id = ?2",
        params![kind.as_str(), target],
    )
    .await?;
    conn.execute(
        "DELETE FROM demo_content WHERE kind = ?1 AND id = ?2",
        params![kind.as_str(), target],
    )
    .await?;
    Ok(())
}

async fn area_slug<C: Conn>(conn: &mut C, id: AreaId) -> Result<String, StoreError> {
    match conn
        .query_opt("SELECT slug FROM areas WHERE id = ?1", params![id.0])
        .await?
    {
        Some(row) => row.text(0),
        None => Err(conflict("area", "There is no such area (any more).")),
    }
}

async fn check_area_slug<C: Conn>(
    conn: &mut C,
    slug: &str,
    except: Option<AreaId>,
) -> Result<(), StoreError> {
    if let Some(row) = conn
        .query_opt("SELECT id, name FROM areas WHERE slug = ?1", params![slug])
        .await?
        && Some(AreaId(row.int(0)?)) != except
    {
        return Err(conflict(
            "slug",
            format!(
                "The area “{}” already has the address “{slug}”: choose another.",
                row.text(1)?
            ),
        ));
    }
    Ok(())
}

async fn check_subtopic_slug<C: Conn>(
    conn: &mut C,
    area: AreaId,
    slug: &str,
    except: Option<SubtopicId>,
) -> Result<(), StoreError> {
    if let Some(row) = conn
        .query_opt(
            "SELECT id, name FROM subtopics WHERE area_id = ?1 AND slug = ?2",
            params![area.0, slug],
        )
        .await?
        && Some(SubtopicId(row.int(0)?)) != except
    {
        return Err(conflict(
            "slug",
            format!(
                "The subtopic “{}” in this area already has the address “{slug}”: choose another.",
                row.text(1)?
            ),
        ));
    }
    Ok(())
}

async fn check_tag_slug<C: Conn>(
    conn: &mut C,
    slug: &str,
    except: Option<TagId>,
) -> Result<(), StoreError> {
    if let Some(row) = conn
        .query_opt("SELECT id FROM tags WHERE slug = ?1", params![slug])
        .await?
        && Some(TagId(row.int(0)?)) != except
    {
        return Err(conflict(
            "slug",
            format!("There is already a tag “{slug}”: choose another, or merge into it."),
        ));
    }
    Ok(())
}

/// Inserts a tag whose slug is known to be free; returns its id.
async fn insert_tag<C: Conn>(conn: &mut C, tag: &TagInput) -> Result<TagId, StoreError> {
    check_tag_slug(conn, &tag.slug, None).await?;
    let id = conn
        .query_one(
            sql::INSERT_TAG,
            params![
                tag.slug.as_str(),
                tag.name.as_str(),
                tag.description.as_str()
            ],
        )
        .await?
        .int(0)?;
    clear_redirect(conn, RedirectKind::Tag, &tag.slug).await?;
    Ok(TagId(id))
}

/// Recomputes the stored counters of these subtopics from their threads (as `sql::RECOUNT`
/// does for all).
pub(crate) async fn recount_subtopics<C: Conn>(
    conn: &mut C,
    ids: &[SubtopicId],
) -> Result<(), StoreError> {
    queries::hold_folds(conn).await?;
    for id in ids {
        conn.execute(sql::RECOUNT_SUBTOPIC, params![id.0]).await?;
    }
    Ok(())
}

pub(crate) async fn recount_tag<C: Conn>(conn: &mut C, id: TagId) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE tags SET thread_count = (SELECT COUNT(*) FROM thread_tags tt \
         WHERE tt.tag_id = tags.id AND tt.visible = TRUE) WHERE id = ?1",
        params![id.0],
    )
    .await?;
    Ok(())
}

/// Renumbers `ids` (in their order) 0, 1, 2… after moving `id` one place in `direction`.
async fn reorder<C: Conn>(
    conn: &mut C,
    table: &str,
    mut order: Vec<i64>,
    id: i64,
    direction: Direction,
) -> Result<bool, StoreError> {
    let Some(at) = order.iter().position(|x| *x == id) else {
        return Ok(false);
    };
    let other = match direction {
        Direction::Up if at > 0 => at - 1,
        Direction::Down if at + 1 < order.len() => at + 1,
        _ => return Ok(false),
    };
    order.swap(at, other);
    for (position, id) in order.iter().enumerate() {
        conn.execute(
            &format!("UPDATE {table} SET position = ?2 WHERE id = ?1"),
            params![*id, position as i64],
        )
        .await?;
    }
    Ok(true)
}

async fn next_position<C: Conn>(
    conn: &mut C,
    sql: &str,
    params: &[crate::db::Value],
) -> Result<i64, StoreError> {
    conn.query_one(sql, params).await?.int(0)
}

async fn tag_threads<C: Conn>(conn: &mut C, tag: TagId) -> Result<Vec<ThreadId>, StoreError> {
    Ok(ids(
        conn,
        "SELECT thread_id FROM thread_tags WHERE tag_id = ?1 ORDER BY thread_id",
        tag.0,
    )
    .await?
    .into_iter()
    .map(ThreadId)
    .collect())
}

async fn tag_row<C: Conn>(conn: &mut C, id: TagId) -> Result<TagRow, StoreError> {
    match conn
        .query_opt(
            "SELECT id, slug, name, description, thread_count FROM tags WHERE id = ?1",
            params![id.0],
        )
        .await?
    {
        Some(row) => Ok(TagRow {
            id: TagId(row.int(0)?),
            slug: row.text(1)?,
            name: row.text(2)?,
            description: row.text(3)?,
            thread_count: row.int(4)?,
        }),
        None => Err(conflict("tag", "There is no such tag (any more).")),
    }
}

impl Store {
    /// A subtopic by id (archived ones included).
    pub async fn subtopic_by_id(&self, id: SubtopicId) -> Result<Option<SubtopicRow>, StoreError> {
        read!(self, |conn| {
            let query = format!(
                "SELECT {} FROM subtopics s JOIN areas a ON a.id = s.area_id WHERE s.id = ?1",
                sql::subtopic_columns(conn.dialect())
            );
            let row = conn.query_opt(&query, params![id.0]).await?;
            row.map(|row| queries::read_subtopic(&row)).transpose()
        })
    }

    /// A tag by id.
    pub async fn tag_by_id(&self, id: TagId) -> Result<Option<TagRow>, StoreError> {
        read!(self, |conn| match tag_row(conn, id).await {
            Ok(row) => Ok(Some(row)),
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(err) => Err(err),
        })
    }

    /// Every subtopic's allowed tags (a subtopic with none listed allows any), by slug.
    pub async fn allowed_tags(&self) -> Result<Vec<(SubtopicId, TagBrief)>, StoreError> {
        read!(self, |conn| {
            conn.query(
                "SELECT st.subtopic_id, g.slug, g.name FROM subtopic_tags st \
                 JOIN tags g ON g.id = st.tag_id ORDER BY st.subtopic_id, g.slug",
                &[],
            )
            .await?
            .iter()
            .map(|row| {
                Ok((
                    SubtopicId(row.int(0)?),
                    TagBrief {
                        slug: row.text(1)?,
                        name: row.text(2)?,
                    },
                ))
            })
            .collect()
        })
    }

    /// Where an old address points now: the id a redirect names, if any.
    pub async fn slug_redirect(
        &self,
        kind: RedirectKind,
        old: &str,
    ) -> Result<Option<i64>, StoreError> {
        let old = old.to_string();
        read!(self, |conn| {
            conn.query_opt(
                "SELECT target_id FROM slug_redirects WHERE kind = ?1 AND old_slug = ?2",
                params![kind.as_str(), old.as_str()],
            )
            .await?
            .map(|row| row.int(0))
            .transpose()
        })
    }

    // ---- areas ----

    pub async fn create_area(
        &self,
        input: AreaInput,
        audit: Option<Audit>,
    ) -> Result<AreaId, StoreError> {
        write!(self, |conn| {
            check_area_slug(conn, &input.slug, None).await?;
            let position = next_position(
                conn,
                "SELECT COALESCE(MAX(position), -1) + 1 FROM areas",
                &[],
            )
            .await?;
            let id = conn
                .query_one(
                    sql::INSERT_AREA,
                    params![
                        input.slug.as_str(),
                        input.name.as_str(),
                        input.description.as_str(),
                        position
                    ],
                )
                .await?
                .int(0)?;
            clear_redirect(conn, RedirectKind::Area, &input.slug).await?;
            taxonomy_changed(conn, &audit).await?;
            Ok(AreaId(id))
        })
    }

    /// Edits an area; a new slug leaves the old one (and its subtopics' old addresses)
    /// redirecting here.
    pub async fn edit_area(
        &self,
        id: AreaId,
        input: AreaInput,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            let old = area_slug(conn, id).await?;
            if old != input.slug {
                check_area_slug(conn, &input.slug, Some(id)).await?;
                add_redirect(conn, RedirectKind::Area, &old, id.0).await?;
                clear_redirect(conn, RedirectKind::Area, &input.slug).await?;
                let subs = conn
                    .query(
                        "SELECT id, slug FROM subtopics WHERE area_id = ?1",
                        params![id.0],
                    )
                    .await?;
                for row in subs {
                    let (sub, slug) = (row.int(0)?, row.text(1)?);
                    add_redirect(conn, RedirectKind::Subtopic, &format!("{old}/{slug}"), sub)
                        .await?;
                    clear_redirect(
                        conn,
                        RedirectKind::Subtopic,
                        &format!("{}/{slug}", input.slug),
                    )
                    .await?;
                }
            }
            conn.execute(
                "UPDATE areas SET slug = ?2, name = ?3, description = ?4 WHERE id = ?1",
                params![
                    id.0,
                    input.slug.as_str(),
                    input.name.as_str(),
                    input.description.as_str()
                ],
            )
            .await?;
            taxonomy_changed(conn, &audit).await
        })
    }

    /// Moves an area one place; false when it is already at that end.
    pub async fn move_area(
        &self,
        id: AreaId,
        direction: Direction,
        audit: Option<Audit>,
    ) -> Result<bool, StoreError> {
        write!(self, |conn| {
            let order = conn
                .query("SELECT id FROM areas ORDER BY position, id", &[])
                .await?
                .iter()
                .map(|row| row.int(0))
                .collect::<Result<Vec<_>, _>>()?;
            let moved = reorder(conn, "areas", order, id.0, direction).await?;
            if moved {
                taxonomy_changed(conn, &audit).await?;
            }
            Ok(moved)
        })
    }

    pub async fn set_area_archived(
        &self,
        id: AreaId,
        archived: bool,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        let at = archived.then(|| Timestamp::now().micros());
        write!(self, |conn| {
            area_slug(conn, id).await?;
            conn.execute(
                "UPDATE areas SET archived_at = ?2 WHERE id = ?1",
                params![id.0, at],
            )
            .await?;
            taxonomy_changed(conn, &audit).await
        })
    }

    /// Deletes an area that has no subtopics (else a conflict saying so).
    pub async fn delete_area(&self, id: AreaId, audit: Option<Audit>) -> Result<(), StoreError> {
        write!(self, |conn| {
            area_slug(conn, id).await?;
            let subs = conn
                .query_one(
                    "SELECT COUNT(*) FROM subtopics WHERE area_id = ?1",
                    params![id.0],
                )
                .await?
                .int(0)?;
            if subs > 0 {
                return Err(conflict(
                    "delete",
                    format!(
                        "This area still has {subs} subtopic{}: delete or move them first.",
                        if subs == 1 { "" } else { "s" }
                    ),
                ));
            }
            conn.execute("DELETE FROM areas WHERE id = ?1", params![id.0])
                .await?;
            forget_target(conn, RedirectKind::Area, id.0).await?;
            taxonomy_changed(conn, &audit).await
        })
    }

    // ---- subtopics ----

    pub async fn create_subtopic(
        &self,
        input: SubtopicInput,
        audit: Option<Audit>,
    ) -> Result<SubtopicId, StoreError> {
        write!(self, |conn| {
            let area = area_slug(conn, input.area).await?;
            check_subtopic_slug(conn, input.area, &input.slug, None).await?;
            let position = next_position(
                conn,
                "SELECT COALESCE(MAX(position), -1) + 1 FROM subtopics WHERE area_id = ?1",
                params![input.area.0],
            )
            .await?;
            let id = conn
                .query_one(
                    sql::INSERT_SUBTOPIC,
                    params![
                        input.area.0,
                        input.slug.as_str(),
                        input.name.as_str(),
                        input.description.as_str(),
                        input.docs_url.as_deref(),
                        position
                    ],
                )
                .await?
                .int(0)?;
            clear_redirect(
                conn,
                RedirectKind::Subtopic,
                &format!("{area}/{}", input.slug),
            )
            .await?;
            taxonomy_changed(conn, &audit).await?;
            Ok(SubtopicId(id))
        })
    }

    /// Edits a subtopic (moving it to another area when `input.area` differs); a new address
    /// leaves the old one redirecting here.
    pub async fn edit_subtopic(
        &self,
        id: SubtopicId,
        input: SubtopicInput,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            let Some(row) = conn
                .query_opt(
                    "SELECT a.slug, s.slug, s.area_id FROM subtopics s \
                     JOIN areas a ON a.id = s.area_id WHERE s.id = ?1",
                    params![id.0],
                )
                .await?
            else {
                return Err(conflict(
                    "subtopic",
                    "There is no such subtopic (any more).",
                ));
            };
            let old = format!("{}/{}", row.text(0)?, row.text(1)?);
            let old_area = AreaId(row.int(2)?);
            let new_area = area_slug(conn, input.area).await?;
            let new = format!("{new_area}/{}", input.slug);
            let mut position = None;
            if old != new {
                check_subtopic_slug(conn, input.area, &input.slug, Some(id)).await?;
                add_redirect(conn, RedirectKind::Subtopic, &old, id.0).await?;
                clear_redirect(conn, RedirectKind::Subtopic, &new).await?;
                if old_area != input.area {
                    position = Some(
                        next_position(
                            conn,
                            "SELECT COALESCE(MAX(position), -1) + 1 FROM subtopics WHERE area_id = ?1",
                            params![input.area.0],
                        )
                        .await?,
                    );
                }
            }
            conn.execute(
                "UPDATE subtopics SET area_id = ?2, slug = ?3, name = ?4, description = ?5, \
                 docs_url = ?6, position = COALESCE(?7, position) WHERE id = ?1",
                params![
                    id.0,
                    input.area.0,
                    input.slug.as_str(),
                    input.name.as_str(),
                    input.description.as_str(),
                    input.docs_url.as_deref(),
                    position
                ],
            )
            .await?;
            taxonomy_changed(conn, &audit).await
        })
    }

    /// Moves a subtopic one place within its area; false when already at that end.
    pub async fn move_subtopic(
        &self,
        id: SubtopicId,
        direction: Direction,
        audit: Option<Audit>,
    ) -> Result<bool, StoreError> {
        write!(self, |conn| {
            let order = ids(
                conn,
                "SELECT id FROM subtopics WHERE area_id = \
                 (SELECT area_id FROM subtopics WHERE id = ?1) ORDER BY position, id",
                id.0,
            )
            .await?;
            let moved = reorder(conn, "subtopics", order, id.0, direction).await?;
            if moved {
                taxonomy_changed(conn, &audit).await?;
            }
            Ok(moved)
        })
    }

    pub async fn set_subtopic_archived(
        &self,
        id: SubtopicId,
        archived: bool,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        let at = archived.then(|| Timestamp::now().micros());
        write!(self, |conn| {
            conn.execute(
                "UPDATE subtopics SET archived_at = ?2 WHERE id = ?1",
                params![id.0, at],
            )
            .await?;
            taxonomy_changed(conn, &audit).await
        })
    }

    pub async fn set_subtopic_rules(
        &self,
        id: SubtopicId,
        rules: SubtopicRules,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            conn.execute(
                "UPDATE subtopics SET who_starts = ?2, tags_required = ?3 WHERE id = ?1",
                params![id.0, rules.who_starts.as_str(), rules.tags_required],
            )
            .await?;
            conn.execute(
                "DELETE FROM subtopic_tags WHERE subtopic_id = ?1",
                params![id.0],
            )
            .await?;
            for tag in &rules.allowed_tags {
                conn.execute(
                    "INSERT INTO subtopic_tags (subtopic_id, tag_id) VALUES (?1, ?2)",
                    params![id.0, tag.0],
                )
                .await?;
            }
            taxonomy_changed(conn, &audit).await
        })
    }

    /// Deletes a subtopic that holds no threads (else a conflict: move them first).
    pub async fn delete_subtopic(
        &self,
        id: SubtopicId,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            let threads = conn
                .query_one(
                    "SELECT COUNT(*) FROM threads WHERE subtopic_id = ?1",
                    params![id.0],
                )
                .await?
                .int(0)?;
            if threads > 0 {
                return Err(conflict(
                    "delete",
                    format!(
                        "This subtopic holds {threads} thread{}: move them to another subtopic first.",
                        if threads == 1 { "" } else { "s" }
                    ),
                ));
            }
            conn.execute(
                "DELETE FROM subtopic_tags WHERE subtopic_id = ?1",
                params![id.0],
            )
            .await?;
            conn.execute("DELETE FROM subtopics WHERE id = ?1", params![id.0])
                .await?;
            forget_target(conn, RedirectKind::Subtopic, id.0).await?;
            taxonomy_changed(conn, &audit).await
        })
    }

    /// Moves every thread of `from` to `to` in one transaction; returns how many moved.
    /// Both subtopics' counters are recomputed; each thread gets a `ThreadMoved` entry.
    pub async fn move_subtopic_threads(
        &self,
        from: SubtopicId,
        to: SubtopicId,
        audit: Option<Audit>,
    ) -> Result<u64, StoreError> {
        write!(self, |conn| {
            let exists = conn
                .query_opt("SELECT 1 FROM subtopics WHERE id = ?1", params![to.0])
                .await?;
            if exists.is_none() {
                return Err(conflict("move_to", "There is no such subtopic (any more)."));
            }
            let threads: Vec<ThreadId> = ids(
                conn,
                "SELECT id FROM threads WHERE subtopic_id = ?1 ORDER BY id",
                from.0,
            )
            .await?
            .into_iter()
            .map(ThreadId)
            .collect();
            conn.execute(
                "UPDATE threads SET subtopic_id = ?2 WHERE subtopic_id = ?1",
                params![from.0, to.0],
            )
            .await?;
            recount_subtopics(conn, &[from, to]).await?;
            if let Some(audit) = &audit {
                forum::record_audit(conn, audit).await?;
            }
            thread_changed(conn, ChangeKind::ThreadMoved, &audit, &threads).await?;
            queries::append_change(conn, ChangeKind::TaxonomyChanged, actor(&audit), None, None)
                .await?;
            Ok(threads.len() as u64)
        })
    }

    // ---- tags ----

    pub async fn create_tag(
        &self,
        input: TagInput,
        audit: Option<Audit>,
    ) -> Result<TagId, StoreError> {
        write!(self, |conn| {
            let id = insert_tag(conn, &input).await?;
            taxonomy_changed(conn, &audit).await?;
            Ok(id)
        })
    }

    /// Renames or describes a tag. A new slug leaves the old one redirecting here; a new slug
    /// or name changes what every thread carrying the tag holds in the search index.
    pub async fn edit_tag(
        &self,
        id: TagId,
        input: TagInput,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            let old = tag_row(conn, id).await?;
            if old.slug != input.slug {
                check_tag_slug(conn, &input.slug, Some(id)).await?;
                add_redirect(conn, RedirectKind::Tag, &old.slug, id.0).await?;
                clear_redirect(conn, RedirectKind::Tag, &input.slug).await?;
            }
            conn.execute(
                "UPDATE tags SET slug = ?2, name = ?3, description = ?4 WHERE id = ?1",
                params![
                    id.0,
                    input.slug.as_str(),
                    input.name.as_str(),
                    input.description.as_str()
                ],
            )
            .await?;
            taxonomy_changed(conn, &audit).await?;
            if old.slug != input.slug || old.name != input.name {
                let threads = tag_threads(conn, id).await?;
                thread_changed(conn, ChangeKind::ThreadRewritten, &audit, &threads).await?;
            }
            Ok(())
        })
    }

    /// Merges `from` into `into`: its threads carry `into` instead (once), subtopics that
    /// allowed it allow `into`, its address redirects to `into`, and `from` is gone.
    pub async fn merge_tag(
        &self,
        from: TagId,
        into: TagId,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            if from == into {
                return Err(conflict("into", "A tag cannot be merged into itself."));
            }
            let old = tag_row(conn, from).await?;
            tag_row(conn, into).await?;
            let threads = tag_threads(conn, from).await?;
            conn.execute(
                "INSERT INTO thread_tags (thread_id, tag_id, last_activity_at, visible, created_at) \
                 SELECT f.thread_id, ?2, f.last_activity_at, f.visible, f.created_at FROM thread_tags f \
                 WHERE f.tag_id = ?1 AND NOT EXISTS (SELECT 1 FROM thread_tags i \
                   WHERE i.thread_id = f.thread_id AND i.tag_id = ?2)",
                params![from.0, into.0],
            )
            .await?;
            conn.execute("DELETE FROM thread_tags WHERE tag_id = ?1", params![from.0])
                .await?;
            conn.execute(
                "INSERT INTO subtopic_tags (subtopic_id, tag_id) \
                 SELECT f.subtopic_id, ?2 FROM subtopic_tags f WHERE f.tag_id = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM subtopic_tags i \
                   WHERE i.subtopic_id = f.subtopic_id AND i.tag_id = ?2)",
                params![from.0, into.0],
            )
            .await?;
            conn.execute(
                "DELETE FROM subtopic_tags WHERE tag_id = ?1",
                params![from.0],
            )
            .await?;
            conn.execute(
                "UPDATE slug_redirects SET target_id = ?2 WHERE kind = 'tag' AND target_id = ?1",
                params![from.0, into.0],
            )
            .await?;
            conn.execute(
                "DELETE FROM demo_content WHERE kind = 'tag' AND id = ?1",
                params![from.0],
            )
            .await?;
            conn.execute("DELETE FROM tags WHERE id = ?1", params![from.0])
                .await?;
            add_redirect(conn, RedirectKind::Tag, &old.slug, into.0).await?;
            recount_tag(conn, into).await?;
            taxonomy_changed(conn, &audit).await?;
            thread_changed(conn, ChangeKind::ThreadRewritten, &audit, &threads).await
        })
    }

    /// Deletes a tag, taking it off every thread that carries it.
    pub async fn delete_tag(&self, id: TagId, audit: Option<Audit>) -> Result<u64, StoreError> {
        write!(self, |conn| {
            tag_row(conn, id).await?;
            let threads = tag_threads(conn, id).await?;
            conn.execute("DELETE FROM thread_tags WHERE tag_id = ?1", params![id.0])
                .await?;
            conn.execute("DELETE FROM subtopic_tags WHERE tag_id = ?1", params![id.0])
                .await?;
            forget_target(conn, RedirectKind::Tag, id.0).await?;
            conn.execute("DELETE FROM tags WHERE id = ?1", params![id.0])
                .await?;
            taxonomy_changed(conn, &audit).await?;
            thread_changed(conn, ChangeKind::ThreadRewritten, &audit, &threads).await?;
            Ok(threads.len() as u64)
        })
    }

    /// Starts a thread that uses tags created for it while composing: the tags and the thread
    /// in one transaction (the tags audited as `tag.create` by the author, when `audit`).
    pub async fn create_thread_with_tags(
        &self,
        mut new: NewThread,
        new_tags: Vec<TagInput>,
        audit: Option<Audit>,
    ) -> Result<(ThreadId, PostId), StoreError> {
        write!(self, |conn| {
            if !new_tags.is_empty() {
                for tag in &new_tags {
                    new.tags.push(insert_tag(conn, tag).await?);
                }
                new.tags.sort();
                taxonomy_changed(conn, &audit).await?;
            }
            forum::create_thread(conn, &new).await
        })
    }
}
