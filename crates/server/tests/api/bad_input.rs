//! Bad input gets a 4xx in the error format, changes nothing, and never a 5xx.

use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, announce_oversized, error_code};

on_both_backends!(
    malformed_bodies_are_refused_and_store_nothing,
    invalid_fields_name_the_field,
    injection_strings_are_just_invalid_input,
);

const REGISTER: &str = "/api/v1/auth/register";

async fn send_raw(app: &TestApp, content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut request = app.client.post(app.url(REGISTER)).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    request.send().await.unwrap()
}

async fn malformed_bodies_are_refused_and_store_nothing(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let json_type = Some("application/json");
    let huge_name = format!(
        r#"{{"username":"{}","email":"a@example.cn","password":"{PASSWORD}","role":"patient"}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    // (what, content type, body, expected status, expected code)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        ("malformed JSON", json_type, b"{\"username\": ".to_vec(), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        ("empty body", json_type, Vec::new(), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        ("invalid UTF-8", json_type, b"{\"username\":\"\xff\xfe\"}".to_vec(), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        ("wrong types", json_type, br#"{"username":5,"email":[],"password":true,"role":null}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY"),
        ("missing fields", json_type, br#"{"username":"someone"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY"),
        ("unknown field", json_type, format!(r#"{{"username":"li.si","email":"a@example.cn","password":"{PASSWORD}","role":"patient","is_admin":true}}"#).into_bytes(), StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY"),
        ("no content type", None, br#"{"username":"li.si"}"#.to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
        ("form content type", Some("application/x-www-form-urlencoded"), b"username=li.si".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
    ];
    for (what, content_type, body, status, code) in cases {
        let response = send_raw(&app, content_type, body).await;
        assert_eq!(error_code(response, status).await, code, "{what}");
    }
    let (status, body) =
        announce_oversized(&app, REGISTER, None, "application/json", huge_name.len()).await;
    assert_eq!(status, 413, "2 MB username");
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(app.usernames().await, ["admin"], "nothing was stored");
}

async fn invalid_fields_name_the_field(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let base = json!({"username": "li.si", "email": "li.si@example.cn", "password": PASSWORD, "role": "patient"});
    let cases = [
        ("role", json!("admin"), "INVALID_ROLE"),
        ("role", json!("surgeon"), "INVALID_ROLE"),
        ("username", json!("ab"), "INVALID_USERNAME"),
        ("username", json!("a".repeat(51)), "INVALID_USERNAME"),
        ("username", json!("李四"), "INVALID_USERNAME"),
        ("email", json!("not-an-email"), "INVALID_EMAIL"),
        ("password", json!("short"), "PASSWORD_TOO_SHORT"),
        ("password", json!("password123"), "PASSWORD_TOO_COMMON"),
        (
            "password",
            json!("my-li.si-password"),
            "PASSWORD_CONTAINS_USERNAME",
        ),
    ];
    for (field, value, code) in cases {
        let mut body = base.clone();
        body[field] = value;
        let response = app.post(REGISTER, &body, None).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{field}: {error}");
        assert_eq!(error["error"]["details"]["field"], field);
    }
    assert_eq!(app.usernames().await, ["admin"], "nothing was stored");
}

async fn injection_strings_are_just_invalid_input(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let attacks = [
        "admin'--",
        "' OR '1'='1",
        "x\"; DROP TABLE users; --",
        "<script>alert(1)</script>",
    ];
    for attack in attacks {
        let body = json!({"username": attack, "email": "x@example.cn", "password": PASSWORD, "role": "patient"});
        let response = app.post(REGISTER, &body, None).await;
        assert_eq!(
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "INVALID_USERNAME"
        );
        let email = json!({"username": "valid.name", "email": attack, "password": PASSWORD, "role": "patient"});
        let response = app.post(REGISTER, &email, None).await;
        assert_eq!(
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "INVALID_EMAIL"
        );
        let login = app.login(attack, attack).await;
        assert_eq!(
            error_code(login, StatusCode::UNAUTHORIZED).await,
            "INVALID_CREDENTIALS"
        );
    }
    assert_eq!(app.usernames().await, ["admin"]);
    // A password is data, whatever it contains.
    let sql_password = "pa'ss\"; DROP TABLE users; --";
    let body = json!({"username": "wang.wu", "email": "ww@example.cn", "password": sql_password, "role": "patient"});
    assert_eq!(
        app.post(REGISTER, &body, None).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.login("wang.wu", sql_password).await.status(),
        StatusCode::OK
    );
}
