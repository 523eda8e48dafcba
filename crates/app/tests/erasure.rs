//! Erasure by crypto-shredding (PIPL Art. 47) on both database backends, with local and S3
//! object storage: the keys and objects go, nobody can read the record, `verify` passes
//! and counts the erasure, legal holds block it, and the ledger never held the patient's
//! personal data in the first place.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[path = "../../vault/tests/common/mod.rs"]
mod s3;

use std::sync::Arc;

use futures_util::StreamExt as _;
use meditrustal_app::{
    Actor, App, AppError, ConsentInput, GcOptions, LoginRequest, NoProgress, RecordUpload,
    Registration, SystemClock,
};
use meditrustal_domain::{ConsentScope, Purpose, RecordId};
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use meditrustal_vault::{ObjectKey, OsRandom, SealedRecord, StorageConfig, Vault};

on_both_backends!(
    erased_record_is_gone_and_verify_counts_it,
    erased_record_is_gone_from_s3,
    account_erasure_removes_every_record_and_the_personal_data,
    legal_hold_blocks_erasure_until_cleared,
    only_the_patient_or_an_admin_with_a_reason_may_erase,
);

const NAME: &str = "张伟";
const PHONE: &str = "13812345678";
const ID_CARD: &str = "330102198001011234";
const USERNAME: &str = "zhang_wei_1980";
const EMAIL: &str = "zhangwei@example.cn";

fn note(extra: &str) -> String {
    format!("姓名：{NAME}，电话：{PHONE}，身份证：{ID_CARD}。主诉：{extra}")
}

struct Fixture {
    app: App,
    patient: Actor,
    admin: Actor,
    doctor: Actor,
    _db: TestDatabase,
    _s3: Option<s3::Backend>,
}

impl Fixture {
    /// `s3`: store objects on an s3s-fs server; `None` when it is not installed (and `CI`
    /// is unset), so the caller skips.
    async fn create(backend: TestBackend, on_s3: bool) -> Option<Fixture> {
        let db = TestDatabase::create(backend).await?;
        let store = common::migrated_store(&db).await;
        let keys = common::key_ring(&db);
        let (vault, s3_backend) = if on_s3 {
            let backend = s3::Backend::s3()?;
            let vault = Vault::new(backend.raw.clone(), keys, Arc::new(OsRandom));
            (vault, Some(backend))
        } else {
            let config = StorageConfig::local_in_data_dir(db.dir.path());
            (Vault::open(&config, keys).unwrap(), None)
        };
        let app = common::app_with(store, vault, Arc::new(SystemClock));
        let user = app
            .register(Registration {
                username: USERNAME.into(),
                email: EMAIL.into(),
                password: "Sturdy-Passphrase-42".into(),
                role: "patient".into(),
            })
            .await
            .unwrap();
        let patient = actor(user);
        let admin = actor(
            app.create_admin("dpo_admin", "dpo@hospital.example", "Sturdy-Passphrase-43")
                .await
                .unwrap(),
        );
        let doctor = app
            .ensure_user(
                "dr_li",
                "li@hospital.example",
                "Sturdy-Passphrase-44",
                meditrustal_domain::Role::Doctor,
            )
            .await
            .unwrap()
            .map(actor)
            .unwrap();
        Some(Fixture {
            app,
            patient,
            admin,
            doctor,
            _db: db,
            _s3: s3_backend,
        })
    }

    async fn record(&self, text: &str) -> RecordId {
        let meta = self
            .app
            .create_record(&self.patient, upload(text))
            .await
            .unwrap();
        meta.id
    }

    async fn objects_of(&self, id: RecordId) -> Vec<ObjectKey> {
        self.app
            .store()
            .record_versions(id)
            .await
            .unwrap()
            .iter()
            .map(|v| {
                serde_json::from_str::<SealedRecord>(&v.sealed)
                    .unwrap()
                    .object_key
            })
            .collect()
    }

    async fn stored_objects(&self) -> Vec<ObjectKey> {
        let mut listing = self.app.vault().list_objects();
        let mut keys = Vec::new();
        while let Some(object) = listing.next().await {
            keys.push(object.unwrap().key);
        }
        keys
    }

    /// Every ledger leaf, as text.
    async fn ledger_text(&self) -> Vec<String> {
        let leaves = self.app.store().leaves(0, 100_000).await.unwrap();
        leaves
            .into_iter()
            .map(|leaf| String::from_utf8(leaf.entry).unwrap())
            .collect()
    }

    async fn grant_doctor(&self) {
        self.app
            .grant_consent(
                &self.patient,
                ConsentInput {
                    grantee: "dr_li".into(),
                    scope: ConsentScope::All,
                    purposes: [Purpose::Treatment].into(),
                    allow_write: false,
                    expires_at: None,
                },
            )
            .await
            .unwrap();
    }
}

fn actor(user: meditrustal_store::User) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        did: user.did,
    }
}

fn upload(text: &str) -> RecordUpload {
    RecordUpload {
        patient: None,
        category: Some("clinical-note".into()),
        content_type: "text/plain; charset=utf-8".into(),
        purpose: None,
        content: text.as_bytes().to_vec(),
    }
}

/// No leaf holds any of the patient's personal data (DESIGN.md §4).
async fn assert_ledger_free_of_personal_data(fixture: &Fixture, notes: &[&str]) {
    let leaves = fixture.ledger_text().await;
    assert!(!leaves.is_empty());
    let mut needles = vec![NAME, PHONE, ID_CARD, USERNAME, EMAIL];
    needles.extend_from_slice(notes);
    for (index, leaf) in leaves.iter().enumerate() {
        for needle in &needles {
            assert!(
                !leaf.contains(needle),
                "leaf {index} contains {needle:?}: {leaf}"
            );
        }
    }
}

async fn erase_and_check(fixture: &Fixture) {
    let app = &fixture.app;
    // With vital signs, so the note also leaves an NLP result, observations and alerts.
    let chest = note("胸痛2小时，体温38.9℃，心率118次/分，呼吸26次/分，血压88/52mmHg，神志模糊");
    let erased = fixture.record(&chest).await;
    let chest_v2 = note("胸痛3小时，放射至左臂");
    app.update_record(&fixture.patient, erased, upload(&chest_v2))
        .await
        .unwrap();
    let kept = fixture.record(&note("咳嗽3天")).await;
    fixture.grant_doctor().await;
    let erased_objects = fixture.objects_of(erased).await;
    let kept_objects = fixture.objects_of(kept).await;
    assert_eq!(erased_objects.len(), 2);
    let before = fixture.stored_objects().await;
    assert!(erased_objects.iter().all(|k| before.contains(k)));
    let store = app.store();
    let patient_id = fixture.patient.user_id;
    let long_ago = time::OffsetDateTime::UNIX_EPOCH;
    assert!(store.nlp_result(erased, 1).await.unwrap().is_some());
    assert!(
        !store
            .observation_batches(patient_id, long_ago, 1000)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .alerts(patient_id, false, 100)
            .await
            .unwrap()
            .is_empty()
    );

    let outcome = app
        .erase_record(&fixture.patient, erased, None)
        .await
        .unwrap();
    assert_eq!(outcome.records.len(), 1);
    assert_eq!(outcome.records[0].1.basis, "pipl-art47-subject-request");
    assert_eq!((outcome.objects_deleted, outcome.objects_left), (2, 0));

    // The objects are gone from storage; the other record's are untouched.
    let after = fixture.stored_objects().await;
    assert!(erased_objects.iter().all(|k| !after.contains(k)));
    assert!(kept_objects.iter().all(|k| after.contains(k)));
    // Nothing derived from its content is left: NLP results, observations, alerts.
    for version in [1, 2] {
        assert!(store.nlp_result(erased, version).await.unwrap().is_none());
    }
    let observations = store
        .observation_batches(patient_id, long_ago, 1000)
        .await
        .unwrap();
    assert!(
        observations
            .iter()
            .all(|b| b.record.map(|r| r.0) != Some(erased))
    );
    let alerts = store.alerts(patient_id, false, 100).await.unwrap();
    assert!(alerts.iter().all(|a| a.record.map(|r| r.0) != Some(erased)));
    // The wrapped keys and salts are gone from every version.
    for version in app.store().record_versions(erased).await.unwrap() {
        assert!(version.is_erased());
        assert!(version.commitment_salt.is_empty());
    }

    // Nobody can read it, any version, in any way: 410 Gone.
    for version in [None, Some(1), Some(2)] {
        let read = app
            .read_record(&fixture.patient, erased, version, None)
            .await;
        assert!(matches!(read, Err(AppError::Erased)), "{version:?}");
    }
    let by_doctor = app
        .read_record(&fixture.doctor, erased, None, Some(Purpose::Treatment))
        .await;
    assert!(matches!(by_doctor, Err(AppError::Erased)));
    let proof = app.record_proof(&fixture.patient, erased, None, None).await;
    assert!(matches!(proof, Err(AppError::Erased)));
    let again = app.erase_record(&fixture.patient, erased, None).await;
    assert!(matches!(again, Err(AppError::Erased)));
    // The tombstone is all that is left: id, time, legal basis.
    let tombstone = app.store().record(erased).await.unwrap().unwrap();
    let erasure = tombstone.erasure.unwrap();
    assert_eq!(erasure.basis, "pipl-art47-subject-request");
    assert_eq!(erasure.reason, None);
    // The kept record still reads.
    let read = app
        .read_record(&fixture.patient, kept, None, None)
        .await
        .unwrap();
    assert_eq!(read.content, note("咳嗽3天").into_bytes());

    // Key administration skips what has no data key left: only the kept version counts.
    let by_kek = app.data_keys_by_kek(&NoProgress).await.unwrap();
    assert_eq!(by_kek.values().sum::<u64>(), 1, "{by_kek:?}");
    let rewrap = app.rewrap_data_keys(None, &NoProgress).await.unwrap();
    assert_eq!(rewrap.versions, 1);

    // verify passes and reports the erasure; gc has nothing to do.
    let report = app.verify(&NoProgress).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.records, report.versions), (2, 3));
    assert_eq!((report.erased_records, report.erased_versions), (1, 2));
    let gc = app
        .collect_garbage(
            GcOptions {
                min_age: std::time::Duration::ZERO,
                apply: false,
            },
            &NoProgress,
        )
        .await
        .unwrap();
    assert!(gc.orphans.is_empty());

    let erasure_leaves: Vec<String> = fixture
        .ledger_text()
        .await
        .into_iter()
        .filter(|leaf| leaf.contains("\"kind\":\"record.erased\""))
        .collect();
    assert_eq!(erasure_leaves.len(), 1);
    assert!(erasure_leaves[0].contains(&erased.to_string()));
    assert!(erasure_leaves[0].contains("\"legal_basis\":\"pipl-art47-subject-request\""));
    assert_ledger_free_of_personal_data(fixture, &["胸痛", "咳嗽", "放射至左臂"]).await;
}

async fn erased_record_is_gone_and_verify_counts_it(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend, false).await else {
        return;
    };
    erase_and_check(&fixture).await;
}

async fn erased_record_is_gone_from_s3(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend, true).await else {
        return;
    };
    erase_and_check(&fixture).await;
}

async fn account_erasure_removes_every_record_and_the_personal_data(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend, false).await else {
        return;
    };
    let app = &fixture.app;
    let first = fixture.record(&note("头痛")).await;
    let second = fixture.record(&note("发热")).await;
    fixture.grant_doctor().await;
    let outcome = app
        .erase_account(
            &fixture.admin,
            fixture.patient.user_id,
            Some("DPO ticket 2026-114"),
        )
        .await
        .unwrap();
    let mut erased: Vec<RecordId> = outcome.records.iter().map(|(id, _)| *id).collect();
    erased.sort_by_key(|id| id.0);
    let mut expected = vec![first, second];
    expected.sort_by_key(|id| id.0);
    assert_eq!(erased, expected);
    assert!(
        outcome
            .records
            .iter()
            .all(|(_, e)| e.basis == "pipl-art47-verified-request")
    );
    assert!(fixture.stored_objects().await.is_empty());

    // The account holds no personal data and cannot log in; its consents ended.
    let user = app
        .store()
        .user_by_id(fixture.patient.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!user.username.contains("zhang"));
    assert!(!user.email.contains("zhangwei"));
    let login = app
        .login(LoginRequest {
            username: USERNAME.into(),
            password: "Sturdy-Passphrase-42".into(),
            client: std::net::IpAddr::from([127, 0, 0, 1]),
        })
        .await;
    assert!(login.is_err());
    let consents = app
        .store()
        .consents(Some(fixture.patient.user_id), None)
        .await
        .unwrap();
    assert!(consents.iter().all(|c| c.revoked_at.is_some()));
    let doctor_read = app
        .read_record(&fixture.doctor, first, None, Some(Purpose::Treatment))
        .await;
    assert!(doctor_read.is_err());

    let report = app.verify(&NoProgress).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.erased_records, 2);
    let leaves = fixture.ledger_text().await;
    assert_eq!(
        leaves
            .iter()
            .filter(|l| l.contains("\"kind\":\"account.erased\""))
            .count(),
        1
    );
    assert_ledger_free_of_personal_data(&fixture, &["头痛", "发热"]).await;
}

async fn legal_hold_blocks_erasure_until_cleared(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend, false).await else {
        return;
    };
    let app = &fixture.app;
    let id = fixture.record(&note("腹痛")).await;
    let objects = fixture.objects_of(id).await;
    let held = app
        .set_legal_hold(&fixture.admin, id, "dispute case 2026-77")
        .await
        .unwrap();
    assert!(held.hold.is_some());
    let twice = app
        .set_legal_hold(&fixture.admin, id, "dispute case 2026-77")
        .await;
    assert!(matches!(twice, Err(AppError::StateConflict(_))));

    let refused = app.erase_record(&fixture.patient, id, None).await;
    assert!(matches!(refused, Err(AppError::LegalHold)), "{refused:?}");
    let account = app
        .erase_account(&fixture.patient, fixture.patient.user_id, None)
        .await;
    assert!(matches!(account, Err(AppError::LegalHold)));
    // Nothing changed: the record reads, its object is there, the account is intact.
    app.read_record(&fixture.patient, id, None, None)
        .await
        .unwrap();
    let stored = fixture.stored_objects().await;
    assert!(objects.iter().all(|k| stored.contains(k)));
    let user = app
        .store()
        .user_by_id(fixture.patient.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.username, USERNAME);
    // Each refusal is on the ledger as a denial with its code.
    let refusals = fixture
        .ledger_text()
        .await
        .into_iter()
        .filter(|l| l.contains("record.erase_refused") && l.contains("\"reason\":\"LEGAL_HOLD\""))
        .count();
    assert_eq!(refusals, 2);

    // Patients cannot lift a hold; the administrator can, and then erasure proceeds.
    let by_patient = app.clear_legal_hold(&fixture.patient, id).await;
    assert!(matches!(by_patient, Err(AppError::Forbidden)));
    app.clear_legal_hold(&fixture.admin, id).await.unwrap();
    app.erase_record(&fixture.patient, id, None).await.unwrap();
    let report = app.verify(&NoProgress).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.erased_records, 1);
}

async fn only_the_patient_or_an_admin_with_a_reason_may_erase(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend, false).await else {
        return;
    };
    let app = &fixture.app;
    let id = fixture.record(&note("皮疹")).await;
    fixture.grant_doctor().await;
    let by_doctor = app.erase_record(&fixture.doctor, id, None).await;
    assert!(matches!(by_doctor, Err(AppError::Forbidden)));
    let no_reason = app.erase_record(&fixture.admin, id, None).await;
    assert!(matches!(no_reason, Err(AppError::Validation(ref v)) if v.field == "reason"));
    let account_by_doctor = app
        .erase_account(&fixture.doctor, fixture.patient.user_id, None)
        .await;
    assert!(matches!(account_by_doctor, Err(AppError::Forbidden)));
    app.read_record(&fixture.patient, id, None, None)
        .await
        .unwrap();

    let outcome = app
        .erase_record(&fixture.admin, id, Some("verified request DPO-9"))
        .await
        .unwrap();
    assert_eq!(outcome.records[0].1.basis, "pipl-art47-verified-request");
    // The patient is told when someone else erased their record.
    let notes = app
        .store()
        .notifications(
            fixture.patient.user_id,
            meditrustal_store::Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert!(notes.iter().any(|n| n.kind == "record.erased"));
    // The denied attempts are audited.
    let denials = fixture
        .ledger_text()
        .await
        .into_iter()
        .filter(|l| l.contains("access.denied"))
        .count();
    assert_eq!(denials, 2);
}
