//! Data-subject rights over HTTP: erasure answers 410 afterwards, legal holds answer 409
//! `LEGAL_HOLD`, and only the patient or an administrator with a reason may erase.

use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_backends!(
    erasure_and_legal_holds_over_http,
    account_erasure_over_http,
    export_verifies_offline,
    correction_over_http,
);

async fn erasure_and_legal_holds_over_http(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("patient_chen", "patient").await;
    let (_, doctor) = app.user("dr_zhao", "doctor").await;
    let admin = app.token("admin").await;
    let record = app.note(&patient, "主诉：腰痛一周").await;
    let erase = format!("/api/v1/records/{record}/erasure");
    let hold = format!("/api/v1/admin/records/{record}/legal-hold");

    // Doctors may not erase; an admin must give a reason.
    let response = app.post(&erase, &json!({}), Some(&doctor)).await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let response = app.post(&erase, &json!({}), Some(&admin)).await;
    assert_eq!(
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
        "INVALID_REASON"
    );

    // A hold blocks the patient's erasure with 409 LEGAL_HOLD; nothing changes.
    let response = app
        .put(&hold, &json!({ "reason": "dispute case 77" }), &admin)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["legal_hold"], true);
    let response = app.post(&erase, &json!({}), Some(&patient)).await;
    assert_eq!(
        error_code(response, StatusCode::CONFLICT).await,
        "LEGAL_HOLD"
    );
    let content = format!("/api/v1/records/{record}/content");
    assert_eq!(
        app.get(&content, Some(&patient)).await.status(),
        StatusCode::OK
    );
    let response = app
        .client
        .delete(app.url(&hold))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The patient erases; afterwards every read answers 410 RECORD_ERASED.
    let response = app.post(&erase, &json!({}), Some(&patient)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["erased"][0]["record_id"], record.as_str());
    assert_eq!(
        body["erased"][0]["legal_basis"],
        "pipl-art47-subject-request"
    );
    assert_eq!(body["objects_deleted"], 1);
    for path in [
        content.clone(),
        format!("/api/v1/records/{record}"),
        format!("/api/v1/records/{record}/proof"),
    ] {
        let response = app.get(&path, Some(&patient)).await;
        assert_eq!(
            error_code(response, StatusCode::GONE).await,
            "RECORD_ERASED",
            "{path}"
        );
    }
    let response = app.post(&erase, &json!({}), Some(&patient)).await;
    assert_eq!(
        error_code(response, StatusCode::GONE).await,
        "RECORD_ERASED"
    );
    // The listing shows the tombstone.
    let list: Value = app
        .get("/api/v1/records", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    let tombstone = &list["records"][0];
    assert_eq!(tombstone["id"], record.as_str());
    assert_eq!(tombstone["legal_basis"], "pipl-art47-subject-request");
    assert!(tombstone["erased_at"].is_string());
}

async fn account_erasure_over_http(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("patient_sun", "patient").await;
    app.note(&patient, "主诉：头晕").await;
    app.note(&patient, "主诉：乏力").await;
    let response = app
        .post("/api/v1/me/erasure", &json!({}), Some(&patient))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["erased"].as_array().unwrap().len(), 2);
    assert_eq!(body["objects_deleted"], 2);
    // The account is gone for its owner: no login, and its name is no longer listed.
    let response = app.login("patient_sun", crate::helpers::PASSWORD).await;
    assert!(response.status().is_client_error());
    assert!(!app.usernames().await.iter().any(|u| u == "patient_sun"));
}

/// Runs the independent offline checker on an archive; returns (exit code, stdout).
fn check_export(archive: &[u8]) -> (i32, String) {
    let path = std::env::temp_dir().join(format!("mt-export-{}.zip", uuid::Uuid::new_v4()));
    std::fs::write(&path, archive).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/check-export.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 runs the checker");
    std::fs::remove_file(&path).unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Resource types of the archive's FHIR Bundle, counted, and its type (read with
/// Python's zipfile: the test has no zip reader of its own).
fn bundle_summary(archive: &[u8]) -> Value {
    let path = std::env::temp_dir().join(format!("mt-bundle-{}.zip", uuid::Uuid::new_v4()));
    std::fs::write(&path, archive).unwrap();
    let code = "import collections, json, sys, zipfile\n\
                z = zipfile.ZipFile(sys.argv[1])\n\
                b = json.loads(z.read('bundle.json'))\n\
                c = collections.Counter(e['resource']['resourceType'] for e in b['entry'])\n\
                docs = [e['resource'] for e in b['entry'] if e['resource']['resourceType'] == 'DocumentReference']\n\
                print(json.dumps({'type': b['type'], 'counts': c, 'names': sorted(z.namelist()),\n\
                  'statuses': sorted(d['status'] for d in docs),\n\
                  'urls_present': all(d['content'][0]['attachment']['url'] in z.namelist() for d in docs)}))";
    let output = std::process::Command::new("python3")
        .args(["-c", code])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn export_verifies_offline(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("patient_wu", "patient").await;
    let (_, doctor) = app.user("dr_qian", "doctor").await;
    let note = "主诉：心悸两天，既往高血压";
    let first = app.note(&patient, note).await;
    app.note(&patient, "血常规：WBC 6.1").await;
    let response = app
        .new_version(
            &patient,
            &first,
            "text/plain; charset=utf-8",
            "主诉：心悸三天，既往高血压",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let consent =
        json!({ "grantee": "dr_qian", "scope": { "kind": "all" }, "purposes": ["treatment"] });
    assert_eq!(
        app.post("/api/v1/consents", &consent, Some(&patient))
            .await
            .status(),
        StatusCode::CREATED
    );
    let read = format!("/api/v1/records/{first}/content?purpose=treatment");
    assert_eq!(app.get(&read, Some(&doctor)).await.status(), StatusCode::OK);

    // Only patients export, and only their own data.
    let response = app
        .post("/api/v1/me/exports", &json!({}), Some(&doctor))
        .await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let response = app
        .post("/api/v1/me/exports", &json!({}), Some(&patient))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/me/exports/{}", job["id"].as_str().unwrap())
    );
    let response = app.get(&location, Some(&doctor)).await;
    assert_eq!(
        error_code(response, StatusCode::NOT_FOUND).await,
        "NOT_FOUND"
    );

    // Poll until the background job ends (bounded: a stuck job fails the test).
    let mut status = Value::Null;
    for _ in 0..600 {
        status = app
            .get(&location, Some(&patient))
            .await
            .json()
            .await
            .unwrap();
        if status["status"] != "pending" && status["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status["status"], "done", "{status}");
    let download = status["download"].as_str().unwrap().to_owned();
    let response = app.get(&download, Some(&patient)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let archive = response.bytes().await.unwrap().to_vec();
    assert_eq!(archive.len() as u64, status["size_bytes"].as_u64().unwrap());

    // The independent checker accepts it: hashes, inclusion proofs, signature.
    let (code, out) = check_export(&archive);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: "), "{out}");
    assert!(out.contains("(3 record versions)"), "{out}");

    // FHIR R4 collection with the patient, each version, the consent and audit events.
    let summary = bundle_summary(&archive);
    assert_eq!(summary["type"], "collection");
    assert_eq!(summary["counts"]["Patient"], 1);
    assert_eq!(summary["counts"]["DocumentReference"], 3);
    assert_eq!(summary["counts"]["Consent"], 1);
    assert!(summary["counts"]["AuditEvent"].as_u64().unwrap() >= 5);
    assert_eq!(
        summary["statuses"],
        json!(["current", "current", "superseded"])
    );
    assert_eq!(summary["urls_present"], true);
    let names = summary["names"].as_array().unwrap();
    for derived in ["data/nlp-results.json", "data/alerts.json"] {
        assert!(names.iter().any(|n| n == derived), "{derived} in {names:?}");
    }

    // A changed byte in a record file is caught.
    let needle = "心悸两天".as_bytes();
    let at = archive
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("stored entries keep the text verbatim");
    let mut tampered = archive.clone();
    tampered[at] ^= 1;
    let (code, out) = check_export(&tampered);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED"), "{out}");

    // The export is on the patient's audit trail.
    let audit: Value = app
        .get("/api/v1/audit?limit=200", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["export.requested", "export.completed", "export.downloaded"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }

    // Erasing a record withdraws the archive that holds a copy of it.
    let erase = format!("/api/v1/records/{first}/erasure");
    assert_eq!(
        app.post(&erase, &json!({}), Some(&patient)).await.status(),
        StatusCode::OK
    );
    let status: Value = app
        .get(&location, Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "failed");
    let response = app.get(&download, Some(&patient)).await;
    assert_eq!(
        error_code(response, StatusCode::CONFLICT).await,
        "STATE_CONFLICT"
    );
}

async fn correction_over_http(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("patient_lin", "patient").await;
    let (_, doctor) = app.user("dr_feng", "doctor").await;
    let consent = json!({ "grantee": "dr_feng", "scope": { "kind": "all" },
        "purposes": ["treatment"], "allow_write": true });
    assert_eq!(
        app.post("/api/v1/consents", &consent, Some(&patient))
            .await
            .status(),
        StatusCode::CREATED
    );
    let upload = app
        .upload(
            &doctor,
            &format!("category=clinical-note&patient={patient_id}&purpose=treatment"),
            "text/plain; charset=utf-8",
            "过敏史：无".as_bytes().to_vec(),
        )
        .await;
    assert_eq!(upload.status(), StatusCode::CREATED);
    let record: Value = upload.json().await.unwrap();
    let record = record["id"].as_str().unwrap().to_owned();
    let corrections = format!("/api/v1/records/{record}/corrections");

    let body = json!({ "content": "过敏史：青霉素", "reason": "我对青霉素过敏" });
    let response = app.post(&corrections, &body, Some(&doctor)).await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let response = app
        .post(
            &corrections,
            &json!({ "content": "x", "reason": "" }),
            Some(&patient),
        )
        .await;
    assert_eq!(
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
        "INVALID_REASON"
    );
    let response = app.post(&corrections, &body, Some(&patient)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let request: Value = response.json().await.unwrap();
    assert_eq!(request["status"], "pending");
    let id = request["id"].as_str().unwrap().to_owned();

    let accept = format!("/api/v1/corrections/{id}/accept");
    let response = app.post(&accept, &json!({}), Some(&patient)).await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let response = app.post(&accept, &json!({}), Some(&doctor)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let decided: Value = response.json().await.unwrap();
    assert_eq!(decided["status"], "accepted");
    assert_eq!(decided["new_version"], 2);
    let response = app
        .post(
            &format!("/api/v1/corrections/{id}/reject"),
            &json!({ "reason": "late" }),
            Some(&doctor),
        )
        .await;
    assert_eq!(
        error_code(response, StatusCode::CONFLICT).await,
        "STATE_CONFLICT"
    );

    // Both versions readable; the old one is marked superseded by the new one.
    let details: Value = app
        .get(&format!("/api/v1/records/{record}"), Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    let versions = details["versions"].as_array().unwrap();
    assert_eq!(versions[0]["superseded_by"], 2);
    assert_eq!(versions[1]["superseded_by"], Value::Null);
    assert_eq!(versions[1]["correction_id"], id.as_str());
    for (version, text) in [(1, "过敏史：无"), (2, "过敏史：青霉素")] {
        let response = app
            .get(
                &format!("/api/v1/records/{record}/content?version={version}&purpose=treatment"),
                Some(&doctor),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), text);
    }
    let listed: Value = app
        .get(&corrections, Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["corrections"][0]["status"], "accepted");
    let notes: Value = app
        .get("/api/v1/notifications", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert!(notes.to_string().contains("correction.accepted"), "{notes}");
}
