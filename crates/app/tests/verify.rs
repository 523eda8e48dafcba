//! `App::verify` and `App::collect_garbage` against real stores, vaults and ledgers on both
//! backends: an untouched store passes; each way of tampering (DESIGN.md §3.4) is reported
//! naming the record or leaf that differs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use meditrustal_app::{
    Actor, App, GcOptions, NoProgress, RecordUpload, Registration, VerifyProblem, VerifyReport,
};
use meditrustal_domain::RecordId;
use meditrustal_store::RecordVersion;
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use meditrustal_vault::{Discrepancy, ObjectKey};
use serde_json::Value;
use sqlx::{PgPool, SqlitePool};

on_both_backends!(
    untouched_store_verifies,
    flipped_object_byte_names_the_record,
    changed_leaf_names_the_leaf,
    garbled_leaf_names_the_leaf_and_its_record,
    deleted_leaf_names_the_gap,
    swapped_ciphertexts_name_both_records,
    edited_content_hash_names_the_record,
    gc_lists_and_deletes_only_orphans,
    forged_head_signature_and_unsigned_leaf_are_reported,
);

/// A store with one patient, three records (one updated) and some reads on the ledger.
struct Fixture {
    app: App,
    db: TestDatabase,
    records: Vec<RecordId>,
}

const NOTES: [&str; 3] = ["主诉：咳嗽3天", "血常规：WBC 11.2", "出院小结：好转"];

impl Fixture {
    async fn create(backend: TestBackend) -> Option<Fixture> {
        let db = TestDatabase::create(backend).await?;
        let app = common::local_app(&db).await;
        let user = app
            .register(Registration {
                username: "patient_wang".into(),
                email: "wang@example.cn".into(),
                password: "Sturdy-Passphrase-42".into(),
                role: "patient".into(),
            })
            .await
            .unwrap();
        let actor = Actor {
            user_id: user.id,
            role: user.role,
            did: user.did,
        };
        let mut records = Vec::new();
        for note in NOTES {
            let meta = app.create_record(&actor, upload(note)).await.unwrap();
            records.push(meta.id);
        }
        app.update_record(&actor, records[0], upload("主诉：咳嗽5天"))
            .await
            .unwrap();
        app.read_record(&actor, records[1], None, None)
            .await
            .unwrap();
        Some(Fixture { app, db, records })
    }

    async fn verify(&self) -> VerifyReport {
        self.app.verify(&NoProgress).await.unwrap()
    }

    async fn version(&self, record: RecordId, version: u32) -> RecordVersion {
        self.app
            .store()
            .record_versions(record)
            .await
            .unwrap()
            .into_iter()
            .find(|v| v.version == version)
            .unwrap()
    }

    async fn database(&self) -> Database {
        if self.db.url.starts_with("sqlite:") {
            Database::Sqlite(SqlitePool::connect(&self.db.url).await.unwrap())
        } else {
            Database::Postgres(PgPool::connect(&self.db.url).await.unwrap())
        }
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

fn sealed_json(version: &RecordVersion) -> Value {
    serde_json::from_str(&version.sealed).unwrap()
}

/// Raw access to the test database, for tampering behind the application's back.
enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same sqlx query on whichever pool the database has.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Database::Sqlite($pool) => $body,
            Database::Postgres($pool) => $body,
        }
    };
}

impl Database {
    async fn set_leaf_data(&self, leaf_index: u64, data: &[u8]) {
        let sql = "UPDATE ledger_leaves SET leaf_data = $1 WHERE leaf_index = $2";
        let index = i64::try_from(leaf_index).unwrap();
        let done = on_pool!(self, pool => sqlx::query(sql).bind(data).bind(index).execute(pool).await.unwrap().rows_affected());
        assert_eq!(done, 1);
    }

    async fn leaf_data(&self, leaf_index: u64) -> Vec<u8> {
        let sql = "SELECT leaf_data FROM ledger_leaves WHERE leaf_index = $1";
        let index = i64::try_from(leaf_index).unwrap();
        on_pool!(self, pool => sqlx::query_scalar(sql).bind(index).fetch_one(pool).await.unwrap())
    }

    async fn delete_leaf(&self, leaf_index: u64) {
        let sql = "DELETE FROM ledger_leaves WHERE leaf_index = $1";
        let index = i64::try_from(leaf_index).unwrap();
        let done = on_pool!(self, pool => sqlx::query(sql).bind(index).execute(pool).await.unwrap().rows_affected());
        assert_eq!(done, 1);
    }

    async fn forge_head_signature(&self, tree_size: u64) {
        let sql = "UPDATE ledger_tree_heads SET signature = $1 WHERE tree_size = $2";
        let size = i64::try_from(tree_size).unwrap();
        let done = on_pool!(self, pool => sqlx::query(sql).bind(&[0u8; 64][..]).bind(size).execute(pool).await.unwrap().rows_affected());
        assert_eq!(done, 1);
    }

    /// A leaf slipped in after the last signed head, as if appended outside a commit.
    async fn append_unsigned_leaf(&self, leaf_index: u64) {
        let sql = "INSERT INTO ledger_leaves (leaf_index, leaf_data, kind, outcome, created_at) \
                   VALUES ($1, $2, 'record.read', 'allowed', $3)";
        let index = i64::try_from(leaf_index).unwrap();
        let entry = br#"{"kind":"record.read","outcome":"allowed","time_ms":0,"v":1}"#;
        let now = time::OffsetDateTime::now_utc();
        let done = on_pool!(self, pool => sqlx::query(sql).bind(index).bind(&entry[..]).bind(now).execute(pool).await.unwrap().rows_affected());
        assert_eq!(done, 1);
    }

    async fn set_sealed(&self, record: RecordId, version: u32, sealed: &str) {
        let sql = "UPDATE record_versions SET sealed = $1 WHERE record_id = $2 AND version = $3";
        let done = on_pool!(self, pool => sqlx::query(sql).bind(sealed).bind(record.0).bind(i64::from(version)).execute(pool).await.unwrap().rows_affected());
        assert_eq!(done, 1);
    }
}

fn names_record(report: &VerifyReport, record: RecordId) -> bool {
    let id = record.to_string();
    report.problems.iter().any(|p| p.to_string().contains(&id))
}

async fn untouched_store_verifies(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let report = fixture.verify().await;
    assert!(report.is_ok(), "{:#?}", report.problems);
    assert_eq!(report.records, 3);
    assert_eq!(report.versions, 4);
    let expected_bytes: usize =
        NOTES.iter().map(|n| n.len()).sum::<usize>() + "主诉：咳嗽5天".len();
    assert_eq!(report.content_bytes, expected_bytes as u64);
    // One entry per create/update/read, one signed head per commit.
    assert!(report.leaves >= 5, "{}", report.leaves);
    assert_eq!(report.tree_heads, report.leaves);
}

async fn flipped_object_byte_names_the_record(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let victim = fixture.records[2];
    let version = fixture.version(victim, 1).await;
    let key = sealed_json(&version)["object_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = fixture.db.dir.path().join("objects").join(&key);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let report = fixture.verify().await;
    assert!(names_record(&report, victim), "{:#?}", report.problems);
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::Ciphertext { record, discrepancy: Discrepancy::DecryptFailed, .. } if *record == victim)));
    assert!(report.problems.iter().any(|p| matches!(
        p,
        VerifyProblem::Ciphertext {
            discrepancy: Discrepancy::CiphertextAddressMismatch { .. },
            ..
        }
    )));
    // Nothing else is blamed.
    for other in &fixture.records[..2] {
        assert!(!names_record(&report, *other), "{:#?}", report.problems);
    }
}

async fn changed_leaf_names_the_leaf(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let victim = fixture.records[1];
    let leaf_index = fixture.version(victim, 1).await.leaf_index;
    let db = fixture.database().await;
    // Still canonical JSON, so only the hashes can tell: a different commitment.
    let mut entry: Value = serde_json::from_slice(&db.leaf_data(leaf_index).await).unwrap();
    entry["commitment"] = Value::String("00".repeat(32));
    let altered = meditrustal_ledger::LedgerEntry::from_event(&entry).unwrap();
    db.set_leaf_data(leaf_index, altered.as_bytes()).await;

    let report = fixture.verify().await;
    assert!(
        report
            .problems
            .contains(&VerifyProblem::LeafAltered { leaf_index }),
        "{:#?}",
        report.problems
    );
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::TreeHeadRootMismatch { tree_size, last_matching_size }
            if *last_matching_size <= leaf_index && *tree_size > leaf_index)));
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::CommitmentMismatch { record, leaf_index: at, .. } if *record == victim && *at == leaf_index)));
}

async fn deleted_leaf_names_the_gap(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let victim = fixture.records[1];
    let leaf_index = fixture.version(victim, 1).await.leaf_index;
    fixture.database().await.delete_leaf(leaf_index).await;

    let report = fixture.verify().await;
    assert!(
        report.problems.contains(&VerifyProblem::LeavesMissing {
            first: leaf_index,
            last: leaf_index
        }),
        "{:#?}",
        report.problems
    );
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::LedgerEntryMissing { record, .. } if *record == victim)));
    // The last head now signs one leaf more than the log holds.
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, VerifyProblem::TreeHeadBeyondLog { .. }))
    );
}

async fn swapped_ciphertexts_name_both_records(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let (first, second) = (fixture.records[1], fixture.records[2]);
    let a = fixture.version(first, 1).await;
    let b = fixture.version(second, 1).await;
    let db = fixture.database().await;
    db.set_sealed(first, 1, &b.sealed).await;
    db.set_sealed(second, 1, &a.sealed).await;

    let report = fixture.verify().await;
    for victim in [first, second] {
        // The AEAD binding refuses a ciphertext under another record's id.
        assert!(report.problems.iter().any(|p| matches!(p,
            VerifyProblem::Ciphertext { record, discrepancy: Discrepancy::DecryptFailed, .. } if *record == victim)),
            "{:#?}", report.problems);
        assert!(report.problems.iter().any(|p| matches!(p,
            VerifyProblem::CommitmentMismatch { record, .. } if *record == victim)));
    }
    assert!(!names_record(&report, fixture.records[0]));
}

async fn edited_content_hash_names_the_record(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let victim = fixture.records[0];
    let version = fixture.version(victim, 2).await;
    let mut sealed = sealed_json(&version);
    sealed["content_sha256"] = Value::String("ab".repeat(32));
    fixture
        .database()
        .await
        .set_sealed(victim, 2, &sealed.to_string())
        .await;

    let report = fixture.verify().await;
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::Ciphertext { record, version: 2, discrepancy: Discrepancy::PlaintextHashMismatch { .. }, .. } if *record == victim)),
        "{:#?}", report.problems);
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::CommitmentMismatch { record, version: 2, .. } if *record == victim)));
    // Version 1 of the same record is intact and not blamed.
    assert!(
        !report
            .problems
            .iter()
            .any(|p| p.to_string().contains(&format!("{victim} v1")))
    );
}

async fn gc_lists_and_deletes_only_orphans(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    // What a crash between the object write and the row commit leaves behind.
    let orphan = ObjectKey::for_ciphertext(b"ciphertext of a create that never committed");
    let path = fixture.db.dir.path().join("objects").join(orphan.as_str());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"ciphertext of a create that never committed").unwrap();

    let young = GcOptions {
        min_age: Duration::from_secs(3_600),
        apply: true,
    };
    let report = fixture
        .app
        .collect_garbage(young, &NoProgress)
        .await
        .unwrap();
    assert!(report.orphans.is_empty());
    assert_eq!(report.young_orphans, 1);
    assert!(
        path.exists(),
        "a young orphan may belong to a commit in flight"
    );

    let dry_run = GcOptions {
        min_age: Duration::ZERO,
        apply: false,
    };
    let report = fixture
        .app
        .collect_garbage(dry_run, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.objects_scanned, 5);
    assert_eq!(report.versions_scanned, 4);
    let listed: Vec<&str> = report.orphans.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(listed, [orphan.as_str()]);
    assert_eq!(report.deleted, 0);
    assert!(path.exists());

    let apply = GcOptions {
        min_age: Duration::ZERO,
        apply: true,
    };
    let report = fixture
        .app
        .collect_garbage(apply, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.deleted, 1);
    assert!(!path.exists());
    let after = fixture.verify().await;
    assert!(
        after.is_ok(),
        "gc removed a referenced object: {:#?}",
        after.problems
    );
}

async fn forged_head_signature_and_unsigned_leaf_are_reported(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let size = fixture.verify().await.leaves;
    let db = fixture.database().await;
    db.forge_head_signature(2).await;
    db.append_unsigned_leaf(size).await;

    let report = fixture.verify().await;
    assert!(
        report
            .problems
            .contains(&VerifyProblem::TreeHeadSignatureInvalid { tree_size: 2 }),
        "{:#?}",
        report.problems
    );
    assert!(report.problems.contains(&VerifyProblem::LeavesUnsigned {
        first: size,
        last: size
    }));
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);
}

async fn garbled_leaf_names_the_leaf_and_its_record(backend: TestBackend) {
    let Some(fixture) = Fixture::create(backend).await else {
        return;
    };
    let victim = fixture.records[2];
    let leaf_index = fixture.version(victim, 1).await.leaf_index;
    fixture
        .database()
        .await
        .set_leaf_data(leaf_index, b"{not json")
        .await;

    let report = fixture.verify().await;
    assert!(
        report.problems.iter().any(|p| matches!(p,
            VerifyProblem::LeafNotCanonical { leaf_index: at, .. } if *at == leaf_index)),
        "{:#?}",
        report.problems
    );
    assert!(
        report
            .problems
            .contains(&VerifyProblem::LeafAltered { leaf_index })
    );
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::LedgerEntryMismatch { record, field: "entry", .. } if *record == victim)));
}
