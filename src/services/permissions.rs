//! Who may do what: the one place that answers "may this account do this to this thing".
//! Every handler, page and API route asks [`check`]; templates ask [`allowed`] to decide which
//! buttons to show, so a button is shown exactly when its action would be accepted.
//! The table is in docs/write-routes.md.

use agora_store::{
    Account, AnswerMark, PostFacts, Role, ThreadFacts, ThreadKind, Timestamp, UserId,
};

use crate::error::AppError;

/// Every action that changes something.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    StartThread,
    /// Start a thread in one subtopic: not in an archived one (read-only), and in a staff-only
    /// one (announcements) only as staff.
    StartThreadIn {
        staff_only: bool,
        archived: bool,
    },
    Reply(&'a ThreadFacts),
    EditPost(&'a PostFacts),
    DeletePost(&'a PostFacts),
    Boost(&'a PostFacts),
    Flag(&'a PostFacts),
    Accept(&'a PostFacts),
    Recommend(&'a PostFacts),
    /// Clear a thread's accepted or recommended mark (whichever post carries it).
    Unmark(&'a ThreadFacts, AnswerMark),
    /// Lock, pin, move, retitle.
    Moderate(&'a ThreadFacts),
    HidePost(&'a PostFacts),
    Suspend {
        user: UserId,
        role: Role,
    },
    ReviewFlags,
    ReadAudit,
    /// Take access away from one's own account: change the password, end sessions, revoke
    /// API tokens. Suspended users may too: someone whose account was taken over and then
    /// suspended must still be able to shut the intruder out.
    OwnSettings,
    /// Keep a draft of what one is writing (save it, read it back, discard it). Suspended
    /// members too: what they wrote waits for the end of the suspension.
    KeepDraft,
    /// Choose how closely to follow a thread, a subtopic or a tag, and what to be told of:
    /// one's own business, suspended or not.
    Watch,
    /// Read or discard one stored draft: its author alone. Not moderators either: a draft is
    /// not published, so nobody else has any business with it.
    OwnDraft {
        author: UserId,
    },
    /// Keep, list, change or remove the bookmarks of `owner`: that member alone, suspended
    /// or not (a bookmark is private, like a draft). Not moderators or staff either: what
    /// someone saved to read later is nobody else's business.
    OwnBookmarks {
        owner: UserId,
    },
    /// Change what others see of one (display name, signature) or make API tokens: adds
    /// access or speaks to others, so not while suspended.
    EditProfile,
    /// See removed threads, hidden posts and their histories.
    SeeRemoved,
    /// Upload an image or a file for a post, or a picture for one's profile: speaks to
    /// others, so not while suspended (quotas and types are checked by the upload service).
    Upload,
    /// Delete an upload of `owner`'s: its owner, or a moderator (posts showing it then say
    /// that it was removed).
    RemoveUpload {
        owner: UserId,
    },
    /// Run the forum: site settings, areas, subtopics and tags, roles, deleting or
    /// anonymising accounts, removing the demo. Administrators only.
    Administer,
    /// Look after members: the staff user directory, approving sign-ups, sending a password
    /// reset, ending someone's sessions. Moderators and up (suspending is [`Action::Suspend`]).
    ManageMembers,
    /// Act on one account from the directory (reset, end sessions, approve): only on
    /// accounts below one's own role (administrators on anyone but themselves).
    ManageMember {
        user: UserId,
        role: Role,
    },
    /// Administer one account: its role and staff title, its display name, deleting or
    /// anonymising it. Administrators only, never on their own account.
    AdministerMember {
        user: UserId,
    },
    /// See the jobs that failed for good (their errors may name addresses) and retry one:
    /// staff and administrators, as for the audit log.
    RetryJobs,
    /// Invite someone by email with a role: moderators may invite members, administrators
    /// anyone.
    Invite {
        role: Role,
    },
}

/// Why an action was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// Not signed in.
    SignIn,
    /// Suspended until a time, with the moderator's reason.
    Suspended { until: Timestamp, reason: String },
    /// Signed in, but not allowed: the message says why.
    Forbidden(&'static str),
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::SignIn => AppError::Unauthorized,
            Denied::Suspended { until, reason } => AppError::Suspended {
                until: until.to_datetime().format("%Y-%m-%d %H:%M UTC").to_string(),
                reason,
            },
            Denied::Forbidden(why) => AppError::Forbidden(why.to_string()),
        }
    }
}

fn is_moderator(role: Role) -> bool {
    matches!(role, Role::Moderator | Role::Staff | Role::Admin)
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Member => 0,
        Role::Moderator => 1,
        Role::Staff => 2,
        Role::Admin => 3,
    }
}

/// Whether `actor` (None: anonymous) may do `action` at `now`.
pub fn check(actor: Option<&Account>, action: Action<'_>, now: Timestamp) -> Result<(), Denied> {
    let Some(actor) = actor else {
        return Err(Denied::SignIn);
    };
    match action {
        Action::OwnSettings | Action::KeepDraft | Action::Watch => return Ok(()),
        Action::OwnDraft { author } => {
            return if author == actor.brief.id {
                Ok(())
            } else {
                Err(Denied::Forbidden(
                    "That draft is someone else's: a draft belongs to its author alone.",
                ))
            };
        }
        Action::OwnBookmarks { owner } => {
            return if owner == actor.brief.id {
                Ok(())
            } else {
                Err(Denied::Forbidden(
                    "Those bookmarks are someone else's: bookmarks belong to their owner alone.",
                ))
            };
        }
        _ => {}
    }
    if actor.suspended_at(now) {
        return Err(Denied::Suspended {
            until: actor.suspended_until.unwrap_or(now),
            reason: actor.suspend_reason.clone().unwrap_or_default(),
        });
    }
    let role = actor.brief.role;
    let me = actor.brief.id;
    let moderator = is_moderator(role);
    let gone = |post: &PostFacts| post.deleted || (post.hidden && !moderator);
    match action {
        Action::OwnSettings
        | Action::KeepDraft
        | Action::Watch
        | Action::OwnDraft { .. }
        | Action::OwnBookmarks { .. }
        | Action::EditProfile
        | Action::Upload
        | Action::StartThread => Ok(()),
        Action::RemoveUpload { owner } => {
            if owner == me || moderator {
                Ok(())
            } else {
                Err(Denied::Forbidden(
                    "That file is someone else's: only its owner or a moderator can remove it.",
                ))
            }
        }
        Action::StartThreadIn { archived: true, .. } => Err(Denied::Forbidden(
            "This subtopic is archived: it is read-only, so no new threads can start in it.",
        )),
        Action::StartThreadIn {
            staff_only: true, ..
        } => {
            if role.is_staff() {
                Ok(())
            } else {
                Err(Denied::Forbidden(
                    "Only staff can start threads in this subtopic (it is for announcements).",
                ))
            }
        }
        Action::StartThreadIn { .. } => Ok(()),
        Action::SeeRemoved => {
            if moderator {
                Ok(())
            } else {
                Err(Denied::Forbidden("Only moderators can see removed posts."))
            }
        }
        Action::Reply(thread) => {
            if thread.removed && !moderator {
                Err(Denied::Forbidden("This thread was removed."))
            } else if thread.locked && !moderator {
                Err(Denied::Forbidden(
                    "This thread is locked: only moderators can reply.",
                ))
            } else {
                Ok(())
            }
        }
        Action::EditPost(post) => {
            if post.deleted {
                Err(Denied::Forbidden("This post was deleted."))
            } else if moderator {
                Ok(())
            } else if post.author != me {
                Err(Denied::Forbidden("You can only edit your own posts."))
            } else if post.hidden {
                Err(Denied::Forbidden("A moderator hid this post."))
            } else if post.thread.locked {
                Err(Denied::Forbidden("This thread is locked."))
            } else {
                Ok(())
            }
        }
        Action::DeletePost(post) => {
            if post.deleted {
                Err(Denied::Forbidden("This post is already deleted."))
            } else if moderator {
                Ok(())
            } else if post.author != me {
                Err(Denied::Forbidden("You can only delete your own posts."))
            } else if post.position == 0 && post.others_replied {
                Err(Denied::Forbidden(
                    "Others have replied to this thread, so it stays; edit your post instead.",
                ))
            } else {
                Ok(())
            }
        }
        Action::Boost(post) | Action::Flag(post) => {
            if gone(post) || post.thread.removed && !moderator {
                Err(Denied::Forbidden("This post is not available."))
            } else if post.author == me {
                Err(Denied::Forbidden("That is your own post."))
            } else {
                Ok(())
            }
        }
        Action::Accept(post) => {
            if post.thread.kind != ThreadKind::Question {
                Err(Denied::Forbidden("Only questions have accepted answers."))
            } else if post.position == 0 {
                Err(Denied::Forbidden("The question cannot answer itself."))
            } else if gone(post) || post.hidden {
                Err(Denied::Forbidden("This post is not available."))
            } else if post.thread.author == me || role.is_staff() {
                Ok(())
            } else {
                Err(Denied::Forbidden(
                    "Only the person who asked, or staff, can accept an answer.",
                ))
            }
        }
        Action::Recommend(post) => {
            if post.position == 0 {
                Err(Denied::Forbidden("Only replies can be recommended."))
            } else if post.deleted || post.hidden {
                Err(Denied::Forbidden("This post is not available."))
            } else if role.is_staff() {
                Ok(())
            } else {
                Err(Denied::Forbidden("Only staff can recommend an answer."))
            }
        }
        Action::Unmark(thread, AnswerMark::Accepted) => {
            if thread.author == me || role.is_staff() {
                Ok(())
            } else {
                Err(Denied::Forbidden(
                    "Only the person who asked, or staff, can change the accepted answer.",
                ))
            }
        }
        Action::Unmark(_, AnswerMark::Recommended) => {
            if role.is_staff() {
                Ok(())
            } else {
                Err(Denied::Forbidden("Only staff can recommend an answer."))
            }
        }
        Action::Moderate(_) | Action::HidePost(_) | Action::ReviewFlags => {
            if moderator {
                Ok(())
            } else {
                Err(Denied::Forbidden("Only moderators can do that."))
            }
        }
        Action::Suspend { user, role: target } => {
            if !moderator {
                Err(Denied::Forbidden("Only moderators can suspend accounts."))
            } else if user == me {
                Err(Denied::Forbidden("You cannot suspend yourself."))
            } else if rank(target) >= rank(role) && role != Role::Admin
                || (target == Role::Admin && role == Role::Admin && user == me)
            {
                Err(Denied::Forbidden(
                    "You can only suspend accounts below your own role.",
                ))
            } else if role == Role::Moderator && target != Role::Member {
                Err(Denied::Forbidden("Moderators can suspend members only."))
            } else {
                Ok(())
            }
        }
        Action::Administer => {
            if role == Role::Admin {
                Ok(())
            } else {
                Err(Denied::Forbidden("Only administrators can do that."))
            }
        }
        Action::ManageMembers => {
            if moderator {
                Ok(())
            } else {
                Err(Denied::Forbidden("Only moderators can look after members."))
            }
        }
        Action::ManageMember { user, role: target } => {
            if !moderator {
                Err(Denied::Forbidden("Only moderators can look after members."))
            } else if user == me {
                Err(Denied::Forbidden(
                    "Use your own settings page for your account.",
                ))
            } else if role != Role::Admin && rank(target) >= rank(role) {
                Err(Denied::Forbidden(
                    "You can only act on accounts below your own role.",
                ))
            } else {
                Ok(())
            }
        }
        Action::AdministerMember { user } => {
            if role != Role::Admin {
                Err(Denied::Forbidden("Only administrators can do that."))
            } else if user == me {
                Err(Denied::Forbidden(
                    "Not on your own account: ask another administrator.",
                ))
            } else {
                Ok(())
            }
        }
        Action::Invite { role: invited } => {
            if !moderator {
                Err(Denied::Forbidden("Only moderators can invite people."))
            } else if invited != Role::Member && role != Role::Admin {
                Err(Denied::Forbidden(
                    "Only administrators can invite someone with a staff role.",
                ))
            } else {
                Ok(())
            }
        }
        Action::ReadAudit => {
            if role.is_staff() {
                Ok(())
            } else {
                Err(Denied::Forbidden("Only staff can read the audit log."))
            }
        }
        Action::RetryJobs => {
            if role.is_staff() {
                Ok(())
            } else {
                Err(Denied::Forbidden(
                    "Only staff can see and retry failed jobs.",
                ))
            }
        }
    }
}

/// Whether the abuse limits apply to this account: to members; moderators, staff and admins
/// are trusted (they clean up after spam, sometimes in bursts).
pub fn limited(actor: &Account) -> bool {
    actor.brief.role == Role::Member
}

/// For templates: whether to offer an action's button.
pub fn allowed(actor: Option<&Account>, action: Action<'_>, now: Timestamp) -> bool {
    check(actor, action, now).is_ok()
}
