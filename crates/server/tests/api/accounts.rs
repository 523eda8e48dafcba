use std::num::NonZeroU32;

use meditrustal_app::ThrottleLimits;
use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code};

on_both_backends!(
    register_login_and_me,
    taken_usernames_and_emails_conflict,
    a_pending_doctor_logs_in_only_after_approval,
    wrong_and_unknown_credentials_look_the_same,
    suspension_ends_access_at_once,
    refresh_tokens_rotate_and_replay_revokes_the_family,
    logout_ends_the_session,
    requests_without_a_valid_token_are_refused,
    login_is_throttled_per_account,
    login_is_throttled_per_address,
);

async fn register_login_and_me(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("zhang.san", "patient").await;
    assert_eq!(user["status"], "active");
    assert_eq!(user["role"], "patient");
    let did = user["did"].as_str().unwrap();
    assert!(
        did.starts_with("did:meditrustal:") && did.len() == 48,
        "{did}"
    );
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    let session = app.session("ZHANG.SAN", PASSWORD).await;
    assert_eq!(session["token_type"], "Bearer");
    assert!(session["expires_in"].as_u64().unwrap() <= 900);
    assert_eq!(session["user"]["id"], user["id"]);

    let token = session["access_token"].as_str().unwrap();
    let me: Value = app
        .get("/api/v1/me", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me, user);
}

async fn taken_usernames_and_emails_conflict(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("li.na", "patient").await;
    let again = json!({"username": "LI.NA", "email": "other@example.cn", "password": PASSWORD, "role": "patient"});
    let response = app.post("/api/v1/auth/register", &again, None).await;
    assert_eq!(
        error_code(response, StatusCode::CONFLICT).await,
        "USERNAME_TAKEN"
    );
    let same_email = json!({"username": "li.na2", "email": "Li.Na@example.cn", "password": PASSWORD, "role": "patient"});
    let response = app.post("/api/v1/auth/register", &same_email, None).await;
    assert_eq!(
        error_code(response, StatusCode::CONFLICT).await,
        "EMAIL_TAKEN"
    );
}

async fn a_pending_doctor_logs_in_only_after_approval(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (name, role) in [("dr.wang", "doctor"), ("chen.research", "researcher")] {
        let user = app.register(name, role).await;
        assert_eq!(user["status"], "pending");
        let refused = app.login(name, PASSWORD).await;
        assert_eq!(
            error_code(refused, StatusCode::FORBIDDEN).await,
            "ACCOUNT_PENDING"
        );
        app.approve(user["id"].as_str().unwrap()).await;
        let session = app.session(name, PASSWORD).await;
        assert_eq!(session["user"]["status"], "active");
    }
}

async fn wrong_and_unknown_credentials_look_the_same(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("patient.a", "patient").await;
    let wrong = app.login("patient.a", "Wrong-Passphrase-1").await;
    assert_eq!(
        error_code(wrong, StatusCode::UNAUTHORIZED).await,
        "INVALID_CREDENTIALS"
    );
    let unknown = app.login("nobody.here", PASSWORD).await;
    assert_eq!(
        error_code(unknown, StatusCode::UNAUTHORIZED).await,
        "INVALID_CREDENTIALS"
    );
    let unparseable = app.login("x", PASSWORD).await;
    assert_eq!(
        error_code(unparseable, StatusCode::UNAUTHORIZED).await,
        "INVALID_CREDENTIALS"
    );
}

async fn suspension_ends_access_at_once(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("patient.b", "patient").await;
    let session = app.session("patient.b", PASSWORD).await;
    let token = session["access_token"].as_str().unwrap();
    let admin = app.token("admin").await;
    let path = format!(
        "/api/v1/admin/users/{}/suspend",
        user["id"].as_str().unwrap()
    );
    let suspended: Value = app
        .post(&path, &json!({}), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspended["status"], "suspended");

    let me = app.get("/api/v1/me", Some(token)).await;
    assert_eq!(
        error_code(me, StatusCode::FORBIDDEN).await,
        "ACCOUNT_SUSPENDED"
    );
    let login = app.login("patient.b", PASSWORD).await;
    assert_eq!(
        error_code(login, StatusCode::FORBIDDEN).await,
        "ACCOUNT_SUSPENDED"
    );
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(
        error_code(refresh, StatusCode::UNAUTHORIZED).await,
        "INVALID_REFRESH_TOKEN"
    );
}

async fn refresh_tokens_rotate_and_replay_revokes_the_family(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("patient.c", "patient").await;
    let first = app.session("patient.c", PASSWORD).await;
    let refresh = |token: &Value| json!({ "refresh_token": token.clone() });

    let second = app
        .post(
            "/api/v1/auth/refresh",
            &refresh(&first["refresh_token"]),
            None,
        )
        .await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let me = app.get("/api/v1/me", second["access_token"].as_str()).await;
    assert_eq!(me.status(), StatusCode::OK);

    // The first token was already used: someone copied it. The whole family is revoked.
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            &refresh(&first["refresh_token"]),
            None,
        )
        .await;
    assert_eq!(
        error_code(replay, StatusCode::UNAUTHORIZED).await,
        "REFRESH_TOKEN_REUSED"
    );
    let next = app
        .post(
            "/api/v1/auth/refresh",
            &refresh(&second["refresh_token"]),
            None,
        )
        .await;
    assert_eq!(
        error_code(next, StatusCode::UNAUTHORIZED).await,
        "INVALID_REFRESH_TOKEN"
    );

    let unknown = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": "nope"}),
            None,
        )
        .await;
    assert_eq!(
        error_code(unknown, StatusCode::UNAUTHORIZED).await,
        "INVALID_REFRESH_TOKEN"
    );
}

async fn logout_ends_the_session(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("patient.d", "patient").await;
    let one = app.session("patient.d", PASSWORD).await;
    let two = app.session("patient.d", PASSWORD).await;
    let token = one["access_token"].as_str();

    let logout = app
        .post(
            "/api/v1/auth/logout",
            &json!({"refresh_token": one["refresh_token"]}),
            token,
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": one["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(
        error_code(refresh, StatusCode::UNAUTHORIZED).await,
        "INVALID_REFRESH_TOKEN"
    );
    // The other session is untouched until a logout without a token ends them all.
    let still = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": two["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(still.status(), StatusCode::OK);
    let still: Value = still.json().await.unwrap();
    let everywhere = app.post("/api/v1/auth/logout", &json!({}), token).await;
    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    let after = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": still["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(
        error_code(after, StatusCode::UNAUTHORIZED).await,
        "INVALID_REFRESH_TOKEN"
    );
}

async fn requests_without_a_valid_token_are_refused(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let none = app.get("/api/v1/me", None).await;
    assert_eq!(none.headers()[WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        error_code(none, StatusCode::UNAUTHORIZED).await,
        "UNAUTHENTICATED"
    );
    let garbage = app.get("/api/v1/me", Some("not.a.jwt")).await;
    assert_eq!(
        error_code(garbage, StatusCode::UNAUTHORIZED).await,
        "UNAUTHENTICATED"
    );
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .basic_auth("admin", Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(basic, StatusCode::UNAUTHORIZED).await,
        "UNAUTHENTICATED"
    );
}

async fn login_is_throttled_per_account(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("patient.e", "patient").await;
    for _ in 0..5 {
        let wrong = app.login("patient.e", "Wrong-Passphrase-1").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now: guessing has to slow down.
    let throttled = app.login("patient.e", PASSWORD).await;
    let retry_after: u64 = throttled.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        error_code(throttled, StatusCode::TOO_MANY_REQUESTS).await,
        "TOO_MANY_ATTEMPTS"
    );
    // Other accounts are not affected by one account's limit.
    app.register("patient.f", "patient").await;
    assert_eq!(
        app.login("patient.f", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn login_is_throttled_per_address(backend: TestBackend) {
    let limits = ThrottleLimits {
        per_account_per_minute: NonZeroU32::new(100).unwrap(),
        per_address_per_minute: NonZeroU32::new(3).unwrap(),
    };
    let Some(app) = TestApp::spawn_with(backend, limits).await else {
        return;
    };
    for name in ["one.user", "two.user", "three.user"] {
        assert_eq!(
            app.login(name, PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = app.login("four.user", PASSWORD).await;
    assert!(throttled.headers().contains_key(RETRY_AFTER));
    assert_eq!(
        error_code(throttled, StatusCode::TOO_MANY_REQUESTS).await,
        "TOO_MANY_ATTEMPTS"
    );
}
