//! The web UI: the files Vite built into `web/dist`, embedded in the binary at compile time so
//! one binary serves both UI and API.
//!
//! Paths that belong to the API or to operations (`/api/…`, `/fhir/…`, `/metrics`,
//! `/healthz`, `/readyz`) are never answered with the UI: an unknown one stays the standard
//! JSON 404. A missing file under `/assets/` is a 404 too (a stale page asking for an old
//! bundle must fail visibly, not receive HTML); every other GET gets `index.html`, so the
//! single-page app's client routes (`/patient/consents`, …) survive a reload.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use crate::error::ApiError;

#[derive(Embed)]
#[folder = "../../web/dist"]
struct Dist;

/// Vite names hashed bundles `assets/<name>-<hash>.<ext>`: they never change, so caches keep
/// them for a year. Everything else (`index.html`, icons) is revalidated on each load.
const HASHED_PREFIX: &str = "assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The router's fallback: a UI file, the app shell, or the standard 404/405.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_server_path(path) {
        return ApiError::not_found().into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return crate::error::method_not_allowed().await.into_response();
    }
    let name = path.trim_start_matches('/');
    match Dist::get(name) {
        Some(file) if !name.is_empty() => file_response(name, file, &headers),
        _ if name.starts_with(HASHED_PREFIX) => ApiError::not_found().into_response(),
        _ => match Dist::get("index.html") {
            Some(index) => file_response("index.html", index, &headers),
            None => ApiError::not_found().into_response(),
        },
    }
}

fn is_server_path(path: &str) -> bool {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    under("/api") || under("/fhir") || under("/metrics") || under("/healthz") || under("/readyz")
}

fn file_response(name: &str, file: rust_embed::EmbeddedFile, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let cache = if name.starts_with(HASHED_PREFIX) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut response = if headers
        .get(IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.data.into_owned().into_response()
    };
    let content_type = content_type(file.metadata.mimetype());
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response_headers.insert(CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(ETAG, value);
    }
    response_headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Text is UTF-8 (Vite writes it so); browsers should not guess.
fn content_type(mime: &str) -> String {
    if mime.starts_with("text/") || mime == "application/javascript" || mime == "image/svg+xml" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_paths_are_never_the_ui() {
        for path in [
            "/api",
            "/api/v1/nope",
            "/fhir/r4/Patient",
            "/metrics",
            "/healthz",
            "/readyz",
        ] {
            assert!(is_server_path(path), "{path}");
        }
        for path in [
            "/",
            "/patient",
            "/apiary",
            "/assets/index.js",
            "/metricsboard",
        ] {
            assert!(!is_server_path(path), "{path}");
        }
    }

    #[test]
    fn text_gets_a_charset() {
        assert_eq!(content_type("text/html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("application/javascript"),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(content_type("image/png"), "image/png");
    }
}
