//! Cross-site requests are refused before any handler runs, reading stays open, every response
//! carries the security headers, and the account forms leak nothing and guard their sessions:
//! sign-in and reset answer alike for unknown accounts, cookies are HttpOnly and SameSite=Lax,
//! tokens rotate at sign-in, and "sign out everywhere else" does what it says.

use agora_store::{Role, Timestamp};
use axum::http::StatusCode;
use serde_json::json;

use crate::util::{Person, TestApp, TestResponse, both, session_cookie};

const HOST: &str = "127.0.0.1:8080";
const PASSWORD: &str = "correct horse battery staple";

/// The ways a forged request gives itself away.
#[derive(Clone, Copy, Debug)]
enum Forgery {
    /// A browser's fetch metadata: sent from another site.
    CrossSiteFetch,
    /// From a sibling subdomain: still not this origin.
    SameSiteFetch,
    /// An Origin that is not this host (no fetch metadata, as older browsers send).
    ForeignOrigin,
}

const FORGERIES: [Forgery; 3] = [
    Forgery::CrossSiteFetch,
    Forgery::SameSiteFetch,
    Forgery::ForeignOrigin,
];

fn forged_headers<'a>(
    forgery: Forgery,
    content_type: &'a str,
    cookie: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("content-type", content_type), ("host", HOST)];
    match forgery {
        Forgery::CrossSiteFetch => headers.push(("sec-fetch-site", "cross-site")),
        Forgery::SameSiteFetch => headers.push(("sec-fetch-site", "same-site")),
        Forgery::ForeignOrigin => headers.push(("origin", "https://evil.example")),
    }
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    headers
}

fn same_origin_headers<'a>(
    content_type: &'a str,
    cookie: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("content-type", content_type),
        ("sec-fetch-site", "same-origin"),
        ("host", HOST),
        ("origin", "http://127.0.0.1:8080"),
    ];
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    headers
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// One state-changing request, as a browser on this site would send it.
struct Route {
    name: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    cookie: Option<String>,
    /// What the same-origin request answers.
    ok: StatusCode,
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    crate::util::form_body(fields)
}

async fn user_id(app: &TestApp, person: &Person) -> agora_store::UserId {
    app.store()
        .account_by_name(&person.username)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no account {}", person.username))
        .brief
        .id
}

/// What any of the routes could change: the change log (content, accounts, profiles), and
/// the signed-in sessions of `person` (a sign-in writes no change-log entry).
async fn fingerprint(app: &TestApp, person: &Person) -> String {
    let store = app.store();
    let head = store.change_head().await.unwrap_or_else(|e| panic!("{e}"));
    let id = user_id(app, person).await;
    let sessions = store
        .sessions_of(id, Timestamp::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    let account = store
        .account(id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no account"));
    format!(
        "head {head}, {sessions} sessions, display name {:?}, signature {:?}",
        account.brief.display_name, account.signature_md
    )
}

/// The `Set-Cookie` header that sets the session, if any.
fn session_set_cookie(response: &TestResponse) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("agora_session="))
        .map(str::to_string)
}

both!(
    async fn cross_site_writes_are_refused_and_change_nothing(b: Backend) {
        let app = TestApp::demo(b).await;
        let cleo = app.person("cleo_member", Role::Member).await;
        let author = app.person("abe_author", Role::Member).await;
        let moderator = app.person("meg_moderator", Role::Moderator).await;
        let token = app.api_token(&author, "write").await;
        let created = app
            .api(
                "POST",
                "/api/v1/threads",
                Some(&token),
                Some(json!({
                    "subtopic": "app-system-services/networking",
                    "title": "Cross-site test: sockets close after a minute",
                    "tags": ["network"],
                    "kind": "question",
                    "body": "Our sockets close after exactly one minute of idling. Why?",
                })),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let json = created.json();
        // `thread.id` by the contract (the permission matrix checks the shape).
        let thread = json["thread"]["id"]
            .as_i64()
            .or_else(|| json["thread_id"].as_i64())
            .unwrap_or_else(|| panic!("no thread id: {json}"));
        let post = json["post_id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no post_id: {json}"));

        let routes = |n: usize| {
            let username = format!("mallory_{n}");
            let email = format!("mallory_{n}@example.test");
            vec![
                Route {
                    name: "sign in",
                    path: "/signin".into(),
                    content_type: FORM,
                    body: form(&[("login", "cleo_member"), ("password", PASSWORD)]),
                    cookie: None,
                    ok: StatusCode::SEE_OTHER,
                },
                Route {
                    name: "sign up",
                    path: "/signup".into(),
                    content_type: FORM,
                    body: form(&[
                        ("username", &username),
                        ("email", &email),
                        ("password", PASSWORD),
                    ]),
                    cookie: None,
                    ok: StatusCode::SEE_OTHER,
                },
                Route {
                    name: "reply",
                    path: format!("/thread/{thread}/reply"),
                    content_type: FORM,
                    body: form(&[(
                        "body",
                        &format!("Reply {n}: check the keep-alive settings on the proxy."),
                    )]),
                    cookie: Some(cleo.cookie.clone()),
                    ok: StatusCode::SEE_OTHER,
                },
                Route {
                    name: "new thread",
                    path: "/new".into(),
                    content_type: FORM,
                    body: form(&[
                        ("subtopic", "app-system-services/networking"),
                        (
                            "title",
                            &format!("Thread {n}: sockets close after a minute"),
                        ),
                        ("tags", "network"),
                        ("kind", "question"),
                        (
                            "body",
                            "Started from the compose form; refused when forged.",
                        ),
                    ]),
                    cookie: Some(cleo.cookie.clone()),
                    ok: StatusCode::SEE_OTHER,
                },
                Route {
                    name: "edit",
                    path: format!("/posts/{post}/edit"),
                    content_type: FORM,
                    body: form(&[(
                        "body",
                        &format!("Edit {n}: our sockets close after exactly one minute idle."),
                    )]),
                    cookie: Some(author.cookie.clone()),
                    ok: StatusCode::SEE_OTHER,
                },
                Route {
                    name: "boost",
                    path: format!("/posts/{post}/boost"),
                    content_type: FORM,
                    body: Vec::new(),
                    cookie: Some(cleo.cookie.clone()),
                    ok: StatusCode::SEE_OTHER,
                },
                Route {
                    name: "profile",
                    path: "/settings/profile".into(),
                    content_type: FORM,
                    body: form(&[
                        ("display_name", &format!("Cleo {n}")),
                        ("signature", &format!("Signature {n}")),
                    ]),
                    cookie: Some(cleo.cookie.clone()),
                    ok: StatusCode::SEE_OTHER,
                },
                Route {
                    name: "API start thread with the session cookie",
                    path: "/api/v1/threads".into(),
                    content_type: JSON,
                    body: json!({
                        "subtopic": "app-system-services/networking",
                        "title": format!("Cross-site test {n}: a thread from the API"),
                        "tags": ["network"],
                        "kind": "discussion",
                        "body": "Started with the session cookie, from the page's own script.",
                    })
                    .to_string()
                    .into_bytes(),
                    cookie: Some(cleo.cookie.clone()),
                    ok: StatusCode::CREATED,
                },
                // Last: once locked, the thread takes no more replies from members.
                Route {
                    name: "lock",
                    path: format!("/thread/{thread}/lock"),
                    content_type: FORM,
                    body: form(&[("reason", "Resolved")]),
                    cookie: Some(moderator.cookie.clone()),
                    ok: StatusCode::SEE_OTHER,
                },
            ]
        };

        let mut failures = Vec::new();
        for (i, forgery) in FORGERIES.into_iter().enumerate() {
            for route in routes(i) {
                let before = fingerprint(&app, &cleo).await;
                let headers = forged_headers(forgery, route.content_type, route.cookie.as_deref());
                let response = app
                    .send_body("POST", &route.path, &headers, route.body.clone())
                    .await;
                let after = fingerprint(&app, &cleo).await;
                let label = format!("{} (POST {}) with {forgery:?}", route.name, route.path);
                if response.status != StatusCode::FORBIDDEN {
                    failures.push(format!(
                        "{label}: expected 403, got {}: {}",
                        response.status,
                        response.text()
                    ));
                }
                if route.content_type == JSON {
                    let code = serde_json::from_slice::<serde_json::Value>(&response.body)
                        .ok()
                        .and_then(|v| v["error"]["code"].as_str().map(str::to_string));
                    if code.as_deref() != Some("cross_site") {
                        failures.push(format!("{label}: expected code cross_site, got {code:?}"));
                    }
                }
                if before != after {
                    failures.push(format!("{label}: the state changed: {before} -> {after}"));
                }
                if let Some(cookie) = session_set_cookie(&response) {
                    failures.push(format!("{label}: a session cookie was set: {cookie}"));
                }
            }
        }

        // The same requests from this site succeed and do what they say.
        for route in routes(99) {
            let before = fingerprint(&app, &cleo).await;
            let headers = same_origin_headers(route.content_type, route.cookie.as_deref());
            let response = app
                .send_body("POST", &route.path, &headers, route.body.clone())
                .await;
            let after = fingerprint(&app, &cleo).await;
            let label = format!("{} (POST {}) from this site", route.name, route.path);
            if response.status != route.ok {
                failures.push(format!(
                    "{label}: expected {}, got {}: {}",
                    route.ok,
                    response.status,
                    response.text()
                ));
            }
            if before == after {
                failures.push(format!("{label}: nothing changed ({after})"));
            }
        }

        // A request with neither header (curl, an API client) carries its own credentials: it
        // passes.
        let plain = app
            .send_body(
                "POST",
                &format!("/posts/{post}/boost"),
                &[("content-type", FORM), ("cookie", cleo.cookie.as_str())],
                Vec::new(),
            )
            .await;
        if plain.status != StatusCode::SEE_OTHER {
            failures.push(format!(
                "boost without fetch metadata or Origin: expected 303, got {}: {}",
                plain.status,
                plain.text()
            ));
        }

        assert!(
            failures.is_empty(),
            "{} cross-site checks failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
);

both!(
    async fn cross_site_reads_still_work(b: Backend) {
        let app = TestApp::demo(b).await;
        let cleo = app.person("cleo_reader", Role::Member).await;
        for forgery in FORGERIES {
            let anonymous = forged_headers(forgery, "text/html", None);
            let signed_in = forged_headers(forgery, "text/html", Some(&cleo.cookie));
            for (path, headers) in [
                ("/", &anonymous),
                ("/tags", &anonymous),
                ("/topics/app-system-services/networking", &anonymous),
                ("/api/v1/threads/7", &anonymous),
                ("/", &signed_in),
                ("/settings", &signed_in),
            ] {
                let response = app.send("GET", path, headers).await;
                assert_eq!(
                    response.status,
                    StatusCode::OK,
                    "GET {path} with {forgery:?}: {}",
                    response.text()
                );
            }
        }
        let me = app
            .send(
                "GET",
                "/api/v1/me",
                &forged_headers(Forgery::CrossSiteFetch, JSON, Some(&cleo.cookie)),
            )
            .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    }
);

/// Checks one response's security headers; returns what is wrong.
fn header_problems(label: &str, response: &TestResponse) -> Vec<String> {
    let mut problems = Vec::new();
    match response.header("content-security-policy") {
        None => problems.push(format!("{label}: no Content-Security-Policy")),
        Some(csp) => {
            let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
            let find = |name: &str| {
                directives
                    .iter()
                    .find(|d| d.split_whitespace().next() == Some(name))
                    .copied()
            };
            match find("script-src").or_else(|| find("default-src")) {
                None => problems.push(format!("{label}: CSP has no script-src: {csp}")),
                Some(script) if script.contains("'unsafe-inline'") => {
                    problems.push(format!("{label}: script-src allows inline script: {csp}"))
                }
                Some(_) => {}
            }
            if find("frame-ancestors") != Some("frame-ancestors 'none'") {
                problems.push(format!("{label}: CSP lacks frame-ancestors 'none': {csp}"));
            }
        }
    }
    if response.header("x-content-type-options") != Some("nosniff") {
        problems.push(format!(
            "{label}: X-Content-Type-Options is {:?}",
            response.header("x-content-type-options")
        ));
    }
    if response
        .header("referrer-policy")
        .is_none_or(|p| p.trim().is_empty())
    {
        problems.push(format!("{label}: no Referrer-Policy"));
    }
    problems
}

both!(
    async fn responses_carry_security_headers(b: Backend) {
        let app = TestApp::demo(b).await;
        let cleo = app.person("cleo_headers", Role::Member).await;
        let mut problems = Vec::new();
        for path in [
            "/",
            "/signin",
            "/signup",
            "/reset",
            "/thread/7",
            "/no-such-page",
            "/api/v1/areas",
        ] {
            let response = app.get(path).await;
            problems.extend(header_problems(&format!("GET {path}"), &response));
        }
        let settings = app.get_as("/settings", &cleo).await;
        problems.extend(header_problems("GET /settings", &settings));
        let failed_sign_in = app
            .post_form(
                "/signin",
                None,
                &[("login", "cleo_headers"), ("password", "not it")],
            )
            .await;
        problems.extend(header_problems("POST /signin (wrong)", &failed_sign_in));
        let refused = app
            .send_body(
                "POST",
                "/settings/profile",
                &forged_headers(Forgery::CrossSiteFetch, FORM, Some(&cleo.cookie)),
                form(&[("display_name", "Evil"), ("signature", "")]),
            )
            .await;
        problems.extend(header_problems("cross-site POST (refused)", &refused));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
);

/// The body with what the visitor typed replaced by a marker: the form gives typed values
/// back, and that alone must be the difference.
fn masked(response: &TestResponse, typed: &str) -> String {
    response.text().replace(typed, "TYPED")
}

both!(
    async fn sign_in_and_reset_answer_alike_for_unknown_accounts(b: Backend) {
        let app = TestApp::demo(b).await;
        // Names of equal length, so even a length-revealing body could not tell them apart.
        app.person("vera_victim", Role::Member).await;
        for (existing, unknown) in [
            ("vera_victim", "nora_nobody"),
            ("vera_victim@example.test", "nora_nobody@example.test"),
        ] {
            let known = app
                .post_form(
                    "/signin",
                    None,
                    &[("login", existing), ("password", "wrong password")],
                )
                .await;
            let missing = app
                .post_form(
                    "/signin",
                    None,
                    &[("login", unknown), ("password", "wrong password")],
                )
                .await;
            assert_eq!(
                known.status,
                StatusCode::UNAUTHORIZED,
                "wrong password for {existing}: {}",
                known.text()
            );
            assert_eq!(
                known.status, missing.status,
                "sign-in as {existing} and as {unknown} answer differently"
            );
            assert_eq!(
                masked(&known, existing),
                masked(&missing, unknown),
                "sign-in pages differ between an existing ({existing}) and an unknown ({unknown}) account"
            );
            assert!(session_cookie(&known).is_none() && session_cookie(&missing).is_none());
        }

        let known = app
            .post_form("/reset", None, &[("email", "vera_victim@example.test")])
            .await;
        let missing = app
            .post_form("/reset", None, &[("email", "nora_nobody@example.test")])
            .await;
        assert!(
            known.status.is_success() || known.status == StatusCode::SEE_OTHER,
            "POST /reset: {} {}",
            known.status,
            known.text()
        );
        assert_eq!(known.status, missing.status, "reset statuses differ");
        assert_eq!(
            known.header("location"),
            missing.header("location"),
            "reset redirects differ"
        );
        assert_eq!(
            masked(&known, "vera_victim@example.test"),
            masked(&missing, "nora_nobody@example.test"),
            "reset pages differ between an existing and an unknown email"
        );
    }
);

async fn sign_in(app: &TestApp, login: &str, cookie: Option<&str>) -> TestResponse {
    let response = app
        .post_form(
            "/signin",
            cookie,
            &[("login", login), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "sign in as {login}: {}",
        response.text()
    );
    response
}

async fn settings_status(app: &TestApp, cookie: &str) -> (StatusCode, String) {
    let response = app.request("/settings", &[("cookie", cookie)]).await;
    let location = response.header("location").unwrap_or_default().to_string();
    (response.status, location)
}

both!(
    async fn sessions_are_guarded_rotated_and_ended(b: Backend) {
        let app = TestApp::demo(b).await;
        let dana = app.person("dana_sessions", Role::Member).await;
        let first = dana.cookie.clone();

        let response = sign_in(&app, "dana_sessions", None).await;
        let set_cookie = session_set_cookie(&response)
            .unwrap_or_else(|| panic!("sign-in set no session cookie"));
        let lower = set_cookie.to_lowercase();
        assert!(lower.contains("httponly"), "not HttpOnly: {set_cookie}");
        assert!(
            lower.contains("samesite=lax"),
            "not SameSite=Lax: {set_cookie}"
        );
        let second = session_cookie(&response).unwrap_or_else(|| panic!("no cookie"));

        // Signing in again, from a browser that already has a session, issues a new token (the
        // session it replaces may end: that is not checked here).
        let response = sign_in(&app, "dana_sessions@example.test", Some(&second)).await;
        let third = session_cookie(&response).unwrap_or_else(|| panic!("no cookie"));
        assert_ne!(first, second, "sign-in reused the sign-up token");
        assert_ne!(second, third, "a second sign-in reused the token");
        assert_ne!(first, third);
        // And another browser.
        let response = sign_in(&app, "dana_sessions", None).await;
        let fourth = session_cookie(&response).unwrap_or_else(|| panic!("no cookie"));

        for cookie in [&first, &third, &fourth] {
            assert_eq!(
                settings_status(&app, cookie).await.0,
                StatusCode::OK,
                "{cookie} should be signed in"
            );
        }

        // "Sign out everywhere else" from the third session.
        let ended = app
            .post_form("/settings/sessions/end-others", Some(&third), &[])
            .await;
        assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.text());
        for cookie in [&first, &second, &fourth] {
            let (status, location) = settings_status(&app, cookie).await;
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "an ended session still opens /settings"
            );
            assert!(
                location.starts_with("/signin"),
                "an ended session is sent to {location:?}, not /signin"
            );
        }
        assert_eq!(settings_status(&app, &third).await.0, StatusCode::OK);

        // Signing out ends this one too.
        let out = app.post_form("/signout", Some(&third), &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.text());
        let (status, location) = settings_status(&app, &third).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.starts_with("/signin"), "{location}");
    }
);
