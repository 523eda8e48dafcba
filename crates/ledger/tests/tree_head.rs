//! Signed tree heads: encoding, round trip and every kind of tampering.

// Helpers outside #[test] functions are not "test code" to clippy; in this test crate
// unwrapping is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meditrustal_ledger::tree_head::{TREE_HEAD_DOMAIN, TREE_HEAD_SIGNING_LEN, signature_from_hex};
use meditrustal_ledger::{
    Hash, MemoryTree, SignedTreeHead, SigningKey, TreeHead, TreeHeadError, key_id,
    public_key_from_hex, public_key_to_hex, sign,
};

/// RFC 8032 §7.1 TEST 1 secret key and its public key.
const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn key(hex_secret: &str) -> SigningKey {
    let mut secret = [0u8; 32];
    hex::decode_to_slice(hex_secret, &mut secret).unwrap();
    SigningKey::from_bytes(&secret)
}

fn head() -> TreeHead {
    let mut tree = MemoryTree::new();
    for entry in [b"a".as_slice(), b"b", b"c"] {
        tree.append_entry(entry).unwrap();
    }
    TreeHead {
        tree_size: tree.size(),
        root: tree.root(),
        timestamp_ms: 1_764_800_000_000,
    }
}

#[test]
fn signing_bytes_layout_is_fixed() {
    let head = TreeHead {
        tree_size: 0x0102_0304_0506_0708,
        root: Hash([0xab; 32]),
        timestamp_ms: 0x1112_1314_1516_1718,
    };
    let bytes = head.signing_bytes();
    assert_eq!(TREE_HEAD_SIGNING_LEN, 73);
    assert_eq!(&bytes[..25], b"meditrustal-tree-head-v1\0");
    assert_eq!(&bytes[..25], TREE_HEAD_DOMAIN);
    assert_eq!(&bytes[25..33], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&bytes[33..65], &[0xab; 32]);
    assert_eq!(
        &bytes[65..73],
        &[0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
    );
}

#[test]
fn round_trip_and_public_key_encoding() {
    let signer = key(RFC8032_SECRET);
    let public = signer.verifying_key();
    assert_eq!(public_key_to_hex(&public), RFC8032_PUBLIC);
    assert_eq!(public_key_from_hex(RFC8032_PUBLIC).unwrap(), public);

    let sth = sign(&signer, head());
    assert_eq!(sth.verify(&public), Ok(()));
    // Ed25519 is deterministic: the same head always gets the same signature.
    assert_eq!(sign(&signer, head()), sth);
    assert_eq!(
        signature_from_hex(&sth.signature_hex()).unwrap(),
        sth.signature
    );

    let json = serde_json::to_value(&sth).unwrap();
    assert_eq!(json["head"]["tree_size"], 3);
    assert_eq!(json["head"]["root"], sth.head.root.to_hex());
    assert_eq!(json["signature"], sth.signature_hex());
    assert_eq!(sth.signature_hex().len(), 128);
    let back: SignedTreeHead = serde_json::from_value(json).unwrap();
    assert_eq!(back, sth);
    assert_eq!(back.verify(&public), Ok(()));
}

#[test]
fn any_change_breaks_the_signature() {
    let signer = key(RFC8032_SECRET);
    let public = signer.verifying_key();
    let sth = sign(&signer, head());

    let mut bigger = sth.clone();
    bigger.head.tree_size += 1;
    let mut other_root = sth.clone();
    other_root.head.root.0[31] ^= 1;
    let mut later = sth.clone();
    later.head.timestamp_ms += 1;
    let mut bad_sig = sth.clone();
    let mut sig_bytes = bad_sig.signature.to_bytes();
    sig_bytes[0] ^= 1;
    bad_sig.signature = meditrustal_ledger::Signature::from_bytes(&sig_bytes);
    for tampered in [bigger, other_root, later, bad_sig] {
        assert_eq!(tampered.verify(&public), Err(TreeHeadError::BadSignature));
    }

    let stranger = key("0000000000000000000000000000000000000000000000000000000000000001");
    assert_eq!(
        sth.verify(&stranger.verifying_key()),
        Err(TreeHeadError::BadSignature)
    );
    assert_ne!(key_id(&public), key_id(&stranger.verifying_key()));
}

#[test]
fn malformed_keys_and_signatures_are_errors() {
    assert!(matches!(
        public_key_from_hex("abcd"),
        Err(TreeHeadError::MalformedPublicKey(_))
    ));
    assert!(matches!(
        public_key_from_hex(&"zz".repeat(32)),
        Err(TreeHeadError::MalformedPublicKey(_))
    ));
    assert_eq!(
        signature_from_hex("00"),
        Err(TreeHeadError::MalformedSignature)
    );
    let json = r#"{"head":{"tree_size":1,"root":"00","timestamp_ms":0},"signature":"00"}"#;
    assert!(serde_json::from_str::<SignedTreeHead>(json).is_err());
}

#[test]
fn small_order_public_key_is_rejected_by_strict_verification() {
    // The identity point (y = 1) is a valid encoding of a small-order point: a forger's
    // favourite key. Strict verification must refuse every signature under it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = public_key_from_hex(&hex::encode(identity)).unwrap();
    let sth = sign(&key(RFC8032_SECRET), head());
    assert_eq!(sth.verify(&weak), Err(TreeHeadError::BadSignature));
}

#[test]
fn inclusion_must_be_checked_against_the_head_size() {
    use meditrustal_ledger::{VerifyError, verify_inclusion, verify_inclusion_in_head};
    let mut tree = MemoryTree::new();
    for i in 0u8..6 {
        tree.append_entry(&[i]).unwrap();
    }
    let head5 = TreeHead {
        tree_size: 5,
        root: tree.root_at(5).unwrap(),
        timestamp_ms: 1,
    };
    let proof = tree.inclusion_proof(0, 5).unwrap();
    let leaf = tree.leaf(0).unwrap();
    assert_eq!(verify_inclusion_in_head(&leaf, &proof, &head5), Ok(()));
    // The same path also "fits" size 6 against the size-5 root: the root alone does not
    // bind the size, which is why the head check exists.
    let relabelled = meditrustal_ledger::InclusionProof {
        tree_size: 6,
        ..proof
    };
    assert_eq!(verify_inclusion(&leaf, &relabelled, &head5.root), Ok(()));
    assert_eq!(
        verify_inclusion_in_head(&leaf, &relabelled, &head5),
        Err(VerifyError::TreeSizeMismatch {
            proof_size: 6,
            head_size: 5
        })
    );
}

#[test]
fn heads_of_one_log_are_consistent() {
    use meditrustal_ledger::verify_heads_consistent;
    let signer = key(RFC8032_SECRET);
    let mut tree = MemoryTree::new();
    for i in 0u16..300 {
        tree.append_entry(&i.to_be_bytes()).unwrap();
    }
    let at = |size: u64, timestamp_ms: u64| {
        sign(
            &signer,
            TreeHead {
                tree_size: size,
                root: tree.root_at(size).unwrap(),
                timestamp_ms,
            },
        )
    };
    let (old, new) = (at(123, 10), at(300, 20));
    assert_eq!(old.verify(&signer.verifying_key()), Ok(()));
    assert_eq!(new.verify(&signer.verifying_key()), Ok(()));
    let proof = tree.consistency_proof(123, 300).unwrap();
    assert_eq!(
        verify_heads_consistent(&old.head, &new.head, &proof),
        Ok(())
    );
    // A forked log (entry 50 rewritten) cannot prove it extends the old head.
    let mut fork = MemoryTree::new();
    for i in 0u16..300 {
        let entry = if i == 50 { 9999u16 } else { i };
        fork.append_entry(&entry.to_be_bytes()).unwrap();
    }
    let forged = TreeHead {
        tree_size: 300,
        root: fork.root(),
        timestamp_ms: 20,
    };
    let fork_proof = fork.consistency_proof(123, 300).unwrap();
    assert!(verify_heads_consistent(&old.head, &forged, &fork_proof).is_err());
    assert!(verify_heads_consistent(&old.head, &forged, &proof).is_err());
}
