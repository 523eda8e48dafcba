//! Envelope encryption primitives.
//!
//! * Record content: AES-256-GCM under a fresh random 256-bit data key with a random
//!   96-bit nonce, encrypted in place; the 16-byte tag is appended.
//!   One data key encrypts exactly one record version, so nonce reuse under a key
//!   cannot happen.
//! * Data keys: wrapped with AES-256 Key Wrap (RFC 3394, NIST SP 800-38F "KW") under a
//!   KEK. KW is deterministic and needs no nonce, so a KEK can wrap any number of
//!   data keys; its integrity check makes unwrapping under the wrong KEK fail.

use crate::kek::{Kek, KekId};
use crate::random::{RandomError, RandomSource};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce as GcmNonce};
use aes_kw::KwAes256;
use aes_kw::cipher::consts::U32;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// Data key length (AES-256).
pub const DATA_KEY_LEN: usize = 32;
/// AES-GCM nonce length (96 bits).
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length appended to every ciphertext.
pub const TAG_LEN: usize = 16;
/// A KW-wrapped 256-bit key: the key plus the 8-byte integrity block.
pub const WRAPPED_KEY_LEN: usize = DATA_KEY_LEN + 8;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Generating a key or nonce failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The wrapped key does not unwrap under the named KEK: wrong KEK or a corrupted wrapped key.
    #[error(
        "the data key does not unwrap under key-encryption key {kek_id} (wrong key or corrupted wrapped key)"
    )]
    UnwrapFailed {
        /// The KEK that was tried.
        kek_id: KekId,
    },
    /// AES-GCM authentication failed: the ciphertext, nonce, data key or the record binding differ
    /// from what was sealed.
    #[error(
        "the ciphertext failed authentication (tampered, or bound to another record, patient or version)"
    )]
    DecryptFailed,
    /// Encryption refused the input (it exceeds AES-GCM's limits).
    #[error("AES-GCM refused to encrypt the record")]
    EncryptFailed,
}

/// A per-record-version data key (never stored unwrapped).
pub struct DataKey(Zeroizing<[u8; DATA_KEY_LEN]>);

impl DataKey {
    /// A fresh random data key.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, EnvelopeError> {
        let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
        rng.fill(key.as_mut_slice())?;
        Ok(Self(key))
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; DATA_KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&*self.0).into())
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A random 96-bit AES-GCM nonce.
pub fn generate_nonce(rng: &dyn RandomSource) -> Result<[u8; NONCE_LEN], EnvelopeError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)?;
    Ok(nonce)
}

/// A data key wrapped under a KEK, with that KEK's id. Safe to store and log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct WrappedDataKey {
    /// The KEK that wrapped the key.
    pub kek_id: KekId,
    /// RFC 3394 output, hex in serialised form.
    #[serde(with = "hex::serde")]
    pub wrapped_key: [u8; WRAPPED_KEY_LEN],
}

/// Wraps `data_key` under `kek` (AES-256-KW).
pub fn wrap_data_key(kek: &Kek, data_key: &DataKey) -> WrappedDataKey {
    let kw = KwAes256::new(kek.key_bytes().into());
    let wrapped = kw.wrap_fixed_key::<U32>((&*data_key.0).into());
    WrappedDataKey {
        kek_id: kek.id().clone(),
        wrapped_key: wrapped.into(),
    }
}

/// Unwraps `wrapped` with `kek`; fails if `kek` is not the key that wrapped it.
pub fn unwrap_data_key(kek: &Kek, wrapped: &WrappedDataKey) -> Result<DataKey, EnvelopeError> {
    let kw = KwAes256::new(kek.key_bytes().into());
    let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
    let unwrapped = kw
        .unwrap_key(&wrapped.wrapped_key, key.as_mut_slice())
        .map_err(|_| EnvelopeError::UnwrapFailed {
            kek_id: kek.id().clone(),
        })?;
    if unwrapped.len() != DATA_KEY_LEN {
        return Err(EnvelopeError::UnwrapFailed {
            kek_id: kek.id().clone(),
        });
    }
    Ok(DataKey(key))
}

/// Encrypts `buffer` in place and appends the tag. Reserve [`TAG_LEN`] spare capacity
/// beforehand to avoid a reallocation that would leave a plaintext copy on the heap.
pub fn seal_in_place(
    key: &DataKey,
    nonce: &[u8; NONCE_LEN],
    associated_data: &[u8],
    buffer: &mut Vec<u8>,
) -> Result<(), EnvelopeError> {
    let nonce = GcmNonce::from(*nonce);
    key.cipher()
        .encrypt_in_place(&nonce, associated_data, buffer)
        .map_err(|_| EnvelopeError::EncryptFailed)
}

/// Authenticates and decrypts `buffer` (ciphertext ‖ tag) in place, leaving the plaintext.
pub fn open_in_place(
    key: &DataKey,
    nonce: &[u8; NONCE_LEN],
    associated_data: &[u8],
    buffer: &mut Vec<u8>,
) -> Result<(), EnvelopeError> {
    let nonce = GcmNonce::from(*nonce);
    key.cipher()
        .decrypt_in_place(&nonce, associated_data, buffer)
        .map_err(|_| EnvelopeError::DecryptFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::fixed::CountingRandom;

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// NIST CAVP gcmEncryptExtIV256.rsp (96-bit IV, 128-bit tag), as carried in the
    /// RustCrypto aes-gcm test suite.
    #[test]
    fn aes_256_gcm_matches_nist_cavp_vector() {
        let key = DataKey::from_bytes(hex32(
            "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
        ));
        let nonce: [u8; 12] = hex::decode("ac93a1a6145299bde902f21a")
            .unwrap()
            .try_into()
            .unwrap();
        let aad = hex::decode("1e0889016f67601c8ebea4943bc23ad6").unwrap();
        let mut buf = hex::decode("2d71bcfa914e4ac045b2aa60955fad24").unwrap();
        seal_in_place(&key, &nonce, &aad, &mut buf).unwrap();
        assert_eq!(
            hex::encode(&buf),
            "8995ae2e6df3dbf96fac7b7137bae67feca5aa77d51d4a0a14d9c51e1da474ab"
        );
        open_in_place(&key, &nonce, &aad, &mut buf).unwrap();
        assert_eq!(hex::encode(&buf), "2d71bcfa914e4ac045b2aa60955fad24");
    }

    /// RFC 3394 §4.6: wrap 256 bits of key data with a 256-bit KEK.
    #[test]
    fn aes_kw_matches_rfc3394_section_4_6() {
        let kek = Kek::from_bytes(Zeroizing::new(hex32(
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
        )));
        let dk = DataKey::from_bytes(hex32(
            "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
        ));
        let wrapped = wrap_data_key(&kek, &dk);
        assert_eq!(
            hex::encode_upper(wrapped.wrapped_key),
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
        );
        assert_eq!(&wrapped.kek_id, kek.id());
        let back = unwrap_data_key(&kek, &wrapped).unwrap();
        assert_eq!(*back.0, *dk.0);
    }

    #[test]
    fn unwrap_under_another_kek_fails() {
        let rng = CountingRandom::default();
        let (kek_a, kek_b) = (Kek::generate(&rng).unwrap(), Kek::generate(&rng).unwrap());
        let dk = DataKey::generate(&rng).unwrap();
        let wrapped = wrap_data_key(&kek_a, &dk);
        let err = unwrap_data_key(&kek_b, &wrapped).unwrap_err();
        assert!(matches!(err, EnvelopeError::UnwrapFailed { ref kek_id } if kek_id == kek_b.id()));
    }

    #[test]
    fn corrupted_wrapped_key_fails_to_unwrap() {
        let rng = CountingRandom::default();
        let kek = Kek::generate(&rng).unwrap();
        let mut wrapped = wrap_data_key(&kek, &DataKey::generate(&rng).unwrap());
        wrapped.wrapped_key[5] ^= 1;
        assert!(unwrap_data_key(&kek, &wrapped).is_err());
    }

    #[test]
    fn any_flipped_bit_or_other_aad_fails_to_open() {
        let rng = CountingRandom::default();
        let dk = DataKey::generate(&rng).unwrap();
        let nonce = generate_nonce(&rng).unwrap();
        let mut sealed = b"blood pressure 150/95".to_vec();
        seal_in_place(&dk, &nonce, b"aad-1", &mut sealed).unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x80;
            let err = open_in_place(&dk, &nonce, b"aad-1", &mut tampered).unwrap_err();
            assert!(matches!(err, EnvelopeError::DecryptFailed), "byte {i}");
        }
        let mut other = sealed.clone();
        assert!(open_in_place(&dk, &nonce, b"aad-2", &mut other).is_err());
        let mut short = sealed[..TAG_LEN - 1].to_vec();
        assert!(open_in_place(&dk, &nonce, b"aad-1", &mut short).is_err());
        open_in_place(&dk, &nonce, b"aad-1", &mut sealed).unwrap();
        assert_eq!(sealed, b"blood pressure 150/95");
    }

    #[test]
    fn wrapped_key_serialises_as_hex() {
        let kek = Kek::from_bytes(Zeroizing::new([1u8; 32]));
        let wrapped = wrap_data_key(&kek, &DataKey::from_bytes([2u8; 32]));
        let json = serde_json::to_value(&wrapped).unwrap();
        assert_eq!(json["kek_id"], kek.id().as_str());
        assert_eq!(json["wrapped_key"].as_str().unwrap().len(), 80);
        let back: WrappedDataKey = serde_json::from_value(json).unwrap();
        assert_eq!(back, wrapped);
    }

    proptest::proptest! {
        #[test]
        fn seal_then_open_round_trips(
            plaintext in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            aad in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            key in proptest::prelude::any::<[u8; 32]>(),
            nonce in proptest::prelude::any::<[u8; 12]>(),
        ) {
            let key = DataKey::from_bytes(key);
            let mut buf = plaintext.clone();
            seal_in_place(&key, &nonce, &aad, &mut buf).unwrap();
            proptest::prop_assert_eq!(buf.len(), plaintext.len() + TAG_LEN);
            open_in_place(&key, &nonce, &aad, &mut buf).unwrap();
            proptest::prop_assert_eq!(buf, plaintext);
        }
    }

    #[test]
    fn debug_never_shows_data_keys() {
        assert_eq!(
            format!("{:?}", DataKey::from_bytes([9u8; 32])),
            "DataKey(<redacted>)"
        );
    }
}
