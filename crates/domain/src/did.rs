use std::fmt;

use serde::{Deserialize, Serialize};

/// A user's decentralised identifier: `did:meditrustal:<32 lowercase hex digits>`.
///
/// The method-specific id is 128 random bits and is derived from nothing about the person, so
/// the DID is a pseudonym: it can stand on the ledger and on a chain, and once a patient's keys
/// are destroyed nothing links it back to them. See `docs/identity.md`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Did(String);

const PREFIX: &str = "did:meditrustal:";

impl Did {
    /// Builds a DID from 16 random bytes supplied by the caller (this crate has no RNG).
    pub fn from_random(bytes: [u8; 16]) -> Did {
        let mut id = String::with_capacity(PREFIX.len() + 32);
        id.push_str(PREFIX);
        for byte in bytes {
            id.push(hex_digit(byte >> 4));
            id.push(hex_digit(byte & 0x0f));
        }
        Did(id)
    }

    /// Accepts exactly the form `from_random` produces.
    pub fn parse(value: &str) -> Option<Did> {
        let suffix = value.strip_prefix(PREFIX)?;
        let well_formed = suffix.len() == 32
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Did(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_give_a_parseable_did() {
        let did = Did::from_random([0xab; 16]);
        assert_eq!(
            did.as_str(),
            "did:meditrustal:abababababababababababababababab"
        );
        assert_eq!(Did::parse(did.as_str()), Some(did));
    }

    #[test]
    fn malformed_dids_are_refused() {
        for bad in [
            "",
            "did:meditrustal:",
            "did:meditrustal:ABABABABABABABABABABABABABABABAB",
            "did:other:abababababababababababababababab",
            "did:meditrustal:abababababababababababababababa",
            "did:meditrustal:abababababababababababababababab0",
        ] {
            assert_eq!(Did::parse(bad), None, "{bad}");
        }
    }
}
