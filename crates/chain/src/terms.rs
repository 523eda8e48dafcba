use alloy::primitives::keccak256;

/// The on-chain key of a party: keccak-256 of its DID. DIDs are random and carry no
/// personal data; hashing them keeps the chain's keys a fixed 32 bytes.
pub fn pseudonym(did: &str) -> [u8; 32] {
    keccak256(did.as_bytes()).0
}

/// One record version as the record registry holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordCommitment {
    /// `pseudonym(patient DID)`.
    pub patient: [u8; 32],
    /// The record id, left-aligned (a UUID fills 16 of the 32 bytes).
    pub record_id: [u8; 32],
    pub version: u32,
    /// SHA-256(salt || SHA-256(content)), the ledger's content commitment.
    pub commitment: [u8; 32],
}

/// A consent's terms as the consent registry holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentTerms {
    pub consent_id: [u8; 32],
    pub patient: [u8; 32],
    pub grantee: [u8; 32],
    /// SHA-256 of the scope's canonical JSON.
    pub scope_hash: [u8; 32],
    /// Bit set of purposes in the platform's documented order.
    pub purposes: u64,
    pub allow_write: bool,
    /// Seconds since the Unix epoch.
    pub granted_at: u64,
    /// Seconds since the Unix epoch; 0 = none.
    pub expires_at: u64,
    /// Seconds since the Unix epoch; 0 = not revoked.
    pub revoked_at: u64,
}

/// The on-chain key of a record: its id left-aligned in 32 bytes (a UUID fills 16).
pub fn record_key(bytes: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_differ_per_did_and_are_stable() {
        let a = pseudonym("did:meditrustal:00112233445566778899aabbccddeeff");
        let b = pseudonym("did:meditrustal:00112233445566778899aabbccddeef0");
        assert_ne!(a, b);
        assert_eq!(
            a,
            pseudonym("did:meditrustal:00112233445566778899aabbccddeeff")
        );
    }

    #[test]
    fn padding_left_aligns_and_truncates() {
        assert_eq!(&record_key(&[1, 2])[..3], &[1, 2, 0]);
        assert_eq!(record_key(&[7u8; 40]), [7u8; 32]);
    }
}
