//! The real binary end to end: kill -9 during concurrent creates loses no acknowledged
//! record and leaves a store that `verify` passes; `verify` names a tampered record; `gc`
//! lists and deletes an orphan object; SIGTERM ends open alert streams so the graceful
//! shutdown finishes; `model deploy` writes the model file's hash to the ledger.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Deployment, Server, login, register_and_login, sqlite_in, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

on_both_backends!(kill_9_during_creates_loses_no_acknowledged_record);

async fn create_note(
    base: &str,
    client: &reqwest::Client,
    token: &str,
    text: &str,
) -> reqwest::Result<Option<String>> {
    let response = client
        .post(format!("{base}/api/v1/records?category=clinical-note"))
        .bearer_auth(token)
        .header("content-type", "text/plain; charset=utf-8")
        .body(text.to_owned())
        .send()
        .await?;
    if response.status() != StatusCode::CREATED {
        return Ok(None);
    }
    let record: Value = response.json().await?;
    Ok(record["id"].as_str().map(str::to_owned))
}

fn meditrustal(deployment: &Deployment, args: &[&str]) -> Output {
    deployment.command().args(args).output().unwrap()
}

fn object_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(object_files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

async fn kill_9_during_creates_loses_no_acknowledged_record(backend: TestBackend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    // SQLite: the default file inside the data directory, as `serve` uses it.
    let deployment = Deployment::for_test(&database, backend, "data");
    let server = Server::start(&deployment).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_crash").await;

    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (client, token, base) = (client.clone(), token.clone(), server.base.clone());
        let acknowledged = Arc::clone(&acknowledged);
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let note = format!("随访记录 writer {writer} note {i}: 血压 128/82 mmHg");
                match create_note(&base, &client, &token, &note).await {
                    Ok(Some(id)) => acknowledged.lock().unwrap().push((id, note)),
                    Ok(None) => {}
                    // The server is gone: the kill happened.
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        !acknowledged.is_empty(),
        "no create finished before the kill"
    );

    let server = Server::start(&deployment).await;
    let token = login(&server, &client, "patient_crash").await;
    for (id, note) in &acknowledged {
        let response = client
            .get(server.url(&format!("/api/v1/records/{id}/content")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "acknowledged record {id} lost"
        );
        assert_eq!(
            response.bytes().await.unwrap(),
            note.as_bytes(),
            "record {id}"
        );
    }
    server.kill();

    let verify = meditrustal(&deployment, &["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("OK"));
    eprintln!(
        "{backend}: {} acknowledged creates survived the kill",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_tampered_record_and_gc_removes_an_orphan() {
    let data = tempfile::tempdir().unwrap();
    let deployment = sqlite_in(data.path());
    let server = Server::start(&deployment).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_tamper").await;
    let record = create_note(&server.base, &client, &token, "主诉：头痛2天")
        .await
        .unwrap()
        .unwrap();
    server.kill();
    let objects = data.path().join("objects");
    let record_objects = object_files(&objects);
    assert_eq!(record_objects.len(), 1);

    let clean = meditrustal(&deployment, &["verify"]);
    assert!(clean.status.success(), "{}", text(&clean));

    // An orphan, as a crash between the object write and the row commit leaves it.
    let orphan_bytes = b"ciphertext of a create that never committed";
    let digest = hex::encode(Sha256::digest(orphan_bytes));
    let orphan_key = format!("records/{}/{}/{digest}", &digest[..2], &digest[2..4]);
    let orphan_path = objects.join(&orphan_key);
    std::fs::create_dir_all(orphan_path.parent().unwrap()).unwrap();
    std::fs::write(&orphan_path, orphan_bytes).unwrap();

    let young = meditrustal(&deployment, &["gc"]);
    assert!(young.status.success(), "{}", text(&young));
    assert!(
        !String::from_utf8_lossy(&young.stdout).contains(&orphan_key),
        "{}",
        text(&young)
    );

    let dry_run = meditrustal(&deployment, &["gc", "--min-age", "0s"]);
    assert!(dry_run.status.success(), "{}", text(&dry_run));
    let listed = String::from_utf8_lossy(&dry_run.stdout);
    assert!(
        listed.contains(&format!("would delete {orphan_key}")),
        "{}",
        text(&dry_run)
    );
    assert_eq!(
        listed.matches("would delete").count(),
        1,
        "{}",
        text(&dry_run)
    );
    assert!(orphan_path.exists(), "a dry run deletes nothing");

    let apply = meditrustal(&deployment, &["gc", "--min-age", "0s", "--apply"]);
    assert!(apply.status.success(), "{}", text(&apply));
    assert!(String::from_utf8_lossy(&apply.stdout).contains(&format!("deleted {orphan_key}")));
    assert!(!orphan_path.exists());
    assert!(record_objects[0].exists(), "gc deleted a referenced object");

    let mut bytes = std::fs::read(&record_objects[0]).unwrap();
    bytes[0] ^= 0x80;
    std::fs::write(&record_objects[0], bytes).unwrap();
    let tampered = meditrustal(&deployment, &["verify"]);
    assert_eq!(tampered.status.code(), Some(1), "{}", text(&tampered));
    let report = String::from_utf8_lossy(&tampered.stdout);
    assert!(report.contains(&record), "{}", text(&tampered));
    assert!(report.contains("FAILED"), "{}", text(&tampered));

    let json = meditrustal(&deployment, &["verify", "--json"]);
    assert_eq!(json.status.code(), Some(1), "{}", text(&json));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["problems"][0]["record"], record.as_str());
}

#[test]
fn verify_refuses_a_directory_without_a_deployment() {
    let empty = tempfile::tempdir().unwrap();
    let output = meditrustal(&sqlite_in(empty.path()), &["verify"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no ledger key"));
    assert!(
        !empty.path().join("keys").exists(),
        "verify must not create keys"
    );
}

#[tokio::test]
async fn shutdown_ends_alert_streams_and_deploy_records_the_model_hash() {
    let data = tempfile::tempdir().unwrap();
    let deployment = sqlite_in(data.path());
    let mut server = Server::start(&deployment).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_stream").await;
    let mut stream = client
        .get(server.url("/api/v1/cdss/alerts/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // A hang guard, not a timing assertion: an open stream used to hold shutdown forever.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the alert stream outlived the shutdown");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");

    let mut csv = String::from("x,y\n");
    for i in 0..60u32 {
        csv.push_str(&format!(
            "{},{}\n",
            i % 10,
            u8::from((i * 37) % 11 < 4 + i % 3)
        ));
    }
    std::fs::write(data.path().join("train.csv"), csv).unwrap();
    let model = data.path().join("model.json");
    let (csv_arg, model_arg) = (
        data.path().join("train.csv").display().to_string(),
        model.display().to_string(),
    );
    let train = meditrustal(
        &deployment,
        &[
            "model",
            "train",
            "--csv",
            &csv_arg,
            "--outcome",
            "y",
            "--out",
            &model_arg,
            "--bootstrap",
            "10",
        ],
    );
    assert!(train.status.success(), "{}", text(&train));
    let sha256 = hex::encode(Sha256::digest(std::fs::read(&model).unwrap()));
    let deploy = meditrustal(&deployment, &["model", "deploy", "--model", &model_arg]);
    assert!(deploy.status.success(), "{}", text(&deploy));
    assert!(
        String::from_utf8_lossy(&deploy.stdout).contains(&format!("SHA-256 {sha256}")),
        "{}",
        text(&deploy)
    );
    let verify = meditrustal(&deployment, &["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));

    let not_a_model = meditrustal(&deployment, &["model", "deploy", "--model", &csv_arg]);
    assert_eq!(not_a_model.status.code(), Some(2), "{}", text(&not_a_model));
}
