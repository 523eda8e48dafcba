use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, announce_oversized, error_code};
use crate::rfc9162;

on_both_backends!(
    the_consent_story,
    record_proofs_verify_independently,
    versions_are_kept_and_readable,
    admins_and_researchers_never_read_records,
    uploads_are_checked_and_stored_exactly,
    emergency_access_is_flagged_and_notified,
    doctors_write_only_under_a_write_consent,
    consent_scope_limits_what_a_doctor_sees,
    ledger_heads_are_consistent,
    a_suspended_doctor_loses_consented_access,
);

async fn read(app: &TestApp, token: &str, record: &str, purpose: &str) -> reqwest::Response {
    app.get(
        &format!("/api/v1/records/{record}/content?purpose={purpose}"),
        Some(token),
    )
    .await
}

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

async fn grant(app: &TestApp, patient: &str, body: Value) -> Value {
    json_of(
        app.post("/api/v1/consents", &body, Some(patient)).await,
        StatusCode::CREATED,
    )
    .await
}

async fn the_consent_story(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("li.na", "patient").await;
    let (_, doctor) = app.user("dr.wang", "doctor").await;
    let note = "主诉：咳嗽3天。既往高血压病史。";
    let record = app.note(&patient, note).await;

    let refused = read(&app, &doctor, &record, "treatment").await;
    assert_eq!(
        error_code(refused, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED"
    );

    let request = json!({"patient": "li.na", "scope": {"kind": "all"}, "purpose": "treatment", "reason": "门诊复诊"});
    let request = json_of(
        app.post("/api/v1/access-requests", &request, Some(&doctor))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(request["status"], "pending");
    let notices = json_of(
        app.get("/api/v1/notifications", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(notices["notifications"][0]["kind"], "access_request");
    assert_eq!(
        notices["notifications"][0]["payload"]["request_id"],
        request["id"]
    );

    let path = format!(
        "/api/v1/access-requests/{}/approve",
        request["id"].as_str().unwrap()
    );
    let approved = json_of(
        app.post(&path, &json!({}), Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    let again = app.post(&path, &json!({}), Some(&patient)).await;
    assert_eq!(
        error_code(again, StatusCode::CONFLICT).await,
        "STATE_CONFLICT"
    );

    let allowed = read(&app, &doctor, &record, "treatment").await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.headers()["content-type"], "text/plain");
    assert_eq!(
        allowed.bytes().await.unwrap(),
        note.as_bytes(),
        "exactly the stored bytes"
    );
    let wrong_purpose = read(&app, &doctor, &record, "research").await;
    assert_eq!(
        error_code(wrong_purpose, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED"
    );

    let consent_id = approved["consent_id"].as_str().unwrap();
    let revoke = app
        .post(
            &format!("/api/v1/consents/{consent_id}/revoke"),
            &json!({}),
            Some(&patient),
        )
        .await;
    assert_eq!(json_of(revoke, StatusCode::OK).await["state"], "revoked");
    let after = read(&app, &doctor, &record, "treatment").await;
    assert_eq!(
        error_code(after, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED"
    );

    let audit = json_of(
        app.get("/api/v1/audit?limit=100", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    let steps: Vec<(String, String, String)> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["actor_username"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("record.created", "allowed", "li.na"),
        // Notes are analysed as they are stored (the result is kept beside the version).
        ("record.analyzed", "allowed", "li.na"),
        ("access.denied", "denied", "dr.wang"),
        ("access_request.created", "allowed", "dr.wang"),
        ("consent.granted", "allowed", "li.na"),
        ("access_request.approved", "allowed", "li.na"),
        ("record.read", "allowed", "dr.wang"),
        ("access.denied", "denied", "dr.wang"),
        ("consent.revoked", "allowed", "li.na"),
        ("access.denied", "denied", "dr.wang"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(steps, expected);
    let denied = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "access.denied")
        .unwrap();
    assert_eq!(denied["entry"]["reason"], "CONSENT_REQUIRED");
    assert_eq!(denied["entry"]["purpose"], "treatment");
    let text = audit.to_string();
    assert!(
        !text.contains("咳嗽"),
        "no clinical text in the audit trail"
    );

    // The doctor's own audit shows their actions only.
    let mine = json_of(
        app.get("/api/v1/audit", Some(&doctor)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        mine["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_username"] == "dr.wang")
    );
}

async fn record_proofs_verify_independently(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("zhao.lei", "patient").await;
    let mut records = Vec::new();
    for i in 0..5 {
        records.push(app.note(&patient, &format!("随访记录 {i}")).await);
    }
    for record in &records {
        let proof = json_of(
            app.get(&format!("/api/v1/records/{record}/proof"), Some(&patient))
                .await,
            StatusCode::OK,
        )
        .await;
        let entry = proof["entry"].as_str().unwrap();
        let head = &proof["tree_head"];
        let path: Vec<[u8; 32]> = proof["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| rfc9162::unhex(h.as_str().unwrap()))
            .collect();
        let size = head["tree_size"].as_u64().unwrap();
        let root = rfc9162::root_from_inclusion(
            proof["leaf_index"].as_u64().unwrap(),
            size,
            rfc9162::leaf_hash(entry.as_bytes()),
            &path,
        )
        .expect("a well-formed path");
        assert_eq!(root, rfc9162::unhex(head["root"].as_str().unwrap()));
        let entry_json: Value = serde_json::from_str(entry).unwrap();
        assert_eq!(entry_json["kind"], "record.created");
        assert_eq!(entry_json["record"], record.as_str());
        assert!(entry_json["commitment"].as_str().unwrap().len() == 64);

        let key_bytes: [u8; 32] = rfc9162::unhex(proof["public_key"].as_str().unwrap());
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).unwrap();
        let sig_hex = head["signature"].as_str().unwrap();
        let sig: Vec<u8> = (0..128)
            .step_by(2)
            .map(|i| u8::from_str_radix(&sig_hex[i..i + 2], 16).unwrap())
            .collect();
        let signature = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        let message =
            rfc9162::tree_head_message(size, &root, head["timestamp_ms"].as_u64().unwrap());
        key.verify_strict(&message, &signature)
            .expect("tree head signature verifies");
        // A tampered entry no longer reaches the root.
        let forged = entry.replace("record.created", "record.updated");
        assert_ne!(
            rfc9162::root_from_inclusion(
                proof["leaf_index"].as_u64().unwrap(),
                size,
                rfc9162::leaf_hash(forged.as_bytes()),
                &path
            ),
            Some(root)
        );
    }
}

async fn versions_are_kept_and_readable(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("sun.li", "patient").await;
    let record = app.note(&patient, "version one").await;
    let updated = app
        .new_version(&patient, &record, "text/plain", "version two")
        .await;
    assert_eq!(json_of(updated, StatusCode::OK).await["current_version"], 2);
    let details = json_of(
        app.get(&format!("/api/v1/records/{record}"), Some(&patient))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(details["versions"].as_array().unwrap().len(), 2);
    for (version, text) in [(1, "version one"), (2, "version two")] {
        let body = app
            .get(
                &format!("/api/v1/records/{record}/content?version={version}"),
                Some(&patient),
            )
            .await;
        assert_eq!(body.text().await.unwrap(), text);
    }
    let current = app
        .get(&format!("/api/v1/records/{record}/content"), Some(&patient))
        .await;
    assert_eq!(current.headers()["x-record-version"], "2");
    let missing = app
        .get(
            &format!("/api/v1/records/{record}/content?version=3"),
            Some(&patient),
        )
        .await;
    assert_eq!(
        error_code(missing, StatusCode::NOT_FOUND).await,
        "NOT_FOUND"
    );
}

async fn admins_and_researchers_never_read_records(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("ma.yun", "patient").await;
    let record = app.note(&patient, "secret").await;
    let (_, researcher) = app.user("res.qian", "researcher").await;
    let admin = app.token("admin").await;
    for token in [&admin, &researcher] {
        for path in [
            format!("/api/v1/records/{record}/content?purpose=research"),
            format!("/api/v1/records/{record}"),
            format!("/api/v1/records/{record}/proof"),
            format!("/api/v1/records?patient={patient_id}"),
        ] {
            let response = app.get(&path, Some(token)).await;
            assert_eq!(
                error_code(response, StatusCode::FORBIDDEN).await,
                "FORBIDDEN",
                "{path}"
            );
        }
    }
    // Another patient is refused too, and an unknown record is 404.
    let (_, other) = app.user("other.patient", "patient").await;
    let response = read(&app, &other, &record, "treatment").await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    let unknown = read(
        &app,
        &patient,
        "0193a1b2-0000-7000-8000-000000000000",
        "treatment",
    )
    .await;
    assert_eq!(
        error_code(unknown, StatusCode::NOT_FOUND).await,
        "NOT_FOUND"
    );
}

async fn uploads_are_checked_and_stored_exactly(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("hu.ge", "patient").await;
    let pdf: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let created = app
        .upload(
            &patient,
            "category=imaging-report",
            "application/pdf",
            pdf.clone(),
        )
        .await;
    let record = json_of(created, StatusCode::CREATED).await;
    let back = app
        .get(
            &format!("/api/v1/records/{}/content", record["id"].as_str().unwrap()),
            Some(&patient),
        )
        .await;
    assert_eq!(back.headers()["content-type"], "application/pdf");
    assert_eq!(back.bytes().await.unwrap().as_ref(), pdf.as_slice());

    let fhir = br#"{"resourceType":"Observation","status":"final"}"#.to_vec();
    let ok = app
        .upload(
            &patient,
            "category=fhir-resource",
            "application/fhir+json",
            fhir,
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);

    let cases = [
        (
            "category=clinical-note",
            "text/plain",
            vec![0xff, 0xfe],
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_CONTENT",
        ),
        (
            "category=fhir-resource",
            "application/fhir+json",
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_CONTENT",
        ),
        (
            "category=x-ray",
            "text/plain",
            b"x".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_CATEGORY",
        ),
        (
            "",
            "text/plain",
            b"x".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_CATEGORY",
        ),
        (
            "category=clinical-note",
            "not a type",
            b"x".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_CONTENT_TYPE",
        ),
        (
            "category=clinical-note",
            "text/plain",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "EMPTY_CONTENT",
        ),
        (
            "category=clinical-note&purpose=marketing",
            "text/plain",
            b"x".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_PURPOSE",
        ),
    ];
    for (query, content_type, body, status, code) in cases {
        let response = app.upload(&patient, query, content_type, body).await;
        assert_eq!(
            error_code(response, status).await,
            code,
            "{query} {content_type}"
        );
    }
    let too_large = 25 * 1024 * 1024 + 1;
    let query = "/api/v1/records?category=clinical-note";
    let (status, body) =
        announce_oversized(&app, query, Some(&patient), "text/plain", too_large).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    let list = json_of(
        app.get("/api/v1/records", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        list["records"].as_array().unwrap().len(),
        2,
        "bad uploads stored nothing"
    );
}

async fn listed_count(app: &TestApp, doctor: &str, patient_id: &str) -> usize {
    let path = format!("/api/v1/records?patient={patient_id}");
    let list = json_of(app.get(&path, Some(doctor)).await, StatusCode::OK).await;
    list["records"].as_array().unwrap().len()
}

async fn emergency_access_is_flagged_and_notified(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("wu.di", "patient").await;
    let (_, doctor) = app.user("dr.er", "doctor").await;
    let record = app.note(&patient, "过敏史：青霉素").await;
    // A consent for lab reports only: it must not narrow what the emergency grant shows.
    grant(&app, &patient, json!({"grantee": "dr.er", "scope": {"kind": "categories", "categories": ["lab-report"]}, "purposes": ["treatment"]})).await;
    assert_eq!(
        listed_count(&app, &doctor, &patient_id).await,
        0,
        "the consent covers no note"
    );
    let path = format!("/api/v1/records/{record}/emergency-access");
    let no_reason = app
        .post(&path, &json!({"reason": "  "}), Some(&doctor))
        .await;
    assert_eq!(
        error_code(no_reason, StatusCode::UNPROCESSABLE_ENTITY).await,
        "INVALID_REASON"
    );
    let (_, researcher) = app.user("res.er", "researcher").await;
    let not_doctor = app
        .post(&path, &json!({"reason": "curious"}), Some(&researcher))
        .await;
    assert_eq!(
        error_code(not_doctor, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );

    let grant = json_of(
        app.post(
            &path,
            &json!({"reason": "昏迷送入急诊，无法取得同意"}),
            Some(&doctor),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(grant["expires_at"].is_string());
    let allowed = read(&app, &doctor, &record, "emergency").await;
    assert_eq!(allowed.text().await.unwrap(), "过敏史：青霉素");
    assert_eq!(
        listed_count(&app, &doctor, &patient_id).await,
        1,
        "the emergency grant lists every record"
    );
    let write = app
        .upload(
            &doctor,
            &format!(
                "category=clinical-note&purpose=treatment&patient={}",
                grant["patient_id"].as_str().unwrap()
            ),
            "text/plain",
            b"x".to_vec(),
        )
        .await;
    assert_eq!(
        error_code(write, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED",
        "emergency access is read-only"
    );

    let notices = json_of(
        app.get("/api/v1/notifications", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(notices["notifications"][0]["kind"], "emergency_access");
    let audit = json_of(
        app.get("/api/v1/audit", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    let events = audit["events"].as_array().unwrap();
    let flagged = events
        .iter()
        .find(|e| e["kind"] == "access.emergency")
        .unwrap();
    assert_eq!(flagged["actor_username"], "dr.er");
    let read_event = events.iter().find(|e| e["kind"] == "record.read").unwrap();
    assert_eq!(read_event["entry"]["basis"], "emergency");
}

async fn doctors_write_only_under_a_write_consent(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("gao.yuan", "patient").await;
    let (_, doctor) = app.user("dr.san", "doctor").await;
    let query =
        |category: &str| format!("patient={patient_id}&category={category}&purpose=treatment");
    let refused = app
        .upload(
            &doctor,
            &query("clinical-note"),
            "text/plain",
            b"note".to_vec(),
        )
        .await;
    assert_eq!(
        error_code(refused, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED"
    );
    grant(&app, &patient, json!({"grantee": "dr.san", "scope": {"kind": "categories", "categories": ["clinical-note"]}, "purposes": ["treatment"], "allow_write": true})).await;
    let written = app
        .upload(
            &doctor,
            &query("clinical-note"),
            "text/plain",
            "病程记录".as_bytes().to_vec(),
        )
        .await;
    let record = json_of(written, StatusCode::CREATED).await;
    assert_eq!(record["patient_id"], patient_id.as_str());
    let other_category = app
        .upload(&doctor, &query("lab-report"), "text/plain", b"x".to_vec())
        .await;
    assert_eq!(
        error_code(other_category, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED"
    );
    let mine = app
        .get(
            &format!("/api/v1/records/{}/content", record["id"].as_str().unwrap()),
            Some(&patient),
        )
        .await;
    assert_eq!(mine.text().await.unwrap(), "病程记录");
}

async fn consent_scope_limits_what_a_doctor_sees(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("lin.xi", "patient").await;
    let (_, doctor) = app.user("dr.si", "doctor").await;
    let note = app.note(&patient, "note").await;
    let lab = json_of(
        app.upload(
            &patient,
            "category=lab-report",
            "text/plain",
            b"WBC 16.8".to_vec(),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let lab = lab["id"].as_str().unwrap().to_owned();
    let past = grant_error(&app, &patient, json!({"grantee": "dr.si", "scope": {"kind": "all"}, "purposes": ["treatment"], "expires_at": "2020-01-01T00:00:00Z"})).await;
    assert_eq!(past, "INVALID_EXPIRY");
    assert_eq!(
        grant_error(
            &app,
            &patient,
            json!({"grantee": "nobody.here", "scope": {"kind": "all"}, "purposes": ["treatment"]})
        )
        .await,
        "INVALID_GRANTEE"
    );
    assert_eq!(grant_error(&app, &patient, json!({"grantee": "dr.si", "scope": {"kind": "categories", "categories": []}, "purposes": ["treatment"]})).await, "EMPTY_SCOPE");
    let too_many: Vec<String> = (0..1_001)
        .map(|i| uuid::Uuid::from_u128(i).to_string())
        .collect();
    assert_eq!(grant_error(&app, &patient, json!({"grantee": "dr.si", "scope": {"kind": "records", "records": too_many}, "purposes": ["treatment"]})).await, "SCOPE_TOO_LARGE");
    grant(&app, &patient, json!({"grantee": "dr.si", "scope": {"kind": "categories", "categories": ["lab-report"]}, "purposes": ["treatment"], "expires_at": "2099-01-01T00:00:00Z"})).await;

    assert_eq!(
        read(&app, &doctor, &lab, "treatment").await.status(),
        StatusCode::OK
    );
    let note_read = read(&app, &doctor, &note, "treatment").await;
    assert_eq!(
        error_code(note_read, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED"
    );
    let listed = json_of(
        app.get(
            &format!("/api/v1/records?patient={patient_id}"),
            Some(&doctor),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [lab.as_str()],
        "the listing shows only what the consent covers"
    );
    let consents = json_of(
        app.get("/api/v1/consents", Some(&doctor)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(consents["consents"][0]["state"], "active");
}

async fn grant_error(app: &TestApp, patient: &str, body: Value) -> String {
    error_code(
        app.post("/api/v1/consents", &body, Some(patient)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn ledger_heads_are_consistent(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("xu.feng", "patient").await;
    app.note(&patient, "one").await;
    let first = json_of(
        app.get("/api/v1/ledger/head", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    for i in 0..6 {
        app.note(&patient, &format!("more {i}")).await;
    }
    let second = json_of(
        app.get("/api/v1/ledger/head", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    let (m, n) = (
        first["tree_head"]["tree_size"].as_u64().unwrap(),
        second["tree_head"]["tree_size"].as_u64().unwrap(),
    );
    assert!(n > m);
    let proof = json_of(
        app.get(
            &format!("/api/v1/ledger/proof/consistency?from={m}&to={n}"),
            Some(&patient),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let path: Vec<[u8; 32]> = proof["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| rfc9162::unhex(h.as_str().unwrap()))
        .collect();
    let old_root = rfc9162::unhex(first["tree_head"]["root"].as_str().unwrap());
    let (fr, sr) =
        rfc9162::roots_from_consistency(m, n, &path, old_root).expect("well-formed proof");
    assert_eq!(fr, old_root);
    assert_eq!(
        sr,
        rfc9162::unhex(second["tree_head"]["root"].as_str().unwrap())
    );

    let entries = json_of(
        app.get("/api/v1/ledger/entries?from=0&limit=200", Some(&patient))
            .await,
        StatusCode::OK,
    )
    .await;
    let entries = entries["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, n);
    for e in entries {
        assert_eq!(
            e["leaf_hash"].as_str().unwrap(),
            hex_of(&rfc9162::leaf_hash(e["entry"].as_str().unwrap().as_bytes()))
        );
    }
    let beyond = app
        .get(
            &format!("/api/v1/ledger/proof/consistency?from=1&to={}", n + 5),
            Some(&patient),
        )
        .await;
    assert_eq!(error_code(beyond, StatusCode::NOT_FOUND).await, "NOT_FOUND");
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn a_suspended_doctor_loses_consented_access(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("feng.yu", "patient").await;
    let (doctor_id, doctor) = app.user("dr.wu", "doctor").await;
    let record = app.note(&patient, "note").await;
    grant(
        &app,
        &patient,
        json!({"grantee": "dr.wu", "scope": {"kind": "all"}, "purposes": ["treatment"]}),
    )
    .await;
    assert_eq!(
        read(&app, &doctor, &record, "treatment").await.status(),
        StatusCode::OK
    );
    let admin = app.token("admin").await;
    let suspend = app
        .post(
            &format!("/api/v1/admin/users/{doctor_id}/suspend"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(suspend.status(), StatusCode::OK);
    let refused = read(&app, &doctor, &record, "treatment").await;
    assert_eq!(
        error_code(refused, StatusCode::FORBIDDEN).await,
        "ACCOUNT_SUSPENDED"
    );
}
