//! The span each request runs in. Its fields are what logs and exported traces may say about
//! a request: method, route *template* (never the raw path with its ids or query), status and
//! request id. Bodies, headers and tokens stay out.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::Response;
use tracing::Span;
use tracing::field::Empty;

/// `otel.*` fields name and classify the span for OpenTelemetry; the others follow its HTTP
/// semantic conventions.
pub fn make(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let method = request.method().as_str();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        request_id = request_id,
    )
}

pub fn record_status<B>(response: &Response<B>, _latency: Duration, span: &Span) {
    let status = response.status();
    // As i64: OpenTelemetry has no unsigned integers and would send a u16 as a string.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
}
