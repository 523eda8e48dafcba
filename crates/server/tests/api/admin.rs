use meditrustal_testkit::{TestBackend, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_backends!(
    non_admins_get_403_on_every_admin_endpoint,
    admins_list_approve_and_suspend,
    admins_cannot_suspend_themselves,
    unknown_and_malformed_ids_are_404_for_admins,
    bad_listing_queries_are_400,
    admins_see_the_system_status,
);

async fn non_admins_get_403_on_every_admin_endpoint(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let target = app.register("patient.t", "patient").await;
    let target_id = target["id"].as_str().unwrap();
    let doctor = app.register("dr.li", "doctor").await;
    app.approve(doctor["id"].as_str().unwrap()).await;
    let researcher = app.register("res.zhou", "researcher").await;
    app.approve(researcher["id"].as_str().unwrap()).await;

    for name in ["patient.t", "dr.li", "res.zhou"] {
        let token = app.token(name).await;
        for path in ["/api/v1/admin/users", "/api/v1/admin/status"] {
            let response = app.get(path, Some(&token)).await;
            assert_eq!(
                error_code(response, StatusCode::FORBIDDEN).await,
                "FORBIDDEN",
                "{name} {path}"
            );
        }
        for action in ["approve", "suspend"] {
            for id in [target_id, "not-a-uuid"] {
                let path = format!("/api/v1/admin/users/{id}/{action}");
                let response = app.post(&path, &json!({}), Some(&token)).await;
                assert_eq!(
                    error_code(response, StatusCode::FORBIDDEN).await,
                    "FORBIDDEN",
                    "{name} {path}"
                );
            }
        }
    }
    assert_eq!(
        app.get("/api/v1/me", Some(&app.token("patient.t").await))
            .await
            .status(),
        StatusCode::OK
    );
}

async fn admins_list_approve_and_suspend(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("patient.x", "patient").await;
    let doctor = app.register("dr.zhao", "doctor").await;
    let admin = app.token("admin").await;

    let pending: Value = app
        .get("/api/v1/admin/users?status=pending", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<_> = pending["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(names, [json!("dr.zhao")]);

    let doctors: Value = app
        .get("/api/v1/admin/users?role=doctor&limit=1", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doctors["users"].as_array().unwrap().len(), 1);

    let id = doctor["id"].as_str().unwrap();
    let approved: Value = app
        .post(
            &format!("/api/v1/admin/users/{id}/approve"),
            &json!({}),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "active");
    let suspended: Value = app
        .post(
            &format!("/api/v1/admin/users/{id}/suspend"),
            &json!({}),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspended["status"], "suspended");
    let listed: Value = app
        .get("/api/v1/admin/users?status=suspended", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["users"][0]["id"], doctor["id"]);
}

async fn admins_cannot_suspend_themselves(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = app.token("admin").await;
    let me: Value = app
        .get("/api/v1/me", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/admin/users/{}/suspend", me["id"].as_str().unwrap());
    let response = app.post(&path, &json!({}), Some(&admin)).await;
    assert_eq!(
        error_code(response, StatusCode::FORBIDDEN).await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&admin)).await.status(),
        StatusCode::OK
    );
}

async fn unknown_and_malformed_ids_are_404_for_admins(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = app.token("admin").await;
    for id in [
        "0193a1b2-0000-7000-8000-000000000000",
        "not-a-uuid",
        "1%27%20OR%201=1",
    ] {
        let response = app
            .post(
                &format!("/api/v1/admin/users/{id}/approve"),
                &json!({}),
                Some(&admin),
            )
            .await;
        assert_eq!(
            error_code(response, StatusCode::NOT_FOUND).await,
            "NOT_FOUND",
            "{id}"
        );
    }
}

async fn bad_listing_queries_are_400(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = app.token("admin").await;
    for query in [
        "status=sleeping",
        "role=king",
        "limit=0",
        "limit=1000",
        "limit=abc",
        "offset=-1",
    ] {
        let response = app
            .get(&format!("/api/v1/admin/users?{query}"), Some(&admin))
            .await;
        assert_eq!(
            error_code(response, StatusCode::BAD_REQUEST).await,
            "INVALID_QUERY",
            "{query}"
        );
    }
}

async fn admins_see_the_system_status(backend: TestBackend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, patient) = app.user("status.patient", "patient").await;
    app.note(&patient, "主诉：头痛").await;
    let admin = app.token("admin").await;
    let response = app.get("/api/v1/admin/status", Some(&admin)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["database"], true);
    assert_eq!(status["storage"], true);
    // The status reports the same head as the ledger's own endpoint.
    let head: Value = app
        .get("/api/v1/ledger/head", Some(&patient))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["ledger_tree_size"], head["tree_head"]["tree_size"]);
    assert!(status["ledger_tree_size"].as_u64().unwrap() > 0);
    assert_eq!(status["ledger_root"], head["tree_head"]["root"]);
    assert_eq!(status["chain"], Value::Null, "no chain configured");
}
