//! The set of KEKs a process holds: one active KEK that wraps new data keys, plus
//! retired KEKs (by id) that still unwrap older records until they are re-wrapped.

use crate::envelope::{DataKey, EnvelopeError, WrappedDataKey, unwrap_data_key, wrap_data_key};
use crate::kek::{Kek, KekError, KekId};
use std::collections::BTreeMap;

/// The environment variable the `meditrustal` binary reads a base64 master key from;
/// when set, it replaces the key directory (see [`KeyRing::from_master_key`]).
pub const MASTER_KEY_ENV: &str = "MEDITRUSTAL_MASTER_KEY";

/// Why a key-ring operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// The wrapped key names a KEK this ring does not hold (retired and removed, or another deployment's).
    #[error("key-encryption key {kek_id} is not in the key ring")]
    UnknownKek {
        /// The id the wrapped key names.
        kek_id: KekId,
    },
    /// Wrapping or unwrapping failed.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

/// The active KEK plus older ones by id.
#[derive(Debug)]
pub struct KeyRing {
    active: KekId,
    keks: BTreeMap<KekId, Kek>,
}

impl KeyRing {
    /// A ring whose only (and active) KEK is `active`.
    pub fn new(active: Kek) -> Self {
        let id = active.id().clone();
        let mut keks = BTreeMap::new();
        keks.insert(id.clone(), active);
        Self { active: id, keks }
    }

    /// A ring from a base64 master key (`MEDITRUSTAL_MASTER_KEY`); the KEK id is
    /// derived from the key, so it is the same on every start.
    pub fn from_master_key(encoded: &str) -> Result<Self, KekError> {
        Ok(Self::new(Kek::from_base64(encoded)?))
    }

    /// Adds an older KEK that may still unwrap records. The active KEK stays as it is;
    /// adding a KEK that is already present changes nothing.
    pub fn add_retired(&mut self, kek: Kek) {
        self.keks.entry(kek.id().clone()).or_insert(kek);
    }

    /// Makes the KEK with `id` (already in the ring) the one that wraps new data keys.
    pub fn set_active(&mut self, id: &KekId) -> Result<(), KeyRingError> {
        if !self.keks.contains_key(id) {
            return Err(KeyRingError::UnknownKek { kek_id: id.clone() });
        }
        self.active = id.clone();
        Ok(())
    }

    /// The id of the KEK that wraps new data keys.
    pub fn active_id(&self) -> &KekId {
        &self.active
    }

    /// Ids of every KEK held, active included, in order.
    pub fn ids(&self) -> impl Iterator<Item = &KekId> {
        self.keks.keys()
    }

    /// Whether the ring holds a KEK with this id.
    pub fn contains(&self, id: &KekId) -> bool {
        self.keks.contains_key(id)
    }

    fn kek(&self, id: &KekId) -> Result<&Kek, KeyRingError> {
        self.keks
            .get(id)
            .ok_or_else(|| KeyRingError::UnknownKek { kek_id: id.clone() })
    }

    /// Wraps a data key under the active KEK.
    pub fn wrap(&self, data_key: &DataKey) -> Result<WrappedDataKey, KeyRingError> {
        Ok(wrap_data_key(self.kek(&self.active)?, data_key))
    }

    /// Unwraps a data key with the KEK its `kek_id` names.
    pub fn unwrap(&self, wrapped: &WrappedDataKey) -> Result<DataKey, KeyRingError> {
        Ok(unwrap_data_key(self.kek(&wrapped.kek_id)?, wrapped)?)
    }

    /// Re-wraps a data key under `new_kek` (KEK rotation). The record's ciphertext,
    /// nonce and object are unchanged; only the metadata row's wrapped key and KEK id change.
    pub fn rewrap(
        &self,
        wrapped: &WrappedDataKey,
        new_kek: &KekId,
    ) -> Result<WrappedDataKey, KeyRingError> {
        let data_key = self.unwrap(wrapped)?;
        Ok(wrap_data_key(self.kek(new_kek)?, &data_key))
    }

    /// Re-wraps a data key under the active KEK.
    pub fn rewrap_to_active(
        &self,
        wrapped: &WrappedDataKey,
    ) -> Result<WrappedDataKey, KeyRingError> {
        self.rewrap(wrapped, &self.active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::fixed::CountingRandom;

    #[test]
    fn rewrap_moves_a_data_key_to_the_new_kek() {
        let rng = CountingRandom::default();
        let old = Kek::generate(&rng).unwrap();
        let new = Kek::generate(&rng).unwrap();
        let new_id = new.id().clone();
        let mut ring = KeyRing::new(old);
        let dk = DataKey::generate(&rng).unwrap();
        let wrapped_old = ring.wrap(&dk).unwrap();

        ring.add_retired(new);
        ring.set_active(&new_id).unwrap();
        let wrapped_new = ring.rewrap_to_active(&wrapped_old).unwrap();
        assert_eq!(wrapped_new.kek_id, new_id);
        assert_ne!(wrapped_new.wrapped_key, wrapped_old.wrapped_key);
        ring.unwrap(&wrapped_new).unwrap();

        // A ring holding only the new KEK reads the re-wrapped key but not the old one.
        let only_new = KeyRing::new(Kek::from_bytes(zeroize::Zeroizing::new([0u8; 32])));
        assert!(matches!(
            only_new.unwrap(&wrapped_old),
            Err(KeyRingError::UnknownKek { .. })
        ));
    }

    #[test]
    fn unknown_kek_ids_are_reported() {
        let rng = CountingRandom::default();
        let mut ring = KeyRing::new(Kek::generate(&rng).unwrap());
        let other = KeyRing::new(Kek::generate(&rng).unwrap());
        let wrapped = other.wrap(&DataKey::generate(&rng).unwrap()).unwrap();
        match ring.unwrap(&wrapped) {
            Err(KeyRingError::UnknownKek { kek_id }) => assert_eq!(&kek_id, other.active_id()),
            other => panic!("expected UnknownKek, got {other:?}"),
        }
        assert!(ring.set_active(other.active_id()).is_err());
        assert!(ring.rewrap(&wrapped, ring.active_id()).is_err());
    }

    #[test]
    fn same_id_under_a_different_key_fails_to_unwrap() {
        // A wrapped key whose kek_id was edited to name another KEK must not unwrap.
        let rng = CountingRandom::default();
        let a = Kek::generate(&rng).unwrap();
        let b = Kek::generate(&rng).unwrap();
        let b_id = b.id().clone();
        let mut ring = KeyRing::new(a);
        ring.add_retired(b);
        let mut wrapped = ring.wrap(&DataKey::generate(&rng).unwrap()).unwrap();
        wrapped.kek_id = b_id;
        assert!(matches!(
            ring.unwrap(&wrapped),
            Err(KeyRingError::Envelope(EnvelopeError::UnwrapFailed { .. }))
        ));
    }

    #[test]
    fn master_key_ring_has_a_stable_id_and_debug_hides_keys() {
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let a = KeyRing::from_master_key(b64).unwrap();
        let b = KeyRing::from_master_key(b64).unwrap();
        assert_eq!(a.active_id(), b.active_id());
        assert_eq!(a.ids().count(), 1);
        let dbg = format!("{a:?}");
        assert!(dbg.contains("<redacted>") && !dbg.contains(b64));
        assert!(KeyRing::from_master_key("c2hvcnQ=").is_err());
    }
}
