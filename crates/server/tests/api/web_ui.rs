//! The embedded web UI: served at `/` and at client routes, assets with their type and a long
//! cache, and never in place of an API or operations answer.

use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};

use crate::helpers::{TestApp, error_code};

on_both_backends!(
    the_ui_is_served_at_the_root_and_at_client_routes,
    hashed_assets_have_their_type_and_a_long_cache,
    api_and_operations_paths_never_get_the_ui,
);

async fn the_ui_is_served_at_the_root_and_at_client_routes(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let root = app.get("/", None).await;
    assert_eq!(root.status(), StatusCode::OK);
    assert_eq!(root.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(root.headers()[CACHE_CONTROL], "no-cache");
    let csp = root.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let etag = root.headers()[ETAG].clone();
    let index = root.text().await.unwrap();
    assert!(index.contains(r#"<div id="root">"#), "{index}");
    assert!(!index.contains("<script>"), "no inline script: {index}");

    // A reload on a client route gets the same app shell.
    let deep = app.get("/patient/consents", None).await;
    assert_eq!(deep.status(), StatusCode::OK);
    assert_eq!(deep.text().await.unwrap(), index);

    let revalidated = app
        .client
        .get(app.url("/"))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
}

/// The first `/assets/…` file that `index.html` names with the given extension.
fn asset_named(index: &str, extension: &str) -> String {
    index
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(extension))
        .unwrap_or_else(|| panic!("index.html names no {extension} asset: {index}"))
        .to_owned()
}

async fn hashed_assets_have_their_type_and_a_long_cache(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let index = app.get("/", None).await.text().await.unwrap();
    let script = app.get(&asset_named(&index, ".js"), None).await;
    assert_eq!(script.status(), StatusCode::OK);
    let content_type = script.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(
        content_type == "text/javascript; charset=utf-8"
            || content_type == "application/javascript; charset=utf-8",
        "{content_type}"
    );
    assert_eq!(
        script.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(!script.bytes().await.unwrap().is_empty());

    let icon = app.get("/favicon.svg", None).await;
    assert_eq!(icon.headers()[CONTENT_TYPE], "image/svg+xml; charset=utf-8");

    // A stale page asking for a bundle that no longer exists must not receive HTML.
    let missing = app.get("/assets/index-doesnotexist.js", None).await;
    assert_eq!(
        error_code(missing, StatusCode::NOT_FOUND).await,
        "NOT_FOUND"
    );
}

async fn api_and_operations_paths_never_get_the_ui(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in [
        "/api",
        "/api/v1/no-such-thing",
        "/api/v2/records",
        "/metrics/extra",
        "/healthz/deep",
    ] {
        let response = app.get(path, None).await;
        assert_eq!(
            error_code(response, StatusCode::NOT_FOUND).await,
            "NOT_FOUND",
            "{path}"
        );
    }
    // FHIR paths answer in FHIR's own error format, never with the UI.
    let fhir = app.get("/fhir/r4/NoSuchType", None).await;
    assert!(fhir.status().is_client_error(), "{}", fhir.status());
    let outcome: serde_json::Value = fhir.json().await.unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let post = app.client.post(app.url("/patient")).send().await.unwrap();
    assert_eq!(
        error_code(post, StatusCode::METHOD_NOT_ALLOWED).await,
        "METHOD_NOT_ALLOWED"
    );
    let landing = app.get("/api/v1", None).await;
    assert_eq!(landing.status(), StatusCode::OK);
    assert_eq!(
        landing.json::<serde_json::Value>().await.unwrap()["docs"],
        "/api/docs"
    );
}
