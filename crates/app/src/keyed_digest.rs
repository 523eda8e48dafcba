//! Keyed digests: HMAC-SHA256 over length-prefixed parts, for pseudonyms, per-patient
//! offsets, noise seeds and stored lookup keys that must not be reversible without the key.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of `parts` under `key`.
pub(crate) fn keyed(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_digests_depend_on_key_and_every_part() {
        let a = keyed(b"k1", &[b"x", b"y"]);
        assert_eq!(a, keyed(b"k1", &[b"x", b"y"]));
        assert_ne!(a, keyed(b"k2", &[b"x", b"y"]));
        assert_ne!(a, keyed(b"k1", &[b"xy"]));
    }
}
