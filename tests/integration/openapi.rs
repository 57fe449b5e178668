//! The OpenAPI document describes what the handlers really return: every documented route
//! answers, and every response's fields are declared in its schema (recursively), with every
//! required field present.

use serde_json::Value;

use crate::util::{TestApp, both};

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
            ("/api/v1/threads/{id}", "/api/v1/threads/6"),
            ("/api/v1/threads/{id}", "/api/v1/threads/3"),
            ("/api/v1/users/{username}", "/api/v1/users/javery"),
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
        assert_eq!(documented.len(), 26, "{documented:?}");
        for write in [
            ("/api/v1/threads", "post"),
            ("/api/v1/threads/{id}/posts", "post"),
            ("/api/v1/posts/{id}", "patch"),
            ("/api/v1/posts/{id}", "delete"),
            ("/api/v1/posts/{id}/boost", "post"),
            ("/api/v1/threads/{id}/lock", "post"),
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
        let response = app
            .api("POST", "/api/v1/threads", None, Some(serde_json::json!({})))
            .await;
        assert_eq!(response.status.as_u16(), 400, "{}", response.text());
        let response = app.api("GET", "/api/v1/me", None, None).await;
        assert_eq!(response.status.as_u16(), 401);
        check(&doc, unauthorized, &response.json(), "401");
    }
);
