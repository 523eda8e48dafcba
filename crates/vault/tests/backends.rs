//! The vault against real storage: every scenario runs on the local filesystem and on
//! a real S3 server (s3s-fs), through the same code.

// Clippy's allow-*-in-tests settings cover `#[test]` bodies only, not the helpers and
// scenario functions of an integration-test crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Backend;
use futures_util::StreamExt as _;
use meditrustal_vault::object_store::path::Path;
use meditrustal_vault::object_store::{ObjectStore, PutOptions, PutPayload};
use meditrustal_vault::{
    Discrepancy, MAX_RECORD_BYTES, ObjectKey, RecordBinding, SealedRecord, VaultError,
};
use std::time::Instant;

const NOTE: &str = "主诉：反复咳嗽咳痰3天。既往史：否认高血压、糖尿病病史。";

fn binding(record: &'static str, version: u64) -> RecordBinding<'static> {
    RecordBinding::new(record, "patient-7f3a", version)
}

async fn raw_read(b: &Backend, key: &ObjectKey) -> Vec<u8> {
    let path = Path::from(key.as_str());
    let got = b.raw.get_opts(&path, Default::default()).await.unwrap();
    got.bytes().await.unwrap().to_vec()
}

async fn raw_write(b: &Backend, key: &ObjectKey, bytes: Vec<u8>) {
    let path = Path::from(key.as_str());
    b.raw
        .put_opts(&path, PutPayload::from(bytes), PutOptions::default())
        .await
        .unwrap();
}

async fn listed_keys(b: &Backend) -> Vec<ObjectKey> {
    let mut keys: Vec<ObjectKey> = b
        .vault
        .list_objects()
        .filter_map(|r| async move { r.ok().map(|o| o.key) })
        .collect()
        .await;
    keys.sort();
    keys
}

mod scenarios {
    use super::*;

    pub async fn put_get_round_trip(b: &Backend) {
        let records = [
            (binding("rec-1", 1), NOTE.as_bytes().to_vec()),
            (binding("rec-1", 2), format!("{NOTE} 更正").into_bytes()),
            (binding("rec-2", 1), Vec::new()),
        ];
        let mut sealed = Vec::new();
        for (bind, plaintext) in &records {
            let s = b.vault.put_record(plaintext.clone(), bind).await.unwrap();
            assert_eq!(s.ciphertext_len, plaintext.len() as u64 + 16);
            let stored = raw_read(b, &s.object_key).await;
            assert_eq!(ObjectKey::for_ciphertext(&stored), s.object_key);
            if !plaintext.is_empty() {
                assert!(
                    !stored
                        .windows(plaintext.len().min(12))
                        .any(|w| plaintext.starts_with(w)),
                    "{}: plaintext visible in the stored object",
                    b.name
                );
            }
            sealed.push(s);
        }
        for ((bind, plaintext), s) in records.iter().zip(&sealed) {
            assert_eq!(&b.vault.get_record(s, bind).await.unwrap(), plaintext);
            assert!(b.vault.check(s, bind).await.unwrap().is_ok());
        }
        // Metadata survives a round trip through its serialised form (the SQL row).
        let json = serde_json::to_string(&sealed[0]).unwrap();
        let back: SealedRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(
            b.vault.get_record(&back, &records[0].0).await.unwrap(),
            NOTE.as_bytes()
        );

        // Writing the same ciphertext to its content address again changes nothing.
        let bytes = raw_read(b, &sealed[0].object_key).await;
        raw_write(b, &sealed[0].object_key, bytes).await;
        assert_eq!(
            b.vault.get_record(&sealed[0], &records[0].0).await.unwrap(),
            NOTE.as_bytes()
        );
    }

    pub async fn tampered_object_is_detected(b: &Backend) {
        let bind = binding("rec-t", 1);
        let s = b
            .vault
            .put_record(NOTE.as_bytes().to_vec(), &bind)
            .await
            .unwrap();
        let original = raw_read(b, &s.object_key).await;

        for position in [0, original.len() / 2, original.len() - 1] {
            let mut modified = original.clone();
            modified[position] ^= 0x01;
            raw_write(b, &s.object_key, modified.clone()).await;
            let err = b.vault.get_record(&s, &bind).await.unwrap_err();
            assert!(
                matches!(err, VaultError::Decrypt { .. }),
                "{}: {err}",
                b.name
            );
            let report = b.vault.check(&s, &bind).await.unwrap();
            assert_eq!(
                report.discrepancies,
                vec![
                    Discrepancy::CiphertextAddressMismatch {
                        actual_sha256: ObjectKey::for_ciphertext(&modified)
                            .ciphertext_sha256_hex()
                            .to_owned()
                    },
                    Discrepancy::DecryptFailed,
                ],
                "{}",
                b.name
            );
        }

        let truncated = original[..original.len() - 1].to_vec();
        raw_write(b, &s.object_key, truncated).await;
        let report = b.vault.check(&s, &bind).await.unwrap();
        assert!(
            report
                .discrepancies
                .contains(&Discrepancy::CiphertextLengthMismatch {
                    expected: s.ciphertext_len,
                    actual: s.ciphertext_len - 1,
                })
        );
        assert!(report.discrepancies.contains(&Discrepancy::DecryptFailed));

        raw_write(b, &s.object_key, original).await;
        assert_eq!(
            b.vault.get_record(&s, &bind).await.unwrap(),
            NOTE.as_bytes()
        );
    }

    pub async fn swapped_objects_and_metadata_are_detected(b: &Backend) {
        let (bind_a, bind_b) = (binding("rec-a", 1), binding("rec-b", 1));
        let a = b
            .vault
            .put_record(b"record A".to_vec(), &bind_a)
            .await
            .unwrap();
        let bb = b
            .vault
            .put_record(b"record B".to_vec(), &bind_b)
            .await
            .unwrap();

        // B's whole metadata row presented as A's record.
        let err = b.vault.get_record(&bb, &bind_a).await.unwrap_err();
        assert!(
            matches!(err, VaultError::Decrypt { .. }),
            "{}: {err}",
            b.name
        );

        // A's row pointing at B's object (object keys swapped between rows).
        let mut a_on_b = a.clone();
        a_on_b.object_key = bb.object_key.clone();
        assert!(matches!(
            b.vault.get_record(&a_on_b, &bind_a).await,
            Err(VaultError::Decrypt { .. })
        ));

        // Wrapped keys and nonces swapped between rows.
        let mut a_with_b_key = a.clone();
        a_with_b_key.data_key = bb.data_key.clone();
        a_with_b_key.nonce = bb.nonce;
        assert!(matches!(
            b.vault.get_record(&a_with_b_key, &bind_a).await,
            Err(VaultError::Decrypt { .. })
        ));

        // The stored ciphertexts swapped between the two object keys.
        let (obj_a, obj_b) = (
            raw_read(b, &a.object_key).await,
            raw_read(b, &bb.object_key).await,
        );
        raw_write(b, &a.object_key, obj_b.clone()).await;
        raw_write(b, &bb.object_key, obj_a.clone()).await;
        for (record, bind) in [(&a, &bind_a), (&bb, &bind_b)] {
            assert!(matches!(
                b.vault.get_record(record, bind).await,
                Err(VaultError::Decrypt { .. })
            ));
            let report = b.vault.check(record, bind).await.unwrap();
            assert!(report.discrepancies.contains(&Discrepancy::DecryptFailed));
            assert!(matches!(
                report.discrepancies.first(),
                Some(Discrepancy::CiphertextAddressMismatch { .. })
            ));
        }
    }

    pub async fn list_and_delete(b: &Backend) {
        assert!(
            listed_keys(b).await.is_empty(),
            "{}: store not empty",
            b.name
        );
        let mut sealed = Vec::new();
        for v in 1..=3 {
            let bind = binding("rec-l", v);
            sealed.push((
                bind,
                b.vault.put_record(vec![v as u8; 100], &bind).await.unwrap(),
            ));
        }
        let mut expected: Vec<ObjectKey> =
            sealed.iter().map(|(_, s)| s.object_key.clone()).collect();
        expected.sort();
        assert_eq!(listed_keys(b).await, expected);
        let objects: Vec<_> = b.vault.list_objects().collect().await;
        for o in &objects {
            assert_eq!(o.as_ref().unwrap().size, 116);
        }

        let (bind, gone) = &sealed[1];
        b.vault.delete_object(&gone.object_key).await.unwrap();
        b.vault.delete_object(&gone.object_key).await.unwrap(); // idempotent
        expected.retain(|k| *k != gone.object_key);
        assert_eq!(listed_keys(b).await, expected);
        let err = b.vault.get_record(gone, bind).await.unwrap_err();
        assert!(
            matches!(err, VaultError::ObjectMissing { .. }),
            "{}: {err}",
            b.name
        );
        let report = b.vault.check(gone, bind).await.unwrap();
        assert_eq!(report.discrepancies, vec![Discrepancy::ObjectMissing]);
        let (bind0, kept) = &sealed[0];
        assert_eq!(
            b.vault.get_record(kept, bind0).await.unwrap(),
            vec![1u8; 100]
        );

        // Something under records/ that is not a content address is reported, not hidden.
        let stray = Path::from("records/zz/stray.bin");
        b.raw
            .put_opts(&stray, PutPayload::from(vec![1u8]), PutOptions::default())
            .await
            .unwrap();
        let items: Vec<_> = b.vault.list_objects().collect().await;
        assert_eq!(items.len(), 3, "{}", b.name);
        assert_eq!(
            items
                .iter()
                .filter(|r| matches!(r, Err(VaultError::ForeignObject { .. })))
                .count(),
            1
        );
    }

    pub async fn crypto_shredding_makes_the_object_unreadable(b: &Backend) {
        let bind = binding("rec-s", 1);
        let mut s = b
            .vault
            .put_record(NOTE.as_bytes().to_vec(), &bind)
            .await
            .unwrap();
        // The SQL layer destroys the wrapped key; the object itself is untouched.
        s.data_key.wrapped_key = [0u8; 40];
        let err = b.vault.get_record(&s, &bind).await.unwrap_err();
        assert!(
            matches!(err, VaultError::KeyUnwrap { .. }),
            "{}: {err}",
            b.name
        );
        b.vault.delete_object(&s.object_key).await.unwrap();
        assert!(listed_keys(b).await.is_empty());
    }

    pub async fn record_of_25_mib(b: &Backend) {
        let bind = binding("rec-big", 1);
        let plaintext: Vec<u8> = (0..MAX_RECORD_BYTES).map(|i| (i % 251) as u8).collect();
        let expected_hash = {
            use sha2::Digest as _;
            <[u8; 32]>::from(sha2::Sha256::digest(&plaintext))
        };
        let mut buffer = Vec::with_capacity(MAX_RECORD_BYTES + 16);
        buffer.extend_from_slice(&plaintext);
        let start = Instant::now();
        let s = b.vault.put_record(buffer, &bind).await.unwrap();
        let put = start.elapsed();
        assert_eq!(s.content_sha256, expected_hash);
        let start = Instant::now();
        let back = b.vault.get_record(&s, &bind).await.unwrap();
        let get = start.elapsed();
        assert!(back == plaintext, "{}: 25 MiB round trip differs", b.name);
        eprintln!("[{}] 25 MiB record: put {put:?}, get {get:?}", b.name);

        let err = b
            .vault
            .put_record(vec![0u8; MAX_RECORD_BYTES + 1], &bind)
            .await
            .unwrap_err();
        assert!(matches!(err, VaultError::TooLarge { .. }));
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod local_fs {
            $(
                #[tokio::test]
                async fn $name() {
                    let backend = super::common::Backend::local();
                    super::scenarios::$name(&backend).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(backend) = super::common::Backend::s3() else { return };
                    super::scenarios::$name(&backend).await;
                }
            )*
        }
    };
}

on_both_backends!(
    put_get_round_trip,
    tampered_object_is_detected,
    swapped_objects_and_metadata_are_detected,
    list_and_delete,
    crypto_shredding_makes_the_object_unreadable,
    record_of_25_mib,
);

#[tokio::test]
async fn s3_wrong_secret_is_rejected() {
    let Some(backend) = Backend::s3() else { return };
    let intruder = backend.s3_vault_with_secret("not-the-secret").unwrap();
    let bind = binding("rec-w", 1);
    let err = intruder.put_record(b"x".to_vec(), &bind).await.unwrap_err();
    let VaultError::Storage(source) = &err else {
        panic!("expected a storage error, got {err}");
    };
    let text = source.to_string();
    eprintln!("wrong secret answered: {text}");
    assert!(
        matches!(
            source,
            meditrustal_vault::object_store::Error::PermissionDenied { .. }
                | meditrustal_vault::object_store::Error::Unauthenticated { .. }
        ) && text.contains("403"),
        "expected an authentication failure (403), got {text}"
    );
    assert!(
        listed_keys(&backend).await.is_empty(),
        "nothing may be written"
    );

    // A record written with the right secret cannot be read or listed with the wrong one.
    let s = backend
        .vault
        .put_record(b"y".to_vec(), &bind)
        .await
        .unwrap();
    assert!(matches!(
        intruder.get_record(&s, &bind).await,
        Err(VaultError::Storage(_))
    ));
    assert!(matches!(
        intruder.list_objects().next().await,
        Some(Err(VaultError::Storage(_)))
    ));
    assert_eq!(backend.vault.get_record(&s, &bind).await.unwrap(), b"y");
}
