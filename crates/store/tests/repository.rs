//! The repository test-suite: every test runs against SQLite and PostgreSQL.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use meditrustal_domain::{
    Did, Email, RecordCategory, RecordId, Role, UserId, UserStatus, Username,
};
use meditrustal_ledger::{MemoryTree, SigningKey};
use meditrustal_store::{
    Change, LeafRow, LedgerEvent, NewRecord, NewRecordVersion, NewRefreshToken, NewUser, Page,
    RateAdmission, RateStep, Store, StoreError, TokenRotation, Write,
};
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

on_both_backends!(
    users_round_trip,
    usernames_and_emails_are_unique,
    listing_filters_and_pages,
    status_changes_are_saved,
    refresh_tokens_rotate_exactly_once,
    revoking_a_family_or_a_user_revokes_all_its_tokens,
    injection_strings_are_stored_as_data,
    migrations_are_idempotent,
    concurrent_commits_are_totally_ordered,
    stale_writes_roll_back_the_whole_change,
    a_created_record_reads_back_as_its_new_record_meta,
    a_record_reads_with_its_current_or_named_version,
    login_attempts_follow_the_cell_rate_and_prune,
    login_attempts_from_two_processes_share_one_limit,
);

async fn store(backend: TestBackend) -> Option<(TestDatabase, Arc<dyn Store>)> {
    let db = TestDatabase::create(backend).await?;
    let store = meditrustal_store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    Some((db, store))
}

fn now() -> OffsetDateTime {
    // Whole microseconds: both backends keep at least that precision.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap()
}

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        id: UserId(Uuid::now_v7()),
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.cn")).unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        role,
        status: role.initial_status(),
        did: Did::from_random(*Uuid::new_v4().as_bytes()),
        created_at: now(),
    }
}

fn token_for(user: UserId, family: Uuid, seed: u8) -> NewRefreshToken {
    NewRefreshToken {
        id: Uuid::now_v7(),
        family_id: family,
        user_id: user,
        token_hash: [seed; 32],
        issued_at: now(),
        expires_at: now() + Duration::days(14),
    }
}

async fn users_round_trip(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let new = new_user("li.na", Role::Doctor);
    let saved = store.insert_user(&new).await.unwrap();
    assert_eq!(saved.id, new.id);
    assert_eq!(saved.status, UserStatus::Pending);
    assert_eq!(saved.created_at, new.created_at);

    let by_id = store.user_by_id(new.id).await.unwrap().unwrap();
    let by_name = store
        .user_by_username(&new.username)
        .await
        .unwrap()
        .unwrap();
    for user in [by_id, by_name] {
        assert_eq!(user.username, "li.na");
        assert_eq!(user.email, "li.na@example.cn");
        assert_eq!(user.role, Role::Doctor);
        assert_eq!(user.did, new.did);
        assert_eq!(user.password_hash, new.password_hash);
    }
    assert!(
        store
            .user_by_id(UserId(Uuid::now_v7()))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.count_users_with_role(Role::Doctor).await.unwrap(), 1);
    assert_eq!(store.count_users_with_role(Role::Admin).await.unwrap(), 0);
}

async fn usernames_and_emails_are_unique(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    store
        .insert_user(&new_user("wang", Role::Patient))
        .await
        .unwrap();

    let mut same_name = new_user("wang", Role::Patient);
    same_name.email = Email::parse("other@example.cn").unwrap();
    let err = store.insert_user(&same_name).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { field: "username" }),
        "{err:?}"
    );

    let mut same_email = new_user("wang2", Role::Patient);
    same_email.email = Email::parse("WANG@example.cn").unwrap();
    let err = store.insert_user(&same_email).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { field: "email" }),
        "{err:?}"
    );

    let page = Page {
        limit: 10,
        offset: 0,
    };
    assert_eq!(store.list_users(None, None, page).await.unwrap().len(), 1);
}

async fn listing_filters_and_pages(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    for (name, role) in [
        ("pat1", Role::Patient),
        ("doc1", Role::Doctor),
        ("doc2", Role::Doctor),
        ("res1", Role::Researcher),
    ] {
        store.insert_user(&new_user(name, role)).await.unwrap();
    }
    let all = Page {
        limit: 50,
        offset: 0,
    };
    let pending = store
        .list_users(Some(UserStatus::Pending), None, all)
        .await
        .unwrap();
    let names: Vec<_> = pending.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["doc1", "doc2", "res1"]);

    let doctors = store
        .list_users(None, Some(Role::Doctor), all)
        .await
        .unwrap();
    assert_eq!(doctors.len(), 2);

    let second = store
        .list_users(
            Some(UserStatus::Pending),
            None,
            Page {
                limit: 1,
                offset: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].username, "doc2");
}

async fn status_changes_are_saved(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let user = store
        .insert_user(&new_user("doc", Role::Doctor))
        .await
        .unwrap();
    let later = now() + Duration::minutes(5);
    let active = store
        .set_user_status(user.id, UserStatus::Active, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.status, UserStatus::Active);
    assert_eq!(active.updated_at, later);
    assert_eq!(
        store.user_by_id(user.id).await.unwrap().unwrap().status,
        UserStatus::Active
    );
    let missing = store
        .set_user_status(UserId(Uuid::now_v7()), UserStatus::Active, later)
        .await
        .unwrap();
    assert!(missing.is_none());
}

async fn refresh_tokens_rotate_exactly_once(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let user = store
        .insert_user(&new_user("pat", Role::Patient))
        .await
        .unwrap();
    let family = Uuid::now_v7();
    let first = token_for(user.id, family, 1);
    store.insert_refresh_token(&first).await.unwrap();

    let found = store
        .refresh_token_by_hash(&[1; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, first.id);
    assert_eq!(found.user_id, user.id);
    assert!(found.used_at.is_none() && found.revoked_at.is_none());
    assert!(
        store
            .refresh_token_by_hash(&[9; 32])
            .await
            .unwrap()
            .is_none()
    );

    // Two concurrent rotations of the same token: exactly one wins.
    let (second, third) = (token_for(user.id, family, 2), token_for(user.id, family, 3));
    let (a, b) = tokio::join!(
        store.rotate_refresh_token(first.id, &second, now()),
        store.rotate_refresh_token(first.id, &third, now()),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == TokenRotation::Rotated)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        store
            .refresh_token_by_hash(&[1; 32])
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_some()
    );
    let mut stored = 0;
    for seed in [2u8, 3] {
        if store
            .refresh_token_by_hash(&[seed; 32])
            .await
            .unwrap()
            .is_some()
        {
            stored += 1;
        }
    }
    assert_eq!(stored, 1, "only the winning rotation stores its new token");
}

async fn revoking_a_family_or_a_user_revokes_all_its_tokens(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let user = store
        .insert_user(&new_user("pat", Role::Patient))
        .await
        .unwrap();
    let (family_a, family_b) = (Uuid::now_v7(), Uuid::now_v7());
    store
        .insert_refresh_token(&token_for(user.id, family_a, 1))
        .await
        .unwrap();
    store
        .insert_refresh_token(&token_for(user.id, family_a, 2))
        .await
        .unwrap();
    store
        .insert_refresh_token(&token_for(user.id, family_b, 3))
        .await
        .unwrap();

    store.revoke_token_family(family_a, now()).await.unwrap();
    for seed in [1, 2] {
        assert!(
            store
                .refresh_token_by_hash(&[seed; 32])
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        );
    }
    assert!(
        store
            .refresh_token_by_hash(&[3; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );

    store.revoke_user_tokens(user.id, now()).await.unwrap();
    assert!(
        store
            .refresh_token_by_hash(&[3; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

async fn injection_strings_are_stored_as_data(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let mut user = new_user("bobby", Role::Patient);
    user.password_hash = "x'); DROP TABLE users; --".into();
    store.insert_user(&user).await.unwrap();
    let back = store
        .user_by_username(&user.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.password_hash, "x'); DROP TABLE users; --");
    assert_eq!(
        store
            .list_users(
                None,
                None,
                Page {
                    limit: 5,
                    offset: 0
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn migrations_are_idempotent(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

fn event(patient: UserId, n: u64) -> LedgerEvent {
    LedgerEvent {
        entry: format!("{{\"kind\":\"test\",\"n\":{n}}}").into_bytes(),
        kind: "test".into(),
        actor: None,
        patient: Some(patient),
        record: None,
        outcome: "allowed".into(),
        at: now(),
    }
}

async fn concurrent_commits_are_totally_ordered(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let patient = patient_id(&store, "ordered").await;
    let key = SigningKey::from_bytes(&[9; 32]);
    let mut tasks = Vec::new();
    for worker in 0..8u64 {
        let (store, key) = (store.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..10u64 {
                let events = vec![
                    event(patient, worker * 100 + i),
                    event(patient, worker * 100 + i + 50),
                ];
                store
                    .commit(
                        Change {
                            writes: vec![],
                            events,
                        },
                        &key,
                        1,
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let leaves = store.leaves(0, 1000).await.unwrap();
    assert_eq!(leaves.len(), 160);
    let indices: Vec<u64> = leaves.iter().map(|l| l.leaf_index).collect();
    assert_eq!(
        indices,
        (0..160).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
    // Each commit's two entries are adjacent: appends never interleave.
    for pair in leaves.chunks(2) {
        let n = |l: &LeafRow| String::from_utf8(l.entry.clone()).unwrap();
        let (a, b): (u64, u64) = (parse_n(&n(&pair[0])), parse_n(&n(&pair[1])));
        assert_eq!(b, a + 50);
    }
    // The stored tree agrees with a recomputation from the entries.
    let mut tree = MemoryTree::new();
    for leaf in &leaves {
        tree.append_entry(&leaf.entry).unwrap();
    }
    let head = store.latest_tree_head().await.unwrap().unwrap();
    assert_eq!(head.head.tree_size, 160);
    assert_eq!(head.head.root, tree.root());
    head.verify(&key.verifying_key()).unwrap();
    // Group commit: one head per batch, each matching the recomputed tree at its size.
    let heads = store.tree_heads().await.unwrap();
    assert!((1..=80).contains(&heads.len()), "{} heads", heads.len());
    for head in heads {
        assert_eq!(head.head.root, tree.root_at(head.head.tree_size).unwrap());
        head.verify(&key.verifying_key()).unwrap();
    }
}

fn parse_n(entry: &str) -> u64 {
    entry
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('}')
        .parse()
        .unwrap()
}

async fn stale_writes_roll_back_the_whole_change(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let patient = patient_id(&store, "stale.p").await;
    let key = SigningKey::from_bytes(&[3; 32]);
    let revoke = Write::RevokeConsent {
        id: Uuid::now_v7(),
        at: now(),
    };
    let err = store
        .commit(
            Change {
                writes: vec![revoke],
                events: vec![event(patient, 1)],
            },
            &key,
            1,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Stale { what: "consent" }),
        "{err:?}"
    );
    assert!(
        store.leaves(0, 10).await.unwrap().is_empty(),
        "the ledger entry was rolled back too"
    );
    assert!(store.latest_tree_head().await.unwrap().is_none());
}

/// The id of a new patient account `name`.
async fn patient_id(store: &Arc<dyn Store>, name: &str) -> UserId {
    store
        .insert_user(&new_user(name, Role::Patient))
        .await
        .unwrap()
        .id
}

/// A clinical note of `patient` whose first version is [`text_version`] 1, written by them.
fn note_record(id: RecordId, patient: UserId) -> NewRecord {
    NewRecord {
        id,
        patient,
        category: RecordCategory::ClinicalNote,
        first_version: text_version(id, patient, 1),
    }
}

/// Version `n` of record `id`, a text written by `by` (the sealed part is a placeholder).
fn text_version(id: RecordId, by: UserId, n: u32) -> NewRecordVersion {
    NewRecordVersion {
        record_id: id,
        version: n,
        content_type: "text/plain".into(),
        size_bytes: u64::from(n),
        sealed: format!("{{\"v\":{n}}}"),
        commitment_salt: [n as u8; 32],
        created_by: by,
        created_at: now(),
        event: 0,
        correction_id: None,
    }
}

async fn a_created_record_reads_back_as_its_new_record_meta(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let patient = patient_id(&store, "created.p").await;
    let id = RecordId(Uuid::now_v7());
    let record = note_record(id, patient);
    let expected = record.meta();
    store
        .commit(
            Change {
                writes: vec![Write::CreateRecord(record)],
                events: vec![event(patient, 1)],
            },
            &SigningKey::from_bytes(&[4; 32]),
            1,
        )
        .await
        .unwrap();
    // The app answers a create with this meta instead of reading the row back.
    assert_eq!(store.record(expected.id).await.unwrap(), Some(expected));
}

async fn a_record_reads_with_its_current_or_named_version(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let patient = patient_id(&store, "joined.p").await;
    let id = RecordId(Uuid::now_v7());
    let version = |n| text_version(id, patient, n);
    let key = SigningKey::from_bytes(&[5; 32]);
    let create = Write::CreateRecord(note_record(id, patient));
    let update = Write::AddRecordVersion {
        version: version(2),
        expected_current: 1,
    };
    for (n, write) in [create, update].into_iter().enumerate() {
        let change = Change {
            writes: vec![write],
            events: vec![event(patient, n as u64)],
        };
        store.commit(change, &key, 1).await.unwrap();
    }
    let versions = store.record_versions(id).await.unwrap();
    let meta = store.record(id).await.unwrap().unwrap();
    let joined = |v| store.record_and_version(id, v);
    assert_eq!(
        joined(None).await.unwrap(),
        Some((meta.clone(), Some(versions[1].clone())))
    );
    assert_eq!(
        joined(Some(1)).await.unwrap(),
        Some((meta.clone(), Some(versions[0].clone())))
    );
    assert_eq!(joined(Some(3)).await.unwrap(), Some((meta, None)));
    let missing = store.record_and_version(RecordId(Uuid::now_v7()), None);
    assert_eq!(missing.await.unwrap(), None);
}

/// Five a minute with a burst of five: an attempt uses 12 s and a key may run 60 s ahead.
fn five_a_minute(now_us: i64) -> RateStep {
    RateStep {
        now_us,
        interval_us: 12_000_000,
        tolerance_us: 60_000_000,
    }
}

async fn login_attempts_follow_the_cell_rate_and_prune(backend: TestBackend) {
    let Some((_db, store)) = store(backend).await else {
        return;
    };
    let t0 = 1_800_000_000_000_000;
    for _ in 0..5 {
        let admitted = store.admit_login_attempt("k", five_a_minute(t0)).await;
        assert_eq!(admitted.unwrap(), RateAdmission::Admitted);
    }
    // The burst is spent; the refusal changes nothing and names the arrival time.
    for _ in 0..2 {
        assert_eq!(
            store
                .admit_login_attempt("k", five_a_minute(t0))
                .await
                .unwrap(),
            RateAdmission::Refused {
                tat_us: Some(t0 + 60_000_000)
            }
        );
    }
    // Other keys are not affected.
    let other = store.admit_login_attempt("other", five_a_minute(t0)).await;
    assert_eq!(other.unwrap(), RateAdmission::Admitted);
    // One interval later, exactly one more attempt fits.
    let later = t0 + 12_000_000;
    let admitted = store.admit_login_attempt("k", five_a_minute(later)).await;
    assert_eq!(admitted.unwrap(), RateAdmission::Admitted);
    assert!(matches!(
        store
            .admit_login_attempt("k", five_a_minute(later))
            .await
            .unwrap(),
        RateAdmission::Refused { .. }
    ));
    // Pruning removes only keys whose arrival time has passed.
    assert_eq!(
        store.prune_login_throttle(t0 + 12_000_001).await.unwrap(),
        1
    );
    assert!(matches!(
        store
            .admit_login_attempt("k", five_a_minute(later))
            .await
            .unwrap(),
        RateAdmission::Refused { .. }
    ));
    assert_eq!(
        store.prune_login_throttle(t0 + 72_000_001).await.unwrap(),
        1
    );
}

/// Two stores on one database stand for two replicas: attempts made at the same moment
/// through both, concurrently, are admitted five times in all.
async fn login_attempts_from_two_processes_share_one_limit(backend: TestBackend) {
    let Some((db, one)) = store(backend).await else {
        return;
    };
    let two = meditrustal_store::connect(&db.url).await.unwrap();
    let t0 = 1_800_000_000_000_000;
    let attempts = (0..12).map(|i| {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        async move { store.admit_login_attempt("shared", five_a_minute(t0)).await }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let admitted = outcomes
        .into_iter()
        .filter(|outcome| *outcome.as_ref().unwrap() == RateAdmission::Admitted)
        .count();
    assert_eq!(admitted, 5);
}
