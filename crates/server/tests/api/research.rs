//! Research access over HTTP: profiles and research consent (patients), projects approved
//! by an administrator, protected cohort counts, and an export job polled to completion
//! whose CSV is k-anonymous and free of the notes' PHI; patients see the exports that held
//! their data.

use std::collections::BTreeMap;
use std::time::Duration;

use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_backends!(research_over_http);

const NAMES: [&str; 6] = ["王芳", "李娜", "张敏", "刘静", "陈丽", "赵强"];

async fn research_over_http(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut patients = Vec::new();
    for (n, name) in NAMES.iter().enumerate() {
        let (_, token) = app.user(&format!("research_patient_{n}"), "patient").await;
        let profile = json!({
            "sex": "female", "birth_date": "1985-06-01", "region": "330106", "name": name
        });
        let response = app.put("/api/v1/me/profile", &profile, &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let phone = format!("1391234{n:04}");
        app.note(&token, &format!("患者{name}，电话{phone}。诊断：糖尿病。"))
            .await;
        // The last patient never opts in.
        if n + 1 < NAMES.len() {
            for category in ["demographics", "diagnoses", "notes"] {
                let choice =
                    json!({ "purpose": "public-health", "category": category, "opted_in": true });
                let response = app
                    .put("/api/v1/me/research-consents", &choice, &token)
                    .await;
                assert_eq!(response.status(), StatusCode::OK);
            }
        }
        patients.push((token, phone));
    }
    let patient = &patients[0].0;
    let profile: Value = app
        .get("/api/v1/me/profile", Some(patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["region"], "330106");
    assert_eq!(profile["birth_date"], "1985-06-01");
    for (body, code) in [
        (
            json!({ "sex": "female", "birth_date": "1985-06-01", "region": "3301" }),
            "INVALID_REGION",
        ),
        (
            json!({ "sex": "female", "birth_date": "June 1985", "region": "330106" }),
            "INVALID_DATE",
        ),
        (
            json!({ "sex": "f", "birth_date": "1985-06-01", "region": "330106" }),
            "INVALID_SEX",
        ),
    ] {
        let response = app.put("/api/v1/me/profile", &body, patient).await;
        assert_eq!(
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            code
        );
    }
    let consents: Value = app
        .get("/api/v1/me/research-consents", Some(patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(consents.as_array().unwrap().len(), 3);

    let (_, researcher) = app.user("dr_cohort", "researcher").await;
    let (_, other) = app.user("dr_other", "researcher").await;
    let admin = app.token("admin").await;
    let response = app.get("/api/v1/me/profile", Some(&researcher)).await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );

    let proposal = json!({
        "title": "Diabetes prevalence", "purpose": "public-health",
        "description": "Counts by age band", "ethics_approval": "HZ-EC-2026-031",
        "categories": ["demographics", "diagnoses", "notes"],
        "period_start": "2020-01-01", "period_end": "2030-12-31",
    });
    let response = app
        .post("/api/v1/research/projects", &proposal, Some(patient))
        .await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let response = app
        .post("/api/v1/research/projects", &proposal, Some(&researcher))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let project: Value = response.json().await.unwrap();
    let id = project["id"].as_str().unwrap();
    assert_eq!(project["status"], "pending");
    let counts = format!("/api/v1/research/projects/{id}/counts");
    let response = app.post(&counts, &json!({}), Some(&researcher)).await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let decision = format!("/api/v1/research/projects/{id}/decision");
    let response = app
        .post(&decision, &json!({ "approve": true }), Some(&researcher))
        .await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let response = app
        .post(&decision, &json!({ "approve": true }), Some(&admin))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .post(&decision, &json!({ "approve": false }), Some(&admin))
        .await;
    assert_eq!(
        error_code(response, StatusCode::CONFLICT).await,
        "STATE_CONFLICT"
    );

    // Counts: five consenting patients, never the sixth.
    let count: Value = app
        .post(
            &counts,
            &json!({ "sex": "female", "icd10": ["E14*"] }),
            Some(&researcher),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count["count"], 5, "{count}");
    assert_eq!(count["display"], "5");
    let count: Value = app
        .post(&counts, &json!({ "age_min": 80 }), Some(&researcher))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (count["count"].clone(), count["display"].clone()),
        (Value::Null, json!("<5"))
    );
    for bad in [
        json!({ "icd10": ["sugar"] }),
        json!({ "colour": "red" }),
        json!({ "from": "2026-13-01" }),
    ] {
        let response = app.post(&counts, &bad, Some(&researcher)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let response = app.post(&counts, &json!({}), Some(&other)).await;
    assert_eq!(
        error_code(response, StatusCode::NOT_FOUND).await,
        "NOT_FOUND"
    );

    // An export job, polled to completion.
    let exports = format!("/api/v1/research/projects/{id}/exports");
    let response = app
        .post(&exports, &json!({ "format": "xml" }), Some(&researcher))
        .await;
    assert_eq!(
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
        "INVALID_FORMAT"
    );
    let response = app
        .post(
            &exports,
            &json!({ "format": "csv", "k": 5 }),
            Some(&researcher),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut job = Value::Null;
    for _ in 0..1200 {
        job = app
            .get(&location, Some(&researcher))
            .await
            .json()
            .await
            .unwrap();
        if job["status"] == "done" || job["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["report"]["k_anonymity"]["rows_in"], 5);
    assert_eq!(
        app.get(&location, Some(&other)).await.status(),
        StatusCode::NOT_FOUND
    );
    let download = job["download"].as_str().unwrap();
    assert_eq!(
        app.get(download, Some(&admin)).await.status(),
        StatusCode::FORBIDDEN
    );
    let response = app.get(download, Some(&researcher)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv_text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut groups: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        *groups
            .entry((1..5).map(|i| row[i].to_owned()).collect())
            .or_default() += 1;
    }
    assert!(
        !groups.is_empty() && groups.values().all(|&n| n >= 5),
        "{groups:?}"
    );
    for (name, (_, phone)) in NAMES.iter().zip(&patients) {
        assert!(
            !csv_text.contains(name) && !csv_text.contains(phone.as_str()),
            "PHI leaked"
        );
    }

    // Each consenting patient sees the export; the one who never opted in does not.
    let sha = job["sha256"].as_str().unwrap();
    for (n, (token, _)) in patients.iter().enumerate() {
        let listed: Value = app
            .get("/api/v1/me/research-exports", Some(token))
            .await
            .json()
            .await
            .unwrap();
        let listed = listed.as_array().unwrap();
        if n + 1 < NAMES.len() {
            assert_eq!(listed.len(), 1, "{listed:?}");
            assert_eq!(listed[0]["sha256"], sha);
            assert_eq!(listed[0]["project_title"], "Diabetes prevalence");
            assert!(
                listed[0]["researcher_did"]
                    .as_str()
                    .unwrap()
                    .starts_with("did:meditrustal:")
            );
        } else {
            assert!(listed.is_empty());
        }
    }
    let audit: Value = app
        .get("/api/v1/audit?limit=200", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let text = audit.to_string();
    assert!(text.contains("research.export_downloaded") && text.contains(sha));
}
