//! The ledger on a real Ganache, in mirror mode, on both backends: the consent story with
//! every consent change mined before it takes effect, record commitments mirrored in
//! batches, anchors written; `verify_chain` passes, names a consent row changed behind the
//! chain's back, and reports the anchors a fresh chain lacks. An unreachable chain refuses
//! a consent change with `ChainUnavailable` and changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use meditrustal_app::chain_client::{Chain, ChainConfig};
use meditrustal_app::{
    AppError, ChainDivergence, ChainLink, ChainMode, ConsentInput, RecordUpload, SystemClock,
};
use meditrustal_domain::{ConsentScope, Purpose, Role};
use meditrustal_testkit::ganache::{DEV_KEY, Ganache};
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};

on_both_backends!(mirror_mode_consent_story_verifies_and_names_tampering);

async fn link_to(
    ganache: &Ganache,
    deploy: bool,
    contracts: Option<meditrustal_app::chain_client::Contracts>,
) -> ChainLink {
    let chain = Chain::connect(&ChainConfig {
        rpc_url: ganache.url(),
        signer_key: DEV_KEY.into(),
    })
    .unwrap();
    let contracts = match (deploy, contracts) {
        (true, _) | (false, None) => chain.deploy().await.unwrap(),
        (false, Some(c)) => c,
    };
    ChainLink {
        chain,
        contracts,
        mode: ChainMode::Mirror,
    }
}

fn note(text: &str) -> RecordUpload {
    RecordUpload {
        patient: None,
        category: Some("clinical-note".into()),
        content_type: "text/plain; charset=utf-8".into(),
        purpose: None,
        content: text.as_bytes().to_vec(),
    }
}

async fn mirror_mode_consent_story_verifies_and_names_tampering(backend: TestBackend) {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let store = common::migrated_store(&db).await;
    let link = link_to(&ganache, true, None).await;
    let contracts = link.contracts;
    let app = common::app_with(
        store.clone(),
        common::local_vault(&db),
        Arc::new(SystemClock),
    )
    .with_chain(link);

    // The consent story: patient writes, grants; doctor reads; patient revokes; doctor refused.
    let patient = common::user(&app, "patient_li", Role::Patient).await;
    let doctor = common::user(&app, "dr_zhang", Role::Doctor).await;
    let mut records = Vec::new();
    for text in ["主诉：咳嗽3天", "血常规：WBC 11.2", "出院小结：好转"] {
        records.push(app.create_record(&patient, note(text)).await.unwrap().id);
    }
    let consent = app
        .grant_consent(
            &patient,
            ConsentInput {
                grantee: "dr_zhang".into(),
                scope: ConsentScope::All,
                purposes: BTreeSet::from([Purpose::Treatment]),
                allow_write: false,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    app.read_record(&doctor, records[0], None, Some(Purpose::Treatment))
        .await
        .unwrap();
    app.revoke_consent(&patient, consent.id).await.unwrap();
    let refused = app
        .read_record(&doctor, records[0], None, Some(Purpose::Treatment))
        .await;
    assert!(
        matches!(refused, Err(AppError::ConsentRequired)),
        "{:?}",
        refused.err()
    );

    // An erased record has nothing left to mirror; the others are mirrored past it.
    app.erase_record(&patient, records[2], None).await.unwrap();

    let sync = app.sync_chain(1).await.unwrap();
    assert_eq!(sync.mirrored, 2, "{sync:?}");
    assert_eq!(sync.backlog, 0);
    assert!(sync.anchored.is_some(), "{sync:?}");
    assert_eq!(app.verify_chain().await.unwrap(), vec![]);

    // A consent row changed behind the chain's back: the revocation undone.
    let pool_sql = "UPDATE consents SET revoked_at = NULL";
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(pool_sql).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(pool_sql).execute(&pool).await.unwrap();
    }
    let problems = app.verify_chain().await.unwrap();
    assert_eq!(
        problems,
        vec![ChainDivergence::ConsentMismatch {
            consent: consent.id,
            fields: vec!["revoked_at"]
        }]
    );
    assert!(problems[0].to_string().contains(&consent.id.to_string()));

    // A fresh chain at the same address: the contracts are gone and every anchor this node
    // wrote is reported missing.
    let port = ganache.port();
    ganache.stop();
    let fresh = Ganache::start_on(port).unwrap();
    let app = common::app_with(
        store.clone(),
        common::local_vault(&db),
        Arc::new(SystemClock),
    )
    .with_chain(link_to(&fresh, false, Some(contracts)).await);
    let problems = app.verify_chain().await;
    let anchored = app.store().chain_anchors().await.unwrap();
    assert!(!anchored.is_empty());
    let mut expected = vec![ChainDivergence::ContractsMissing];
    expected.extend(anchored.iter().map(|a| ChainDivergence::AnchorMissing {
        tree_size: a.tree_size,
    }));
    assert_eq!(problems.unwrap(), expected);

    // An unreachable chain: a consent change is refused and nothing changes.
    fresh.stop();
    let before = app
        .store()
        .consents(Some(patient.user_id), None)
        .await
        .unwrap()
        .len();
    let err = app
        .grant_consent(
            &patient,
            ConsentInput {
                grantee: "dr_zhang".into(),
                scope: ConsentScope::All,
                purposes: BTreeSet::from([Purpose::Treatment]),
                allow_write: false,
                expires_at: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::ChainUnavailable(_)), "{err:?}");
    assert_eq!(
        app.store()
            .consents(Some(patient.user_id), None)
            .await
            .unwrap()
            .len(),
        before
    );
}
