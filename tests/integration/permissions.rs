//! Who may do what: every write action in `docs/write-routes.md`, tried by every kind of actor
//! (anonymous, member, author, moderator, staff, admin, a suspended author) through both the
//! HTML form and the JSON API, checked against the permission table. Refused actions must
//! change nothing; allowed ones must change something.

use agora_store::{Audit, Cursor, PostId, Role, ThreadId, UserId};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::util::{Person, TestApp, TestResponse, both};

const SUBTOPIC: &str = "app-system-services/networking";
const OTHER_SUBTOPIC: &str = "app-system-services/storage";
/// A suspension end far in the future.
const UNTIL: &str = "2099-01-01";
const SUSPEND_REASON: &str = "Cooling off after the permission matrix";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Anonymous,
    Member,
    Author,
    Moderator,
    Staff,
    Admin,
    /// An author (member role) who is suspended.
    Suspended,
}

const ACTORS: [Actor; 7] = [
    Actor::Anonymous,
    Actor::Member,
    Actor::Author,
    Actor::Moderator,
    Actor::Staff,
    Actor::Admin,
    Actor::Suspended,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Html,
    Api,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    StartThread,
    ReplyOpen,
    ReplyLocked,
    /// The opening post of the author's own thread.
    EditOwnPost,
    /// The author's own opening post, in a thread a moderator locked.
    EditInLockedThread,
    /// The author's own reply in somebody else's thread.
    DeleteOwnReply,
    /// The author's opening post, nobody else has replied.
    DeleteOpeningAlone,
    /// The author's opening post after somebody else replied.
    DeleteOpeningReplied,
    /// The author's opening post.
    Boost,
    /// The author's opening post.
    Flag,
    /// A reply (by someone else) in the author's question.
    Accept,
    Recommend,
    Lock,
    Pin,
    Move,
    Retitle,
    /// A reply by someone else.
    Hide,
    SuspendMember,
    SuspendModerator,
    SuspendStaff,
    SuspendAdmin,
    ReviewFlags,
    ResolveFlag,
    AuditLog,
    /// `/admin/structure` (the API: `GET /admin/areas`).
    StructurePage,
    CreateArea,
    CreateTag,
    /// The staff member directory (`/admin/users`).
    MemberDirectory,
    /// On the member target: send a password reset.
    ResetMember,
    /// On the member target: sign them out everywhere.
    EndMemberSessions,
    /// On the member target: set the role (to member again) and staff title.
    SetMemberRole,
    /// Invite an address as a member.
    InviteMember,
}

const Y: bool = true;
const N: bool = false;

/// The table in `docs/write-routes.md`, column by column: anonymous, member, author, moderator,
/// staff, admin. A suspended user may do none of it.
const MATRIX: [(Action, [bool; 6]); 32] = [
    (Action::StartThread, [N, Y, Y, Y, Y, Y]),
    (Action::ReplyOpen, [N, Y, Y, Y, Y, Y]),
    (Action::ReplyLocked, [N, N, N, Y, Y, Y]),
    (Action::EditOwnPost, [N, N, Y, Y, Y, Y]),
    (Action::EditInLockedThread, [N, N, N, Y, Y, Y]),
    (Action::DeleteOwnReply, [N, N, Y, Y, Y, Y]),
    (Action::DeleteOpeningAlone, [N, N, Y, Y, Y, Y]),
    (Action::DeleteOpeningReplied, [N, N, N, Y, Y, Y]),
    (Action::Boost, [N, Y, N, Y, Y, Y]),
    (Action::Flag, [N, Y, N, Y, Y, Y]),
    (Action::Accept, [N, N, Y, N, Y, Y]),
    (Action::Recommend, [N, N, N, N, Y, Y]),
    (Action::Lock, [N, N, N, Y, Y, Y]),
    (Action::Pin, [N, N, N, Y, Y, Y]),
    (Action::Move, [N, N, N, Y, Y, Y]),
    (Action::Retitle, [N, N, N, Y, Y, Y]),
    (Action::Hide, [N, N, N, Y, Y, Y]),
    (Action::SuspendMember, [N, N, N, Y, Y, Y]),
    (Action::SuspendModerator, [N, N, N, N, Y, Y]),
    // Staff suspend members and moderators; only an admin suspends staff.
    (Action::SuspendStaff, [N, N, N, N, N, Y]),
    (Action::SuspendAdmin, [N, N, N, N, N, Y]),
    (Action::ReviewFlags, [N, N, N, Y, Y, Y]),
    (Action::ResolveFlag, [N, N, N, Y, Y, Y]),
    (Action::AuditLog, [N, N, N, N, Y, Y]),
    (Action::StructurePage, [N, N, N, N, N, Y]),
    (Action::CreateArea, [N, N, N, N, N, Y]),
    (Action::CreateTag, [N, N, N, N, N, Y]),
    (Action::MemberDirectory, [N, N, N, Y, Y, Y]),
    (Action::ResetMember, [N, N, N, Y, Y, Y]),
    (Action::EndMemberSessions, [N, N, N, Y, Y, Y]),
    (Action::SetMemberRole, [N, N, N, N, N, Y]),
    (Action::InviteMember, [N, N, N, Y, Y, Y]),
];

impl Action {
    fn row(self) -> [bool; 6] {
        MATRIX
            .iter()
            .find(|(a, _)| *a == self)
            .map(|(_, row)| *row)
            .unwrap_or_else(|| panic!("{self:?} is not in the matrix"))
    }

    fn allows(self, actor: Actor) -> bool {
        let row = self.row();
        match actor {
            Actor::Anonymous => row[0],
            Actor::Member => row[1],
            Actor::Author => row[2],
            Actor::Moderator => row[3],
            Actor::Staff => row[4],
            Actor::Admin => row[5],
            Actor::Suspended => false,
        }
    }

    /// Reading pages (the review queue, the audit log): a GET, not a write.
    fn is_read(self) -> bool {
        matches!(
            self,
            Action::ReviewFlags
                | Action::AuditLog
                | Action::StructurePage
                | Action::MemberDirectory
        )
    }

    /// Under `/api/v1/admin`: an admin-scoped token is needed before any permission check.
    fn is_admin(self) -> bool {
        matches!(
            self,
            Action::StructurePage
                | Action::CreateArea
                | Action::CreateTag
                | Action::MemberDirectory
                | Action::ResetMember
                | Action::EndMemberSessions
                | Action::SetMemberRole
                | Action::InviteMember
        )
    }

    fn creates(self) -> bool {
        matches!(
            self,
            Action::StartThread
                | Action::ReplyOpen
                | Action::ReplyLocked
                | Action::Flag
                | Action::CreateArea
                | Action::CreateTag
                | Action::InviteMember
        )
    }
}

/// Everyone taking part, signed up once per test.
struct Cast {
    member: Person,
    author: Person,
    moderator: Person,
    staff: Person,
    admin: Person,
    suspended: Person,
    /// Suspension targets, one per role.
    target_member: Person,
    target_moderator: Person,
    target_staff: Person,
    target_admin: Person,
    member_token: String,
    author_token: String,
    moderator_token: String,
    staff_token: String,
    admin_token: String,
    suspended_token: String,
    /// Replies in the fixtures' threads (so "member" is a third party).
    replier_token: String,
    /// Admin-scoped tokens (only moderators and up may make one).
    moderator_admin_token: String,
    staff_admin_token: String,
    admin_admin_token: String,
}

impl Cast {
    async fn sign_up(app: &TestApp) -> Self {
        let member = app.person("mia_member", Role::Member).await;
        let author = app.person("ava_author", Role::Member).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        let staff = app.person("sam_staff", Role::Staff).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let suspended = app.person("sue_suspended", Role::Member).await;
        let replier = app.person("rey_replier", Role::Member).await;
        let target_member = app.person("tim_target", Role::Member).await;
        let target_moderator = app.person("tom_target", Role::Moderator).await;
        let target_staff = app.person("tess_target", Role::Staff).await;
        let target_admin = app.person("tia_target", Role::Admin).await;
        Self {
            member_token: app.api_token(&member, "write").await,
            author_token: app.api_token(&author, "write").await,
            moderator_token: app.api_token(&moderator, "write").await,
            staff_token: app.api_token(&staff, "write").await,
            admin_token: app.api_token(&admin, "write").await,
            suspended_token: app.api_token(&suspended, "write").await,
            replier_token: app.api_token(&replier, "write").await,
            moderator_admin_token: app.api_token(&moderator, "admin").await,
            staff_admin_token: app.api_token(&staff, "admin").await,
            admin_admin_token: app.api_token(&admin, "admin").await,
            member,
            author,
            moderator,
            staff,
            admin,
            suspended,
            target_member,
            target_moderator,
            target_staff,
            target_admin,
        }
    }

    /// The actor's cookie and write token (None for anonymous).
    fn credentials(&self, actor: Actor) -> Option<(&Person, &str)> {
        match actor {
            Actor::Anonymous => None,
            Actor::Member => Some((&self.member, &self.member_token)),
            Actor::Author => Some((&self.author, &self.author_token)),
            Actor::Moderator => Some((&self.moderator, &self.moderator_token)),
            Actor::Staff => Some((&self.staff, &self.staff_token)),
            Actor::Admin => Some((&self.admin, &self.admin_token)),
            Actor::Suspended => Some((&self.suspended, &self.suspended_token)),
        }
    }

    /// The actor's cookie and the token `action` takes: admin-scoped for the admin API where
    /// the actor can have one, else the write token.
    fn credentials_for(&self, action: Action, actor: Actor) -> Option<(&Person, &str)> {
        let (person, token) = self.credentials(actor)?;
        if !action.is_admin() {
            return Some((person, token));
        }
        Some(match actor {
            Actor::Moderator => (person, self.moderator_admin_token.as_str()),
            Actor::Staff => (person, self.staff_admin_token.as_str()),
            Actor::Admin => (person, self.admin_admin_token.as_str()),
            _ => (person, token),
        })
    }

    fn target(&self, action: Action) -> Option<&Person> {
        match action {
            Action::SuspendMember
            | Action::ResetMember
            | Action::EndMemberSessions
            | Action::SetMemberRole => Some(&self.target_member),
            Action::SuspendModerator => Some(&self.target_moderator),
            Action::SuspendStaff => Some(&self.target_staff),
            Action::SuspendAdmin => Some(&self.target_admin),
            _ => None,
        }
    }

    fn targets(&self) -> [&Person; 4] {
        [
            &self.target_member,
            &self.target_moderator,
            &self.target_staff,
            &self.target_admin,
        ]
    }
}

async fn user_id(app: &TestApp, person: &Person) -> UserId {
    app.store()
        .account_by_name(&person.username)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no account {}", person.username))
        .brief
        .id
}

/// The state one test case works on (zero where it has none).
#[derive(Clone, Debug, Default)]
struct Fixture {
    thread: i64,
    title: String,
    opening: i64,
    reply: i64,
    flag: i64,
}

/// Starts a question through the API; returns (thread id, opening post id).
async fn api_thread(app: &TestApp, token: &str, title: &str) -> (i64, i64) {
    let body =
        format!("{title}: the body says what was tried, what happened, and what was expected.");
    let response = app
        .api(
            "POST",
            "/api/v1/threads",
            Some(token),
            Some(json!({
                "subtopic": SUBTOPIC,
                "title": title,
                "tags": ["network"],
                "kind": "question",
                "body": body,
            })),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "fixture: start thread {title:?}: {}",
        response.text()
    );
    let json = response.json();
    let thread = thread_id_of(&json).unwrap_or_else(|| panic!("fixture: no thread id in {json}"));
    let post = json["post_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("fixture: no post_id in {json}"));
    (thread, post)
}

/// The new thread's id from `POST /api/v1/threads`: `thread.id` by the contract; a flat
/// `thread_id` is accepted here so fixtures can be built (the matrix reports the shape).
fn thread_id_of(json: &Value) -> Option<i64> {
    json["thread"]["id"]
        .as_i64()
        .or_else(|| json["thread_id"].as_i64())
}

/// Replies through the API; returns the post id.
async fn api_reply(app: &TestApp, token: &str, thread: i64, body: &str) -> i64 {
    let response = app
        .api(
            "POST",
            &format!("/api/v1/threads/{thread}/posts"),
            Some(token),
            Some(json!({ "body": body })),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "fixture: reply to {thread}: {}",
        response.text()
    );
    let json = response.json();
    json["post_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("fixture: no post_id in {json}"))
}

fn audit(actor: UserId, action: &'static str, thread: Option<ThreadId>) -> Audit {
    Audit {
        actor,
        action,
        thread,
        post: None,
        target_user: None,
        details: "test fixture".to_string(),
    }
}

/// Builds the fixture for one case. `owner_token` writes the thread (or, for
/// `DeleteOwnReply`, the reply) the actor acts on.
async fn fixture(
    app: &TestApp,
    cast: &Cast,
    action: Action,
    owner_token: &str,
    n: usize,
) -> Fixture {
    let title = format!("Permission case {n}: URLSession stalls on {action:?}");
    let reply_body = format!("Case {n}: have you tried logging the task metrics first?");
    match action {
        Action::StartThread
        | Action::ReviewFlags
        | Action::AuditLog
        | Action::StructurePage
        | Action::CreateArea
        | Action::CreateTag
        | Action::MemberDirectory
        | Action::ResetMember
        | Action::EndMemberSessions
        | Action::SetMemberRole
        | Action::InviteMember
        | Action::SuspendMember
        | Action::SuspendModerator
        | Action::SuspendStaff
        | Action::SuspendAdmin => Fixture::default(),
        Action::DeleteOpeningAlone => {
            let (thread, opening) = api_thread(app, owner_token, &title).await;
            Fixture {
                thread,
                title,
                opening,
                ..Fixture::default()
            }
        }
        Action::DeleteOwnReply => {
            let (thread, opening) = api_thread(app, &cast.replier_token, &title).await;
            let reply = api_reply(app, owner_token, thread, &reply_body).await;
            Fixture {
                thread,
                title,
                opening,
                reply,
                flag: 0,
            }
        }
        _ => {
            let (thread, opening) = api_thread(app, owner_token, &title).await;
            let reply = api_reply(app, &cast.replier_token, thread, &reply_body).await;
            let mut fixture = Fixture {
                thread,
                title,
                opening,
                reply,
                flag: 0,
            };
            if matches!(action, Action::ReplyLocked | Action::EditInLockedThread) {
                let admin = user_id(app, &cast.admin).await;
                app.store()
                    .lock_thread(
                        ThreadId(thread),
                        Some((admin, "Locked for the test".to_string())),
                        audit(admin, "lock", Some(ThreadId(thread))),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("fixture: lock: {e}"));
            }
            if action == Action::ResolveFlag {
                let member = user_id(app, &cast.member).await;
                let facts = app
                    .store()
                    .post_facts(PostId(reply))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|| panic!("fixture: no post {reply}"));
                app.store()
                    .flag_post(facts, member, "Looks like spam".to_string())
                    .await
                    .unwrap_or_else(|e| panic!("fixture: flag: {e}"));
                fixture.flag = app
                    .store()
                    .open_flags(Cursor::Start, 100_000)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .map(|page| page.rows)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|f| f.post == PostId(reply))
                    .map(|f| f.id)
                    .unwrap_or_else(|| panic!("fixture: the flag on {reply} is not open"));
            }
            fixture
        }
    }
}

/// One request: its method, path, and form fields (HTML) or JSON body (API).
struct Call {
    method: &'static str,
    path: String,
    form: Vec<(&'static str, String)>,
    json: Option<Value>,
}

fn html(method: &'static str, path: String, form: &[(&'static str, &str)]) -> Call {
    Call {
        method,
        path,
        form: form.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        json: None,
    }
}

fn api(method: &'static str, path: String, json: Option<Value>) -> Call {
    Call {
        method,
        path: format!("/api/v1{path}"),
        form: Vec::new(),
        json,
    }
}

fn call(action: Action, via: Via, fx: &Fixture, target: Option<&Person>, n: usize) -> Call {
    let (t, opening, reply, flag) = (fx.thread, fx.opening, fx.reply, fx.flag);
    let new_title = format!("Permission case {n}: a new thread about sockets");
    let new_body = format!("Case {n}: a new body, long enough to say something useful.");
    let retitle = format!("Permission case {n}: retitled by a moderator");
    let target = target.map(|p| p.username.as_str()).unwrap_or_default();
    match (via, action) {
        (Via::Html, Action::StartThread) => html(
            "POST",
            "/new".into(),
            &[
                ("subtopic", SUBTOPIC),
                ("title", &new_title),
                ("tags", "network"),
                ("kind", "question"),
                ("body", &new_body),
            ],
        ),
        (Via::Api, Action::StartThread) => api(
            "POST",
            "/threads".into(),
            Some(json!({
                "subtopic": SUBTOPIC,
                "title": new_title,
                "tags": ["network"],
                "kind": "question",
                "body": new_body,
            })),
        ),
        (Via::Html, Action::ReplyOpen | Action::ReplyLocked) => {
            html("POST", format!("/thread/{t}/reply"), &[("body", &new_body)])
        }
        (Via::Api, Action::ReplyOpen | Action::ReplyLocked) => api(
            "POST",
            format!("/threads/{t}/posts"),
            Some(json!({ "body": new_body })),
        ),
        (Via::Html, Action::EditOwnPost | Action::EditInLockedThread) => html(
            "POST",
            format!("/posts/{opening}/edit"),
            &[
                ("body", &new_body),
                ("reason", "Clarified"),
                ("title", &fx.title),
                ("tags", "network"),
            ],
        ),
        (Via::Api, Action::EditOwnPost | Action::EditInLockedThread) => api(
            "PATCH",
            format!("/posts/{opening}"),
            Some(json!({ "body": new_body, "reason": "Clarified" })),
        ),
        (Via::Html, Action::DeleteOwnReply) => html(
            "POST",
            format!("/posts/{reply}/delete"),
            &[("confirm", "yes")],
        ),
        (Via::Api, Action::DeleteOwnReply) => api("DELETE", format!("/posts/{reply}"), None),
        (Via::Html, Action::DeleteOpeningAlone | Action::DeleteOpeningReplied) => html(
            "POST",
            format!("/posts/{opening}/delete"),
            &[("confirm", "yes")],
        ),
        (Via::Api, Action::DeleteOpeningAlone | Action::DeleteOpeningReplied) => {
            api("DELETE", format!("/posts/{opening}"), None)
        }
        (Via::Html, Action::Boost) => html("POST", format!("/posts/{opening}/boost"), &[]),
        (Via::Api, Action::Boost) => api("POST", format!("/posts/{opening}/boost"), None),
        (Via::Html, Action::Flag) => html(
            "POST",
            format!("/posts/{opening}/flag"),
            &[("reason", "Off topic")],
        ),
        (Via::Api, Action::Flag) => api(
            "POST",
            format!("/posts/{opening}/flags"),
            Some(json!({ "reason": "Off topic" })),
        ),
        (Via::Html, Action::Accept) => html("POST", format!("/posts/{reply}/accept"), &[]),
        (Via::Api, Action::Accept) => api(
            "PUT",
            format!("/threads/{t}/accepted"),
            Some(json!({ "post_id": reply })),
        ),
        (Via::Html, Action::Recommend) => html("POST", format!("/posts/{reply}/recommend"), &[]),
        (Via::Api, Action::Recommend) => api(
            "PUT",
            format!("/threads/{t}/recommended"),
            Some(json!({ "post_id": reply })),
        ),
        (Via::Html, Action::Lock) => html(
            "POST",
            format!("/thread/{t}/lock"),
            &[("reason", "Resolved")],
        ),
        (Via::Api, Action::Lock) => api(
            "POST",
            format!("/threads/{t}/lock"),
            Some(json!({ "reason": "Resolved" })),
        ),
        (Via::Html, Action::Pin) => {
            html("POST", format!("/thread/{t}/pin"), &[("scope", "subtopic")])
        }
        (Via::Api, Action::Pin) => api(
            "PUT",
            format!("/threads/{t}/pin"),
            Some(json!({ "scope": "subtopic" })),
        ),
        (Via::Html, Action::Move) => html(
            "POST",
            format!("/thread/{t}/move"),
            &[("subtopic", OTHER_SUBTOPIC)],
        ),
        (Via::Api, Action::Move) => api(
            "POST",
            format!("/threads/{t}/move"),
            Some(json!({ "subtopic": OTHER_SUBTOPIC })),
        ),
        (Via::Html, Action::Retitle) => html(
            "POST",
            format!("/thread/{t}/retitle"),
            &[("title", &retitle), ("tags", "network quic")],
        ),
        (Via::Api, Action::Retitle) => api(
            "PATCH",
            format!("/threads/{t}"),
            Some(json!({ "title": retitle, "tags": ["network", "quic"] })),
        ),
        (Via::Html, Action::Hide) => html(
            "POST",
            format!("/posts/{reply}/hide"),
            &[("reason", "Personal attack")],
        ),
        (Via::Api, Action::Hide) => api(
            "POST",
            format!("/posts/{reply}/hidden"),
            Some(json!({ "reason": "Personal attack" })),
        ),
        (
            Via::Html,
            Action::SuspendMember
            | Action::SuspendModerator
            | Action::SuspendStaff
            | Action::SuspendAdmin,
        ) => html(
            "POST",
            format!("/users/{target}/suspend"),
            &[("until", UNTIL), ("reason", "Repeated spam")],
        ),
        (
            Via::Api,
            Action::SuspendMember
            | Action::SuspendModerator
            | Action::SuspendStaff
            | Action::SuspendAdmin,
        ) => api(
            "PUT",
            format!("/users/{target}/suspension"),
            Some(json!({ "until": UNTIL, "reason": "Repeated spam" })),
        ),
        (Via::Html, Action::ReviewFlags) => html("GET", "/review".into(), &[]),
        (Via::Api, Action::ReviewFlags) => api("GET", "/flags".into(), None),
        (Via::Html, Action::ResolveFlag) => html(
            "POST",
            format!("/review/{flag}/resolve"),
            &[("resolution", "dismiss")],
        ),
        (Via::Api, Action::ResolveFlag) => api(
            "POST",
            format!("/flags/{flag}/resolve"),
            Some(json!({ "resolution": "dismiss" })),
        ),
        (Via::Html, Action::AuditLog) => html("GET", "/audit".into(), &[]),
        (Via::Api, Action::AuditLog) => api("GET", "/audit".into(), None),
        (Via::Html, Action::StructurePage) => html("GET", "/admin/structure".into(), &[]),
        (Via::Api, Action::StructurePage) => api("GET", "/admin/areas".into(), None),
        (Via::Html, Action::CreateArea) => html(
            "POST",
            "/admin/structure/areas".into(),
            &[
                ("slug", &format!("case-{n}")),
                ("name", &format!("Case {n}")),
            ],
        ),
        (Via::Api, Action::CreateArea) => api(
            "POST",
            "/admin/areas".into(),
            Some(json!({ "slug": format!("case-{n}"), "name": format!("Case {n}") })),
        ),
        (Via::Html, Action::CreateTag) => html(
            "POST",
            "/admin/tags".into(),
            &[("slug", &format!("case-{n}"))],
        ),
        (Via::Api, Action::CreateTag) => api(
            "POST",
            "/admin/tags".into(),
            Some(json!({ "slug": format!("case-{n}") })),
        ),
        (Via::Html, Action::MemberDirectory) => html("GET", "/admin/users".into(), &[]),
        (Via::Api, Action::MemberDirectory) => api("GET", "/admin/users".into(), None),
        (Via::Html, Action::ResetMember) => {
            html("POST", format!("/admin/users/{target}/reset"), &[])
        }
        (Via::Api, Action::ResetMember) => {
            api("POST", format!("/admin/users/{target}/reset"), None)
        }
        (Via::Html, Action::EndMemberSessions) => {
            html("POST", format!("/admin/users/{target}/end-sessions"), &[])
        }
        (Via::Api, Action::EndMemberSessions) => {
            api("DELETE", format!("/admin/users/{target}/sessions"), None)
        }
        (Via::Html, Action::SetMemberRole) => html(
            "POST",
            format!("/admin/users/{target}/role"),
            &[("role", "member"), ("staff_title", "")],
        ),
        (Via::Api, Action::SetMemberRole) => api(
            "PUT",
            format!("/admin/users/{target}/role"),
            Some(json!({ "role": "member" })),
        ),
        (Via::Html, Action::InviteMember) => html(
            "POST",
            "/admin/invitations".into(),
            &[
                ("email", &format!("case{n}@example.test")),
                ("role", "member"),
            ],
        ),
        (Via::Api, Action::InviteMember) => api(
            "POST",
            "/admin/invitations".into(),
            Some(json!({ "email": format!("case{n}@example.test"), "role": "member" })),
        ),
    }
}

async fn send(app: &TestApp, via: Via, call: &Call, who: Option<(&Person, &str)>) -> TestResponse {
    match via {
        Via::Html if call.method == "GET" => match who {
            Some((person, _)) => app.get_as(&call.path, person).await,
            None => app.get(&call.path).await,
        },
        Via::Html => {
            let fields: Vec<(&str, &str)> =
                call.form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(&call.path, who.map(|(p, _)| p.cookie.as_str()), &fields)
                .await
        }
        Via::Api => {
            app.api(
                call.method,
                &call.path,
                who.map(|(_, token)| token),
                call.json.clone(),
            )
            .await
        }
    }
}

/// Everything a write could touch, as one comparable string: the change-log head (every
/// content write appends to it), open flags, the audit log's newest entry, and the suspension
/// targets' accounts.
async fn fingerprint(app: &TestApp, cast: &Cast) -> String {
    let store = app.store();
    let head = store.change_head().await.unwrap_or_else(|e| panic!("{e}"));
    let flags = store
        .open_flag_count()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let audit = store
        .audit_log(Cursor::Start, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .rows
        .first()
        .map_or(0, |newest| newest.id);
    let mut suspensions = Vec::new();
    for person in cast.targets() {
        let account = store
            .account_by_name(&person.username)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no account {}", person.username));
        suspensions.push(format!(
            "{}:{:?}:{:?}",
            person.username, account.suspended_until, account.brief.role
        ));
    }
    format!("head {head}, open flags {flags}, newest audit entry {audit}, {suspensions:?}")
}

fn snippet(response: &TestResponse) -> String {
    let text = response.text();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.len() > 300 {
        let mut end = 300;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    } else {
        text
    }
}

fn api_code(response: &TestResponse) -> Option<String> {
    serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
}

/// Why the response does not match the expectation, or None when it does.
fn judge(action: Action, actor: Actor, via: Via, response: &TestResponse) -> Option<String> {
    let status = response.status;
    if action.allows(actor) {
        let want = match (via, action.is_read(), action.creates()) {
            (Via::Html, true, _) => StatusCode::OK,
            (Via::Html, false, _) => StatusCode::SEE_OTHER,
            (Via::Api, _, true) => StatusCode::CREATED,
            (Via::Api, _, false) => StatusCode::OK,
        };
        return (status != want).then(|| format!("expected allowed ({want}), got {status}"));
    }
    match actor {
        // Members cannot make an admin-scoped token: their write token is refused as such.
        Actor::Member | Actor::Author | Actor::Suspended
            if via == Via::Api && action.is_admin() =>
        {
            (status != StatusCode::FORBIDDEN
                || api_code(response).as_deref() != Some("insufficient_scope"))
            .then(|| format!("expected 403 insufficient_scope, got {status}"))
        }
        Actor::Anonymous if via == Via::Html && action.is_read() => {
            let location = response.header("location").unwrap_or_default();
            (status != StatusCode::SEE_OTHER || !location.starts_with("/signin")).then(|| {
                format!(
                    "expected 303 to /signin (a page that needs an account), got {status} \
                     location {location:?}"
                )
            })
        }
        Actor::Anonymous => {
            if status != StatusCode::UNAUTHORIZED {
                Some(format!("expected refused (401), got {status}"))
            } else if via == Via::Html && !response.text().contains("href=\"/signin") {
                Some("the 401 page does not link to sign-in".to_string())
            } else if via == Via::Api && api_code(response).as_deref() != Some("unauthorized") {
                Some(format!(
                    "expected code \"unauthorized\", got {:?}",
                    api_code(response)
                ))
            } else {
                None
            }
        }
        Actor::Suspended => {
            let text = response.text();
            if status != StatusCode::FORBIDDEN {
                Some(format!("expected refused (403, suspended), got {status}"))
            } else if action.is_read() {
                None
            } else if !text.to_lowercase().contains("suspended")
                || !text.contains("2099")
                || !text.contains(SUSPEND_REASON)
            {
                Some(
                    "403 does not say the user is suspended, until when (2099) and why".to_string(),
                )
            } else if via == Via::Api && api_code(response).as_deref() != Some("suspended") {
                Some(format!(
                    "expected code \"suspended\", got {:?}",
                    api_code(response)
                ))
            } else {
                None
            }
        }
        _ => {
            if status != StatusCode::FORBIDDEN {
                Some(format!("expected refused (403), got {status}"))
            } else if via == Via::Api && api_code(response).as_deref() != Some("forbidden") {
                Some(format!(
                    "expected code \"forbidden\", got {:?}",
                    api_code(response)
                ))
            } else {
                None
            }
        }
    }
}

/// What is missing from a successful API answer, by the contract's "answer" column.
fn api_shape_problem(action: Action, response: &TestResponse) -> Option<String> {
    let json: Value = serde_json::from_slice(&response.body).ok()?;
    let missing = |pointers: &[&str]| {
        let gone: Vec<&str> = pointers
            .iter()
            .copied()
            .filter(|p| json.pointer(p).is_none_or(Value::is_null))
            .collect();
        (!gone.is_empty()).then(|| format!("the answer lacks {gone:?}"))
    };
    match action {
        Action::StartThread => missing(&["/thread/id", "/thread/url", "/post_id"]),
        Action::ReplyOpen | Action::ReplyLocked => missing(&["/post_id", "/url"]),
        Action::Boost => missing(&["/boosted", "/boosts"]),
        _ => None,
    }
}

async fn thread_page(app: &TestApp, thread: i64) -> String {
    let (url, page) = app.follow(&format!("/thread/{thread}")).await;
    assert_eq!(page.status, StatusCode::OK, "GET {url}: {}", page.text());
    page.text()
}

/// What a suspended account may still do to itself: whatever takes access away (its API
/// tokens, its other sessions, a password it fears is known), nothing that adds access or
/// changes what others see. The "Suspended users may …" rule in docs/write-routes.md.
#[derive(Clone, Copy, Debug)]
enum OwnSettings {
    EditProfile,
    CreateToken,
    RevokeToken,
    EndOtherSessions,
    ChangePassword,
}

/// In this order: changing the password last, as it ends the other sessions.
const SUSPENDED_MAY: [(OwnSettings, bool); 5] = [
    (OwnSettings::EditProfile, N),
    (OwnSettings::CreateToken, N),
    (OwnSettings::RevokeToken, Y),
    (OwnSettings::EndOtherSessions, Y),
    (OwnSettings::ChangePassword, Y),
];

/// Tries every [`SUSPENDED_MAY`] row as the (suspended) `cast.suspended`; returns what did
/// not follow it.
async fn suspended_own_settings(app: &TestApp, cast: &Cast) -> Vec<String> {
    let person = &cast.suspended;
    let id = user_id(app, person).await;
    let tokens = || async {
        app.store()
            .api_tokens_of(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let display_name = || async {
        app.store()
            .account(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|a| a.brief.display_name)
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    for (what, allowed) in SUSPENDED_MAY {
        let before = (tokens().await.len(), display_name().await);
        let response = match what {
            OwnSettings::EditProfile => {
                let fields = [
                    ("display_name", "Renamed while suspended"),
                    ("signature", ""),
                ];
                app.post_form("/settings/profile", Some(&person.cookie), &fields)
                    .await
            }
            OwnSettings::CreateToken => {
                let fields = [("name", "another"), ("scope", "write")];
                app.post_form("/settings/tokens", Some(&person.cookie), &fields)
                    .await
            }
            OwnSettings::RevokeToken => {
                let token = tokens().await.first().map_or(0, |t| t.id);
                let path = format!("/settings/tokens/{token}/revoke");
                app.post_form(&path, Some(&person.cookie), &[]).await
            }
            OwnSettings::EndOtherSessions => {
                app.post_form("/settings/sessions/end-others", Some(&person.cookie), &[])
                    .await
            }
            OwnSettings::ChangePassword => {
                let fields = [
                    ("current_password", "correct horse battery staple"),
                    ("new_password", "a new passphrase after the suspension"),
                ];
                app.post_form("/settings/password", Some(&person.cookie), &fields)
                    .await
            }
        };
        let after = (tokens().await.len(), display_name().await);
        let label = format!("{what:?} by a suspended user");
        if allowed {
            if response.status != StatusCode::SEE_OTHER {
                problems.push(format!(
                    "{label}: expected allowed (303), got {}: {}",
                    response.status,
                    snippet(&response)
                ));
            }
        } else {
            if response.status != StatusCode::FORBIDDEN
                || !response.text().to_lowercase().contains("suspended")
            {
                problems.push(format!(
                    "{label}: expected refused (403, suspended), got {}: {}",
                    response.status,
                    snippet(&response)
                ));
            }
            if before != after {
                problems.push(format!(
                    "{label}: refused but changed {before:?} -> {after:?}"
                ));
            }
        }
    }
    // The revoked token no longer opens the API.
    let me = app
        .api("GET", "/api/v1/me", Some(&cast.suspended_token), None)
        .await;
    if me.status != StatusCode::UNAUTHORIZED {
        problems.push(format!(
            "a suspended user's revoked token still answers {}",
            me.status
        ));
    }
    problems
}

both!(
    async fn every_actor_against_every_action(b: Backend) {
        let app = TestApp::demo(b).await;
        let cast = Cast::sign_up(&app).await;

        // Every case gets its own fixture, made before the suspended author is suspended (so
        // their threads exist, and only the suspension can explain a refusal).
        let mut cases = Vec::new();
        for (action, _) in MATRIX {
            for actor in ACTORS {
                for via in [Via::Html, Via::Api] {
                    let n = cases.len();
                    let owner_token = if actor == Actor::Suspended && action.allows(Actor::Author) {
                        &cast.suspended_token
                    } else {
                        &cast.author_token
                    };
                    let fx = fixture(&app, &cast, action, owner_token, n).await;
                    cases.push((action, actor, via, fx));
                }
            }
        }

        let suspend = app
            .post_form(
                &format!("/users/{}/suspend", cast.suspended.username),
                Some(&cast.admin.cookie),
                &[("until", UNTIL), ("reason", SUSPEND_REASON)],
            )
            .await;
        assert_eq!(
            suspend.status,
            StatusCode::SEE_OTHER,
            "an admin suspends {}: {}",
            cast.suspended.username,
            suspend.text()
        );
        let account = app
            .store()
            .account_by_name(&cast.suspended.username)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no account"));
        assert!(
            account.suspended_until.is_some(),
            "not suspended: {account:?}"
        );
        let admin_id = user_id(&app, &cast.admin).await;

        let mut mismatches = Vec::new();
        for (n, (action, actor, via, fx)) in cases.iter().enumerate() {
            let (action, actor, via) = (*action, *actor, *via);
            let target = cast.target(action);
            let call = call(action, via, fx, target, n);
            let before = fingerprint(&app, &cast).await;
            let response = send(&app, via, &call, cast.credentials_for(action, actor)).await;
            let after = fingerprint(&app, &cast).await;
            let allowed = action.allows(actor);
            let label = format!(
                "{action:?} by {actor:?} via {via:?} ({} {})",
                call.method, call.path
            );
            let verdict = judge(action, actor, via, &response);
            if let Some(why) = &verdict {
                mismatches.push(format!("{label}: {why}: {}", snippet(&response)));
            }
            if allowed
                && verdict.is_none()
                && via == Via::Api
                && let Some(why) = api_shape_problem(action, &response)
            {
                mismatches.push(format!("{label}: {why}: {}", snippet(&response)));
            }
            if !allowed && before != after {
                mismatches.push(format!(
                    "{label}: refused ({}) but the state changed: {before} -> {after}",
                    response.status
                ));
            }
            if allowed && verdict.is_none() && !action.is_read() && before == after {
                mismatches.push(format!(
                    "{label}: answered {} but nothing changed ({after})",
                    response.status
                ));
            }
            if action == Action::Lock {
                let page = thread_page(&app, fx.thread).await;
                let locked = page.contains("This thread is locked");
                if locked != allowed {
                    mismatches.push(format!(
                        "{label}: the thread page {} \"This thread is locked\"",
                        if locked { "says" } else { "does not say" }
                    ));
                }
            }
            if let Some(target) = target {
                // Lift any suspension, so the next case starts from the same state.
                let id = user_id(&app, target).await;
                app.store()
                    .set_suspension(id, None, audit(admin_id, "unsuspend", None))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }

        // Suspended users may still read, take access away from their own account, and sign
        // out.
        let home = app.get_as("/", &cast.suspended).await;
        if home.status != StatusCode::OK {
            mismatches.push(format!("suspended: GET / answered {}", home.status));
        }
        mismatches.extend(suspended_own_settings(&app, &cast).await);
        let signout = app
            .post_form("/signout", Some(&cast.suspended.cookie), &[])
            .await;
        if signout.status != StatusCode::SEE_OTHER {
            mismatches.push(format!(
                "suspended: POST /signout answered {}: {}",
                signout.status,
                snippet(&signout)
            ));
        }

        assert!(
            mismatches.is_empty(),
            "{} of {} cases do not follow the permission table:\n{}",
            mismatches.len(),
            cases.len(),
            mismatches.join("\n")
        );
    }
);

both!(
    async fn read_scope_tokens_cannot_write(b: Backend) {
        let app = TestApp::demo(b).await;
        let reader = app.person("rita_reader", Role::Member).await;
        let read = app.api_token(&reader, "read").await;
        let write = app.api_token(&reader, "write").await;
        let me = app.api("GET", "/api/v1/me", Some(&read), None).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text());
        assert!(me.text().contains("rita_reader"), "{}", me.text());

        let head = app
            .store()
            .change_head()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let thread = json!({
            "subtopic": SUBTOPIC,
            "title": "A read token tries to start a thread",
            "tags": ["network"],
            "kind": "question",
            "body": "This should never be stored, the token may only read.",
        });
        let refused = app
            .api("POST", "/api/v1/threads", Some(&read), Some(thread.clone()))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
        assert_eq!(refused.json()["error"]["code"], "insufficient_scope");
        let unchanged = app
            .store()
            .change_head()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head, unchanged, "a refused write changed the change log");

        let created = app
            .api("POST", "/api/v1/threads", Some(&write), Some(thread))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());

        let bogus = app
            .api("GET", "/api/v1/me", Some("agora_not-a-real-token"), None)
            .await;
        assert_eq!(bogus.status, StatusCode::UNAUTHORIZED, "{}", bogus.text());
        assert_eq!(bogus.json()["error"]["code"], "unauthorized");
    }
);
