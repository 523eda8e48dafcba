//! Binding a ciphertext to the record version it belongs to.
//!
//! The AEAD associated data is an unambiguous encoding of (record id, patient id,
//! version), so a ciphertext moved to another record, patient or version fails
//! authentication (DESIGN §3.4). Layout, all integers big-endian:
//!
//! ```text
//! "meditrustal/vault/aad/v1"        24 bytes, domain and format version
//! u32 len(record_id)  || record_id   UTF-8 bytes
//! u32 len(patient_id) || patient_id  UTF-8 bytes
//! u64 version
//! ```
//!
//! Length prefixes make the encoding injective: ("ab", "c") and ("a", "bc") differ.

/// Domain-separation prefix; bump the suffix if the layout ever changes.
const AAD_DOMAIN: &[u8] = b"meditrustal/vault/aad/v1";

/// Why a binding cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// Record and patient ids must be non-empty.
    #[error("the {field} is empty")]
    EmptyId {
        /// `record_id` or `patient_id`.
        field: &'static str,
    },
    /// An id longer than a u32 length prefix can describe.
    #[error("the {field} is longer than 4 GiB")]
    IdTooLong {
        /// `record_id` or `patient_id`.
        field: &'static str,
    },
}

/// The record version a ciphertext belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordBinding<'a> {
    /// The record's id (pseudonymous, e.g. a UUID).
    pub record_id: &'a str,
    /// The owning patient's id.
    pub patient_id: &'a str,
    /// The record version (1, 2, …).
    pub version: u64,
}

impl<'a> RecordBinding<'a> {
    /// A binding for `record_id` of `patient_id` at `version`.
    pub fn new(record_id: &'a str, patient_id: &'a str, version: u64) -> Self {
        Self {
            record_id,
            patient_id,
            version,
        }
    }

    /// The AEAD associated data for this binding (layout in the module doc).
    pub fn associated_data(&self) -> Result<Vec<u8>, BindingError> {
        let record_len = id_len("record_id", self.record_id)?;
        let patient_len = id_len("patient_id", self.patient_id)?;
        let mut aad = Vec::with_capacity(
            AAD_DOMAIN.len() + 4 + self.record_id.len() + 4 + self.patient_id.len() + 8,
        );
        aad.extend_from_slice(AAD_DOMAIN);
        aad.extend_from_slice(&record_len.to_be_bytes());
        aad.extend_from_slice(self.record_id.as_bytes());
        aad.extend_from_slice(&patient_len.to_be_bytes());
        aad.extend_from_slice(self.patient_id.as_bytes());
        aad.extend_from_slice(&self.version.to_be_bytes());
        Ok(aad)
    }
}

fn id_len(field: &'static str, id: &str) -> Result<u32, BindingError> {
    if id.is_empty() {
        return Err(BindingError::EmptyId { field });
    }
    u32::try_from(id.len()).map_err(|_| BindingError::IdTooLong { field })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_matches_the_documented_encoding() {
        let aad = RecordBinding::new("r1", "p22", 7)
            .associated_data()
            .unwrap();
        let mut expected = b"meditrustal/vault/aad/v1".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 2]);
        expected.extend_from_slice(b"r1");
        expected.extend_from_slice(&[0, 0, 0, 3]);
        expected.extend_from_slice(b"p22");
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
        assert_eq!(aad, expected);
    }

    #[test]
    fn shifting_bytes_between_fields_changes_the_encoding() {
        let a = RecordBinding::new("ab", "c", 1).associated_data().unwrap();
        let b = RecordBinding::new("a", "bc", 1).associated_data().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn empty_ids_are_rejected() {
        assert_eq!(
            RecordBinding::new("", "p", 1).associated_data(),
            Err(BindingError::EmptyId { field: "record_id" })
        );
        assert_eq!(
            RecordBinding::new("r", "", 1).associated_data(),
            Err(BindingError::EmptyId {
                field: "patient_id"
            })
        );
    }

    proptest! {
        #[test]
        fn encoding_is_injective(
            r1 in "\\PC{1,12}", p1 in "\\PC{1,12}", v1 in 0u64..4,
            r2 in "\\PC{1,12}", p2 in "\\PC{1,12}", v2 in 0u64..4,
        ) {
            let a = RecordBinding::new(&r1, &p1, v1).associated_data().unwrap();
            let b = RecordBinding::new(&r2, &p2, v2).associated_data().unwrap();
            prop_assert_eq!(a == b, r1 == r2 && p1 == p2 && v1 == v2);
        }

        #[test]
        fn split_points_never_collide(s in "[a-z]{2,16}", cut1 in 1usize..16, cut2 in 1usize..16) {
            let (c1, c2) = (cut1.min(s.len() - 1), cut2.min(s.len() - 1));
            let a = RecordBinding::new(&s[..c1], &s[c1..], 1).associated_data().unwrap();
            let b = RecordBinding::new(&s[..c2], &s[c2..], 1).associated_data().unwrap();
            prop_assert_eq!(a == b, c1 == c2);
        }
    }
}
