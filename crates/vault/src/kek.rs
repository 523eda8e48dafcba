//! Key-encryption keys (KEKs): 256-bit AES keys that wrap per-record data keys.
//!
//! A KEK's id is derived from the key itself (first 8 bytes of
//! SHA-256("meditrustal/vault/kek-id/v1" ‖ key), hex), so the same master key always
//! has the same id and a stored id can be checked against the key it names. The id
//! reveals nothing usable about the key (SHA-256 preimage resistance). Key bytes
//! live in zeroize-on-drop memory and never appear in `Debug` output.

use crate::random::{RandomError, RandomSource};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// Length of a KEK in bytes (AES-256).
pub const KEK_LEN: usize = 32;
const KEK_ID_DOMAIN: &[u8] = b"meditrustal/vault/kek-id/v1";
const KEK_ID_HEX_LEN: usize = 16;

/// Why a KEK or KEK id could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// The master key is not standard, padded base64. (The input is not echoed: it is a secret.)
    #[error("the master key is not valid base64 (standard alphabet with padding)")]
    InvalidBase64,
    /// The key decoded to the wrong number of bytes.
    #[error(
        "the master key is {actual} bytes long; a key-encryption key must be exactly {expected} bytes (AES-256)"
    )]
    WrongLength {
        /// Always [`KEK_LEN`].
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// A KEK id that is not 16 lowercase hex digits.
    #[error("`{0}` is not a key id (expected 16 lowercase hex digits)")]
    InvalidId(String),
    /// Generating a key failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Identifies a KEK; stored beside every wrapped data key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KekId(String);

impl KekId {
    /// Parses a stored id (16 lowercase hex digits).
    pub fn parse(s: &str) -> Result<Self, KekError> {
        let well_formed = s.len() == KEK_ID_HEX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(Self(s.to_owned()))
        } else {
            Err(KekError::InvalidId(s.chars().take(64).collect()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn derive(key: &[u8; KEK_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(KEK_ID_DOMAIN)
            .chain_update(key)
            .finalize();
        let mut id = hex::encode(digest);
        id.truncate(KEK_ID_HEX_LEN);
        Self(id)
    }
}

impl TryFrom<String> for KekId {
    type Error = KekError;
    fn try_from(s: String) -> Result<Self, KekError> {
        Self::parse(&s)
    }
}

impl From<KekId> for String {
    fn from(id: KekId) -> Self {
        id.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KekId({})", self.0)
    }
}

/// A key-encryption key and its id.
pub struct Kek {
    id: KekId,
    key: Zeroizing<[u8; KEK_LEN]>,
}

impl Kek {
    /// A KEK from raw key bytes; the id is derived from the key.
    pub fn from_bytes(key: Zeroizing<[u8; KEK_LEN]>) -> Self {
        let id = KekId::derive(&key);
        Self { id, key }
    }

    /// Parses a base64 master key (e.g. the value of `MEDITRUSTAL_MASTER_KEY`).
    /// Surrounding whitespace is ignored.
    pub fn from_base64(encoded: &str) -> Result<Self, KekError> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| KekError::InvalidBase64)?,
        );
        let mut key = Zeroizing::new([0u8; KEK_LEN]);
        if decoded.len() != KEK_LEN {
            return Err(KekError::WrongLength {
                expected: KEK_LEN,
                actual: decoded.len(),
            });
        }
        key.copy_from_slice(&decoded);
        Ok(Self::from_bytes(key))
    }

    /// A fresh random KEK.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, KekError> {
        let mut key = Zeroizing::new([0u8; KEK_LEN]);
        rng.fill(key.as_mut_slice())?;
        Ok(Self::from_bytes(key))
    }

    /// The key as standard base64, for writing to a key file or a secret store.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.key.as_slice()))
    }

    /// This KEK's id.
    pub fn id(&self) -> &KekId {
        &self.id
    }

    pub(crate) fn key_bytes(&self) -> &[u8; KEK_LEN] {
        &self.key
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::fixed::CountingRandom;

    const SAMPLE_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn base64_master_key_round_trips_and_has_stable_id() {
        let a = Kek::from_base64(SAMPLE_B64).unwrap();
        let b = Kek::from_base64(&format!("  {SAMPLE_B64}\n")).unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.to_base64().as_str(), SAMPLE_B64);
        let expected: [u8; 32] = core::array::from_fn(|i| i as u8);
        assert_eq!(a.key_bytes(), &expected);
        assert_eq!(a.id().as_str().len(), 16);
    }

    #[test]
    fn id_is_derived_from_a_domain_separated_hash() {
        let kek = Kek::from_base64(SAMPLE_B64).unwrap();
        let mut h = Sha256::new();
        h.update(b"meditrustal/vault/kek-id/v1");
        h.update(kek.key_bytes());
        let full = hex::encode(h.finalize());
        assert_eq!(kek.id().as_str(), &full[..16]);
    }

    #[test]
    fn wrong_lengths_are_rejected_with_the_length() {
        let short = STANDARD.encode([7u8; 16]);
        let long = STANDARD.encode([7u8; 33]);
        for (input, actual) in [(short, 16), (long, 33), (String::new(), 0)] {
            match Kek::from_base64(&input) {
                Err(KekError::WrongLength {
                    expected: 32,
                    actual: a,
                }) => assert_eq!(a, actual),
                other => panic!("expected WrongLength for {actual} bytes, got {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_base64_is_rejected_without_echoing_the_input() {
        let err = Kek::from_base64("not*base64!secret").unwrap_err();
        assert!(matches!(err, KekError::InvalidBase64));
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let kek = Kek::from_base64(SAMPLE_B64).unwrap();
        let dbg = format!("{kek:?}");
        assert!(dbg.contains("<redacted>"));
        assert!(!dbg.contains(SAMPLE_B64));
        assert!(!dbg.contains("[0, 1, 2"));
    }

    #[test]
    fn generated_keys_differ() {
        let rng = CountingRandom::default();
        let a = Kek::generate(&rng).unwrap();
        let b = Kek::generate(&rng).unwrap();
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn kek_id_parsing() {
        assert!(KekId::parse("0123456789abcdef").is_ok());
        for bad in [
            "",
            "0123456789ABCDEF",
            "0123456789abcde",
            "0123456789abcdefa",
            "../../etc/passwd",
        ] {
            assert!(KekId::parse(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&KekId::parse("0123456789abcdef").unwrap()).unwrap();
        assert_eq!(json, "\"0123456789abcdef\"");
        assert!(serde_json::from_str::<KekId>("\"nothex\"").is_err());
    }
}
