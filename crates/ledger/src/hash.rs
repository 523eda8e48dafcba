//! RFC 9162 hashing: the 32-byte [`Hash`](struct@Hash) value and the leaf/node domain separation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Prefix byte of a leaf hash (RFC 9162 §2.1.1); keeps leaves and interior nodes apart.
const LEAF_PREFIX: u8 = 0x00;
/// Prefix byte of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// Length in bytes of every hash in the log (SHA-256).
pub const HASH_LEN: usize = 32;

/// A SHA-256 digest: a leaf hash, a node hash or a tree root.
///
/// Debug, Display and serde use lowercase hex (64 characters).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; HASH_LEN]);

/// Why a hex string is not a [`Hash`](struct@Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// The text does not have 64 hex digits.
    #[error("a hash has {expected} hex digits, got {actual}")]
    WrongLength {
        /// Digits required.
        expected: usize,
        /// Digits given.
        actual: usize,
    },
    /// The text holds a character that is not a hex digit.
    #[error("a hash is hex, got a non-hex character")]
    NotHex,
}

impl Hash {
    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
        let expected = HASH_LEN * 2;
        if text.len() != expected {
            return Err(HashParseError::WrongLength {
                expected,
                actual: text.len(),
            });
        }
        let mut bytes = [0u8; HASH_LEN];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| HashParseError::NotHex)?;
        Ok(Self(bytes))
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }
}

impl From<[u8; HASH_LEN]> for Hash {
    fn from(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Hash of a log entry: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(entry);
    Hash(hasher.finalize().into())
}

/// Hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        // SHA-256("") from FIPS 180-2 examples / RFC 9162 §2.1.1.
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // The first RFC 6962 test leaf is the empty entry; its hash is the size-1 root
        // listed in transparency-dev/merkle proof/verify_test.go.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let a = leaf_hash(b"a");
        assert_ne!(node_hash(&a, &a), leaf_hash(&[a.0, a.0].concat()));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()), Ok(h));
        assert_eq!(
            Hash::from_hex("abc"),
            Err(HashParseError::WrongLength {
                expected: 64,
                actual: 3
            })
        );
        let bad = format!("{}zz", &h.to_hex()[..62]);
        assert_eq!(Hash::from_hex(&bad), Err(HashParseError::NotHex));
        // A multi-byte character must not be sliced or accepted.
        let wide = format!("é{}", &h.to_hex()[..62]);
        assert_eq!(Hash::from_hex(&wide), Err(HashParseError::NotHex));
    }

    #[test]
    fn serde_and_debug_use_hex() {
        let h = leaf_hash(b"");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            "\"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d\""
        );
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<Hash>("\"00\"").is_err());
        assert_eq!(format!("{h:?}"), format!("Hash({h})"));
    }
}
