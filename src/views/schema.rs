//! OpenAPI schemas for the values the views and the listing parameters share: each store enum
//! as the list of its spellings, taken from the enum itself, so a new variant is documented as
//! soon as it exists.

use agora_store::{
    ListingFilter, PinScope, ProfileTab, Role, SortKey, SortOrder, ThreadKind, TokenScope,
};
use serde_json::Value;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

fn words<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Value> {
    values.into_iter().map(Value::from).collect()
}

/// The control characters no text field may hold (`accounts::forbidden_char`): all but tab,
/// line feed and carriage return, as the inside of a regex character class.
pub const FORBIDDEN: &str = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f";

/// A string that is one of `values`.
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(words(values)))
}

/// A string that is one of `values`, or null.
pub fn one_of_or_null<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    let mut values = words(values);
    values.push(Value::Null);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
}

pub fn role() -> Object {
    one_of(Role::ALL.iter().map(|s| s.as_str())).build()
}

pub fn thread_kind() -> Object {
    one_of(ThreadKind::ALL.iter().map(|s| s.as_str())).build()
}

pub fn pinned() -> Object {
    one_of_or_null(PinScope::ALL.iter().map(|s| s.as_str())).build()
}

pub fn sort_by() -> Object {
    one_of(SortKey::ALL.iter().map(|s| s.as_str())).build()
}

pub fn sort_order() -> Object {
    one_of(SortOrder::ALL.iter().map(|s| s.as_str())).build()
}

pub fn filter() -> Object {
    one_of(ListingFilter::ALL.iter().map(|s| s.as_str())).build()
}

pub fn profile_tab() -> Object {
    one_of(ProfileTab::ALL.iter().map(|s| s.as_str())).build()
}

/// The kinds of [`super::ProfileItemView`]: an opening post or a reply.
pub fn profile_item_kind() -> Object {
    one_of(["thread", "reply"]).build()
}

/// `tab` as a query parameter of a profile.
pub fn profile_tab_param() -> Object {
    one_of(ProfileTab::ALL.iter().map(|s| s.as_str()))
        .description(Some(
            "What of theirs to list, newest first: everything (activity), threads started, \
             replies, accepted answers, boosts given or boosts received.",
        ))
        .default(Some(ProfileTab::Activity.as_str().into()))
        .build()
}

pub fn token_scope() -> Object {
    one_of_or_null(TokenScope::ALL.iter().map(|s| s.as_str())).build()
}

/// The kinds of [`super::DiffLineView`].
pub fn diff_line_kind() -> Object {
    one_of(super::DIFF_LINE_KINDS).build()
}

/// `sortBy` as a query parameter (its default is left out of links).
pub fn sort_by_param() -> Object {
    one_of(SortKey::ALL.iter().map(|s| s.as_str()))
        .description(Some(
            "The order: latest activity, newest, boosts, views or replies.",
        ))
        .default(Some(SortKey::Activity.as_str().into()))
        .build()
}

pub fn sort_order_param() -> Object {
    one_of(SortOrder::ALL.iter().map(|s| s.as_str()))
        .description(Some("Descending or ascending."))
        .default(Some(SortOrder::Desc.as_str().into()))
        .build()
}

pub fn filter_param() -> Object {
    one_of(ListingFilter::ALL.iter().map(|s| s.as_str()))
        .description(Some(
            "Every thread, or only unanswered (no replies, neither pinned nor locked), solved or staff-answered ones.",
        ))
        .default(Some(ListingFilter::All.as_str().into()))
        .build()
}

/// What a watch is on.
pub fn watch_target() -> Object {
    one_of(["thread", "subtopic", "tag"]).build()
}

/// How closely to watch.
pub fn watch_level() -> Object {
    one_of(agora_store::WatchLevel::ALL.iter().map(|l| l.as_str())).build()
}
