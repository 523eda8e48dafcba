use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_backends!(
    analyze_finds_entities_negation_and_phi,
    deidentify_leaves_no_detected_phi_string,
    summary_and_empty_text,
    nlp_requires_authentication,
    wrong_bodies_are_refused,
    nlp_endpoints_are_in_the_openapi_document,
);

const ID_CARD: &str = "11010519491231002X";
const PHONE: &str = "13812345678";
const NOTE: &str = "患者张伟，男，68岁，身份证号11010519491231002X，电话13812345678。\
                    主诉：咳嗽、咳痰3天。既往史：否认高血压病史。查体：BP 150/95mmHg。";

async fn analyze(app: &TestApp, token: &str, text: &str) -> Value {
    let response = app
        .post("/api/v1/nlp/analyze", &json!({ "text": text }), Some(token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn phi_texts(analysis: &Value) -> Vec<(String, String)> {
    analysis["phi"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "AGE" || p["phi"] == true)
        .map(|p| {
            (
                p["type"].as_str().unwrap().to_owned(),
                p["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn analyze_finds_entities_negation_and_phi(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, doctor) = app.user("dr.chen", "doctor").await;
    let a = analyze(&app, &doctor, NOTE).await;
    let htn = a["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["text"] == "高血压")
        .unwrap_or_else(|| panic!("no 高血压 in {a}"));
    assert_eq!(htn["type"], "dis");
    assert_eq!(htn["negated"], true);
    assert_eq!(htn["icd10"], "I10");
    assert!(
        a["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["text"] == "咳嗽" && e["type"] == "sym" && e["negated"] == false),
        "{a}"
    );
    assert_eq!(a["measurements"][0]["value"], "150/95");
    let phi = phi_texts(&a);
    for expected in [("NAME", "张伟"), ("ID_CARD", ID_CARD), ("PHONE", PHONE)] {
        assert!(
            phi.iter().any(|(k, t)| k == expected.0 && t == expected.1),
            "{expected:?} not in {phi:?}"
        );
    }
    // Offsets are code points into the text sent.
    let chars: Vec<char> = NOTE.chars().collect();
    for e in a["entities"].as_array().unwrap() {
        let (s, t) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            chars[s..t].iter().collect::<String>(),
            e["text"].as_str().unwrap()
        );
    }
    assert!(
        a["sections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["title"] == "主诉")
    );
}

async fn deidentify_leaves_no_detected_phi_string(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("pat.wang", "patient").await;
    let note = format!("{NOTE}2024年3月5日入院，2024年3月8日出院。复诊请联系患者张伟。");
    let phi = phi_texts(&analyze(&app, &patient, &note).await);
    assert!(phi.len() >= 3, "{phi:?}");
    for body in [
        json!({"text": note, "strategy": "mask"}),
        json!({"text": note, "strategy": "tag"}),
        json!({"text": note}),
        json!({"text": note, "strategy": "surrogate"}),
        json!({"text": note, "strategy": "date_shift", "date_shift_days": -40}),
    ] {
        let response = app
            .post("/api/v1/nlp/deidentify", &body, Some(&patient))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", body["strategy"]);
        let out: Value = response.json().await.unwrap();
        let text = out["text"].as_str().unwrap();
        for (kind, original) in &phi {
            assert!(
                !text.contains(original.as_str()),
                "{} left {kind} {original} in {text}",
                body["strategy"]
            );
        }
        // The answer names the spans removed, never their text.
        let removed = out["removed"].as_array().unwrap();
        assert!(removed.len() >= phi.len());
        assert!(removed.iter().all(|r| r.get("text").is_none()));
        assert!(text.contains("高血压"), "clinical content is kept: {text}");
    }
    let tagged: Value = app
        .post(
            "/api/v1/nlp/deidentify",
            &json!({"text": note, "strategy": "tag"}),
            Some(&patient),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(tagged["text"].as_str().unwrap().starts_with("患者[NAME]"));
}

async fn summary_and_empty_text(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, researcher) = app.user("res.liu", "researcher").await;
    let response = app
        .post(
            "/api/v1/nlp/summary",
            &json!({ "text": NOTE }),
            Some(&researcher),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let summary: Value = response.json().await.unwrap();
    assert!(
        summary["chief_complaint"]
            .as_str()
            .is_some_and(|c| c.contains("咳嗽")),
        "{summary}"
    );
    assert!(
        summary["pertinent_negatives"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("高血压"))),
        "{summary}"
    );

    let empty = analyze(&app, &researcher, "").await;
    assert_eq!(
        empty,
        json!({"entities": [], "measurements": [], "phi": [], "sections": []})
    );
    for path in ["/api/v1/nlp/deidentify", "/api/v1/nlp/summary"] {
        let response = app
            .post(path, &json!({"text": ""}), Some(&researcher))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

async fn nlp_requires_authentication(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in [
        "/api/v1/nlp/analyze",
        "/api/v1/nlp/deidentify",
        "/api/v1/nlp/summary",
    ] {
        let response = app.post(path, &json!({ "text": NOTE }), None).await;
        assert_eq!(
            error_code(response, StatusCode::UNAUTHORIZED).await,
            "UNAUTHENTICATED",
            "{path}"
        );
        let forged = app
            .post(path, &json!({ "text": NOTE }), Some("not.a.token"))
            .await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

async fn wrong_bodies_are_refused(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, token) = app.user("pat.zhao", "patient").await;
    for (path, body) in [
        ("/api/v1/nlp/analyze", json!({})),
        ("/api/v1/nlp/analyze", json!({"text": 42})),
        ("/api/v1/nlp/analyze", json!({"note": "发热"})),
        ("/api/v1/nlp/summary", json!("发热")),
        (
            "/api/v1/nlp/deidentify",
            json!({"text": "发热", "strategy": "rot13"}),
        ),
    ] {
        let response = app.post(path, &body, Some(&token)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}"
        );
    }
    for body in [
        json!({"text": "发热", "strategy": "date_shift"}),
        json!({"text": "发热", "strategy": "tag", "date_shift_days": 3}),
        json!({"text": "发热", "strategy": "date_shift", "date_shift_days": 100_000}),
    ] {
        let response = app
            .post("/api/v1/nlp/deidentify", &body, Some(&token))
            .await;
        assert_eq!(
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "INVALID_DATE_SHIFT",
            "{body}"
        );
    }
    let malformed = app
        .client
        .post(app.url("/api/v1/nlp/analyze"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(malformed, StatusCode::BAD_REQUEST).await,
        "MALFORMED_JSON"
    );
}

async fn nlp_endpoints_are_in_the_openapi_document(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    for path in ["analyze", "deidentify", "summary"] {
        let op = &doc["paths"][format!("/api/v1/nlp/{path}")]["post"];
        assert!(op.is_object(), "{path}");
        for status in ["200", "401", "422"] {
            assert!(op["responses"][status].is_object(), "{path} {status}");
        }
    }
    // The documented analysis schema names the fields the endpoint really sends.
    let (_, token) = app.user("pat.schema", "patient").await;
    let a = analyze(&app, &token, NOTE).await;
    let schemas = &doc["components"]["schemas"];
    for (schema, value) in [
        ("Analysis", &a),
        ("Entity", &a["entities"][0]),
        ("Measurement", &a["measurements"][0]),
        ("PhiSpan", &a["phi"][0]),
        ("Section", &a["sections"][0]),
    ] {
        let documented: Vec<&String> = schemas[schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema} missing"))
            .keys()
            .collect();
        for key in value.as_object().unwrap().keys() {
            assert!(documented.contains(&key), "{schema}.{key} undocumented");
        }
    }
}
