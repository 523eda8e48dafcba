use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use reqwest::header::{ALLOW, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_backends!(
    health_and_readiness,
    unknown_routes_and_methods_use_the_error_format,
    request_ids_are_generated_or_propagated,
    metrics_are_labelled_by_route_template,
    product_events_are_counted,
    alerts_and_text_analysis_are_counted,
    security_headers_are_set_and_no_hsts_over_http,
    openapi_document_and_docs_ui_are_served,
);

async fn health_and_readiness(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in ["/healthz", "/readyz"] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"status": "ok"})
        );
    }
}

async fn unknown_routes_and_methods_use_the_error_format(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let missing = app.get("/api/v1/no-such-thing", None).await;
    assert_eq!(
        error_code(missing, StatusCode::NOT_FOUND).await,
        "NOT_FOUND"
    );
    let wrong_method = app
        .client
        .delete(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.headers()[ALLOW], "POST");
    assert_eq!(
        error_code(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await,
        "METHOD_NOT_ALLOWED"
    );
}

async fn request_ids_are_generated_or_propagated(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let generated = app.get("/healthz", None).await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
}

async fn metrics_are_labelled_by_route_template(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let doctor = app.register("dr.metrics", "doctor").await;
    let id = doctor["id"].as_str().unwrap().to_owned();
    app.approve(&id).await;
    app.get("/api/v1/nothing/here", None).await;

    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"meditrustal_http_requests_total{method="POST",route="/api/v1/admin/users/{id}/approve",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched""#));
    assert!(text.contains("meditrustal_http_request_duration_seconds_bucket"));
    assert!(!text.contains(&id), "raw ids never become labels");
    assert!(!text.contains("dr.metrics"));
}

/// The value of an unlabelled sample in a Prometheus text exposition.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn product_events_are_counted(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("pat.metrics", "patient").await;
    let (_, doctor) = app.user("dr.nosy", "doctor").await;
    let record = app.note(&patient, "主诉：胸闷1周").await;
    app.note(&patient, "复诊：胸闷缓解").await;
    let path = format!("/api/v1/records/{record}/content");
    assert_eq!(
        app.get(&path, Some(&patient)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&path, Some(&doctor)).await.status(),
        StatusCode::FORBIDDEN
    );

    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(
        sample(&text, "meditrustal_records_created_total"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(sample(&text, "meditrustal_record_reads_total"), Some(1.0));
    assert_eq!(sample(&text, "meditrustal_access_denials_total"), Some(1.0));
    assert_eq!(
        sample(&text, "meditrustal_emergency_accesses_total"),
        Some(0.0)
    );
    // Accounts, the two creates, the read and the denial are all on the ledger.
    let entries = sample(&text, "meditrustal_ledger_entries").unwrap();
    let head: Value = app
        .get("/api/v1/ledger/head", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert!(entries >= 4.0, "{entries}");
    assert_eq!(
        Some(entries),
        head["tree_head"]["tree_size"].as_f64(),
        "{head}"
    );
    assert!(text.contains(r#"meditrustal_build_info{version=""#));
    assert!(!text.contains("胸闷"), "no clinical text in metrics");
}

/// The samples of a labelled series whose labels include every `labels` pair, summed.
fn labelled_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix('{')?;
            let (set, value) = rest.split_once("} ")?;
            labels
                .iter()
                .all(|label| set.split(',').any(|pair| pair == *label))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

async fn alerts_and_text_analysis_are_counted(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("pat.activity", "patient").await;
    // Analysed when stored: an NLP result, observations and a NEWS2 alert.
    let note = "体温38.9℃，心率118次/分，呼吸26次/分，血压88/52mmHg，神志模糊";
    app.note(&patient, note).await;
    let text = "主诉：咳嗽三天";
    let analysed = app
        .post(
            "/api/v1/nlp/analyze",
            &json!({ "text": text }),
            Some(&patient),
        )
        .await;
    assert_eq!(analysed.status(), StatusCode::OK);

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let bytes = "meditrustal_nlp_analysed_bytes_total";
    assert_eq!(
        labelled_sum(&metrics, bytes, &[r#"source="record""#]),
        note.len() as f64,
        "{metrics}"
    );
    assert_eq!(
        labelled_sum(&metrics, bytes, &[r#"source="request""#]),
        text.len() as f64
    );
    let texts = "meditrustal_nlp_analysis_duration_seconds_count";
    assert_eq!(labelled_sum(&metrics, texts, &[r#"source="record""#]), 1.0);
    assert_eq!(labelled_sum(&metrics, texts, &[r#"source="request""#]), 1.0);
    let alerts = "meditrustal_cdss_alerts_raised_total";
    assert!(
        labelled_sum(&metrics, alerts, &[r#"rule="news2""#]) >= 1.0,
        "{metrics}"
    );
    let listed: Value = app
        .get("/api/v1/cdss/alerts", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    let raised = listed["alerts"].as_array().unwrap();
    assert_eq!(
        labelled_sum(&metrics, alerts, &[]),
        raised.len() as f64,
        "one count per alert raised: {listed}"
    );
    for alert in raised {
        let rule = format!("rule=\"{}\"", alert["rule"].as_str().unwrap());
        let band = format!("band=\"{}\"", alert["band"].as_str().unwrap());
        assert!(
            labelled_sum(&metrics, alerts, &[&rule, &band]) >= 1.0,
            "{metrics}"
        );
    }
    // Without a chain, no chain series.
    assert!(!metrics.contains("meditrustal_chain_"), "{metrics}");
    for clinical in ["体温", "咳嗽", "神志"] {
        assert!(!metrics.contains(clinical), "no clinical text in metrics");
    }
}

async fn security_headers_are_set_and_no_hsts_over_http(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in ["/healthz", "/api/docs/", "/api/v1/no-such-thing"] {
        let response = app.get(path, None).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!headers.contains_key("strict-transport-security"), "{path}");
        // No CORS origins configured: browsers get no permission to call cross-origin.
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "{path}"
        );
    }
}

async fn openapi_document_and_docs_ui_are_served(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/admin/users",
        "/api/v1/admin/users/{id}/approve",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(&meditrustal_server::openapi_json().unwrap()).unwrap()
    );

    let ui = app.get("/api/docs/", None).await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"));
}
