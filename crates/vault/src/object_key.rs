//! Content-derived object keys.
//!
//! A ciphertext is stored at `records/<h0h1>/<h2h3>/<h>`, where `h` is the lowercase hex
//! SHA-256 of the ciphertext (tag included). Writing the same ciphertext twice writes the
//! same object, and a crash between the object write and the metadata commit leaves
//! only an orphan that `meditrustal gc` can find by listing (DESIGN §3.3). The two
//! fan-out levels keep directories small on the filesystem backend.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The prefix under which every record object lives.
pub const RECORDS_PREFIX: &str = "records";
const HASH_HEX_LEN: usize = 64;

/// A path that is not a content-derived record key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a record object key (expected records/xx/yy/<64 hex digits>)")]
pub struct InvalidObjectKey(pub String);

/// The location of a record's ciphertext in the object store.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

impl ObjectKey {
    /// The key for this ciphertext.
    pub fn for_ciphertext(ciphertext: &[u8]) -> Self {
        Self::from_digest(&Sha256::digest(ciphertext).into())
    }

    /// The key for a ciphertext with this SHA-256.
    pub fn from_digest(digest: &[u8; 32]) -> Self {
        let h = hex::encode(digest);
        let (a, b) = (h.get(0..2).unwrap_or(""), h.get(2..4).unwrap_or(""));
        Self(format!("{RECORDS_PREFIX}/{a}/{b}/{h}"))
    }

    /// Parses a stored key, accepting only the exact content-derived shape.
    pub fn parse(s: &str) -> Result<Self, InvalidObjectKey> {
        let invalid = || InvalidObjectKey(s.chars().take(200).collect());
        let mut parts = s.split('/');
        let (Some(prefix), Some(a), Some(b), Some(h), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid());
        };
        let is_hex = h.len() == HASH_HEX_LEN
            && h.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if prefix != RECORDS_PREFIX || !is_hex || h.get(0..2) != Some(a) || h.get(2..4) != Some(b) {
            return Err(invalid());
        }
        Ok(Self(s.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ciphertext SHA-256 (hex) this key names.
    pub fn ciphertext_sha256_hex(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    pub(crate) fn to_path(&self) -> object_store::path::Path {
        object_store::path::Path::from(self.0.as_str())
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = InvalidObjectKey;
    fn try_from(s: String) -> Result<Self, InvalidObjectKey> {
        Self::parse(&s)
    }
}

impl From<ObjectKey> for String {
    fn from(k: ObjectKey) -> Self {
        k.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_is_the_fanned_out_sha256_of_the_ciphertext() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let key = ObjectKey::for_ciphertext(b"abc");
        assert_eq!(
            key.as_str(),
            "records/ba/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            key.ciphertext_sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(key.to_path().as_ref(), key.as_str());
    }

    #[test]
    fn malformed_keys_are_rejected() {
        let good = ObjectKey::for_ciphertext(b"x").as_str().to_owned();
        let hash = good.rsplit('/').next().unwrap().to_owned();
        let bad = [
            String::new(),
            format!("records/00/00/{hash}"),
            format!("other/{}/{}/{hash}", &hash[..2], &hash[2..4]),
            format!("{good}/extra"),
            format!(
                "records/{}/{}/{}",
                &hash[..2],
                &hash[2..4],
                hash.to_uppercase()
            ),
            format!("records/{}/{}/{}", &hash[..2], &hash[2..4], &hash[..63]),
            "records/../../etc/passwd".to_owned(),
            "records/ab/cd/é".to_owned(),
        ];
        for b in bad {
            assert!(ObjectKey::parse(&b).is_err(), "{b}");
        }
        assert_eq!(ObjectKey::parse(&good).unwrap().as_str(), good);
    }

    proptest! {
        #[test]
        fn generated_keys_parse_back(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let key = ObjectKey::for_ciphertext(&data);
            prop_assert_eq!(ObjectKey::parse(key.as_str()).unwrap(), key);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,100}") {
            let _ = ObjectKey::parse(&s);
        }
    }
}
