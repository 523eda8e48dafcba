//! Traces over OTLP/HTTP from the real binary, received by a minimal collector in the test:
//! off by default, on with `--otlp-endpoint` or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`;
//! request spans name the route template and carry method, status and request id, and
//! nothing sent holds a body, a token, a password or clinical text. The last spans are
//! flushed when the server stops on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;
use common::{PASSWORD, Server, register_and_login, sqlite_in};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest::StatusCode;

/// What the collector received: the raw bodies, as sent.
type Received = Arc<Mutex<Vec<Bytes>>>;

/// An OTLP/HTTP trace receiver on a free port: `POST /v1/traces` with a protobuf body.
async fn start_collector() -> (SocketAddr, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body);
                // An empty ExportTraceServiceResponse: everything accepted.
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, received)
}

const NOTE: &str = "主诉：胸痛三天，既往史：2型糖尿病10年，青霉素过敏";

/// Registers, creates a note and reads it back; the access token used.
async fn traffic(server: &Server) -> (String, String) {
    let client = reqwest::Client::new();
    let token = register_and_login(server, &client, "patient_traces").await;
    let created = client
        .post(server.url("/api/v1/records?category=clinical-note"))
        .bearer_auth(&token)
        .header("content-type", "text/plain; charset=utf-8")
        .body(NOTE)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let request_id = created.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let record: serde_json::Value = created.json().await.unwrap();
    let id = record["id"].as_str().unwrap();
    let read = client
        .get(server.url(&format!("/api/v1/records/{id}/content")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    (token, request_id)
}

fn spans(received: &Received) -> Vec<(Vec<KeyValue>, Span)> {
    let mut spans = Vec::new();
    for body in received.lock().unwrap().iter() {
        let request = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
        for resource_spans in request.resource_spans {
            let resource = resource_spans.resource.unwrap_or_default().attributes;
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push((resource.clone(), span));
                }
            }
        }
    }
    spans
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| value.value.as_ref())
}

fn string_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key) {
        Some(AnyValue::StringValue(text)) => Some(text),
        _ => None,
    }
}

fn int_attribute(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key) {
        Some(AnyValue::IntValue(value)) => Some(*value),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_reach_an_otlp_collector_without_secrets_or_clinical_text() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = sqlite_in(&dir.path().join("data"));
    let (collector, received) = start_collector().await;
    let endpoint = format!("http://{collector}");
    let server = Server::start_with(&deployment, &["--otlp-endpoint", &endpoint], &[]).await;
    let (token, request_id) = traffic(&server).await;
    // The batch exporter holds spans for seconds; a graceful stop must send them.
    server.signal("TERM");
    assert_eq!(server.wait().await.code(), Some(0));

    let spans = spans(&received);
    let create = spans
        .iter()
        .find(|(_, span)| span.name == "POST /api/v1/records")
        .unwrap_or_else(|| {
            let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
            panic!("no span for the create; spans: {names:?}")
        });
    let (resource, span) = create;
    assert_eq!(
        string_attribute(resource, "service.name"),
        Some("meditrustal")
    );
    assert_eq!(
        string_attribute(&span.attributes, "http.route"),
        Some("/api/v1/records")
    );
    assert_eq!(
        string_attribute(&span.attributes, "http.request.method"),
        Some("POST")
    );
    assert_eq!(
        int_attribute(&span.attributes, "http.response.status_code"),
        Some(201)
    );
    assert_eq!(
        string_attribute(&span.attributes, "request_id"),
        Some(request_id.as_str())
    );
    assert!(
        spans
            .iter()
            .any(|(_, span)| span.name == "GET /api/v1/records/{id}/content"),
        "the read's span names the route template, not the record id"
    );

    // Only the platform's spans: not those of the HTTP client that sends them.
    for (_, span) in &spans {
        let target = string_attribute(&span.attributes, "target").unwrap_or_default();
        assert!(
            target.starts_with("meditrustal"),
            "span {} from {target}",
            span.name
        );
    }

    let sent: Vec<u8> = received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|body| body.to_vec())
        .collect();
    let sent = String::from_utf8_lossy(&sent);
    for secret in [NOTE, "胸痛", "糖尿病", PASSWORD, token.as_str()] {
        assert!(!sent.contains(secret), "a span holds {secret:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_variable_switches_traces_on_and_nothing_is_sent_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, received) = start_collector().await;

    let quiet = sqlite_in(&dir.path().join("quiet"));
    let server = Server::start_with(&quiet, &[], &[]).await;
    traffic(&server).await;
    server.signal("TERM");
    assert_eq!(server.wait().await.code(), Some(0));
    assert!(
        received.lock().unwrap().is_empty(),
        "traces are off by default"
    );

    let standard = sqlite_in(&dir.path().join("standard"));
    let endpoint = format!("http://{collector}");
    let server = Server::start_with(
        &standard,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_SERVICE_NAME", "meditrustal-ward-7"),
        ],
    )
    .await;
    traffic(&server).await;
    server.signal("TERM");
    assert_eq!(server.wait().await.code(), Some(0));
    let spans = spans(&received);
    let (resource, _) = spans
        .iter()
        .find(|(_, span)| span.name == "POST /api/v1/records")
        .expect("a span for the create");
    assert_eq!(
        string_attribute(resource, "service.name"),
        Some("meditrustal-ward-7")
    );
}
