use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_backends!(
    every_role_can_list_and_compute_scores,
    scoring_requires_authentication,
    unknown_score_is_404,
    bad_inputs_are_422_naming_the_field,
    the_septic_patient_of_issue_5_is_qsofa_positive_and_news2_high,
    cdss_endpoints_are_in_the_openapi_document,
);

/// The bedside example of issue 5: 体温38.9℃，心率118次/分，呼吸26次/分，血压88/52mmHg，神志模糊.
fn septic_vitals() -> Value {
    json!({"temp_c": 38.9, "pulse_bpm": 118, "resp_rate": 26, "sbp_mmhg": 88, "consciousness": "C"})
}

/// Body of a 4xx answer after checking the envelope and its code.
async fn error_details(app: &TestApp, path: &str, body: &Value, token: &str) -> (String, Value) {
    let response = app.post(path, body, Some(token)).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{path} {body}: {text}"
    );
    (
        parsed["error"]["code"].as_str().unwrap().to_owned(),
        parsed["error"]["details"].clone(),
    )
}

async fn every_role_can_list_and_compute_scores(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("pat.wang", "patient").await;
    let doctor = app.register("dr.chen", "doctor").await;
    app.approve(doctor["id"].as_str().unwrap()).await;
    let researcher = app.register("res.liu", "researcher").await;
    app.approve(researcher["id"].as_str().unwrap()).await;

    for name in ["pat.wang", "dr.chen", "res.liu", "admin"] {
        let token = app.token(name).await;
        let list = app.get("/api/v1/cdss/scores", Some(&token)).await;
        assert_eq!(list.status(), StatusCode::OK, "{name}");
        let list: Value = list.json().await.unwrap();
        let names: Vec<&str> = list["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        for expected in [
            "news2",
            "qsofa",
            "sirs",
            "sofa",
            "curb65",
            "gcs",
            "ckd_epi_2021",
        ] {
            assert!(names.contains(&expected), "{name}: {expected} not listed");
        }
        assert!(
            list["scores"][0]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );

        let response = app
            .post(
                "/api/v1/cdss/score/gcs",
                &json!({"eye": 3, "verbal": 4, "motor": 5}),
                Some(&token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let result: Value = response.json().await.unwrap();
        assert_eq!(result["total"], json!(12.0), "{name}: {result}");
        assert_eq!(result["components"].as_array().unwrap().len(), 3);
    }
}

async fn scoring_requires_authentication(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let score = app
        .post("/api/v1/cdss/score/qsofa", &json!({"resp_rate": 26}), None)
        .await;
    assert_eq!(
        error_code(score, StatusCode::UNAUTHORIZED).await,
        "UNAUTHENTICATED"
    );
    let list = app.get("/api/v1/cdss/scores", None).await;
    assert_eq!(
        error_code(list, StatusCode::UNAUTHORIZED).await,
        "UNAUTHENTICATED"
    );
    let forged = app
        .post(
            "/api/v1/cdss/score/qsofa",
            &json!({"resp_rate": 26}),
            Some("not-a-token"),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    // A token of an account suspended since it was issued no longer scores.
    let patient = app.register("pat.suspended", "patient").await;
    let token = app.token("pat.suspended").await;
    let admin = app.token("admin").await;
    let path = format!(
        "/api/v1/admin/users/{}/suspend",
        patient["id"].as_str().unwrap()
    );
    assert_eq!(
        app.post(&path, &json!({}), Some(&admin)).await.status(),
        StatusCode::OK
    );
    let suspended = app
        .post(
            "/api/v1/cdss/score/qsofa",
            &json!({"resp_rate": 26}),
            Some(&token),
        )
        .await;
    assert_eq!(
        error_code(suspended, StatusCode::FORBIDDEN).await,
        "ACCOUNT_SUSPENDED"
    );
}

async fn unknown_score_is_404(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("pat.zhang", "patient").await;
    let token = app.token("pat.zhang").await;
    let response = app
        .post("/api/v1/cdss/score/apache_ii", &json!({}), Some(&token))
        .await;
    assert_eq!(
        error_code(response, StatusCode::NOT_FOUND).await,
        "UNKNOWN_SCORE"
    );
    // Aliases of clinical-references.md §10 names are accepted.
    let alias = app
        .post(
            "/api/v1/cdss/score/CURB-65",
            &json!({"new_confusion": false, "urea_mmol_l": 7.1, "resp_rate": 18,
                    "sbp_mmhg": 120, "dbp_mmhg": 70, "age": 40}),
            Some(&token),
        )
        .await;
    assert_eq!(alias.status(), StatusCode::OK);
    let alias: Value = alias.json().await.unwrap();
    assert_eq!(alias["score"], "curb65");
    assert_eq!(alias["total"], json!(1.0));
}

async fn bad_inputs_are_422_naming_the_field(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("pat.huang", "patient").await;
    let token = app.token("pat.huang").await;
    let cases = [
        // strings are never read as numbers
        (
            "qsofa",
            json!({"resp_rate": "26", "sbp_mmhg": 88}),
            "resp_rate",
            "wrong_type",
        ),
        // impossible and negative values
        ("news2", json!({"temp_c": 101.2}), "temp_c", "invalid_value"),
        (
            "qsofa",
            json!({"sbp_mmhg": -5}),
            "sbp_mmhg",
            "invalid_value",
        ),
        (
            "gcs",
            json!({"eye": 7, "verbal": 4, "motor": 5}),
            "eye",
            "invalid_value",
        ),
        // a required field is absent
        (
            "ckd_epi_2021",
            json!({"age": 60, "creatinine_umol_l": 88}),
            "sex",
            "missing_field",
        ),
        // a typo is not silently "missing"
        (
            "qsofa",
            json!({"resp_rat": 26}),
            "resp_rat",
            "unknown_field",
        ),
        (
            "ckd_epi_2021",
            json!({"age": 60, "sex": "female", "creatinine_umol_l": 88, "creatinine_mg_dl": 1.0}),
            "creatinine_umol_l",
            "conflicting_fields",
        ),
    ];
    for (score, body, field, kind) in cases {
        let path = format!("/api/v1/cdss/score/{score}");
        let (code, details) = error_details(&app, &path, &body, &token).await;
        assert_eq!(code, "INVALID_SCORE_INPUT", "{score} {body}");
        assert_eq!(details["kind"], kind, "{score} {body}: {details}");
        let named = details["field"] == field || details["other"] == field;
        assert!(named, "{score} {body}: {details} should name {field}");
    }

    let (code, details) =
        error_details(&app, "/api/v1/cdss/score/gcs", &json!([3, 4, 5]), &token).await;
    assert_eq!(code, "INVALID_SCORE_INPUT");
    assert_eq!(details["kind"], "not_an_object");

    let (code, details) = error_details(
        &app,
        "/api/v1/cdss/score/china_par",
        &json!({"age": 60, "sex": "male"}),
        &token,
    )
    .await;
    assert_eq!(code, "SCORE_NOT_VERIFIED");
    assert_eq!(details["score"], "china_par");

    // Not JSON at all is the platform's usual 400.
    let malformed = app
        .client
        .post(app.url("/api/v1/cdss/score/gcs"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"eye\": 3,")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(malformed, StatusCode::BAD_REQUEST).await,
        "MALFORMED_JSON"
    );
}

async fn the_septic_patient_of_issue_5_is_qsofa_positive_and_news2_high(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let doctor = app.register("dr.sun", "doctor").await;
    app.approve(doctor["id"].as_str().unwrap()).await;
    let token = app.token("dr.sun").await;

    let qsofa = app
        .post(
            "/api/v1/cdss/score/qsofa",
            &json!({"resp_rate": 26, "sbp_mmhg": 88, "new_confusion": true}),
            Some(&token),
        )
        .await;
    assert_eq!(qsofa.status(), StatusCode::OK);
    let qsofa: Value = qsofa.json().await.unwrap();
    assert!(qsofa["total"].as_f64().unwrap() >= 2.0, "{qsofa}");
    assert_eq!(qsofa["band"], "positive");
    assert_eq!(qsofa["missing"], json!([]));

    let news2 = app
        .post("/api/v1/cdss/score/news2", &septic_vitals(), Some(&token))
        .await;
    assert_eq!(news2.status(), StatusCode::OK);
    let news2: Value = news2.json().await.unwrap();
    // SpO2 and air/oxygen were not recorded: no total, but every completion is high.
    assert_eq!(news2["total"], Value::Null, "{news2}");
    assert_eq!(news2["complete"], false);
    assert_eq!(news2["partial_total"], json!(12.0));
    assert_eq!(news2["band"], "high");
    let missing: Vec<&str> = news2["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(missing.contains(&"spo2_pct"), "{missing:?}");
    let components = news2["components"].as_array().unwrap();
    assert!(components.len() >= 7, "{news2}");
    let scored: f64 = components.iter().filter_map(|c| c["points"].as_f64()).sum();
    assert_eq!(scored, 12.0, "the components explain the partial total");
    assert!(news2["reference"]["citation"].as_str().is_some());
}

async fn cdss_endpoints_are_in_the_openapi_document(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/cdss/scores"]["get"].is_object());
    let score = &doc["paths"]["/api/v1/cdss/score/{name}"]["post"];
    assert!(score.is_object(), "{}", doc["paths"]);
    for status in ["200", "401", "404", "422"] {
        assert!(score["responses"][status].is_object(), "{status}");
    }

    // The documented result schema matches what the endpoint really sends.
    app.register("pat.schema", "patient").await;
    let token = app.token("pat.schema").await;
    let schemas = &doc["components"]["schemas"];
    for (name, input) in [
        ("news2", septic_vitals()),
        (
            "ckd_epi_2021",
            json!({"age": 60, "sex": "female", "creatinine_umol_l": 88}),
        ),
    ] {
        let path = format!("/api/v1/cdss/score/{name}");
        let result: Value = app
            .post(&path, &input, Some(&token))
            .await
            .json()
            .await
            .unwrap();
        assert_matches_schema(&result, &schemas["ScoreResult"], name);
        for component in result["components"].as_array().unwrap() {
            assert_matches_schema(component, &schemas["ScoreComponent"], name);
        }
        assert_matches_schema(&result["reference"], &schemas["ScoreReference"], name);
    }
}

/// Every key sent is documented, and every documented required key is sent.
fn assert_matches_schema(value: &Value, schema: &Value, context: &str) {
    let properties = schema["properties"].as_object().expect("schema properties");
    let object = value.as_object().expect("an object");
    for key in object.keys() {
        assert!(
            properties.contains_key(key),
            "{context}: `{key}` undocumented"
        );
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let key = required.as_str().unwrap();
        assert!(
            object.contains_key(key),
            "{context}: required `{key}` not sent"
        );
    }
}
