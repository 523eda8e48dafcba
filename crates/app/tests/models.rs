//! Deploying a learned model writes its file's SHA-256 to the ledger (both backends).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use meditrustal_app::AppError;
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use serde_json::Value;

on_both_backends!(deployment_hash_goes_on_the_ledger);

async fn deployment_hash_goes_on_the_ledger(backend: TestBackend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let app = common::local_app(&db).await;
    let sha256 = "AB".repeat(32);
    let deployment = app.record_model_deployment(&sha256).await.unwrap();
    assert_eq!(deployment.sha256, "ab".repeat(32));
    let leaf = app
        .store()
        .leaves(deployment.leaf_index, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(leaf.kind, "model.deployed");
    let entry: Value = serde_json::from_slice(&leaf.entry).unwrap();
    assert_eq!(entry["model_sha256"], "ab".repeat(32));
    assert_eq!(entry["outcome"], "allowed");
    assert!(entry.get("actor").is_none(), "an operator's act: {entry}");

    for bad in ["", "ab", &"zz".repeat(32), &"ab".repeat(33)] {
        let err = app.record_model_deployment(bad).await.unwrap_err();
        assert!(
            matches!(err, AppError::Validation(ref v) if v.field == "sha256"),
            "{bad}"
        );
    }
}
