//! Operations on the real binary: SIGTERM under a write load loses no acknowledged write;
//! backup → wipe → restore → `verify`; `keys rotate` under a read and write load.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    Deployment, PASSWORD, S3_ACCESS_KEY, S3_SECRET, Server, login, register_and_login, text,
};

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    sigterm_during_writes_loses_no_acknowledged_write,
    backup_wipe_restore_verify,
    backup_from_one_s3_bucket_restores_into_another,
    key_rotation_under_load_fails_no_request,
);

/// The category most load tests write: lab reports are stored without analysis.
const LOAD_CATEGORY: &str = "lab-report";

/// Clinical notes are analysed when stored: their sealed NLP results, observations and
/// alerts are the derived data that key rotation must re-wrap too.
const NOTE_CATEGORY: &str = "clinical-note";

/// Creates a lab report; the status and, on 201, the record id.
async fn create_note(
    base: &str,
    client: &reqwest::Client,
    token: &str,
    text: &str,
) -> reqwest::Result<(StatusCode, Option<String>)> {
    create_record(base, client, token, LOAD_CATEGORY, text).await
}

async fn create_record(
    base: &str,
    client: &reqwest::Client,
    token: &str,
    category: &str,
    text: &str,
) -> reqwest::Result<(StatusCode, Option<String>)> {
    let response = client
        .post(format!("{base}/api/v1/records?category={category}"))
        .bearer_auth(token)
        .header("content-type", "text/plain; charset=utf-8")
        .body(text.to_owned())
        .send()
        .await?;
    let status = response.status();
    if status != StatusCode::CREATED {
        return Ok((status, None));
    }
    let record: Value = response.json().await?;
    Ok((status, record["id"].as_str().map(str::to_owned)))
}

async fn read_content(
    base: &str,
    client: &reqwest::Client,
    token: &str,
    id: &str,
) -> reqwest::Result<(StatusCode, Vec<u8>)> {
    let response = client
        .get(format!("{base}/api/v1/records/{id}/content"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.bytes().await?.to_vec()))
}

/// Every acknowledged note reads back byte for byte.
async fn assert_all_readable(
    server: &Server,
    client: &reqwest::Client,
    token: &str,
    notes: &[(String, String)],
) {
    for (id, note) in notes {
        let (status, body) = read_content(&server.base, client, token, id).await.unwrap();
        assert_eq!(status, StatusCode::OK, "acknowledged record {id} lost");
        assert_eq!(body, note.as_bytes(), "record {id}");
    }
}

fn assert_verify_passes(deployment: &Deployment) {
    let verify = deployment.run(&["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("OK"));
}

async fn sigterm_during_writes_loses_no_acknowledged_write(backend: TestBackend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let deployment = Deployment::for_test(&database, backend, "data");
    let server = Server::start(&deployment).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_sigterm").await;

    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let refused: Arc<Mutex<Vec<StatusCode>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (client, token, base) = (client.clone(), token.clone(), server.base.clone());
        let (acknowledged, refused) = (Arc::clone(&acknowledged), Arc::clone(&refused));
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let note = format!("出院小结 writer {writer} note {i}: 心率 76 次/分");
                match create_note(&base, &client, &token, &note).await {
                    Ok((_, Some(id))) => acknowledged.lock().unwrap().push((id, note)),
                    Ok((status, None)) => refused.lock().unwrap().push(status),
                    // The listener is closed: the server is shutting down.
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.signal("TERM");
    let status = server.wait().await;
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    let refused = refused.lock().unwrap().clone();
    assert!(refused.is_empty(), "requests answered with {refused:?}");
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        !acknowledged.is_empty(),
        "no create finished before SIGTERM"
    );

    let server = Server::start(&deployment).await;
    let token = login(&server, &client, "patient_sigterm").await;
    assert_all_readable(&server, &client, &token, &acknowledged).await;
    server.kill();
    assert_verify_passes(&deployment);
    eprintln!(
        "{backend}: {} acknowledged creates survived SIGTERM",
        acknowledged.len()
    );
}

async fn create_notes(
    server: &Server,
    client: &reqwest::Client,
    token: &str,
    count: usize,
) -> Vec<(String, String)> {
    let mut notes = Vec::new();
    for i in 0..count {
        let note = format!("门诊病历 {i}: 主诉咳嗽{i}天, 体温 37.{i} ℃");
        let (status, id) = create_note(&server.base, client, token, &note)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED);
        notes.push((id.unwrap(), note));
    }
    notes
}

async fn backup_wipe_restore_verify(backend: TestBackend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let original = Deployment::for_test(&database, backend, "data");
    let server = Server::start(&original).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_backup").await;
    let notes = create_notes(&server, &client, &token, 12).await;

    // Online, under writes: the snapshot must be consistent while records keep coming.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, token, base, stop) = (
            client.clone(),
            token.clone(),
            server.base.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut written = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let note = format!("病程记录 writer {writer} #{written}");
                let (status, _) = create_note(&base, &client, &token, &note).await.unwrap();
                assert_eq!(status, StatusCode::CREATED);
                written += 1;
            }
            written
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let backup_dir = database.dir.path().join("backup");
    let backup = original.run(&["backup", backup_dir.to_str().unwrap()]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut during = 0;
    for writer in writers {
        during += writer.await.unwrap();
    }
    assert!(backup.status.success(), "{}", text(&backup));
    server.signal("TERM");
    assert_eq!(server.wait().await.code(), Some(0));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).unwrap()).unwrap();
    let versions = manifest["database"]["tables"]["record_versions"]
        .as_u64()
        .unwrap();
    assert!(versions >= 12, "{manifest}");
    // Objects are copied after the snapshot: all it references, perhaps a few newer ones.
    assert!(
        manifest["objects"].as_u64().unwrap() >= versions,
        "{manifest}"
    );
    eprintln!("{backend}: {during} records written during the backup, {versions} in it");
    assert_eq!(manifest["database"]["backend"], backend.to_string());
    let printed = format!("{}{}", text(&backup), manifest);
    for key_file in std::fs::read_dir(original.data_dir.join("keys")).unwrap() {
        let path = key_file.unwrap().path();
        // `active-kek` holds a key id, which is meant to be shown; the others hold keys.
        if path.file_name().unwrap() == "active-kek" {
            continue;
        }
        let secret = std::fs::read_to_string(&path).unwrap();
        assert!(
            !printed.contains(secret.trim()),
            "key material of {path:?} printed"
        );
    }

    // Wipe: the data directory goes; PostgreSQL restores into a new, empty database.
    std::fs::remove_dir_all(&original.data_dir).unwrap();
    let target_database = match backend {
        TestBackend::Sqlite => None,
        TestBackend::Postgres => Some(TestDatabase::create(backend).await.unwrap()),
    };
    let restored = Deployment {
        data_dir: original.data_dir.clone(),
        database_url: target_database.as_ref().map(|db| db.url.clone()),
        config: None,
    };
    let restore = restored.run(&["restore", backup_dir.to_str().unwrap()]);
    assert!(restore.status.success(), "{}", text(&restore));
    assert_verify_passes(&restored);

    let server = Server::start(&restored).await;
    let token = login(&server, &client, "patient_backup").await;
    assert_all_readable(&server, &client, &token, &notes).await;
    // The restored deployment keeps working: a new record joins the same ledger.
    let more = create_notes(&server, &client, &token, 1).await;
    assert_all_readable(&server, &client, &token, &more).await;
    server.kill();
    assert_verify_passes(&restored);

    // A second restore over the restored deployment is refused (status 2), changing nothing.
    let again = restored.run(&["restore", backup_dir.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // A damaged backup is refused before anything is written.
    let object = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"].as_str().unwrap().starts_with("objects/"))
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = std::fs::read(backup_dir.join(&object)).unwrap();
    bytes[0] ^= 1;
    std::fs::write(backup_dir.join(&object), bytes).unwrap();
    let empty = Deployment {
        data_dir: database.dir.path().join("empty"),
        database_url: None,
        config: None,
    };
    let damaged = empty.run(&["restore", backup_dir.to_str().unwrap()]);
    assert_eq!(damaged.status.code(), Some(1), "{}", text(&damaged));
    assert!(String::from_utf8_lossy(&damaged.stderr).contains(&object));
    assert!(!empty.data_dir.join("keys").exists());
}

/// The id of the active key as `keys list` prints it, and every line.
fn keys_list(deployment: &Deployment) -> (String, String) {
    let list = deployment.run(&["keys", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    let stdout = String::from_utf8_lossy(&list.stdout).into_owned();
    let active = stdout
        .lines()
        .find(|line| line.contains("(active)"))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    (active, stdout)
}

/// A nursing note with abnormal vital signs: analysed, it yields an NLP result, an
/// observation batch and an early-warning alert, each sealed under the active KEK.
fn deteriorating_note(worker: usize, i: usize) -> String {
    format!(
        "护理记录 worker {worker} #{i}: 体温 39.{}℃, 心率 13{} 次/分, 呼吸 30 次/分, \
         血压 82/50 mmHg, 血氧饱和度 88%, 神志模糊。",
        i % 10,
        i % 10
    )
}

/// Derived items each KEK wraps, from `keys list` (`<id>…: N record versions, M derived items`).
fn derived_under(listed: &str, key: &str) -> u64 {
    let line = listed
        .lines()
        .find(|line| line.starts_with(key))
        .unwrap_or_else(|| panic!("{key} not listed: {listed}"));
    line.rsplit(", ")
        .next()
        .and_then(|part| part.strip_suffix(" derived items"))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no derived count in `{line}`"))
}

async fn key_rotation_under_load_fails_no_request(backend: TestBackend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let deployment = Deployment::for_test(&database, backend, "data");
    let server = Server::start(&deployment).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_rotate").await;
    let mut initial = create_notes(&server, &client, &token, 20).await;
    let mut analysed = Vec::new();
    for i in 0..10 {
        let note = deteriorating_note(99, i);
        let (status, id) = create_record(&server.base, &client, &token, NOTE_CATEGORY, &note)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED);
        let id = id.unwrap();
        analysed.push(id.clone());
        initial.push((id, note));
    }
    let notes = Arc::new(Mutex::new(initial));
    let (old_key, listed) = keys_list(&deployment);
    assert!(
        listed.contains(&format!("{old_key} (active): 30 record versions")),
        "{listed}"
    );
    // NLP results and observations of the 10 notes, and at least one alert.
    assert!(derived_under(&listed, &old_key) > 20, "{listed}");

    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..6 {
        let (client, token, base) = (client.clone(), token.clone(), server.base.clone());
        let (notes, failures, stop) = (notes.clone(), failures.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                if worker % 2 == 0 {
                    // Half the writes are notes, so derived items are written during rotation.
                    let (category, note) = if i.is_multiple_of(2) {
                        (NOTE_CATEGORY, deteriorating_note(worker, i))
                    } else {
                        (
                            LOAD_CATEGORY,
                            format!("护理记录 worker {worker} #{i}: 血氧 97%"),
                        )
                    };
                    match create_record(&base, &client, &token, category, &note).await {
                        Ok((StatusCode::CREATED, Some(id))) => {
                            notes.lock().unwrap().push((id, note))
                        }
                        other => failures.lock().unwrap().push(format!("create: {other:?}")),
                    }
                } else {
                    let (id, note) = {
                        let notes = notes.lock().unwrap();
                        notes[(i * 7 + worker) % notes.len()].clone()
                    };
                    match read_content(&base, &client, &token, &id).await {
                        Ok((StatusCode::OK, body)) if body == note.as_bytes() => {}
                        other => failures
                            .lock()
                            .unwrap()
                            .push(format!("read {id}: {other:?}")),
                    }
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let rotate = deployment.run(&["keys", "rotate", "--settle", "2s"]);
    assert!(rotate.status.success(), "{}", text(&rotate));
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for worker in load {
        worker.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} failed requests: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    // Items a not-yet-reloaded server sealed under the old key are finished by --resume;
    // then the old key is unused, by record versions and derived items alike, and can go.
    let resume = deployment.run(&["keys", "rotate", "--resume", "--settle", "0s"]);
    assert!(resume.status.success(), "{}", text(&resume));
    let (new_key, listed) = keys_list(&deployment);
    assert_ne!(new_key, old_key);
    assert!(
        listed.contains(&format!("{old_key}: 0 record versions, 0 derived items")),
        "{listed}"
    );
    assert!(derived_under(&listed, &new_key) > 20, "{listed}");
    let in_use = deployment.run(&["keys", "retire", &new_key]);
    assert_eq!(in_use.status.code(), Some(2), "{}", text(&in_use));
    let retire = deployment.run(&["keys", "retire", &old_key]);
    assert!(retire.status.success(), "{}", text(&retire));
    server.kill();

    // Without the old key: every record, NLP result and alert reads back; verify passes.
    let server = Server::start(&deployment).await;
    let token = login(&server, &client, "patient_rotate").await;
    let notes = notes.lock().unwrap().clone();
    assert_all_readable(&server, &client, &token, &notes).await;
    for id in &analysed {
        let analysis = client
            .get(server.url(&format!("/api/v1/records/{id}/nlp")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(analysis.status(), StatusCode::OK, "NLP result of {id}");
    }
    let alerts = client
        .get(server.url("/api/v1/cdss/alerts?include_resolved=true"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(alerts.status(), StatusCode::OK);
    let alerts: Value = alerts.json().await.unwrap();
    assert!(
        alerts["alerts"].as_array().is_some_and(|a| !a.is_empty()),
        "{alerts}"
    );
    server.kill();
    assert_verify_passes(&deployment);
    eprintln!(
        "{backend}: {} records readable after rotation under load",
        notes.len()
    );
}

/// `curl` with the test's CA; returns (exit success, stdout with headers).
fn curl(cert: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", "--cacert"])
        .arg(cert)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_lowercase(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_security_headers_and_cors() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let openssl = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args([
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(openssl.status.success(), "{}", text(&openssl));

    let deployment = Deployment {
        data_dir: dir.path().join("data"),
        database_url: None,
        config: None,
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = deployment
        .command()
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .args(["--cors-origin", "https://ui.example.org"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("https://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !curl(&cert, &[&server.url("/healthz")]).0 {
        assert!(
            Instant::now() < deadline,
            "the HTTPS server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (ok, health) = curl(&cert, &[&server.url("/healthz")]);
    assert!(ok && health.starts_with("http/1.1 200"), "{health}");
    assert!(
        health.contains("strict-transport-security: max-age=63072000"),
        "{health}"
    );
    assert!(
        health.contains("x-content-type-options: nosniff"),
        "{health}"
    );
    assert!(health.contains("frame-ancestors 'none'"), "{health}");

    let preflight = |origin: &str| {
        curl(
            &cert,
            &[
                "-X",
                "OPTIONS",
                "-H",
                &format!("Origin: {origin}"),
                "-H",
                "Access-Control-Request-Method: POST",
                "-H",
                "Access-Control-Request-Headers: authorization, content-type",
                &server.url("/api/v1/auth/login"),
            ],
        )
    };
    let (ok, allowed) = preflight("https://ui.example.org");
    assert!(ok, "{allowed}");
    assert!(
        allowed.contains("access-control-allow-origin: https://ui.example.org"),
        "{allowed}"
    );
    let (_, refused) = preflight("https://evil.example");
    assert!(
        !refused.contains("access-control-allow-origin"),
        "{refused}"
    );

    // Plain HTTP on the HTTPS port gets no answer.
    let (plain_ok, _) = curl(&cert, &[&format!("http://127.0.0.1:{port}/healthz")]);
    assert!(!plain_ok);

    server.signal("TERM");
    assert_eq!(server.wait().await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_no_clinical_text_or_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = Deployment {
        data_dir: dir.path().join("data"),
        database_url: None,
        config: None,
    };
    let log_path = dir.path().join("serve.log");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = deployment
        .command()
        .args([
            "--log-format",
            "json",
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        // Everything down to debug, request traces included.
        .env("MEDITRUSTAL_LOG", "debug")
        .env("MEDITRUSTAL_ADMIN_PASSWORD", "Operator-Test-Passphrase")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(client.get(server.url("/healthz")).send().await, Ok(ref r) if r.status().is_success())
    {
        assert!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = register_and_login(&server, &client, "patient_logs").await;
    let note = "既往史：2型糖尿病10年，青霉素过敏";
    let (status, id) = create_note(&server.base, &client, &token, note)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = read_content(&server.base, &client, &token, &id.unwrap())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let wrong = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "username": "patient_logs", "password": "Wrong-Passphrase-99" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    server.signal("TERM");
    assert_eq!(server.wait().await.code(), Some(0));

    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = log.lines().filter(|line| !line.trim().is_empty()).collect();
    assert!(lines.len() > 5, "{log}");
    for line in &lines {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        assert!(
            entry["level"].is_string() && entry["timestamp"].is_string(),
            "{line}"
        );
    }
    for secret in [
        note,
        "糖尿病",
        PASSWORD,
        "Wrong-Passphrase-99",
        "Operator-Test-Passphrase",
        token.as_str(),
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    for key_file in ["ledger.ed25519", "jwt-hmac.key"] {
        let key = std::fs::read_to_string(deployment.data_dir.join("keys").join(key_file)).unwrap();
        assert!(!log.contains(key.trim()), "the log holds {key_file}");
    }
}

/// `s3s-fs` (a real S3 server that checks SigV4), or `None` outside CI when not installed.
fn s3s_fs() -> Option<PathBuf> {
    let found = std::env::var_os("S3S_FS_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("s3s-fs"))
                    .find(|p| p.is_file())
            })
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cargo/bin/s3s-fs"))
                .filter(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "s3s-fs is required under CI (scripts/install-test-tools)"
        );
        eprintln!("\n!!! SKIPPING S3 backup test: s3s-fs not installed\n");
    }
    found
}

async fn backup_from_one_s3_bucket_restores_into_another(backend: TestBackend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let Some(s3s) = s3s_fs() else {
        return;
    };
    let root = database.dir.path().join("s3");
    for bucket in ["records-a", "records-b"] {
        std::fs::create_dir_all(root.join(bucket)).unwrap();
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut s3 = Command::new(s3s)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET])
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let config = |bucket: &str| {
        let path = database.dir.path().join(format!("{bucket}.toml"));
        std::fs::write(
            &path,
            format!(
                "[storage]\ns3_endpoint = \"http://127.0.0.1:{port}\"\ns3_bucket = \"{bucket}\"\n\
                 s3_access_key_id = \"{S3_ACCESS_KEY}\"\ns3_allow_http = true\n"
            ),
        )
        .unwrap();
        path
    };
    let original = Deployment {
        config: Some(config("records-a")),
        ..Deployment::for_test(&database, backend, "data-a")
    };
    let server = Server::start(&original).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_s3").await;
    let notes = create_notes(&server, &client, &token, 5).await;
    server.kill();

    let backup_dir = database.dir.path().join("backup");
    let backup = original.run(&["backup", backup_dir.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", text(&backup));
    let target_database = match backend {
        TestBackend::Sqlite => None,
        TestBackend::Postgres => Some(TestDatabase::create(backend).await.unwrap()),
    };
    let restored = Deployment {
        data_dir: database.dir.path().join("data-b"),
        database_url: target_database.as_ref().map(|db| db.url.clone()),
        config: Some(config("records-b")),
    };
    let restore = restored.run(&["restore", backup_dir.to_str().unwrap()]);
    assert!(restore.status.success(), "{}", text(&restore));
    assert_verify_passes(&restored);
    let server = Server::start(&restored).await;
    let token = login(&server, &client, "patient_s3").await;
    assert_all_readable(&server, &client, &token, &notes).await;
    server.kill();
    // Restoring into the now non-empty bucket is refused.
    let again = Deployment {
        data_dir: database.dir.path().join("data-c"),
        database_url: None,
        config: Some(config("records-b")),
    };
    let refused = again.run(&["restore", backup_dir.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("object store already holds"));
    s3.kill().unwrap();
    s3.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = Deployment {
        data_dir: dir.path().join("data"),
        database_url: None,
        config: None,
    };
    let server = Server::start(&deployment).await;
    let client = reqwest::Client::new();
    let token = register_and_login(&server, &client, "patient_resume").await;
    let notes = create_notes(&server, &client, &token, 5).await;
    server.kill();
    let (old_key, _) = keys_list(&deployment);

    // Ctrl-C while rotate waits for servers to reload: status 130 and a hint to resume.
    let mut rotate = deployment
        .command()
        .args(["keys", "rotate", "--settle", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = rotate.stderr.take().unwrap();
    // Keep reading to the end: a closed pipe would make the process fail writing to it.
    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains("waiting") {
                waiting_tx.send(()).unwrap();
            }
            seen.push(line);
        }
        seen
    });
    tokio::task::spawn_blocking(move || waiting_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("rotate never reached its settle wait");
    let kill = Command::new("kill")
        .args(["-INT", &rotate.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = rotate.wait().unwrap();
    let seen = reader.join().unwrap().join("\n");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("keys rotate --resume"), "{seen}");

    let (new_key, listed) = keys_list(&deployment);
    assert_ne!(new_key, old_key);
    assert!(
        listed.contains(&format!("{new_key} (active): 5 record versions")),
        "{listed}"
    );
    let resume = deployment.run(&["keys", "rotate", "--resume", "--settle", "0s"]);
    assert!(resume.status.success(), "{}", text(&resume));
    assert!(
        String::from_utf8_lossy(&resume.stdout).contains("re-wrapped 0 data keys"),
        "{}",
        text(&resume)
    );
    assert_verify_passes(&deployment);
    let server = Server::start(&deployment).await;
    let token = login(&server, &client, "patient_resume").await;
    assert_all_readable(&server, &client, &token, &notes).await;
    server.kill();
}
