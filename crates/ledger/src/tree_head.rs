//! Ed25519-signed tree heads and the log's public key encoding.
//!
//! Signed bytes (73 bytes, fixed layout, no length ambiguity):
//!
//! ```text
//! b"meditrustal-tree-head-v1\0"   25 bytes  domain separation (never valid for other uses)
//! tree_size                         8 bytes  big-endian u64
//! root                             32 bytes  MTH of the first tree_size leaves
//! timestamp_ms                      8 bytes  big-endian u64, milliseconds since the Unix epoch
//! ```

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::hash::{HASH_LEN, Hash};

/// Domain-separation prefix of the signed tree head bytes.
pub const TREE_HEAD_DOMAIN: &[u8; 25] = b"meditrustal-tree-head-v1\0";

/// Length of [`TreeHead::signing_bytes`].
pub const TREE_HEAD_SIGNING_LEN: usize = TREE_HEAD_DOMAIN.len() + 8 + HASH_LEN + 8;

/// A statement of the log's state: its size and root at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// Number of leaves.
    pub tree_size: u64,
    /// Merkle root of those leaves.
    pub root: Hash,
    /// When the head was made, milliseconds since the Unix epoch (given by the caller).
    pub timestamp_ms: u64,
}

impl TreeHead {
    /// The exact bytes that are signed (layout in the module docs).
    pub fn signing_bytes(&self) -> [u8; TREE_HEAD_SIGNING_LEN] {
        let mut out = [0u8; TREE_HEAD_SIGNING_LEN];
        let fields = TREE_HEAD_DOMAIN
            .iter()
            .copied()
            .chain(self.tree_size.to_be_bytes())
            .chain(self.root.0)
            .chain(self.timestamp_ms.to_be_bytes());
        for (slot, byte) in out.iter_mut().zip(fields) {
            *slot = byte;
        }
        out
    }
}

/// A tree head with the log's Ed25519 signature over [`TreeHead::signing_bytes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    /// The signed statement.
    pub head: TreeHead,
    /// Ed25519 signature, 128 hex digits in serde.
    #[serde(
        serialize_with = "serialize_signature",
        deserialize_with = "deserialize_signature"
    )]
    pub signature: Signature,
}

/// Why a signature or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeHeadError {
    /// The signature does not match the head under this key.
    #[error("the tree head signature does not verify under the log key")]
    BadSignature,
    /// The public key text is not 64 hex digits of a valid Ed25519 point.
    #[error("malformed Ed25519 public key: {0}")]
    MalformedPublicKey(&'static str),
    /// The signature text is not 128 hex digits.
    #[error("malformed Ed25519 signature: expected 128 hex digits")]
    MalformedSignature,
}

/// Signs `head` with the log key.
pub fn sign(key: &SigningKey, head: TreeHead) -> SignedTreeHead {
    SignedTreeHead {
        head,
        signature: key.sign(&head.signing_bytes()),
    }
}

impl SignedTreeHead {
    /// Checks the signature with the log's public key (strict RFC 8032 verification:
    /// rejects small-order keys and non-canonical signatures).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), TreeHeadError> {
        key.verify_strict(&self.head.signing_bytes(), &self.signature)
            .map_err(|_| TreeHeadError::BadSignature)
    }

    /// The signature as 128 lowercase hex digits.
    pub fn signature_hex(&self) -> String {
        hex::encode(self.signature.to_bytes())
    }
}

/// The public key as 64 lowercase hex digits (for the `/proof` and `/ledger/head` answers).
pub fn public_key_to_hex(key: &VerifyingKey) -> String {
    hex::encode(key.to_bytes())
}

/// Parses a public key from 64 hex digits.
pub fn public_key_from_hex(text: &str) -> Result<VerifyingKey, TreeHeadError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes)
        .map_err(|_| TreeHeadError::MalformedPublicKey("expected 64 hex digits"))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| TreeHeadError::MalformedPublicKey("not a point on the curve"))
}

/// Key identifier: SHA-256 of the 32 public key bytes, so clients can tell keys apart
/// after a rotation.
pub fn key_id(key: &VerifyingKey) -> Hash {
    Hash(Sha256::digest(key.as_bytes()).into())
}

/// Parses a signature from 128 hex digits.
pub fn signature_from_hex(text: &str) -> Result<Signature, TreeHeadError> {
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(text, &mut bytes).map_err(|_| TreeHeadError::MalformedSignature)?;
    Ok(Signature::from_bytes(&bytes))
}

fn serialize_signature<S: Serializer>(sig: &Signature, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(sig.to_bytes()))
}

fn deserialize_signature<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Signature, D::Error> {
    let text = String::deserialize(deserializer)?;
    signature_from_hex(&text).map_err(serde::de::Error::custom)
}
