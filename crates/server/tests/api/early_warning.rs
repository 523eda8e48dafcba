//! Early warning end to end: notes and vital-signs records raise alerts that reach the
//! consented doctor (list and server-sent events) and nobody else; the NLP result is stored
//! beside the note.

use std::time::Duration;

use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{TestApp, error_code};

on_both_backends!(
    a_septic_note_alerts_the_consented_doctor_only,
    vital_sign_records_raise_resolve_and_are_checked,
    alerts_follow_consent_scope_and_revocation,
    a_suspended_doctors_alert_stream_ends_without_the_alert,
);

const SEPTIC_NOTE: &str = "体温38.9℃，心率118次/分，呼吸26次/分，血压88/52mmHg，神志模糊";

/// A hang guard for reading the event stream, not a timing assertion.
const STREAM_GUARD: Duration = Duration::from_secs(30);

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

async fn consent(app: &TestApp, patient: &str, doctor: &str) {
    let body = json!({"grantee": doctor, "scope": {"kind": "all"}, "purposes": ["treatment"]});
    let response = app.post("/api/v1/consents", &body, Some(patient)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn alerts(app: &TestApp, token: &str) -> Vec<Value> {
    let body = json_of(
        app.get("/api/v1/cdss/alerts", Some(token)).await,
        StatusCode::OK,
    )
    .await;
    body["alerts"].as_array().unwrap().clone()
}

/// The caller's audit trail (`GET /api/v1/audit`, up to 200 events).
async fn audit_of(app: &TestApp, token: &str) -> Value {
    json_of(
        app.get("/api/v1/audit?limit=200", Some(token)).await,
        StatusCode::OK,
    )
    .await
}

fn events_of_kind<'a>(audit: &'a Value, kind: &str) -> Vec<&'a Value> {
    audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn of_rule<'a>(alerts: &'a [Value], rule: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["rule"] == rule).collect()
}

/// An open `text/event-stream` response, read event by event.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(app: &TestApp, token: &str) -> EventStream {
        let response = app.get("/api/v1/cdss/alerts/stream", Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The data of the next `alert` event (keep-alive comments are skipped).
    async fn next_alert(&mut self) -> Value {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block.lines().any(|l| l == "event: alert") {
                    let data: String = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .collect();
                    return serde_json::from_str(&data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(STREAM_GUARD, self.response.chunk())
                .await
                .expect("an alert event before the guard")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Everything the server sends until it ends the stream (keep-alive comments included,
    /// so the guard covers the whole read, not each chunk).
    async fn rest(mut self) -> String {
        let read_to_end = async {
            while let Some(chunk) = self.response.chunk().await.unwrap() {
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        };
        tokio::time::timeout(STREAM_GUARD, read_to_end)
            .await
            .expect("the stream ends before the guard");
        self.buffer
    }
}

async fn a_septic_note_alerts_the_consented_doctor_only(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("zhao.lei", "patient").await;
    let (_, doctor) = app.user("dr.qian", "doctor").await;
    let (_, stranger) = app.user("dr.sun", "doctor").await;
    let (_, researcher) = app.user("res.li", "researcher").await;
    let (other_patient_id, other_patient) = app.user("zhou.min", "patient").await;
    consent(&app, &patient, "dr.qian").await;
    consent(&app, &other_patient, "dr.sun").await;

    let mut doctor_stream = EventStream::open(&app, &doctor).await;
    let mut stranger_stream = EventStream::open(&app, &stranger).await;
    let refused = app
        .get("/api/v1/cdss/alerts/stream", Some(&researcher))
        .await;
    assert_eq!(
        error_code(refused, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );

    let note = app.note(&patient, SEPTIC_NOTE).await;

    // The stream delivers the three alerts to the consented doctor.
    let mut streamed = Vec::new();
    for _ in 0..3 {
        let alert = doctor_stream.next_alert().await;
        assert_eq!(alert["patient_id"], patient_id.as_str());
        streamed.push(alert["rule"].as_str().unwrap().to_owned());
    }
    streamed.sort_unstable();
    assert_eq!(streamed, ["news2", "qsofa", "sirs"]);

    let listed = alerts(&app, &doctor).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let news2 = of_rule(&listed, "news2")[0];
    assert_eq!(news2["band"], "high");
    assert_eq!(news2["severity"], "critical");
    // 38.9 ℃ 1 + 118/min 2 + 26/min 3 + 88 mmHg 3 + new confusion 3; SpO2 not recorded.
    assert_eq!(news2["partial_total"], 12.0);
    assert_eq!(news2["complete"], false);
    let used: Vec<&str> = news2["observations_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    for code in [
        "respiratory_rate",
        "blood_pressure",
        "heart_rate",
        "consciousness",
        "temperature",
    ] {
        assert!(used.contains(&code), "{code} in {used:?}");
    }
    assert!(news2["explanation"].as_str().unwrap().contains("band high"));
    let qsofa = of_rule(&listed, "qsofa")[0];
    assert_eq!(qsofa["band"], "positive");
    let points = qsofa["total"]
        .as_f64()
        .or(qsofa["partial_total"].as_f64())
        .unwrap();
    assert!(points >= 2.0, "{qsofa}");
    assert_eq!(qsofa["record_id"], note.as_str());
    // 38.9 ℃, 118/min and 26/min: three SIRS criteria.
    assert_eq!(of_rule(&listed, "sirs")[0]["band"], "positive");

    // The patient sees their own; the unconsented doctor and the researcher nothing.
    assert_eq!(alerts(&app, &patient).await.len(), 3);
    assert!(alerts(&app, &stranger).await.is_empty());
    assert!(alerts(&app, &other_patient).await.is_empty());
    let refused = app.get("/api/v1/cdss/alerts", Some(&researcher)).await;
    assert_eq!(
        error_code(refused, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );

    // The stranger's stream skipped those alerts: the first it receives is of its own
    // consented patient, raised afterwards.
    app.note(&other_patient, SEPTIC_NOTE).await;
    let own = stranger_stream.next_alert().await;
    assert_eq!(own["patient_id"], other_patient_id.as_str());

    // The NLP result was stored beside the note; a read of the record.
    let analysis = json_of(
        app.get(
            &format!("/api/v1/records/{note}/nlp?purpose=treatment"),
            Some(&doctor),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(analysis["version"], 1);
    let measured: Vec<(&str, &str)> = analysis["analysis"]["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["value"].as_str().unwrap()))
        .collect();
    for expected in [
        ("temperature", "38.9"),
        ("heart_rate", "118"),
        ("respiratory_rate", "26"),
        ("blood_pressure", "88/52"),
    ] {
        assert!(measured.contains(&expected), "{expected:?} in {measured:?}");
    }
    let refused = app
        .get(
            &format!("/api/v1/records/{note}/nlp?purpose=treatment"),
            Some(&stranger),
        )
        .await;
    assert_eq!(
        error_code(refused, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED"
    );

    // Analysing again returns the same result and raises nothing new (unchanged bands).
    let again = json_of(
        app.post(
            &format!("/api/v1/records/{note}/nlp?purpose=treatment"),
            &json!({}),
            Some(&doctor),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["analysis"], analysis["analysis"]);
    app.note(&patient, SEPTIC_NOTE).await;
    assert_eq!(alerts(&app, &doctor).await.len(), 3, "de-duplicated");

    // The risk overview: the early-warning scores from the latest values, and what the
    // other scores lack. Consent-checked like the alerts.
    let risk_path = format!("/api/v1/cdss/patients/{patient_id}/risk");
    let risk = json_of(app.get(&risk_path, Some(&doctor)).await, StatusCode::OK).await;
    let scored: Vec<&str> = risk["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["score"].as_str().unwrap())
        .collect();
    assert_eq!(scored, ["news2", "qsofa", "sirs"]);
    assert_eq!(risk["scores"][0]["partial_total"], 12.0);
    assert_eq!(
        risk["scores"][0]["missing"],
        json!(["spo2_pct", "on_oxygen"])
    );
    let curb65 = risk["not_computed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["score"] == "curb65")
        .unwrap();
    assert!(!curb65["missing"].as_array().unwrap().is_empty());
    assert_eq!(
        error_code(
            app.get(&risk_path, Some(&stranger)).await,
            StatusCode::FORBIDDEN
        )
        .await,
        "CONSENT_REQUIRED"
    );
    assert_eq!(
        error_code(
            app.get(&risk_path, Some(&researcher)).await,
            StatusCode::FORBIDDEN
        )
        .await,
        "FORBIDDEN"
    );

    // The ledger names the alerts by id, score and band, without clinical text.
    let audit = audit_of(&app, &patient).await;
    let raised = events_of_kind(&audit, "cdss.alert_raised");
    assert_eq!(raised.len(), 3);
    assert!(
        raised
            .iter()
            .any(|e| e["entry"]["score"] == "news2" && e["entry"]["band"] == "high")
    );
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "record.analyzed",
        "record.analysis_read",
        "cdss.alerts_read",
        "cdss.alert_delivered",
        "cdss.risk_read",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let leaves = leaves_of(&audit);
    for clinical in ["38.9", "神志", "88/52"] {
        assert!(
            !leaves.iter().any(|leaf| leaf.contains(clinical)),
            "no {clinical} on the ledger"
        );
    }
}

/// Every number and string in a JSON value, except timestamps: an RFC 3339 time such as
/// `…:38.912Z` would otherwise pass for the clinical value 38.9.
fn leaves_of(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(leaves_of).collect(),
        Value::Object(fields) => fields.values().flat_map(leaves_of).collect(),
        Value::String(s) if OffsetDateTime::parse(s, &Rfc3339).is_ok() => vec![],
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

async fn vital_sign_records_raise_resolve_and_are_checked(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("wu.fang", "patient").await;
    let upload = |body: Value| {
        let app = &app;
        let patient = patient.clone();
        async move {
            app.upload(
                &patient,
                "category=vital-signs",
                "application/json",
                body.to_string().into_bytes(),
            )
            .await
        }
    };

    for bad in [
        json!({"observations": [{"code": "resp_rate", "value": 900, "unit": "/min"}]}),
        json!({"observations": [{"code": "sbp_mmhg", "value": "low"}]}),
        json!({"observations": [{"code": "temp_c", "value": 38.5, "unit": "mmHg"}]}),
        json!({"vitals": []}),
    ] {
        let refused = upload(bad).await;
        assert_eq!(
            error_code(refused, StatusCode::UNPROCESSABLE_ENTITY).await,
            "INVALID_OBSERVATIONS"
        );
    }
    let listed = json_of(
        app.get("/api/v1/records", Some(&patient)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        listed["records"].as_array().unwrap().is_empty(),
        "nothing stored"
    );

    let septic = json!({"observations": [
        {"code": "resp_rate", "value": 24, "unit": "/min"},
        {"code": "sbp_mmhg", "value": 95, "unit": "mmHg"},
        {"code": "consciousness", "value": "A"}
    ]});
    assert_eq!(upload(septic.clone()).await.status(), StatusCode::CREATED);
    let open = alerts(&app, &patient).await;
    let qsofa = of_rule(&open, "qsofa");
    assert_eq!(qsofa.len(), 1, "{open:?}");
    let points = qsofa[0]["total"]
        .as_f64()
        .or(qsofa[0]["partial_total"].as_f64());
    assert_eq!(points, Some(2.0), "{}", qsofa[0]);
    assert_eq!(upload(septic).await.status(), StatusCode::CREATED);
    assert_eq!(
        of_rule(&alerts(&app, &patient).await, "qsofa").len(),
        1,
        "de-duplicated"
    );

    // Normal values resolve the alert; a relapse raises a new one.
    let normal = json!({"observations": [
        {"code": "resp_rate", "value": 16, "unit": "/min"},
        {"code": "sbp_mmhg", "value": 125, "unit": "mmHg"}
    ]});
    assert_eq!(upload(normal).await.status(), StatusCode::CREATED);
    assert!(of_rule(&alerts(&app, &patient).await, "qsofa").is_empty());
    let all = json_of(
        app.get("/api/v1/cdss/alerts?include_resolved=true", Some(&patient))
            .await,
        StatusCode::OK,
    )
    .await;
    let resolved = of_rule(all["alerts"].as_array().unwrap(), "qsofa");
    assert_eq!(resolved.len(), 1);
    assert!(resolved[0]["resolved_at"].is_string());
}

async fn alerts_follow_consent_scope_and_revocation(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("he.ping", "patient").await;
    let (_, doctor) = app.user("dr.feng", "doctor").await;
    let body = json!({"grantee": "dr.feng", "purposes": ["treatment"],
        "scope": {"kind": "categories", "categories": ["vital-signs"]}});
    let grant = json_of(
        app.post("/api/v1/consents", &body, Some(&patient)).await,
        StatusCode::CREATED,
    )
    .await;

    // qSOFA from a vital-signs record: covered by the consent.
    let vitals = json!({"observations": [
        {"code": "resp_rate", "value": 24, "unit": "/min"},
        {"code": "sbp_mmhg", "value": 95, "unit": "mmHg"},
        {"code": "consciousness", "value": "A"}
    ]});
    let stored = app
        .upload(
            &patient,
            "category=vital-signs",
            "application/json",
            vitals.to_string().into_bytes(),
        )
        .await;
    assert_eq!(stored.status(), StatusCode::CREATED);
    // NEWS2 and SIRS from a note: the consent does not cover notes.
    app.note(&patient, SEPTIC_NOTE).await;

    let mine = alerts(&app, &patient).await;
    let mut rules: Vec<&str> = mine.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    rules.sort_unstable();
    assert_eq!(rules, ["news2", "qsofa", "sirs"]);
    let seen = alerts(&app, &doctor).await;
    let seen: Vec<&str> = seen.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(seen, ["qsofa"], "only the alert of the covered record");
    let risk = app
        .get(
            &format!("/api/v1/cdss/patients/{patient_id}/risk"),
            Some(&doctor),
        )
        .await;
    assert_eq!(
        error_code(risk, StatusCode::FORBIDDEN).await,
        "CONSENT_REQUIRED",
        "derived data of the whole patient needs a consent for all records"
    );

    let revoke = format!("/api/v1/consents/{}/revoke", grant["id"].as_str().unwrap());
    assert_eq!(
        app.post(&revoke, &json!({}), Some(&patient)).await.status(),
        StatusCode::OK
    );
    assert!(alerts(&app, &doctor).await.is_empty(), "revoked");
}

/// A stream is only as good as the token and account it was opened with: once the doctor
/// is suspended, the next alert is not delivered and the stream ends.
async fn a_suspended_doctors_alert_stream_ends_without_the_alert(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("he.jun", "patient").await;
    let (doctor_id, doctor) = app.user("dr.ma", "doctor").await;
    consent(&app, &patient, "dr.ma").await;
    let stream = EventStream::open(&app, &doctor).await;

    let admin = app.token("admin").await;
    let suspend = format!("/api/v1/admin/users/{doctor_id}/suspend");
    let suspended = json_of(
        app.post(&suspend, &json!({}), Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(suspended["status"], "suspended");
    app.note(&patient, SEPTIC_NOTE).await;

    let sent = stream.rest().await;
    assert!(!sent.contains("event: alert"), "{sent}");
    assert_eq!(
        alerts(&app, &patient).await.len(),
        3,
        "the alerts were raised"
    );
    let audit = audit_of(&app, &patient).await;
    assert!(events_of_kind(&audit, "cdss.alert_delivered").is_empty());
}
