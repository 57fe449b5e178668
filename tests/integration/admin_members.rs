//! Looking after members (issue 12, part 4): the staff directory, one member's actions,
//! invitations and the registration modes, the public member directory; each through the
//! form, the API and the CLI, with who may and who may not.

use agora::settings::Registration;
use agora_store::{Cursor, Role};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::util::{Person, TestApp, TestResponse, both};

const SUBTOPIC: &str = "app-system-services/networking";

async fn set_site(app: &TestApp, change: impl FnOnce(&mut agora::settings::SiteSettings)) {
    let mut settings = app.state.site().settings.clone();
    change(&mut settings);
    agora::services::settings::save_as_operator(&app.state, settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e:?}"));
}

async fn start_thread(app: &TestApp, token: &str, title: &str) -> TestResponse {
    app.api(
        "POST",
        "/api/v1/threads",
        Some(token),
        Some(json!({
            "subtopic": SUBTOPIC,
            "title": title,
            "tags": ["network"],
            "kind": "question",
            "body": format!("{title}: what was tried, what happened, and what was expected."),
        })),
    )
    .await
}

async fn thread_id(app: &TestApp, token: &str, title: &str) -> i64 {
    let response = start_thread(app, token, title).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["thread"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no thread id: {}", response.text()))
}

async fn reply(app: &TestApp, token: &str, thread: i64, body: &str) -> i64 {
    let response = app
        .api(
            "POST",
            &format!("/api/v1/threads/{thread}/posts"),
            Some(token),
            Some(json!({ "body": body })),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["post_id"].as_i64().unwrap_or_default()
}

async fn account(app: &TestApp, name: &str) -> Option<agora_store::Account> {
    app.store()
        .account_by_name(name)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn newest_audit(app: &TestApp) -> agora_store::AuditRow {
    app.store()
        .audit_log(Cursor::Start, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .rows
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("the audit log is empty"))
}

/// The `/signup?invite=…` tokens in the outbox's emails to `to`.
fn invitation_tokens(app: &TestApp, to: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let Ok(entries) = std::fs::read_dir(app.dir.path().join("outbox")) else {
        return tokens;
    };
    for entry in entries.flatten() {
        let raw = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let text = crate::flows::decode_eml(&raw);
        if !text
            .to_lowercase()
            .contains(&format!("to: {}", to.to_lowercase()))
        {
            continue;
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("/signup?invite=") {
            let after = &rest[at + "/signup?invite=".len()..];
            let token: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            tokens.push(token);
            rest = after;
        }
    }
    tokens
}

fn assert_status(response: &TestResponse, want: StatusCode, what: &str) {
    assert_eq!(response.status, want, "{what}: {}", response.text());
}

both!(
    async fn the_directory_searches_filters_sorts_and_is_for_staff(b: Backend) {
        let app = TestApp::demo(b).await;
        let member = app.person("mia_member", Role::Member).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        let admin = app.person("ada_admin", Role::Admin).await;

        // Signed out: sign in first; a member: refused.
        let response = app.get("/admin/users").await;
        assert_status(&response, StatusCode::SEE_OTHER, "anonymous");
        let response = app.get_as("/admin/users", &member).await;
        assert_status(&response, StatusCode::FORBIDDEN, "member");

        // A moderator searches by the start of a name or an address, any case.
        let response = app.get_as("/admin/users?q=MIA_", &moderator).await;
        assert_status(&response, StatusCode::OK, "moderator");
        let text = response.text();
        assert!(text.contains("@mia_member"), "{text}");
        assert!(
            text.contains("mia_member@example.test"),
            "staff see addresses"
        );
        assert!(!text.contains("@ada_admin"), "{text}");
        let by_email = app
            .get_as("/admin/users?q=ada_admin%40example", &moderator)
            .await;
        assert!(by_email.text().contains("@ada_admin"));
        // LIKE's wildcards are taken literally.
        let wildcard = app.get_as("/admin/users?q=%25", &moderator).await;
        assert!(wildcard.text().contains("No account matches"));

        // Filters and sorts, through the API (an admin-scoped token).
        let token = app.api_token(&admin, "admin").await;
        let list = app
            .api("GET", "/api/v1/admin/users?role=admin", Some(&token), None)
            .await;
        assert_status(&list, StatusCode::OK, "list by role");
        let names: Vec<String> = list.json()["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["username"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(names.contains(&"ada_admin".to_string()), "{names:?}");
        assert!(!names.contains(&"mia_member".to_string()), "{names:?}");
        let new = app
            .api(
                "GET",
                "/api/v1/admin/users?show=new&sort=name",
                Some(&token),
                None,
            )
            .await
            .json();
        let new_names: Vec<&str> = new["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["username"].as_str())
            .collect();
        assert_eq!(
            new_names,
            ["ada_admin", "mia_member", "mo_moderator"],
            "{new}"
        );
        assert_eq!(new["total"], 3);
        let unverified = app
            .api(
                "GET",
                "/api/v1/admin/users?show=unverified",
                Some(&token),
                None,
            )
            .await
            .json();
        assert_eq!(
            unverified["total"], 3,
            "signed up, not confirmed: {unverified}"
        );
        let bad = app
            .api("GET", "/api/v1/admin/users?sort=height", Some(&token), None)
            .await;
        assert_status(&bad, StatusCode::BAD_REQUEST, "bad sort");
        assert_eq!(bad.json()["error"]["param"], "sort");
        // Pages: 30 a page, the demo has more accounts than that or not; page 2 never errs.
        let page = app
            .api("GET", "/api/v1/admin/users?page=2", Some(&token), None)
            .await;
        assert_status(&page, StatusCode::OK, "page 2");

        // A write-scoped token cannot reach /api/v1/admin; a member's admin token cannot be made.
        let write = app.api_token(&member, "write").await;
        let refused = app
            .api("GET", "/api/v1/admin/users", Some(&write), None)
            .await;
        assert_status(&refused, StatusCode::FORBIDDEN, "write token");
        // One account.
        let one = app
            .api("GET", "/api/v1/admin/users/MIA_MEMBER", Some(&token), None)
            .await;
        assert_status(&one, StatusCode::OK, "one");
        assert_eq!(one.json()["email"], "mia_member@example.test");
        let missing = app
            .api("GET", "/api/v1/admin/users/nobody_here", Some(&token), None)
            .await;
        assert_status(&missing, StatusCode::NOT_FOUND, "unknown");
    }
);

// (who acts, on whom, action, allowed?) through the form, and the API with an admin token.
both!(
    async fn member_actions_follow_the_permission_rules(b: Backend) {
        let app = TestApp::demo(b).await;
        let member = app.person("mia_member", Role::Member).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        let staff = app.person("sam_staff", Role::Staff).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let other_admin = app.person("ari_admin", Role::Admin).await;
        let target = app.person("tim_target", Role::Member).await;
        let mod_token = app.api_token(&moderator, "admin").await;
        let admin_token = app.api_token(&admin, "admin").await;

        // The directory page and one member's page: moderators and up.
        for (who, want) in [
            (&member, StatusCode::FORBIDDEN),
            (&moderator, StatusCode::OK),
            (&staff, StatusCode::OK),
            (&admin, StatusCode::OK),
        ] {
            let page = app.get_as("/admin/users/tim_target", who).await;
            assert_status(&page, want, &who.username);
        }
        // A moderator's page offers no role form and no delete; an admin's does.
        let page = app
            .get_as("/admin/users/tim_target", &moderator)
            .await
            .text();
        assert!(!page.contains("/admin/users/tim_target/role"), "{page}");
        assert!(!page.contains("/admin/users/tim_target/delete"), "{page}");
        assert!(page.contains("/admin/users/tim_target/reset"), "{page}");
        let page = app.get_as("/admin/users/tim_target", &admin).await.text();
        assert!(page.contains("/admin/users/tim_target/delete"), "{page}");

        // Send a reset: moderators on members; never on themselves or a higher role.
        let cases: [(&Person, &str, StatusCode); 5] = [
            (&member, "tim_target", StatusCode::FORBIDDEN),
            (&moderator, "tim_target", StatusCode::SEE_OTHER),
            (&moderator, "ada_admin", StatusCode::FORBIDDEN),
            (&moderator, "mo_moderator", StatusCode::FORBIDDEN),
            (&admin, "ari_admin", StatusCode::SEE_OTHER),
        ];
        // The sign-ups' verification emails go first.
        app.state.run_jobs().await;
        for (who, whom, want) in cases {
            let path = format!("/admin/users/{whom}/reset");
            let response = app.post_form(&path, Some(&who.cookie), &[]).await;
            assert_status(&response, want, &format!("{} resets {whom}", who.username));
        }
        let sent = app.state.run_jobs().await.done;
        assert_eq!(sent, 2, "two reset emails");
        let via_api = app
            .api(
                "POST",
                "/api/v1/admin/users/tim_target/reset",
                Some(&mod_token),
                None,
            )
            .await;
        assert_status(&via_api, StatusCode::OK, "reset via the API");

        // End sessions: the target's cookie stops working.
        let before = app.get_as("/settings", &target).await;
        assert_status(&before, StatusCode::OK, "target signed in");
        let response = app
            .post_form(
                "/admin/users/tim_target/end-sessions",
                Some(&moderator.cookie),
                &[],
            )
            .await;
        assert_status(&response, StatusCode::SEE_OTHER, "end sessions");
        assert!(
            response
                .header("location")
                .is_some_and(|l| l.ends_with("?done=sessions"))
        );
        let after = app.get_as("/settings", &target).await;
        assert_ne!(after.status, StatusCode::OK, "the session ended");
        assert_eq!(newest_audit(&app).await.action, "user.end_sessions");
        let ended = app
            .api(
                "DELETE",
                "/api/v1/admin/users/mia_member/sessions",
                Some(&mod_token),
                None,
            )
            .await;
        assert_status(&ended, StatusCode::OK, "end sessions via the API");
        assert_eq!(ended.json()["ended"], 1);

        // Role and staff title: administrators only, audited with the acting admin.
        let fields = [("role", "moderator"), ("staff_title", "Networking")];
        for (who, want) in [
            (&moderator, StatusCode::FORBIDDEN),
            (&staff, StatusCode::FORBIDDEN),
            (&admin, StatusCode::SEE_OTHER),
        ] {
            let response = app
                .post_form("/admin/users/tim_target/role", Some(&who.cookie), &fields)
                .await;
            assert_status(&response, want, &format!("{} sets a role", who.username));
        }
        let tim = account(&app, "tim_target")
            .await
            .unwrap_or_else(|| panic!("tim"));
        assert_eq!(tim.brief.role, Role::Moderator);
        assert_eq!(tim.brief.staff_title.as_deref(), Some("Networking"));
        let entry = newest_audit(&app).await;
        assert_eq!(entry.action, "user.role");
        assert_eq!(entry.actor.username, "ada_admin");
        assert!(
            entry.details.contains("member → moderator"),
            "{}",
            entry.details
        );
        // Not on oneself.
        let own = app
            .post_form("/admin/users/ada_admin/role", Some(&admin.cookie), &fields)
            .await;
        assert_status(&own, StatusCode::FORBIDDEN, "own role");
        // A title too long comes back with the field named and everything typed kept.
        let long = "T".repeat(61);
        let response = app
            .post_form(
                "/admin/users/tim_target/role",
                Some(&admin.cookie),
                &[("role", "staff"), ("staff_title", &long)],
            )
            .await;
        assert_status(&response, StatusCode::BAD_REQUEST, "long title");
        let text = response.text();
        assert!(text.contains("aria-invalid=\"true\" aria-describedby=\"e-staff_title\""));
        assert!(text.contains(&long), "the typed title is kept");
        assert!(
            text.contains("<option value=\"staff\" selected>"),
            "the typed role is kept"
        );
        // The API: an admin token sets, a moderator's is refused.
        let body = json!({"role": "member"});
        let refused = app
            .api(
                "PUT",
                "/api/v1/admin/users/tim_target/role",
                Some(&mod_token),
                Some(body.clone()),
            )
            .await;
        assert_status(&refused, StatusCode::FORBIDDEN, "moderator role via API");
        assert_eq!(refused.json()["error"]["code"], "forbidden");
        let set = app
            .api(
                "PUT",
                "/api/v1/admin/users/tim_target/role",
                Some(&admin_token),
                Some(body),
            )
            .await;
        assert_status(&set, StatusCode::OK, "admin role via API");

        // Suspend for days with a reason, and lift it, from the member page.
        let empty = app
            .post_form(
                "/admin/users/tim_target/suspend",
                Some(&moderator.cookie),
                &[("days", "0"), ("reason", "")],
            )
            .await;
        assert_status(&empty, StatusCode::BAD_REQUEST, "bad suspension");
        assert!(empty.text().contains("id=\"e-days\""));
        assert!(empty.text().contains("id=\"e-reason\""));
        let suspended = app
            .post_form(
                "/admin/users/tim_target/suspend",
                Some(&moderator.cookie),
                &[("days", "3"), ("reason", "Cooling off")],
            )
            .await;
        assert_status(&suspended, StatusCode::SEE_OTHER, "suspend");
        let tim = account(&app, "tim_target")
            .await
            .unwrap_or_else(|| panic!("tim"));
        assert!(tim.suspended_at(agora_store::Timestamp::now()));
        let lifted = app
            .post_form(
                "/admin/users/tim_target/unsuspend",
                Some(&moderator.cookie),
                &[],
            )
            .await;
        assert_status(&lifted, StatusCode::SEE_OTHER, "unsuspend");
        // Staff may not suspend an administrator.
        let refused = app
            .post_form(
                "/admin/users/ari_admin/suspend",
                Some(&staff.cookie),
                &[("days", "3"), ("reason", "No")],
            )
            .await;
        assert_status(&refused, StatusCode::FORBIDDEN, "staff suspends an admin");
        let _ = other_admin;
    }
);

both!(
    async fn registration_by_approval_holds_posts_until_a_moderator_approves(b: Backend) {
        let app = TestApp::demo(b).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        let member = app.person("mia_member", Role::Member).await;
        set_site(&app, |s| s.registration = Registration::Approval).await;
        let page = app.get("/signup").await;
        assert_status(&page, StatusCode::OK, "signup page");
        assert!(page.text().contains("approves new accounts"));
        let newbie = app.person("nia_new", Role::Member).await;
        let token = app.api_token(&newbie, "write").await;
        let refused = start_thread(&app, &token, "Waiting for approval to post here").await;
        assert_status(&refused, StatusCode::FORBIDDEN, "pending posts");
        assert!(refused.text().contains("approval"), "{}", refused.text());

        // Moderators see it waiting and approve it; members may not.
        let waiting = app
            .get_as("/admin/users?show=pending", &moderator)
            .await
            .text();
        assert!(waiting.contains("@nia_new"), "{waiting}");
        assert!(!waiting.contains("@mia_member"), "{waiting}");
        let denied = app
            .post_form("/admin/users/nia_new/approve", Some(&member.cookie), &[])
            .await;
        assert_status(&denied, StatusCode::FORBIDDEN, "member approves");
        let approved = app
            .post_form("/admin/users/nia_new/approve", Some(&moderator.cookie), &[])
            .await;
        assert_status(&approved, StatusCode::SEE_OTHER, "approve");
        assert_eq!(newest_audit(&app).await.action, "user.approve");
        let posted = start_thread(&app, &token, "Approved and posting at last here").await;
        assert_status(&posted, StatusCode::CREATED, "approved posts");
        // Approving again is a conflict (through the API).
        let mod_token = app.api_token(&moderator, "admin").await;
        let again = app
            .api(
                "POST",
                "/api/v1/admin/users/nia_new/approve",
                Some(&mod_token),
                None,
            )
            .await;
        assert_status(&again, StatusCode::CONFLICT, "approve twice");
    }
);

both!(
    async fn invitation_only_sign_up_works_once_with_a_valid_link(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        set_site(&app, |s| s.registration = Registration::Invitation).await;

        let page = app.get("/signup").await;
        assert_status(&page, StatusCode::OK, "invitation-only page");
        assert!(page.text().contains("by invitation only"));
        assert!(
            !page.text().contains("name=\"password\""),
            "no form without an invitation"
        );
        let refused = app
            .post_form(
                "/signup",
                None,
                &[
                    ("username", "gate_crasher"),
                    ("email", "crash@example.test"),
                    ("password", "correct horse battery staple"),
                ],
            )
            .await;
        assert_status(
            &refused,
            StatusCode::FORBIDDEN,
            "sign up without an invitation",
        );
        assert!(account(&app, "gate_crasher").await.is_none());

        // Moderators invite members only; administrators any role.
        let denied = app
            .post_form(
                "/admin/invitations",
                Some(&moderator.cookie),
                &[("email", "new.staff@example.test"), ("role", "staff")],
            )
            .await;
        assert_status(&denied, StatusCode::FORBIDDEN, "moderator invites staff");
        let bad = app
            .post_form(
                "/admin/invitations",
                Some(&admin.cookie),
                &[("email", "not an address"), ("role", "moderator")],
            )
            .await;
        assert_status(&bad, StatusCode::BAD_REQUEST, "bad address");
        assert!(bad.text().contains("value=\"not an address\""));
        assert!(bad.text().contains("aria-describedby=\"e-email\""));
        let sent = app
            .post_form(
                "/admin/invitations",
                Some(&admin.cookie),
                &[("email", "Nova@Example.test"), ("role", "moderator")],
            )
            .await;
        assert_status(&sent, StatusCode::SEE_OTHER, "invite");
        assert_eq!(newest_audit(&app).await.action, "invitation.create");
        let twice = app
            .post_form(
                "/admin/invitations",
                Some(&admin.cookie),
                &[("email", "nova@example.test"), ("role", "member")],
            )
            .await;
        assert_status(&twice, StatusCode::BAD_REQUEST, "invited twice");
        assert!(app.state.run_jobs().await.done >= 1);
        let tokens = invitation_tokens(&app, "Nova@Example.test");
        assert_eq!(tokens.len(), 1, "one invitation link");
        let token = &tokens[0];

        // The link prefills the address and says the role.
        let form = app.get(&format!("/signup?invite={token}")).await;
        assert_status(&form, StatusCode::OK, "invited form");
        assert!(
            form.text().contains("value=\"Nova@Example.test\""),
            "{}",
            form.text()
        );
        assert!(form.text().contains("as moderator"));
        let fields = [
            ("username", "nova"),
            ("email", "someone.else@example.test"),
            ("password", "correct horse battery staple"),
            ("invite", token.as_str()),
        ];
        let joined = app.post_form("/signup", None, &fields).await;
        assert_status(&joined, StatusCode::SEE_OTHER, "accept the invitation");
        let nova = account(&app, "nova")
            .await
            .unwrap_or_else(|| panic!("nova"));
        assert_eq!(nova.brief.role, Role::Moderator);
        assert_eq!(
            nova.email.as_deref(),
            Some("Nova@Example.test"),
            "the invited address"
        );
        assert!(nova.email_verified, "the link proved the address");
        // Once only.
        let again = app
            .post_form(
                "/signup",
                None,
                &[
                    ("username", "nova_two"),
                    ("password", "correct horse battery staple"),
                    ("invite", token.as_str()),
                ],
            )
            .await;
        assert_status(&again, StatusCode::FORBIDDEN, "a used invitation");
        assert!(again.text().contains("used already"));
        assert!(account(&app, "nova_two").await.is_none());

        // The list shows it accepted; the API invites, lists and withdraws.
        let admin_token = app.api_token(&admin, "admin").await;
        let invited = app
            .api(
                "POST",
                "/api/v1/admin/invitations",
                Some(&admin_token),
                Some(json!({"email": "later@example.test"})),
            )
            .await;
        assert_status(&invited, StatusCode::CREATED, "invite via the API");
        let list = app
            .api("GET", "/api/v1/admin/invitations", Some(&admin_token), None)
            .await
            .json();
        let open = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["email"] == "later@example.test")
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(open["status"], "open", "{list}");
        assert!(
            list.as_array()
                .into_iter()
                .flatten()
                .any(|i| i["status"] == "accepted" && i["accepted_by"] == "nova"),
            "{list}"
        );
        let id = open["id"].as_i64().unwrap_or_default();
        let revoked = app
            .api(
                "DELETE",
                &format!("/api/v1/admin/invitations/{id}"),
                Some(&admin_token),
                None,
            )
            .await;
        assert_status(&revoked, StatusCode::OK, "withdraw");
        let gone = app
            .api(
                "DELETE",
                &format!("/api/v1/admin/invitations/{id}"),
                Some(&admin_token),
                None,
            )
            .await;
        assert_status(&gone, StatusCode::NOT_FOUND, "withdraw twice");
    }
);

both!(
    async fn closed_sign_ups_are_a_page_that_says_so(b: Backend) {
        let app = TestApp::demo(b).await;
        set_site(&app, |s| s.registration = Registration::Closed).await;
        let page = app.get("/signup").await;
        assert_status(&page, StatusCode::OK, "closed page");
        assert!(page.text().contains("Sign-ups are closed"));
        assert!(!page.text().contains("name=\"password\""));
        let refused = app
            .post_form(
                "/signup",
                None,
                &[
                    ("username", "late_comer"),
                    ("email", "late@example.test"),
                    ("password", "correct horse battery staple"),
                ],
            )
            .await;
        assert_status(&refused, StatusCode::FORBIDDEN, "closed sign-up");
        assert!(refused.text().contains("Sign-ups are closed"));
        assert!(account(&app, "late_comer").await.is_none());
    }
);

both!(
    async fn anonymising_keeps_posts_under_anonymous_and_forgets_the_name(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        let quinn = app.person("quinnzebra", Role::Member).await;
        let token = app.api_token(&quinn, "write").await;
        let thread = thread_id(&app, &token, "Sockets drop after sleep on my laptop").await;
        app.index().await;
        let id = account(&app, "quinnzebra")
            .await
            .map(|a| a.brief.id.0)
            .unwrap_or_default();

        // Moderators may not; a wrong confirmation is refused with the field named.
        let denied = app
            .post_form(
                "/admin/users/quinnzebra/anonymise",
                Some(&moderator.cookie),
                &[("confirm", "quinnzebra")],
            )
            .await;
        assert_status(&denied, StatusCode::FORBIDDEN, "moderator anonymises");
        let wrong = app
            .post_form(
                "/admin/users/quinnzebra/anonymise",
                Some(&admin.cookie),
                &[("confirm", "quinn")],
            )
            .await;
        assert_status(&wrong, StatusCode::BAD_REQUEST, "wrong confirmation");
        let text = wrong.text();
        assert!(
            text.contains("aria-describedby=\"e-anonymise_confirm\""),
            "{text}"
        );
        assert!(text.contains("id=\"f-anonymise_confirm\" name=\"confirm\" value=\"quinn\""));
        let done = app
            .post_form(
                "/admin/users/quinnzebra/anonymise",
                Some(&admin.cookie),
                &[("confirm", "quinnzebra")],
            )
            .await;
        assert_status(&done, StatusCode::SEE_OTHER, "anonymise");
        assert_eq!(
            done.header("location"),
            Some(format!("/admin/users/anonymous-{id}?done=anonymised").as_str())
        );
        assert!(account(&app, "quinnzebra").await.is_none());
        let gone = account(&app, &format!("anonymous-{id}"))
            .await
            .unwrap_or_else(|| panic!("anonymous-{id}"));
        assert_eq!(gone.brief.display_name, "anonymous");
        assert!(gone.email.is_none() && gone.password_hash.is_none());
        let entry = newest_audit(&app).await;
        assert_eq!(entry.action, "user.anonymise");
        assert!(!entry.details.contains("quinnzebra"));

        // The post stays, under "anonymous"; the name is on no page and in no search.
        let (_, page) = app.follow(&format!("/thread/{thread}")).await;
        assert_status(&page, StatusCode::OK, "thread");
        let html = page.text();
        assert!(html.contains("anonymous"), "{html}");
        assert!(
            !html.contains("quinnzebra"),
            "the old name is gone from the page"
        );
        let results = app.search("sockets sleep laptop").await.to_string();
        assert!(results.contains("Sockets drop after sleep"), "{results}");
        assert!(!results.contains("quinnzebra"), "{results}");
        // Their session ended with the account.
        let settings = app.get_as("/settings", &quinn).await;
        assert_ne!(settings.status, StatusCode::OK);
        // Through the API: a moderator's admin token is refused, an administrator's is not.
        app.person("rae_removed", Role::Member).await;
        let mod_token = app.api_token(&moderator, "admin").await;
        let admin_token = app.api_token(&admin, "admin").await;
        let path = "/api/v1/admin/users/rae_removed/anonymise";
        let refused = app.api("POST", path, Some(&mod_token), None).await;
        assert_status(
            &refused,
            StatusCode::FORBIDDEN,
            "moderator anonymises via the API",
        );
        assert!(account(&app, "rae_removed").await.is_some());
        let done = app.api("POST", path, Some(&admin_token), None).await;
        assert_status(&done, StatusCode::OK, "anonymise via the API");
        assert!(account(&app, "rae_removed").await.is_none());
        assert!(
            app.store()
                .check()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty()
        );
    }
);

both!(
    async fn deleting_removes_posts_and_keeps_counters_right(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        let spammer = app.person("spam_sender", Role::Member).await;
        let bystander = app.person("bea_bystander", Role::Member).await;
        let token = app.api_token(&spammer, "write").await;
        let other = app.api_token(&bystander, "write").await;
        let own = thread_id(&app, &token, "Buy cheap watches from the spam sender").await;
        reply(
            &app,
            &other,
            own,
            "A bystander's reply in the spammer's thread, going too.",
        )
        .await;
        let theirs = thread_id(&app, &other, "A real question about QUIC handshakes").await;
        reply(
            &app,
            &token,
            theirs,
            "A spam reply in somebody else's thread, to be removed.",
        )
        .await;
        let kept = reply(
            &app,
            &other,
            theirs,
            "The bystander's own follow-up, which stays.",
        )
        .await;
        let boosted = app
            .api(
                "POST",
                &format!("/api/v1/posts/{kept}/boost"),
                Some(&token),
                None,
            )
            .await;
        assert_status(&boosted, StatusCode::OK, "boost");
        let flagged = app
            .api(
                "POST",
                &format!("/api/v1/posts/{kept}/flags"),
                Some(&token),
                Some(json!({"reason": "Spite"})),
            )
            .await;
        assert_status(&flagged, StatusCode::CREATED, "flag");

        // Moderators may not delete; the admin confirms by typing the name.
        let denied = app
            .post_form(
                "/admin/users/spam_sender/delete",
                Some(&moderator.cookie),
                &[("confirm", "spam_sender")],
            )
            .await;
        assert_status(&denied, StatusCode::FORBIDDEN, "moderator deletes");
        let wrong = app
            .post_form(
                "/admin/users/spam_sender/delete",
                Some(&admin.cookie),
                &[("confirm", "spam")],
            )
            .await;
        assert_status(&wrong, StatusCode::BAD_REQUEST, "wrong confirmation");
        assert!(
            wrong
                .text()
                .contains("aria-describedby=\"e-delete_confirm\"")
        );
        assert!(account(&app, "spam_sender").await.is_some());
        let deleted = app
            .post_form(
                "/admin/users/spam_sender/delete",
                Some(&admin.cookie),
                &[("confirm", "spam_sender")],
            )
            .await;
        assert_status(&deleted, StatusCode::SEE_OTHER, "delete");
        assert!(account(&app, "spam_sender").await.is_none());
        let entry = newest_audit(&app).await;
        assert_eq!(entry.action, "user.delete");
        assert_eq!(entry.actor.username, "ada_admin");

        // Their thread is gone; the other thread lost the spam reply and keeps the rest.
        let (_, page) = app.follow(&format!("/thread/{own}")).await;
        assert_status(&page, StatusCode::NOT_FOUND, "their thread");
        let (_, page) = app.follow(&format!("/thread/{theirs}")).await;
        let html = page.text();
        assert!(!html.contains("A spam reply"), "{html}");
        assert!(html.contains("own follow-up"));
        let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(findings.is_empty(), "{findings:?}");
        let results = app.search("cheap watches").await.to_string();
        assert!(!results.contains("Buy cheap watches"), "{results}");

        // An account that acted as staff can only be anonymised.
        let admin_token = app.api_token(&admin, "admin").await;
        let mod_write = app.api_token(&moderator, "write").await;
        let locked = app
            .api(
                "POST",
                &format!("/api/v1/threads/{theirs}/lock"),
                Some(&mod_write),
                Some(json!({"reason": "Answered"})),
            )
            .await;
        assert_status(&locked, StatusCode::OK, "lock");
        let refused = app
            .api(
                "DELETE",
                "/api/v1/admin/users/mo_moderator",
                Some(&admin_token),
                None,
            )
            .await;
        assert_status(
            &refused,
            StatusCode::BAD_REQUEST,
            "delete a moderator who acted",
        );
        assert!(refused.text().contains("anonymise"), "{}", refused.text());
        // Nobody deletes themselves.
        let own_account = app
            .api(
                "DELETE",
                "/api/v1/admin/users/ada_admin",
                Some(&admin_token),
                None,
            )
            .await;
        assert_status(&own_account, StatusCode::FORBIDDEN, "delete oneself");
        // The bystander, through the API.
        let gone = app
            .api(
                "DELETE",
                "/api/v1/admin/users/bea_bystander",
                Some(&admin_token),
                None,
            )
            .await;
        assert_status(&gone, StatusCode::OK, "delete via the API");
        assert_eq!(gone.json()["threads"], 1);
        let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(findings.is_empty(), "{findings:?}");
    }
);

both!(
    async fn the_public_directory_lists_members_and_its_setting_hides_it(b: Backend) {
        let app = TestApp::demo(b).await;
        app.person("pat_public", Role::Member).await;
        let page = app.get("/users").await;
        assert_status(&page, StatusCode::OK, "/users");
        let html = page.text();
        assert!(html.contains("@pat_public"), "{html}");
        assert!(!html.contains("@example.test"), "no addresses in public");
        let json = app.get("/api/v1/users").await;
        assert_status(&json, StatusCode::OK, "/api/v1/users");
        let body = json.json();
        assert!(body["total"].as_i64().unwrap_or(0) >= 1);
        assert!(!body.to_string().contains("example.test"), "{body}");
        assert!(body["members"][0]["accepted_answers"].is_number(), "{body}");

        set_site(&app, |s| s.member_directory = false).await;
        assert_status(
            &app.get("/users").await,
            StatusCode::NOT_FOUND,
            "hidden page",
        );
        assert_status(
            &app.get("/api/v1/users").await,
            StatusCode::NOT_FOUND,
            "hidden API",
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_renames_resets_invites_anonymises_and_deletes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let run = |args: &[&str]| -> (bool, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ok = |args: &[&str]| -> String {
        let (success, stdout, stderr) = run(args);
        assert!(success, "{args:?}: {stderr}");
        stdout
    };
    for (name, role) in [
        ("root_admin", "admin"),
        ("quinn", "member"),
        ("rita", "member"),
    ] {
        ok(&[
            "user",
            "create",
            name,
            "--email",
            &format!("{name}@example.test"),
            "--role",
            role,
            "--password",
            "a long enough password",
        ]);
    }
    let listed = ok(&["user", "list", "--role", "member"]);
    assert!(
        listed.contains("quinn\tmember\tquinn@example.test"),
        "{listed}"
    );
    assert!(!listed.contains("root_admin"), "{listed}");
    let searched = ok(&["user", "list", "--search", "RIT"]);
    assert!(
        searched.starts_with("rita\t") && !searched.contains("quinn"),
        "{searched}"
    );
    ok(&["user", "set-name", "quinn", "Quinn Q."]);
    ok(&["user", "reset-password", "quinn"]);
    ok(&[
        "user",
        "invite",
        "newcomer@example.test",
        "--role",
        "moderator",
        "--from",
        "root_admin",
    ]);
    let (refused, _, stderr) = run(&["user", "anonymise", "rita", "--confirm", "quinn"]);
    assert!(!refused, "a wrong confirmation");
    assert!(stderr.contains("confirm"), "{stderr}");
    ok(&["user", "anonymise", "rita", "--confirm", "rita"]);
    ok(&["user", "delete", "quinn", "--confirm", "quinn"]);

    let config = crate::util::config_for(&data);
    let store = agora_store::Store::open(
        &config.database().unwrap_or_else(|e| panic!("{e}")),
        config.store_options(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        store
            .account_by_name("quinn")
            .await
            .unwrap_or(None)
            .is_none()
    );
    assert!(
        store
            .account_by_name("rita")
            .await
            .unwrap_or(None)
            .is_none()
    );
    let invitations = store
        .invitations(10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].role, Role::Moderator);
    assert_eq!(invitations[0].invited_by, "root_admin");
    let audit = store
        .audit_log(Cursor::Start, 20)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .rows;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in ["user.anonymise", "invitation.create"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(
        audit
            .iter()
            .filter(|e| e.action == "user.anonymise")
            .all(|e| e.details.contains("command line")),
        "{audit:?}"
    );
    // The reset and the invitation wait in the job queue for the server to send.
    let jobs = store
        .claim_job("test", std::time::Duration::from_secs(60), &["email"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(jobs.is_some(), "an email job is queued");
    assert!(
        store
            .check()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}
