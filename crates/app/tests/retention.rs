//! Retention on both backends: records past their category's period are listed by a dry
//! run, erased by an executed run (logged on the ledger with the retention legal basis),
//! and kept while on legal hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use meditrustal_app::{Actor, Clock, NoProgress, RecordUpload, Registration, RetentionPolicy};
use meditrustal_domain::RecordCategory;
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use time::{Duration, OffsetDateTime};

on_both_backends!(retention_erases_what_is_past_its_period_and_not_held);

/// A clock the test moves forward.
struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

fn actor(user: meditrustal_store::User) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        did: user.did,
    }
}

fn upload(category: &str, text: &str) -> RecordUpload {
    RecordUpload {
        patient: None,
        category: Some(category.into()),
        content_type: "text/plain; charset=utf-8".into(),
        purpose: None,
        content: text.as_bytes().to_vec(),
    }
}

async fn retention_erases_what_is_past_its_period_and_not_held(backend: TestBackend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let clock = Arc::new(TestClock(Mutex::new(OffsetDateTime::now_utc())));
    let app = common::app_with(
        common::migrated_store(&db).await,
        common::local_vault(&db),
        clock.clone(),
    );
    let patient = actor(
        app.register(Registration {
            username: "patient_he".into(),
            email: "he@example.cn".into(),
            password: "Sturdy-Passphrase-42".into(),
            role: "patient".into(),
        })
        .await
        .unwrap(),
    );
    let admin = actor(
        app.create_admin(
            "records_officer",
            "ro@hospital.example",
            "Sturdy-Passphrase-43",
        )
        .await
        .unwrap(),
    );
    let old_note = app
        .create_record(&patient, upload("clinical-note", "主诉：咽痛"))
        .await
        .unwrap()
        .id;
    let held_note = app
        .create_record(&patient, upload("clinical-note", "主诉：耳鸣"))
        .await
        .unwrap()
        .id;
    let lab = app
        .create_record(&patient, upload("lab-report", "血糖 5.6"))
        .await
        .unwrap()
        .id;
    app.set_legal_hold(&admin, held_note, "complaint 2026-3")
        .await
        .unwrap();
    *clock.0.lock().unwrap() += Duration::days(31);
    let fresh_note = app
        .create_record(&patient, upload("clinical-note", "主诉：复诊"))
        .await
        .unwrap()
        .id;
    let policy = RetentionPolicy {
        periods: [
            (RecordCategory::ClinicalNote, Duration::days(30)),
            (RecordCategory::LabReport, Duration::days(365)),
        ]
        .into(),
    };

    // Dry run: lists the two old notes (one held), erases nothing.
    let dry = app
        .run_retention(&admin, &policy, false, &NoProgress)
        .await
        .unwrap();
    assert_eq!(dry.records_scanned, 4);
    let mut due: Vec<_> = dry.due.iter().map(|d| (d.record, d.held)).collect();
    due.sort_by_key(|(id, _)| id.0);
    let mut expected = vec![(old_note, false), (held_note, true)];
    expected.sort_by_key(|(id, _)| id.0);
    assert_eq!(due, expected);
    assert!(dry.erased.is_empty());
    app.read_record(&patient, old_note, None, None)
        .await
        .unwrap();

    // Only administrators may execute it.
    let by_patient = app
        .run_retention(&patient, &policy, true, &NoProgress)
        .await;
    assert!(matches!(
        by_patient,
        Err(meditrustal_app::AppError::Forbidden)
    ));
    app.read_record(&patient, old_note, None, None)
        .await
        .unwrap();

    let run = app
        .run_retention(&admin, &policy, true, &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.erased, vec![old_note]);
    let tombstone = app.store().record(old_note).await.unwrap().unwrap();
    assert_eq!(
        tombstone.erasure.unwrap().basis,
        "pipl-art47-retention-expired"
    );
    for kept in [held_note, lab, fresh_note] {
        app.read_record(&patient, kept, None, None).await.unwrap();
    }
    let leaves = app.store().leaves(0, 10_000).await.unwrap();
    let logged = leaves
        .iter()
        .filter(|l| {
            let text = String::from_utf8_lossy(&l.entry);
            text.contains("record.erased") && text.contains("pipl-art47-retention-expired")
        })
        .count();
    assert_eq!(logged, 1);
    let report = app.verify(&NoProgress).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.erased_records, 1);
}
