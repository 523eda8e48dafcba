//! `/fhir/r4`: resources stored as the patient's records, read back, versioned, searched
//! through the index, refused with OperationOutcomes, and decided by the same consent policy.

use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

on_both_backends!(
    metadata_and_errors_are_fhir,
    example_resources_round_trip_with_versions,
    search_filters_pages_and_includes,
    comma_separated_token_values_match_any_of_them,
    an_update_replaces_the_indexed_values,
    a_doctor_needs_consent_and_is_audited,
    a_record_scoped_consent_bounds_search_totals_and_pages,
    invalid_resources_are_refused_and_nothing_is_stored,
    consents_are_one_thing_in_both_apis,
    accounts_and_audit_events_as_fhir,
    transactions_are_all_or_nothing_and_batches_are_not,
    a_note_s_findings_are_conditions_with_provenance,
    a_note_s_derived_resources_are_readable_by_id,
    derived_resources_are_read_as_the_note_is,
    derived_resources_cannot_be_written,
    erasure_takes_a_resource_out_of_search,
    smart_scopes_narrow_what_a_token_may_do,
);

const FHIR: &str = "application/fhir+json";

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app
        .client
        .request(method, app.url(&format!("/fhir/r4{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", FHIR)
            .body(serde_json::to_vec(body).unwrap());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, body)
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(app, reqwest::Method::GET, path, Some(token), None, &[]).await;
    (status, body)
}

async fn create(app: &TestApp, token: &str, resource: &Value) -> Value {
    let kind = resource["resourceType"].as_str().unwrap();
    let (status, headers, body) = send(
        app,
        reqwest::Method::POST,
        &format!("/{kind}"),
        Some(token),
        Some(resource),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["etag"], "W/\"1\"");
    assert!(headers["location"].to_str().unwrap().ends_with(&format!(
        "/{kind}/{}/_history/1",
        body["id"].as_str().unwrap()
    )));
    body
}

fn assert_outcome(status: StatusCode, expected: StatusCode, body: &Value, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
}

/// Resources in the shape of HL7's published R4 examples, about `patient`.
fn examples(patient: &str) -> Vec<Value> {
    let subject = json!({"reference": format!("Patient/{patient}")});
    vec![
        json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}], "text": "Heart rate"},
            "subject": subject, "effectiveDateTime": "1999-07-02",
            "valueQuantity": {"value": 44, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"}}),
        json!({"resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
            "severity": {"coding": [{"system": "http://snomed.info/sct", "code": "24484000", "display": "Severe"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "39065001", "display": "Burn of ear"}], "text": "Burnt Ear"},
            "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "49521004"}], "text": "Left external ear"}],
            "subject": subject, "onsetDateTime": "2012-05-24"}),
        json!({"resourceType": "MedicationStatement", "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "C09AA05", "display": "ramipril"}]},
            "subject": subject, "effectiveDateTime": "2015-01-23", "dateAsserted": "2015-02-22",
            "dosage": [{"sequence": 1, "text": "5 mg once daily"}]}),
        json!({"resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
            "type": "allergy", "category": ["food"], "criticality": "high",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "227493005", "display": "Cashew nuts"}]},
            "patient": subject, "recordedDate": "2014-10-09T14:58:00+11:00",
            "reaction": [{"manifestation": [{"coding": [{"system": "http://snomed.info/sct", "code": "39579001", "display": "Anaphylactic reaction"}]}], "severity": "severe"}]}),
        json!({"resourceType": "DiagnosticReport", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "HM"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]},
            "subject": subject, "effectiveDateTime": "2011-03-04T08:30:00+11:00", "issued": "2011-03-04T11:45:33+11:00",
            "conclusion": "Normal"}),
        json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
            "subject": subject, "period": {"start": "2015-01-17T16:00:00+10:00", "end": "2015-01-17T16:30:00+10:00"}}),
        json!({"resourceType": "DocumentReference", "status": "current", "docStatus": "final",
            "type": {"coding": [{"system": "http://loinc.org", "code": "34108-1", "display": "Outpatient Note"}]},
            "subject": subject, "date": "2005-12-24T09:43:41+11:00",
            "content": [{"attachment": {"contentType": "text/plain", "url": "http://example.org/note.txt", "title": "note"}}]}),
    ]
}

/// The resource as sent, compared with what came back apart from id and meta.
fn without_server_fields(resource: &Value) -> Value {
    let mut copy = resource.clone();
    let object = copy.as_object_mut().unwrap();
    object.remove("id");
    object.remove("meta");
    copy
}

async fn metadata_and_errors_are_fhir(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, headers, statement) =
        send(&app, reqwest::Method::GET, "/metadata", None, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], FHIR);
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");

    let (status, headers, body) =
        send(&app, reqwest::Method::GET, "/Observation", None, None, &[]).await;
    assert_outcome(status, StatusCode::UNAUTHORIZED, &body, "login");
    assert_eq!(headers["content-type"], FHIR);
    assert_eq!(body["issue"][0]["details"]["text"], "UNAUTHENTICATED");

    let (_, patient) = app.user("li.na", "patient").await;
    let (status, body) = get(&app, "/Spaceship/1", &patient).await;
    assert_outcome(status, StatusCode::NOT_FOUND, &body, "not-supported");
    let (status, body) = get(
        &app,
        "/Observation/0194f1a2-0000-7000-8000-000000000000",
        &patient,
    )
    .await;
    assert_outcome(status, StatusCode::NOT_FOUND, &body, "not-found");
    let (status, _, body) = send(
        &app,
        reqwest::Method::DELETE,
        "/Observation/x",
        Some(&patient),
        None,
        &[],
    )
    .await;
    assert_outcome(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        &body,
        "not-supported",
    );
    let (status, body) = get(&app, "/Observation?bogus=1", &patient).await;
    assert_outcome(status, StatusCode::BAD_REQUEST, &body, "not-supported");
    // The /api/v1 envelope is unchanged.
    let response = app.get("/api/v1/nowhere", None).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

async fn example_resources_round_trip_with_versions(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    for example in examples(&patient_id) {
        let created = create(&app, &patient, &example).await;
        let kind = example["resourceType"].as_str().unwrap();
        let id = created["id"].as_str().unwrap();
        assert_eq!(created["meta"]["versionId"], "1");
        let (status, read) = get(&app, &format!("/{kind}/{id}"), &patient).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(without_server_fields(&read), example, "{kind}");
        assert_eq!(read["id"], created["id"]);
    }

    // Versions: If-Match, vread, history, Prefer: return=minimal.
    let observation = &examples(&patient_id)[0];
    let created = create(&app, &patient, observation).await;
    let id = created["id"].as_str().unwrap();
    let mut amended = observation.clone();
    amended["status"] = json!("amended");
    amended["id"] = json!(id);
    let path = format!("/Observation/{id}");
    let (status, headers, body) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&patient),
        Some(&amended),
        &[("if-match", "W/\"1\"")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["etag"], "W/\"2\"");
    assert_eq!(body["meta"]["versionId"], "2");
    let (status, _, body) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&patient),
        Some(&amended),
        &[("if-match", "W/\"1\"")],
    )
    .await;
    assert_outcome(status, StatusCode::PRECONDITION_FAILED, &body, "conflict");
    let (status, _, body) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&patient),
        Some(&amended),
        &[("prefer", "return=minimal")],
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    let (status, first) = get(&app, &format!("{path}/_history/1"), &patient).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["status"], "final");
    let (status, history) = get(&app, &format!("{path}/_history"), &patient).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["type"], "history");
    assert_eq!(history["total"], 3);
    let versions: Vec<&str> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["3", "2", "1"]);

    // The resource is a record of the patient like any other.
    let listed: Value = app
        .get("/api/v1/records?category=fhir-resource", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["records"].as_array().unwrap().len(), 8);
}

fn observation(patient: &str, code: &str, date: &str, status: &str) -> Value {
    json!({"resourceType": "Observation", "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": date,
        "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}})
}

fn ids_of(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| {
                    e["resource"]["effectiveDateTime"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn search_filters_pages_and_includes(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let (other_id, other) = app.user("zhang.wei", "patient").await;
    for (code, date, status) in [
        ("2345-7", "2024-01-10", "final"),
        ("2345-7", "2024-02-10", "final"),
        ("2345-7", "2024-03-10", "preliminary"),
        ("718-7", "2024-02-20", "final"),
    ] {
        create(
            &app,
            &patient,
            &observation(&patient_id, code, date, status),
        )
        .await;
    }
    create(
        &app,
        &other,
        &observation(&other_id, "2345-7", "2024-02-11", "final"),
    )
    .await;

    let search = |query: &str| format!("/Observation?{query}");
    let (status, all) = get(&app, &search("_sort=date"), &patient).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["type"], "searchset");
    assert_eq!(all["total"], 4, "only the patient's own");
    assert_eq!(
        ids_of(&all),
        ["2024-01-10", "2024-02-10", "2024-02-20", "2024-03-10"]
    );

    let (_, found) = get(
        &app,
        &search("code=http://loinc.org|2345-7&_sort=-date"),
        &patient,
    )
    .await;
    assert_eq!(ids_of(&found), ["2024-03-10", "2024-02-10", "2024-01-10"]);
    let (_, found) = get(&app, &search("code=718-7"), &patient).await;
    assert_eq!(ids_of(&found), ["2024-02-20"]);
    let (_, found) = get(&app, &search("code=http://snomed.info/sct|718-7"), &patient).await;
    assert_eq!(found["total"], 0);
    let (_, found) = get(
        &app,
        &search("date=ge2024-02&date=lt2024-03&_sort=date"),
        &patient,
    )
    .await;
    assert_eq!(ids_of(&found), ["2024-02-10", "2024-02-20"]);
    let (_, found) = get(&app, &search("date=2024-02-10"), &patient).await;
    assert_eq!(ids_of(&found), ["2024-02-10"]);
    let (_, found) = get(&app, &search("status=preliminary"), &patient).await;
    assert_eq!(ids_of(&found), ["2024-03-10"]);
    let (_, found) = get(&app, &search("category=laboratory&_count=1"), &patient).await;
    assert_eq!(found["total"], 4);

    // Paging by the next link until it runs out.
    let mut seen = Vec::new();
    let mut next = Some(app.url("/fhir/r4/Observation?_count=3&_sort=date"));
    while let Some(url) = next {
        let page: Value = app
            .client
            .get(url)
            .bearer_auth(&patient)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 4);
        seen.extend(ids_of(&page));
        next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen,
        ["2024-01-10", "2024-02-10", "2024-02-20", "2024-03-10"]
    );

    let (_, included) = get(
        &app,
        &search("_include=Observation:patient&_count=2"),
        &patient,
    )
    .await;
    let patients: Vec<&Value> = included["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .collect();
    assert_eq!(patients.len(), 1);
    assert_eq!(patients[0]["resource"]["id"], json!(patient_id));
    assert!(
        patients[0]["resource"]["identifier"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with("did:meditrustal:")
    );

    // Another patient's resources are not searchable by naming them.
    let (status, body) = get(&app, &search(&format!("patient={other_id}")), &patient).await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
}

/// The search's matches (by date), checking that `total` counts exactly them.
async fn matching(app: &TestApp, token: &str, path: String) -> Vec<String> {
    let (status, bundle) = get(app, &path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
    let ids = ids_of(&bundle);
    assert_eq!(bundle["total"], ids.len(), "{path}");
    ids
}

async fn an_update_replaces_the_indexed_values(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let created = create(
        &app,
        &patient,
        &observation(&patient_id, "2345-7", "2024-01-10", "preliminary"),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let (status, _, body) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/Observation/{id}"),
        Some(&patient),
        Some(&observation(&patient_id, "718-7", "2024-02-20", "final")),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let search = |query: &str| format!("/Observation?{query}");
    for (query, expected) in [
        ("code=2345-7", 0),
        ("status=preliminary", 0),
        ("date=2024-01-10", 0),
        ("code=718-7", 1),
        ("status=final", 1),
        ("date=2024-02-20", 1),
    ] {
        let found = matching(&app, &patient, search(query)).await;
        assert_eq!(found.len(), expected, "{query}");
    }
}

async fn comma_separated_token_values_match_any_of_them(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let mut ids = Vec::new();
    for (code, date, status) in [
        ("2345-7", "2024-01-10", "final"),
        ("718-7", "2024-01-11", "amended"),
        ("4548-4", "2024-01-12", "preliminary"),
        ("2345-7", "2024-01-13", "preliminary"),
    ] {
        let created = create(
            &app,
            &patient,
            &observation(&patient_id, code, date, status),
        )
        .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let search = |query: &str| format!("/Observation?_sort=date&{query}");
    let found = |query: &str| matching(&app, &patient, search(query));
    assert_eq!(
        found("code=http://loinc.org|718-7,http://loinc.org|4548-4").await,
        ["2024-01-11", "2024-01-12"]
    );
    assert_eq!(
        found("code=http://snomed.info/sct|718-7,4548-4").await,
        ["2024-01-12"]
    );
    assert_eq!(
        found("status=final,amended").await,
        ["2024-01-10", "2024-01-11"]
    );
    assert_eq!(
        found("category=vital-signs,laboratory&status=preliminary").await,
        ["2024-01-12", "2024-01-13"]
    );
    assert_eq!(
        found(&format!("_id={},{}", ids[0], ids[3])).await,
        ["2024-01-10", "2024-01-13"]
    );
    // An escaped comma is part of the one value, which no resource has.
    assert!(found(r"code=2345-7\,718-7").await.is_empty());

    // Paging keeps the alternatives in the next link.
    let (_, first) = get(&app, &search("code=2345-7,718-7&_count=2"), &patient).await;
    assert_eq!(first["total"], 3);
    assert_eq!(ids_of(&first), ["2024-01-10", "2024-01-11"]);
    let next = next_link(&first).expect("a next page");
    let second: Value = app
        .client
        .get(next)
        .bearer_auth(&patient)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids_of(&second), ["2024-01-13"]);

    let too_many = vec!["final"; 21].join(",");
    let (status, body) = get(&app, &search(&format!("status={too_many}")), &patient).await;
    assert_outcome(status, StatusCode::BAD_REQUEST, &body, "too-costly");
    assert_eq!(body["issue"][0]["expression"], json!(["status"]));
    let (status, body) = get(&app, &search("code=2345-7,"), &patient).await;
    assert_outcome(status, StatusCode::BAD_REQUEST, &body, "value");
}

async fn a_doctor_needs_consent_and_is_audited(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let (_, doctor) = app.user("dr.wang", "doctor").await;
    let created = create(
        &app,
        &patient,
        &observation(&patient_id, "2345-7", "2024-01-10", "final"),
    )
    .await;
    let path = format!("/Observation/{}", created["id"].as_str().unwrap());

    let (status, body) = get(&app, &path, &doctor).await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
    assert_eq!(body["issue"][0]["details"]["text"], "CONSENT_REQUIRED");
    let (status, body) = get(&app, &format!("/Observation?patient={patient_id}"), &doctor).await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
    let (status, body) = get(&app, "/Observation", &doctor).await;
    assert_outcome(status, StatusCode::BAD_REQUEST, &body, "required");

    let audit: Value = app
        .get("/api/v1/audit?limit=100", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    let denials = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "access.denied" && e["actor_username"] == "dr.wang")
        .count();
    assert_eq!(denials, 2);

    let grant = json!({"grantee": "dr.wang", "scope": {"kind": "all"}, "purposes": ["treatment"]});
    let response = app.post("/api/v1/consents", &grant, Some(&patient)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (status, read) = get(&app, &path, &doctor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["id"], created["id"]);
    let (status, found) = get(
        &app,
        &format!("/Observation?subject=Patient/{patient_id}"),
        &doctor,
    )
    .await;
    assert_eq!((status, found["total"].clone()), (StatusCode::OK, json!(1)));
    // A read-only consent does not let the doctor write.
    let (status, _, body) = send(
        &app,
        reqwest::Method::POST,
        "/Observation",
        Some(&doctor),
        Some(&observation(&patient_id, "718-7", "2024-01-11", "final")),
        &[],
    )
    .await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
}

/// The `next` link of a searchset, if any.
fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_owned())
}

async fn a_record_scoped_consent_bounds_search_totals_and_pages(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let (_, doctor) = app.user("dr.wang", "doctor").await;
    let mut ids = Vec::new();
    for date in [
        "2024-01-10",
        "2024-01-11",
        "2024-01-12",
        "2024-01-13",
        "2024-01-14",
    ] {
        let created = create(
            &app,
            &patient,
            &observation(&patient_id, "2345-7", date, "final"),
        )
        .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    // The consent names the second and the fourth, so that hidden resources sit before,
    // between and after the visible ones in every order.
    let grant = json!({"grantee": "dr.wang", "purposes": ["treatment"],
        "scope": {"kind": "records", "records": [ids[1], ids[3]]}});
    let response = app.post("/api/v1/consents", &grant, Some(&patient)).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let search = format!("/Observation?patient={patient_id}&_sort=date");
    let (status, all) = get(&app, &search, &doctor).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["total"], 2);
    assert_eq!(ids_of(&all), ["2024-01-11", "2024-01-13"]);
    assert_eq!(next_link(&all), None);

    let (status, first) = get(&app, &format!("{search}&_count=1"), &doctor).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["total"], 2);
    assert_eq!(ids_of(&first), ["2024-01-11"]);
    let next = next_link(&first).expect("a next page");
    let second: Value = app
        .client
        .get(next)
        .bearer_auth(&doctor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["total"], 2);
    assert_eq!(ids_of(&second), ["2024-01-13"]);
    assert_eq!(next_link(&second), None);

    // The patient still sees all five.
    let (_, own) = get(&app, "/Observation", &patient).await;
    assert_eq!(own["total"], 5);
}

async fn invalid_resources_are_refused_and_nothing_is_stored(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let good = observation(&patient_id, "2345-7", "2024-01-10", "final");
    let mut cases = Vec::new();
    let mut wrong_type = good.clone();
    wrong_type["resourceType"] = json!("Condition");
    cases.push(("wrong resourceType", wrong_type, "invalid"));
    let mut unknown = good.clone();
    unknown["colour"] = json!("blue");
    cases.push(("unknown element", unknown, "structure"));
    let mut reference = good.clone();
    reference["subject"] = json!({"reference": "li.na"});
    cases.push(("bad reference", reference, "value"));
    let mut stranger = good.clone();
    stranger["subject"] = json!({"reference": "Patient/0194f1a2-0000-7000-8000-000000000000"});
    cases.push(("unknown patient", stranger, "value"));
    let mut impossible = good.clone();
    impossible["effectiveDateTime"] = json!("2023-02-29");
    cases.push(("impossible date", impossible, "value"));
    let mut system = good.clone();
    system["code"] = json!({"coding": [{"system": "LOINC", "code": "2345-7"}]});
    cases.push(("code system not a URI", system, "value"));
    let mut status = good.clone();
    status["status"] = json!("bogus");
    cases.push(("status outside its required binding", status, "value"));
    for (what, resource, code) in cases {
        let (status, _, body) = send(
            &app,
            reqwest::Method::POST,
            "/Observation",
            Some(&patient),
            Some(&resource),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(body["resourceType"], "OperationOutcome", "{what}");
        assert_eq!(body["issue"][0]["code"], code, "{what}: {body}");
    }
    let response = app
        .client
        .post(app.url("/fhir/r4/Observation"))
        .bearer_auth(&patient)
        .header("content-type", FHIR)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let (_, found) = get(&app, "/Observation", &patient).await;
    assert_eq!(found["total"], 0);
    let listed: Value = app
        .get("/api/v1/records", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["records"], json!([]));
}

fn fhir_consent(patient: &str, doctor: &str) -> Value {
    json!({"resourceType": "Consent", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": format!("Patient/{patient}")},
        "provision": {"type": "permit",
            "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                       "reference": {"reference": format!("Practitioner/{doctor}")}}],
            "purpose": [{"system": "urn:meditrustal:purpose", "code": "treatment"}]}})
}

async fn consents_are_one_thing_in_both_apis(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let (doctor_id, doctor) = app.user("dr.wang", "doctor").await;
    let (other_doctor_id, other_doctor) = app.user("dr.li", "doctor").await;
    let created = create(
        &app,
        &patient,
        &observation(&patient_id, "2345-7", "2024-01-10", "final"),
    )
    .await;
    let record = created["id"].as_str().unwrap();
    let fhir_path = format!("/Observation/{record}");
    let api_path = format!("/api/v1/records/{record}/content?purpose=treatment");

    // Granted through FHIR: enforced through /api/v1 and FHIR, listed by /api/v1.
    let consent = create(&app, &patient, &fhir_consent(&patient_id, &doctor_id)).await;
    assert_eq!(consent["status"], "active");
    assert_eq!(
        app.get(&api_path, Some(&doctor)).await.status(),
        StatusCode::OK
    );
    assert_eq!(get(&app, &fhir_path, &doctor).await.0, StatusCode::OK);
    let listed: Value = app
        .get("/api/v1/consents", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["consents"][0]["id"], consent["id"], "{listed}");

    // Granted through /api/v1: a FHIR Consent naming the doctor as Practitioner.
    let grant = json!({"grantee": "dr.li", "scope": {"kind": "all"}, "purposes": ["treatment"]});
    let response = app.post("/api/v1/consents", &grant, Some(&patient)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let granted: Value = response.json().await.unwrap();
    let (status, as_fhir) = get(
        &app,
        &format!("/Consent/{}", granted["id"].as_str().unwrap()),
        &patient,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{as_fhir}");
    assert_eq!(
        as_fhir["provision"]["actor"][0]["reference"]["reference"],
        format!("Practitioner/{other_doctor_id}")
    );
    let (_, seen_by_doctor) = get(&app, "/Consent", &other_doctor).await;
    assert_eq!(seen_by_doctor["total"], 1);
    assert_eq!(get(&app, &fhir_path, &other_doctor).await.0, StatusCode::OK);

    // Revoked through FHIR: refused through both at once.
    let mut revoked = consent.clone();
    revoked["status"] = json!("inactive");
    let (status, _, body) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/Consent/{}", consent["id"].as_str().unwrap()),
        Some(&patient),
        Some(&revoked),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "inactive");
    assert_eq!(
        app.get(&api_path, Some(&doctor)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, &fhir_path, &doctor).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, active) = get(&app, "/Consent?status=active", &patient).await;
    assert_eq!(active["total"], 1);

    // A doctor cannot grant, and a consent must name a purpose.
    let (status, _, _) = send(
        &app,
        reqwest::Method::POST,
        "/Consent",
        Some(&doctor),
        Some(&fhir_consent(&patient_id, &doctor_id)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut no_purpose = fhir_consent(&patient_id, &doctor_id);
    no_purpose["provision"]
        .as_object_mut()
        .unwrap()
        .remove("purpose");
    let (status, _, body) = send(
        &app,
        reqwest::Method::POST,
        "/Consent",
        Some(&patient),
        Some(&no_purpose),
        &[],
    )
    .await;
    assert_outcome(status, StatusCode::BAD_REQUEST, &body, "required");
    let listed: Value = app
        .get("/api/v1/consents", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["consents"].as_array().unwrap().len(), 2);
}

async fn accounts_and_audit_events_as_fhir(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let (doctor_id, doctor) = app.user("dr.wang", "doctor").await;
    let (status, me) = get(&app, &format!("/Patient/{patient_id}"), &patient).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        me["identifier"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with("did:meditrustal:")
    );
    let (status, body) = get(&app, &format!("/Patient/{patient_id}"), &doctor).await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
    let (status, _) = get(&app, &format!("/Practitioner/{doctor_id}"), &patient).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no consent names the doctor yet"
    );
    create(&app, &patient, &fhir_consent(&patient_id, &doctor_id)).await;
    let (status, practitioner) = get(&app, &format!("/Practitioner/{doctor_id}"), &patient).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(practitioner["active"], true);
    let (_, patients) = get(&app, "/Patient", &doctor).await;
    assert_eq!(patients["total"], 1);
    assert_eq!(patients["entry"][0]["resource"]["id"], json!(patient_id));
    assert!(
        patients["entry"][0]["resource"].get("gender").is_none(),
        "no profile yet"
    );
    // The demographics the patient gives in their profile are the Patient's.
    let profile =
        json!({"sex": "female", "birth_date": "1962-03-08", "region": "330106", "name": "李娜"});
    let response = app.put("/api/v1/me/profile", &profile, &patient).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, seen) = get(&app, &format!("/Patient/{patient_id}"), &doctor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["gender"], "female");
    assert_eq!(seen["birthDate"], "1962-03-08");
    assert_eq!(seen["name"][0]["text"], "李娜");

    let (status, events) = get(&app, "/AuditEvent?_count=50", &patient).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let kinds: Vec<&str> = events["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["subtype"][0]["code"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"access.denied"), "{kinds:?}");
    assert!(kinds.contains(&"consent.granted"), "{kinds:?}");
    let denied = events["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["subtype"][0]["code"] == "access.denied")
        .unwrap();
    assert_eq!(denied["resource"]["outcome"], "4");
    let id = denied["resource"]["id"].as_str().unwrap();
    let (status, one) = get(&app, &format!("/AuditEvent/{id}"), &patient).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], json!(id));
    // The doctor's own trail is theirs only; the patient's view of this entry is not.
    let (status, _) = get(&app, &format!("/AuditEvent/{id}"), &doctor).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the denial was the doctor's own action"
    );
    let (status, _) = get(&app, "/AuditEvent/leaf-0", &doctor).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn transactions_are_all_or_nothing_and_batches_are_not(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let encounter_url = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a";
    let observation_url = "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059";
    let mut with_encounter = observation(&patient_id, "2345-7", "2024-01-10", "final");
    with_encounter["encounter"] = json!({"reference": encounter_url});
    let history = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": encounter_url, "resource": examples(&patient_id)[5], "request": {"method": "POST", "url": "Encounter"}},
        {"fullUrl": observation_url, "resource": with_encounter, "request": {"method": "POST", "url": "Observation"}},
        {"resource": examples(&patient_id)[1], "request": {"method": "POST", "url": "Condition"}},
        {"resource": {"resourceType": "Provenance", "target": [{"reference": observation_url}],
            "recorded": "2024-01-10T10:00:00+08:00",
            "agent": [{"who": {"reference": format!("Patient/{patient_id}")}}]},
         "request": {"method": "POST", "url": "Provenance"}},
    ]});
    let (status, _, answer) = send(
        &app,
        reqwest::Method::POST,
        "",
        Some(&patient),
        Some(&history),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["type"], "transaction-response");
    let locations: Vec<&str> = answer["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["response"]["status"], "201 Created");
            e["response"]["location"].as_str().unwrap()
        })
        .collect();
    let encounter_ref = locations[0].split("/_history").next().unwrap();
    let observation_path = locations[1].split("/_history").next().unwrap();
    let (status, stored) = get(&app, &format!("/{observation_path}"), &patient).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored["encounter"]["reference"], encounter_ref,
        "references between entries resolved"
    );
    let (_, provenance) = get(
        &app,
        &format!("/{}", locations[3].split("/_history").next().unwrap()),
        &patient,
    )
    .await;
    assert_eq!(provenance["target"][0]["reference"], observation_path);

    // One bad entry: nothing of the transaction is stored.
    let failing = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": observation(&patient_id, "718-7", "2024-02-10", "final"), "request": {"method": "POST", "url": "Observation"}},
        {"resource": observation(&patient_id, "718-7", "2024-02-30", "final"), "request": {"method": "POST", "url": "Observation"}},
    ]});
    let (status, _, body) = send(
        &app,
        reqwest::Method::POST,
        "",
        Some(&patient),
        Some(&failing),
        &[],
    )
    .await;
    assert_outcome(status, StatusCode::BAD_REQUEST, &body, "value");
    assert_eq!(
        body["issue"][0]["expression"][0],
        "Bundle.entry[1].resource.Observation.effectiveDateTime"
    );
    let (_, found) = get(&app, "/Observation?code=718-7", &patient).await;
    assert_eq!(found["total"], 0);
    let (_, found) = get(&app, "/Observation", &patient).await;
    assert_eq!(found["total"], 1);

    // A batch applies each entry on its own.
    let mut batch = failing.clone();
    batch["type"] = json!("batch");
    let (status, _, answer) = send(
        &app,
        reqwest::Method::POST,
        "",
        Some(&patient),
        Some(&batch),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["type"], "batch-response");
    assert_eq!(answer["entry"][0]["response"]["status"], "201 Created");
    assert_eq!(answer["entry"][1]["response"]["status"], "400 Bad Request");
    assert_eq!(
        answer["entry"][1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    let (_, found) = get(&app, "/Observation?code=718-7", &patient).await;
    assert_eq!(found["total"], 1);
}

async fn a_note_s_findings_are_conditions_with_provenance(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let (_, doctor) = app.user("dr.wang", "doctor").await;
    let note = app
        .note(
            &patient,
            "主诉：咳嗽3天。否认发热。既往高血压病史。体温 37.2℃。",
        )
        .await;
    let (status, findings) = get(
        &app,
        &format!("/DocumentReference/{note}/$findings"),
        &patient,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{findings}");
    assert_eq!(findings["type"], "collection");
    let resources: Vec<&Value> = findings["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let conditions: Vec<&&Value> = resources
        .iter()
        .filter(|r| r["resourceType"] == "Condition")
        .collect();
    let fever = conditions
        .iter()
        .find(|c| c["code"]["text"] == "发热")
        .expect("the negated fever is reported");
    assert_eq!(fever["verificationStatus"]["coding"][0]["code"], "refuted");
    assert!(
        fever.get("clinicalStatus").is_none(),
        "a negated finding is not an active problem"
    );
    let hypertension = conditions
        .iter()
        .find(|c| c["code"]["text"] == "高血压")
        .expect("hypertension is reported");
    assert_ne!(
        hypertension["verificationStatus"]["coding"][0]["code"],
        "refuted"
    );
    assert_eq!(
        hypertension["subject"]["reference"],
        format!("Patient/{patient_id}")
    );
    let provenance = resources
        .iter()
        .find(|r| r["resourceType"] == "Provenance")
        .unwrap();
    assert_eq!(
        provenance["entity"][0]["what"]["reference"],
        format!("DocumentReference/{note}")
    );
    assert_eq!(
        provenance["target"].as_array().unwrap().len(),
        resources.len() - 1
    );
    let (status, document) = get(&app, &format!("/DocumentReference/{note}"), &patient).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["type"]["text"], "clinical-note");
    let (status, body) = get(
        &app,
        &format!("/DocumentReference/{note}/$findings"),
        &doctor,
    )
    .await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
}

/// A note with a disease, a negated symptom, a family-history mention and a measurement.
const FINDINGS_NOTE: &str =
    "主诉：咳嗽3天。否认发热。既往高血压病史。家族史：父亲患糖尿病。体温 37.2℃。";

/// The entries of a note's `$findings` Bundle, by id.
async fn findings_by_id(app: &TestApp, note: &str, token: &str) -> Vec<(String, Value)> {
    let (status, findings) = get(app, &format!("/DocumentReference/{note}/$findings"), token).await;
    assert_eq!(status, StatusCode::OK, "{findings}");
    findings["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["resource"]["id"].as_str().unwrap().to_owned(),
                e["resource"].clone(),
            )
        })
        .collect()
}

async fn a_note_s_derived_resources_are_readable_by_id(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("li.na", "patient").await;
    let note = app.note(&patient, FINDINGS_NOTE).await;
    let found = findings_by_id(&app, &note, &patient).await;
    let provenance = &found
        .iter()
        .find(|(id, _)| *id == format!("{note}-nlp"))
        .unwrap()
        .1;
    let targets: Vec<&str> = provenance["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert!(
        targets.iter().any(|t| t.starts_with("Condition/")),
        "{targets:?}"
    );
    assert!(
        targets.iter().any(|t| t.starts_with("Observation/")),
        "{targets:?}"
    );
    let references = targets
        .iter()
        .map(|t| t.to_string())
        .chain([format!("Provenance/{note}-nlp")]);
    for reference in references {
        let (status, headers, read) = send(
            &app,
            reqwest::Method::GET,
            &format!("/{reference}"),
            Some(&patient),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reference}: {read}");
        let id = reference.split('/').nth(1).unwrap();
        let entry = &found.iter().find(|(found_id, _)| found_id == id).unwrap().1;
        assert_eq!(&read, entry, "{reference} reads as its $findings entry");
        assert_eq!(read["meta"]["versionId"], "1");
        assert_eq!(headers["etag"], "W/\"1\"");
        let (status, vread) = get(&app, &format!("/{reference}/_history/1"), &patient).await;
        assert_eq!((status, &vread), (StatusCode::OK, entry));
        let (status, body) = get(&app, &format!("/{reference}/_history/2"), &patient).await;
        assert_outcome(status, StatusCode::NOT_FOUND, &body, "not-found");
    }
    let (status, history) = get(&app, &format!("/Provenance/{note}-nlp/_history"), &patient).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(&history["entry"][0]["resource"], provenance);

    let analysis: Value = app
        .get(&format!("/api/v1/records/{note}/nlp"), Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    let entities = analysis["analysis"]["entities"].as_array().unwrap();
    let family = entities
        .iter()
        .position(|e| e["family"] == true)
        .expect("a family-history entity");
    let condition = entities
        .iter()
        .position(|e| e["type"] == "dis" && e["family"] == false)
        .unwrap();
    let measurements = analysis["analysis"]["measurements"]
        .as_array()
        .unwrap()
        .len();
    let random = "0194f1a2-0000-7000-8000-000000000000";
    for path in [
        format!("/Condition/{note}-e{family}"),
        format!("/Observation/{note}-e{condition}"),
        format!("/MedicationStatement/{note}-e{condition}"),
        format!("/Condition/{note}-m0"),
        format!("/Observation/{note}-m{measurements}"),
        format!("/Condition/{note}-e{}", entities.len()),
        format!("/Condition/{note}-e0{condition}"),
        format!("/Condition/{note}-e99999999999999999999999"),
        format!("/Condition/{}-e{condition}", note.to_uppercase()),
        format!("/DocumentReference/{note}-nlp"),
        format!("/Condition/{random}-e0"),
        "/Condition/not-a-note-e0".to_owned(),
    ] {
        let (status, body) = get(&app, &path, &patient).await;
        assert_outcome(status, StatusCode::NOT_FOUND, &body, "not-found");
    }

    // A new version of the note, analysed, gives the derived resources a new version; the
    // earlier one stays readable by vread.
    let updated = app
        .new_version(
            &patient,
            &note,
            "text/plain; charset=utf-8",
            "主诉：头痛2天。体温 38.5℃。",
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    let (status, current) = get(&app, &format!("/Provenance/{note}-nlp"), &patient).await;
    assert_eq!(status, StatusCode::OK, "{current}");
    assert_eq!(current["meta"]["versionId"], "2");
    assert_eq!(
        current,
        findings_by_id(&app, &note, &patient)
            .await
            .last()
            .unwrap()
            .1
    );
    let (status, earlier) = get(
        &app,
        &format!("/Provenance/{note}-nlp/_history/1"),
        &patient,
    )
    .await;
    assert_eq!((status, &earlier), (StatusCode::OK, provenance));
}

/// How many of dr.wang's audit events of `kind` and `outcome` name `record`, as its patient
/// sees them.
async fn doctor_events_on(
    app: &TestApp,
    patient: &str,
    record: &str,
    (kind, outcome): (&str, &str),
) -> usize {
    let audit: Value = app
        .get("/api/v1/audit?limit=100", Some(patient))
        .await
        .json()
        .await
        .unwrap();
    audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == kind
                && e["outcome"] == outcome
                && e["actor_username"] == "dr.wang"
                && e["record_id"] == record
        })
        .count()
}

async fn derived_resources_are_read_as_the_note_is(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("li.na", "patient").await;
    let (_, doctor) = app.user("dr.wang", "doctor").await;
    let note = app.note(&patient, FINDINGS_NOTE).await;
    let found = findings_by_id(&app, &note, &patient).await;
    let (id, condition) = found
        .iter()
        .find(|(_, r)| r["resourceType"] == "Condition")
        .unwrap();
    let path = format!("/Condition/{id}");

    let (status, body) = get(&app, &path, &doctor).await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
    assert_eq!(body["issue"][0]["details"]["text"], "CONSENT_REQUIRED");
    assert_eq!(
        doctor_events_on(&app, &patient, &note, ("access.denied", "denied")).await,
        1
    );

    let grant = json!({"grantee": "dr.wang", "scope": {"kind": "all"}, "purposes": ["treatment"]});
    let response = app.post("/api/v1/consents", &grant, Some(&patient)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (status, read) = get(&app, &path, &doctor).await;
    assert_eq!((status, &read), (StatusCode::OK, condition));
    assert_eq!(
        doctor_events_on(&app, &patient, &note, ("record.analysis_read", "allowed")).await,
        1
    );
}

async fn derived_resources_cannot_be_written(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let note = app.note(&patient, FINDINGS_NOTE).await;
    let found = findings_by_id(&app, &note, &patient).await;
    let (id, condition) = found
        .iter()
        .find(|(_, r)| r["resourceType"] == "Condition")
        .unwrap();
    let mut changed = condition.clone();
    changed["verificationStatus"]["coding"][0]["code"] = json!("entered-in-error");
    changed.as_object_mut().unwrap().remove("clinicalStatus");
    changed["subject"] = json!({"reference": format!("Patient/{patient_id}")});
    let (status, headers, body) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/Condition/{id}"),
        Some(&patient),
        Some(&changed),
        &[],
    )
    .await;
    assert_outcome(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        &body,
        "not-supported",
    );
    assert_eq!(body["issue"][0]["details"]["text"], "READ_ONLY");
    assert_eq!(headers["allow"], "GET");
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": changed, "request": {"method": "PUT", "url": format!("Condition/{id}")}}]});
    let (status, _, body) = send(
        &app,
        reqwest::Method::POST,
        "",
        Some(&patient),
        Some(&transaction),
        &[],
    )
    .await;
    assert_outcome(status, StatusCode::BAD_REQUEST, &body, "not-supported");
    assert_eq!(body["issue"][0]["expression"][0], "Bundle.entry[0].request");

    let (status, read) = get(&app, &format!("/Condition/{id}"), &patient).await;
    assert_eq!((status, &read), (StatusCode::OK, condition));
    let (_, search) = get(&app, "/Condition", &patient).await;
    assert_eq!(search["total"], 0, "nothing was stored: {search}");
}

async fn erasure_takes_a_resource_out_of_search(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let kept = create(
        &app,
        &patient,
        &observation(&patient_id, "2345-7", "2024-01-10", "final"),
    )
    .await;
    let erased = create(
        &app,
        &patient,
        &observation(&patient_id, "2345-7", "2024-01-11", "final"),
    )
    .await;
    let id = erased["id"].as_str().unwrap();
    let response = app
        .post(
            &format!("/api/v1/records/{id}/erasure"),
            &json!({}),
            Some(&patient),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, found) = get(&app, "/Observation?code=2345-7", &patient).await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["entry"][0]["resource"]["id"], kept["id"]);
    let (status, body) = get(&app, &format!("/Observation/{id}"), &patient).await;
    assert_outcome(status, StatusCode::GONE, &body, "deleted");
}

async fn scoped(app: &TestApp, token: &str, scope: &str) -> String {
    let response = app
        .post(
            "/api/v1/auth/fhir-token",
            &json!({ "scope": scope }),
            Some(token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], scope);
    body["access_token"].as_str().unwrap().to_owned()
}

async fn smart_scopes_narrow_what_a_token_may_do(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (patient_id, patient) = app.user("li.na", "patient").await;
    let (doctor_id, doctor) = app.user("dr.wang", "doctor").await;
    let created = create(
        &app,
        &patient,
        &observation(&patient_id, "2345-7", "2024-01-10", "final"),
    )
    .await;
    let path = format!("/Observation/{}", created["id"].as_str().unwrap());

    let read_observations = scoped(&app, &patient, "patient/Observation.read").await;
    assert_eq!(get(&app, &path, &read_observations).await.0, StatusCode::OK);
    let (status, body) = get(&app, "/Condition", &read_observations).await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
    assert_eq!(body["issue"][0]["details"]["text"], "INSUFFICIENT_SCOPE");
    let (status, _, body) = send(
        &app,
        reqwest::Method::POST,
        "/Observation",
        Some(&read_observations),
        Some(&observation(&patient_id, "718-7", "2024-01-11", "final")),
        &[],
    )
    .await;
    assert_outcome(status, StatusCode::FORBIDDEN, &body, "forbidden");
    // A scoped token is for /fhir/r4 only.
    let response = app.get("/api/v1/records", Some(&read_observations)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let writer = scoped(&app, &patient, "patient/*.read patient/Observation.write").await;
    let (status, _, _) = send(
        &app,
        reqwest::Method::POST,
        "/Observation",
        Some(&writer),
        Some(&observation(&patient_id, "718-7", "2024-01-11", "final")),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Scopes never widen: the doctor still needs consent, and patient/ scopes are not theirs.
    let doctor_all = scoped(&app, &doctor, "user/*.read").await;
    assert_eq!(get(&app, &path, &doctor_all).await.0, StatusCode::FORBIDDEN);
    create(&app, &patient, &fhir_consent(&patient_id, &doctor_id)).await;
    assert_eq!(get(&app, &path, &doctor_all).await.0, StatusCode::OK);
    let doctor_patient_scope = scoped(&app, &doctor, "patient/*.read").await;
    assert_eq!(
        get(&app, &path, &doctor_patient_scope).await.0,
        StatusCode::FORBIDDEN
    );

    let response = app
        .post(
            "/api/v1/auth/fhir-token",
            &json!({ "scope": "openid launch" }),
            Some(&patient),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
