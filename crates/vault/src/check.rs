//! What `meditrustal verify` learns about one record version's ciphertext.

use crate::kek::KekId;
use crate::object_key::ObjectKey;
use serde::Serialize;
use std::fmt;

/// One way a stored record differs from its metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// No object at the metadata's key.
    ObjectMissing,
    /// The object is larger than any record can be; it was not downloaded.
    ObjectTooLarge {
        /// Its size in bytes.
        size: u64,
    },
    /// The object's bytes no longer hash to the content address they are stored under:
    /// the object was overwritten.
    CiphertextAddressMismatch {
        /// SHA-256 (hex) of the bytes found.
        actual_sha256: String,
    },
    /// The object's length differs from the metadata.
    CiphertextLengthMismatch {
        /// Length in the metadata.
        expected: u64,
        /// Length found.
        actual: u64,
    },
    /// The metadata names a KEK that is not in the key ring.
    UnknownKek {
        /// That KEK's id.
        kek_id: KekId,
    },
    /// The wrapped data key does not unwrap under its KEK.
    KeyUnwrapFailed {
        /// The KEK tried.
        kek_id: KekId,
    },
    /// AES-GCM authentication failed. After a `CiphertextAddressMismatch` the object was
    /// modified; without one the object is as written, so the metadata row (nonce,
    /// wrapped key) or the record binding is what changed.
    DecryptFailed,
    /// The plaintext's SHA-256 differs from the stored one.
    PlaintextHashMismatch {
        /// Stored (hex).
        expected: String,
        /// Computed (hex).
        actual: String,
    },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ObjectMissing => f.write_str("object missing"),
            Self::ObjectTooLarge { size } => write!(f, "object too large ({size} bytes)"),
            Self::CiphertextAddressMismatch { actual_sha256 } => {
                write!(f, "object content hashes to {actual_sha256}, not its key")
            }
            Self::CiphertextLengthMismatch { expected, actual } => {
                write!(f, "ciphertext is {actual} bytes, metadata says {expected}")
            }
            Self::UnknownKek { kek_id } => write!(f, "key-encryption key {kek_id} not loaded"),
            Self::KeyUnwrapFailed { kek_id } => {
                write!(
                    f,
                    "data key does not unwrap under key-encryption key {kek_id}"
                )
            }
            Self::DecryptFailed => f.write_str("ciphertext failed authentication"),
            Self::PlaintextHashMismatch { expected, actual } => {
                write!(f, "plaintext SHA-256 is {actual}, expected {expected}")
            }
        }
    }
}

/// The result of checking one record version; empty `discrepancies` means it is intact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct CheckReport {
    /// The object checked.
    pub object_key: ObjectKey,
    /// Everything that differs, in the order found.
    pub discrepancies: Vec<Discrepancy>,
}

impl CheckReport {
    pub(crate) fn new(object_key: ObjectKey) -> Self {
        Self {
            object_key,
            discrepancies: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, d: Discrepancy) {
        self.discrepancies.push(d);
    }

    /// Whether nothing differs.
    pub fn is_ok(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(f, "{}: ok", self.object_key);
        }
        write!(f, "{}:", self.object_key)?;
        for (i, d) in self.discrepancies.iter().enumerate() {
            write!(f, "{} {d}", if i == 0 { "" } else { ";" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_every_difference() {
        let mut r = CheckReport::new(ObjectKey::for_ciphertext(b"abc"));
        assert!(r.is_ok());
        assert!(r.to_string().ends_with(": ok"));
        r.push(Discrepancy::CiphertextAddressMismatch {
            actual_sha256: "ff".into(),
        });
        r.push(Discrepancy::DecryptFailed);
        assert!(!r.is_ok());
        let text = r.to_string();
        assert!(
            text.contains("hashes to ff") && text.contains("; ciphertext failed authentication")
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["discrepancies"][0]["kind"],
            "ciphertext_address_mismatch"
        );
        assert_eq!(json["discrepancies"][1]["kind"], "decrypt_failed");
    }
}
