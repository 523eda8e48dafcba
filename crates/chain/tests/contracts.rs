//! The contracts on a real Ganache, through the adapter: deploy, write, read back, and the
//! rules the contracts enforce (who may write, growing trees, no duplicates).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use meditrustal_chain::{
    Anchor, Chain, ChainConfig, ChainError, ConsentTerms, RecordCommitment, pseudonym, record_key,
};
use meditrustal_testkit::ganache::{DEV_KEY, Ganache, OTHER_KEY};

fn client(ganache: &Ganache, key: &str) -> Chain {
    Chain::connect(&ChainConfig {
        rpc_url: ganache.url(),
        signer_key: key.into(),
    })
    .unwrap()
}

fn head(tree_size: u64, fill: u8) -> Anchor {
    Anchor {
        tree_size,
        root: [fill; 32],
        timestamp_ms: 1_764_800_000_000 + tree_size,
        signer: [9; 32],
    }
}

#[tokio::test]
async fn anchors_grow_and_read_back_in_order() {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let chain = client(&ganache, DEV_KEY);
    assert_eq!(chain.chain_id().await.unwrap(), 1337);
    let contracts = chain.deploy().await.unwrap();

    let first = chain
        .anchor(&contracts, &head(3, 1), &[7; 64])
        .await
        .unwrap();
    assert!(first.gas_used > 21_000);
    chain
        .anchor(&contracts, &head(10, 2), &[7; 64])
        .await
        .unwrap();
    assert_eq!(
        chain.anchors(&contracts).await.unwrap(),
        vec![head(3, 1), head(10, 2)]
    );

    // A tree head that does not grow the tree is refused and changes nothing.
    let err = chain
        .anchor(&contracts, &head(10, 3), &[7; 64])
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::Rejected { .. }), "{err:?}");
    assert_eq!(chain.anchors(&contracts).await.unwrap().len(), 2);
}

#[tokio::test]
async fn only_writers_write() {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let contracts = client(&ganache, DEV_KEY).deploy().await.unwrap();
    let outsider = client(&ganache, OTHER_KEY);
    let err = outsider
        .anchor(&contracts, &head(1, 1), &[0; 64])
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::Rejected { .. }), "{err:?}");
    let terms = consent(1);
    assert!(outsider.grant_consent(&contracts, &terms).await.is_err());
    assert_eq!(
        outsider
            .consent_of(&contracts, terms.consent_id)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn record_commitments_batch_and_refuse_rewrites() {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let chain = client(&ganache, DEV_KEY);
    let contracts = chain.deploy().await.unwrap();
    let patient = pseudonym("did:meditrustal:0123456789abcdef0123456789abcdef");
    let batch: Vec<RecordCommitment> = (0..100u8)
        .map(|i| RecordCommitment {
            patient,
            record_id: record_key(&[i; 16]),
            version: 1,
            commitment: [i + 1; 32],
        })
        .collect();
    let outcome = chain.commit_records(&contracts, &batch).await.unwrap();
    println!(
        "gas for 100 record commitments in one transaction: {}",
        outcome.gas_used
    );
    for r in &batch {
        assert_eq!(
            chain
                .commitment_of(&contracts, r.record_id, 1)
                .await
                .unwrap(),
            Some(r.commitment)
        );
    }
    assert_eq!(
        chain
            .commitment_of(&contracts, batch[0].record_id, 2)
            .await
            .unwrap(),
        None
    );

    // The same version cannot be committed twice with another value: history is append-only.
    let rewrite = RecordCommitment {
        commitment: [0xee; 32],
        ..batch[0]
    };
    assert!(chain.commit_records(&contracts, &[rewrite]).await.is_err());
    assert_eq!(
        chain
            .commitment_of(&contracts, batch[0].record_id, 1)
            .await
            .unwrap(),
        Some(batch[0].commitment)
    );
}

fn consent(n: u8) -> ConsentTerms {
    ConsentTerms {
        consent_id: record_key(&[n; 16]),
        patient: pseudonym("did:meditrustal:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        grantee: pseudonym("did:meditrustal:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        scope_hash: [3; 32],
        purposes: 0b101,
        allow_write: false,
        granted_at: 1_764_800_000,
        expires_at: 1_767_000_000,
        revoked_at: 0,
    }
}

#[tokio::test]
async fn consents_grant_and_revoke_once() {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let chain = client(&ganache, DEV_KEY);
    let contracts = chain.deploy().await.unwrap();
    let terms = consent(1);
    let granted = chain.grant_consent(&contracts, &terms).await.unwrap();
    println!("gas for one consent grant: {}", granted.gas_used);
    assert_eq!(
        chain
            .consent_of(&contracts, terms.consent_id)
            .await
            .unwrap(),
        Some(terms)
    );
    assert!(
        chain.grant_consent(&contracts, &terms).await.is_err(),
        "a consent id is granted once"
    );

    let revocation = chain
        .revoke_consent(&contracts, terms.consent_id, 1_765_000_000)
        .await
        .unwrap();
    println!("gas for one consent revocation: {}", revocation.gas_used);
    let revoked = chain
        .consent_of(&contracts, terms.consent_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, 1_765_000_000);
    assert!(
        chain
            .revoke_consent(&contracts, terms.consent_id, 1_765_000_001)
            .await
            .is_err()
    );
    assert!(
        chain
            .revoke_consent(&contracts, consent(2).consent_id, 1)
            .await
            .is_err(),
        "unknown consent"
    );
}

#[tokio::test]
async fn concurrent_writers_never_collide_on_nonces() {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let chain = client(&ganache, DEV_KEY);
    let contracts = chain.deploy().await.unwrap();
    let tasks: Vec<_> = (10..40u8)
        .map(|n| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.grant_consent(&contracts, &consent(n)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for n in 10..40u8 {
        assert!(
            chain
                .consent_of(&contracts, consent(n).consent_id)
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn an_unreachable_node_is_named_as_such() {
    let Some(ganache) = Ganache::start() else {
        return;
    };
    let url = ganache.url();
    let contracts = client(&ganache, DEV_KEY).deploy().await.unwrap();
    ganache.stop();
    let chain = Chain::connect(&ChainConfig {
        rpc_url: url,
        signer_key: DEV_KEY.into(),
    })
    .unwrap();
    let err = chain
        .anchor(&contracts, &head(1, 1), &[0; 64])
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::Unreachable { .. }), "{err:?}");
}
