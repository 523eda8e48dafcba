//! An export whose builder stopped with its process is built when the next process starts
//! (`App::resume_exports`, which `serve` calls), on both database backends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use meditrustal_app::{Actor, RecordUpload, Registration};
use meditrustal_store::ExportStatus;
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};

on_both_backends!(an_export_left_pending_by_a_stopped_process_is_resumed);

const NOTE: &str = "主诉：咳嗽三天。";

/// A process that registers a patient, stores a note and requests an export, then stops
/// before the export's background task ever runs: its runtime is dropped right after the
/// request returns. Returns the patient and the job id.
fn stopped_process(db: &TestDatabase) -> (Actor, uuid::Uuid) {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let app = common::local_app(db).await;
                    let user = app
                        .register(Registration {
                            username: "patient_export".into(),
                            email: "export@example.cn".into(),
                            password: "Sturdy-Passphrase-42".into(),
                            role: "patient".into(),
                        })
                        .await
                        .unwrap();
                    let patient = Actor {
                        user_id: user.id,
                        role: user.role,
                        did: user.did,
                    };
                    app.create_record(
                        &patient,
                        RecordUpload {
                            patient: None,
                            category: Some("clinical-note".into()),
                            content_type: "text/plain; charset=utf-8".into(),
                            purpose: None,
                            content: NOTE.as_bytes().to_vec(),
                        },
                    )
                    .await
                    .unwrap();
                    // The build task is spawned at the end of this call; a current-thread
                    // runtime never polls it before block_on returns, and dropping the
                    // runtime drops it: the process "stopped" with the job pending.
                    let job = app.start_export(&patient).await.unwrap();
                    (patient, job.id)
                })
            })
            .join()
            .unwrap()
    })
}

async fn an_export_left_pending_by_a_stopped_process_is_resumed(backend: TestBackend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let (patient, id) = stopped_process(&db);

    let app = common::local_app(&db).await;
    let job = app.export_status(&patient, id).await.unwrap();
    assert_eq!(job.status, ExportStatus::Pending, "left unfinished");

    assert_eq!(app.resume_exports().await.unwrap(), 1);
    // Hang guard, not a timing assertion: wait for the resumed build to finish.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = app.export_status(&patient, id).await.unwrap();
        match job.status {
            ExportStatus::Done => break,
            ExportStatus::Pending | ExportStatus::Running => {
                assert!(
                    Instant::now() < deadline,
                    "the resumed export never finished"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            ExportStatus::Failed => panic!("the resumed export failed: {:?}", job.error),
        }
    }
    let archive = app.download_export(&patient, id).await.unwrap();
    assert!(archive.archive.starts_with(b"PK"), "a zip archive");
    // A finished job is not restarted again.
    assert_eq!(app.resume_exports().await.unwrap(), 0);
    let report = app.verify(&meditrustal_app::NoProgress).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
