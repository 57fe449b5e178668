//! The OpenAPI document is the API's contract, as strict as the server: every documented route
//! answers, every response's fields are declared in its schema (recursively, with their enums
//! and integer types), every parameter and enum is typed, the services' limits are declared,
//! every status a route can answer is documented, and its examples name things that exist.
//! `scripts/api-contract` puts the same document to schemathesis.

use agora::services::{accounts, moderation, posting, read, search};
use agora_store::{ListingFilter, PinScope, Role, SortKey, SortOrder, ThreadKind, TokenScope};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::util::{TestApp, both};

fn document() -> Value {
    serde_json::from_str(&agora::api::openapi_json()).unwrap_or_else(|e| panic!("{e}"))
}

/// Every operation: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            out.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    out
}

fn spellings<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Value {
    Value::from(all.iter().map(|v| as_str(*v)).collect::<Vec<_>>())
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Checks `value` against `schema` (from `doc`), panicking with the path of the first mismatch.
pub(crate) fn check(doc: &Value, schema: &Value, value: &Value, path: &str) {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        // A flattened struct: one object with every part's properties and required fields.
        let mut merged = json!({"type": "object", "properties": {}, "required": []});
        for part in parts {
            let part = resolve(doc, part);
            for (name, property) in part["properties"].as_object().into_iter().flatten() {
                merged["properties"][name] = property.clone();
            }
            for name in part["required"].as_array().into_iter().flatten() {
                if let Some(required) = merged["required"].as_array_mut() {
                    required.push(name.clone());
                }
            }
        }
        return check(doc, &merged, value, path);
    }
    if let Some(options) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        // Nullable refs come as oneOf [null, ref]: check against the non-null alternative.
        if value.is_null() {
            return;
        }
        let target = options
            .iter()
            .find(|o| o.get("type") != Some(&Value::from("null")));
        if let Some(target) = target {
            check(doc, target, value, path);
        }
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let Some(props) = props else {
                panic!("{path}: an object where the schema has no properties: {schema}");
            };
            for (key, v) in map {
                let Some(prop) = props.get(key) else {
                    panic!("{path}.{key} is returned but not in the schema");
                };
                check(doc, prop, v, &format!("{path}.{key}"));
            }
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for key in required.iter().filter_map(Value::as_str) {
                    assert!(
                        map.contains_key(key),
                        "{path}.{key} is required by the schema but missing"
                    );
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(doc, item_schema, item, &format!("{path}[{i}]"));
                }
            }
        }
        _ => {}
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let declared: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    assert!(
        declared.is_empty()
            || declared.contains(&kind)
            || (kind == "integer" && declared.contains(&"number")),
        "{path}: a {kind} where the schema says {declared:?}"
    );
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        assert!(
            allowed.contains(value),
            "{path}: {value} is not one of the documented {allowed:?}"
        );
    }
}

both!(
    async fn the_document_matches_the_handlers(b: Backend) {
        let app = TestApp::demo(b).await;
        let doc = app.ok("/api/v1/openapi.json").await.json();
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{}",
            doc["openapi"]
        );
        let cases = [
            ("/api/v1/areas", "/api/v1/areas"),
            (
                "/api/v1/topics/{area}/{subtopic}/threads",
                "/api/v1/topics/app-system-services/networking/threads",
            ),
            ("/api/v1/tags", "/api/v1/tags"),
            (
                "/api/v1/tags/{tag}/threads",
                "/api/v1/tags/network/threads?filter=solved",
            ),
            (
                "/api/v1/topics/{area}/{subtopic}/threads",
                "/api/v1/topics/app-system-services/networking/threads?filter=staff-answered&sortBy=views&sortOrder=asc&page=1",
            ),
            ("/api/v1/threads/{id}", "/api/v1/threads/6"),
            ("/api/v1/threads/{id}", "/api/v1/threads/3"),
            ("/api/v1/users/{username}", "/api/v1/users/javery"),
            (
                "/api/v1/users/{username}",
                "/api/v1/users/javery?tab=boosts-received&page=1",
            ),
            ("/api/v1/users", "/api/v1/users?sort=answers&q=j"),
            ("/api/v1/posts/{id}/revisions", "/api/v1/posts/1/revisions"),
            ("/api/v1/search", "/api/v1/search?q=udp+receive"),
            ("/api/v1/search", "/api/v1/search?q=netwrok+is%3Anonsense"),
            (
                "/api/v1/similar",
                "/api/v1/similar?title=UDP+receive+fires+only+once",
            ),
        ];
        app.index().await;
        let documented: Vec<&String> = doc["paths"]
            .as_object()
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        // Every route under /api/v1 is documented (the writes are checked by the permission
        // and flow tests; their error bodies are checked here below).
        // 26 forum routes; admin: 3 for the site (`api/admin_site.rs`), 8 for areas,
        // subtopics and tags (`api/admin_structure.rs`), 9 for members and invitations and 1
        // for the public member directory (`api/admin_members.rs`), 2 for the caller's drafts
        // (`api/drafts.rs`), 3 for notifications and watches (`api/notifications.rs`), 2 for
        // the caller's bookmarks (`api/bookmarks.rs`), 2 for uploads (`api/uploads.rs`).
        assert_eq!(documented.len(), 56, "{documented:?}");
        for write in [
            ("/api/v1/threads", "post"),
            ("/api/v1/threads/{id}/posts", "post"),
            ("/api/v1/posts/{id}", "patch"),
            ("/api/v1/posts/{id}", "delete"),
            ("/api/v1/posts/{id}/boost", "post"),
            ("/api/v1/threads/{id}/lock", "post"),
            ("/api/v1/admin/areas", "post"),
            ("/api/v1/admin/subtopics/{id}/move-threads", "post"),
            ("/api/v1/admin/tags/{tag}/merge", "post"),
        ] {
            let operation = &doc["paths"][write.0][write.1];
            assert!(operation.is_object(), "{write:?} is not documented");
            assert!(
                operation["security"].is_array(),
                "{write:?} does not say it takes a token"
            );
        }
        assert!(doc["components"]["securitySchemes"]["token"].is_object());
        for (template, url) in cases {
            let operation = &doc["paths"][template]["get"];
            assert!(operation.is_object(), "{template} is not documented");
            let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
            let body = app.ok(url).await.json();
            check(&doc, schema, &body, url);
        }
        // Errors too.
        let error_schema = &doc["paths"]["/api/v1/threads/{id}"]["get"]["responses"]["404"]["content"]
            ["application/json"]["schema"];
        let body = app.get("/api/v1/threads/999").await.json();
        check(&doc, error_schema, &body, "404");
        let unauthorized = &doc["paths"]["/api/v1/threads"]["post"]["responses"]["401"]["content"]
            ["application/json"]["schema"];
        // Who is asking is checked before what they sent.
        let response = app
            .api("POST", "/api/v1/threads", None, Some(json!({})))
            .await;
        assert_eq!(response.status.as_u16(), 401, "{}", response.text());
        check(&doc, unauthorized, &response.json(), "401");
        let response = app.api("GET", "/api/v1/me", None, None).await;
        assert_eq!(response.status.as_u16(), 401);
        check(&doc, unauthorized, &response.json(), "401");
        // The answers that need a token: the caller, the flag queue, the audit log.
        let member = app.person("quinn", Role::Member).await;
        let member_token = app.api_token(&member, "write").await;
        let flagged = app
            .api(
                "POST",
                "/api/v1/posts/2/flags",
                Some(&member_token),
                Some(json!({"reason": "Off topic"})),
            )
            .await;
        assert_eq!(flagged.status, StatusCode::CREATED, "{}", flagged.text());
        let admin = app.person("ada", Role::Admin).await;
        let admin_token = app.api_token(&admin, "write").await;
        let locked = app
            .api(
                "POST",
                "/api/v1/threads/6/lock",
                Some(&admin_token),
                Some(json!({"reason": "Answered"})),
            )
            .await;
        assert_eq!(locked.status, StatusCode::OK, "{}", locked.text());
        for (template, url) in [
            ("/api/v1/me", "/api/v1/me"),
            ("/api/v1/flags", "/api/v1/flags"),
            ("/api/v1/audit", "/api/v1/audit"),
        ] {
            let schema = &doc["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"];
            let response = app.api("GET", url, Some(&admin_token), None).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{url}: {}",
                response.text()
            );
            let body = response.json();
            assert!(body.to_string().len() > 20, "{url}: {body}");
            check(&doc, schema, &body, url);
        }
    }
);

/// Every route documents every status it can answer, each error with the `ErrorBody` schema.
#[test]
fn every_operation_documents_its_statuses() {
    let doc = document();
    let error_body = json!({"$ref": "#/components/schemas/ErrorBody"});
    for (path, method, operation) in operations(&doc) {
        let name = format!("{} {path}", method.to_uppercase());
        let responses = operation["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no responses"));
        let has = |status: &str| responses.contains_key(status);
        let needs_token = operation["security"].is_array();
        let reads_store = path != "/api/v1/similar";
        let mut wanted = Vec::new();
        if needs_token {
            wanted.push("401");
        }
        if needs_token && method != "get" && path != "/api/v1/preview" {
            // Read-only tokens, suspended accounts, other people's things.
            wanted.push("403");
        }
        if operation["requestBody"].is_object() || operation["parameters"].is_array() {
            wanted.push("400");
        }
        if path.contains('{') {
            wanted.push("404");
        }
        if reads_store {
            wanted.push("503");
        }
        // A body over the limit is refused on every route; finding the caller can write (a
        // token's last use), so every route that takes one can find the disk full.
        wanted.push("413");
        if needs_token {
            wanted.push("507");
        }
        for status in wanted {
            // A path's only parameter may leave nothing to be bad about.
            if status == "400"
                && operation["requestBody"].is_null()
                && operation["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().all(|p| p["in"] == "path"))
            {
                continue;
            }
            assert!(has(status), "{name} does not document {status}");
        }
        for (status, response) in responses {
            let code: u16 = status.parse().unwrap_or(0);
            if code >= 400 {
                assert_eq!(
                    response["content"]["application/json"]["schema"], error_body,
                    "{name} {status} is not an ErrorBody"
                );
            }
        }
    }
    // The writes that can be refused for going too fast say so.
    for (path, method) in [
        ("/api/v1/threads", "post"),
        ("/api/v1/threads/{id}/posts", "post"),
        ("/api/v1/posts/{id}", "patch"),
        ("/api/v1/posts/{id}/boost", "post"),
        ("/api/v1/posts/{id}/flags", "post"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["429"].is_object(),
            "{method} {path} does not document 429"
        );
    }
}

/// Parameters are typed: pages are integers with bounds, sorts and filters are enums spelled
/// as the store spells them.
#[test]
fn parameters_are_typed() {
    let doc = document();
    let mut pages = 0;
    for (path, method, operation) in operations(&doc) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().unwrap_or("");
            let schema = &parameter["schema"];
            let at = format!("{method} {path} {name}");
            assert!(
                schema["type"].is_string() || schema["type"].is_array(),
                "{at}: untyped {schema}"
            );
            let expected_enum = match name {
                "sortBy" => Some(spellings(SortKey::ALL, SortKey::as_str)),
                "sortOrder" => Some(spellings(SortOrder::ALL, SortOrder::as_str)),
                "filter" => Some(spellings(ListingFilter::ALL, ListingFilter::as_str)),
                _ => None,
            };
            if let Some(expected) = expected_enum {
                assert_eq!(schema["enum"], expected, "{at}");
            }
            if name == "page" {
                pages += 1;
                assert_eq!(schema["type"], "integer", "{at}");
                assert_eq!(schema["minimum"], 1, "{at}");
                let max = if path == "/api/v1/search" {
                    search::MAX_RESULT_PAGE
                } else {
                    read::MAX_PAGE
                };
                assert_eq!(schema["maximum"], max, "{at}");
            }
            if name == "id" {
                assert_eq!(schema["type"], "integer", "{at}");
            }
            if parameter["in"] == "path" {
                assert_eq!(parameter["required"], true, "{at}");
            }
            if name == "username" {
                assert_eq!(schema["minLength"], accounts::USERNAME_CHARS.0, "{at}");
                assert_eq!(schema["maxLength"], accounts::USERNAME_CHARS.1, "{at}");
            }
        }
    }
    assert!(pages >= 5, "{pages} page parameters");
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    schema
}

/// Request bodies declare the services' limits and choices; responses declare their enums.
#[test]
fn schemas_declare_limits_and_enums() {
    let doc = document();
    let thread = &component(&doc, "NewThreadBody")["properties"];
    assert_eq!(thread["title"]["minLength"], posting::TITLE_CHARS.0);
    assert_eq!(thread["title"]["maxLength"], posting::TITLE_CHARS.1);
    assert!(thread["title"]["pattern"].is_string());
    assert_eq!(thread["body"]["minLength"], posting::BODY_CHARS.0);
    assert_eq!(thread["body"]["maxLength"], posting::BODY_CHARS.1);
    assert_eq!(thread["tags"]["minItems"], 1);
    assert_eq!(thread["tags"]["maxItems"], posting::MAX_TAGS);
    assert_eq!(
        thread["kind"]["enum"],
        spellings(ThreadKind::ALL, ThreadKind::as_str)
    );
    let required = &component(&doc, "NewThreadBody")["required"];
    assert!(
        !required
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r == "kind")
    );
    let edit = &component(&doc, "EditBody")["properties"];
    assert_eq!(edit["reason"]["maxLength"], posting::EDIT_REASON_CHARS);
    assert_eq!(edit["title"]["maxLength"], posting::TITLE_CHARS.1);
    assert_eq!(edit["title"]["type"], json!(["string", "null"]));
    let reason = &component(&doc, "ReasonBody")["properties"]["reason"];
    assert_eq!(reason["minLength"], 1);
    assert_eq!(reason["maxLength"], moderation::REASON_CHARS);
    let suspension = &component(&doc, "SuspendBody")["properties"];
    assert_eq!(suspension["until"]["format"], "date");
    assert_eq!(suspension["reason"], *reason);
    let mut pins = spellings(PinScope::ALL, PinScope::as_str);
    if let Some(list) = pins.as_array_mut() {
        list.push("none".into());
    }
    assert_eq!(
        component(&doc, "PinBody")["properties"]["scope"]["enum"],
        pins
    );
    assert_eq!(
        component(&doc, "ResolveBody")["properties"]["resolution"]["enum"],
        json!(["dismiss", "hide"])
    );
    assert_eq!(
        component(&doc, "PostRef")["properties"]["post_id"]["type"],
        "integer"
    );
    // Responses.
    let roles = spellings(Role::ALL, Role::as_str);
    assert_eq!(
        component(&doc, "AuthorView")["properties"]["role"]["enum"],
        roles
    );
    assert_eq!(
        component(&doc, "UserView")["properties"]["role"]["enum"],
        roles
    );
    let summary = &component(&doc, "ThreadSummaryView")["properties"];
    assert_eq!(
        summary["kind"]["enum"],
        spellings(ThreadKind::ALL, ThreadKind::as_str)
    );
    let mut pinned = spellings(PinScope::ALL, PinScope::as_str);
    if let Some(list) = pinned.as_array_mut() {
        list.push(Value::Null);
    }
    assert_eq!(summary["pinned"]["enum"], pinned);
    let state = &component(&doc, "ListingStateView")["properties"];
    assert_eq!(
        state["filter"]["enum"],
        spellings(ListingFilter::ALL, ListingFilter::as_str)
    );
    let mut scopes = spellings(TokenScope::ALL, TokenScope::as_str);
    if let Some(list) = scopes.as_array_mut() {
        list.push(Value::Null);
    }
    // MeView flattens an AuthorView: its own fields are the second part of an allOf.
    let me = component(&doc, "MeView")["allOf"]
        .as_array()
        .and_then(|parts| parts.iter().find(|p| p["properties"].is_object()))
        .unwrap_or_else(|| panic!("MeView has no properties"));
    assert_eq!(me["properties"]["token_scope"]["enum"], scopes);
}

/// The value of `name` made from a schema's first example (a path parameter's, or a body
/// property's).
fn example(schema: &Value) -> Value {
    schema["examples"][0].clone()
}

both!(
    /// The examples name things that exist: each GET answers 200 with its path's examples, and
    /// a new thread made of its schema's examples is created.
    async fn examples_name_things_that_exist(b: Backend) {
        let app = TestApp::demo(b).await;
        let doc = app.ok("/api/v1/openapi.json").await.json();
        for (path, method, operation) in operations(&doc) {
            if method != "get" || !path.contains('{') || operation["security"].is_array() {
                continue;
            }
            let mut url = path.clone();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    let name = parameter["name"].as_str().unwrap_or("");
                    let value = match parameter.get("example") {
                        Some(v) if !v.is_null() => v.clone(),
                        _ => example(&parameter["schema"]),
                    };
                    let value = match value {
                        Value::String(s) => s,
                        Value::Null => panic!("GET {path}: no example for {name}"),
                        other => other.to_string(),
                    };
                    url = url.replace(&format!("{{{name}}}"), &value);
                }
            }
            let response = app.get(&url).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{url}: {}",
                response.text()
            );
        }
        let properties = component(&doc, "NewThreadBody")["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let body: serde_json::Map<String, Value> = properties
            .iter()
            .filter(|(name, _)| *name != "kind")
            .map(|(name, schema)| (name.clone(), example(schema)))
            .collect();
        let person = app.person("quinn", Role::Member).await;
        let token = app.api_token(&person, "write").await;
        let created = app
            .api(
                "POST",
                "/api/v1/threads",
                Some(&token),
                Some(Value::Object(body)),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    }
);

both!(
    /// Every write checks the caller before it reads the body: anonymous callers get 401 and
    /// read-only tokens 403 `insufficient_scope`, whatever they sent.
    async fn the_caller_is_checked_before_the_body(b: Backend) {
        let app = TestApp::demo(b).await;
        let doc = app.ok("/api/v1/openapi.json").await.json();
        let person = app.person("quinn", Role::Member).await;
        let read_only = app.api_token(&person, "read").await;
        let mut writes = 0;
        for (path, method, operation) in operations(&doc) {
            if method == "get" || !operation["security"].is_array() {
                continue;
            }
            writes += 1;
            let url = path.replace("{id}", "6").replace("{username}", "javery");
            let method = method.to_uppercase();
            for body in [&b"not json"[..], b"{}", b""] {
                let response = app
                    .send_body(
                        &method,
                        &url,
                        &[("content-type", "application/json")],
                        body.to_vec(),
                    )
                    .await;
                assert_eq!(
                    response.status,
                    StatusCode::UNAUTHORIZED,
                    "anonymous {method} {url}: {}",
                    response.text()
                );
                assert_eq!(response.json()["error"]["code"], "unauthorized");
                if path == "/api/v1/preview" {
                    continue;
                }
                let auth = format!("Bearer {read_only}");
                let response = app
                    .send_body(
                        &method,
                        &url,
                        &[
                            ("content-type", "application/json"),
                            ("authorization", &auth),
                        ],
                        body.to_vec(),
                    )
                    .await;
                assert_eq!(
                    response.status,
                    StatusCode::FORBIDDEN,
                    "read-only {method} {url}: {}",
                    response.text()
                );
                assert_eq!(response.json()["error"]["code"], "insufficient_scope");
            }
        }
        assert!(writes >= 20, "{writes} writes");
        // The two the testers found, spelled out.
        for path in [
            "/api/v1/threads/6/accepted",
            "/api/v1/threads/6/recommended",
        ] {
            let response = app.send("PUT", path, &[]).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(response.json()["error"]["code"], "unauthorized");
        }
    }
);
