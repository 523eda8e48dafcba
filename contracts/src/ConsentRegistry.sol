// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Writers.sol";

/// Patients' consents to doctors. The parties are pseudonymous keys; the scope is the hash of
/// its canonical form (a scope may list record ids, which need not be public); purposes are a
/// bit set in the platform's documented order.
contract ConsentRegistry is Writers {
    struct Consent {
        bytes32 patient;
        bytes32 grantee;
        bytes32 scopeHash;
        uint64 purposes;
        uint64 grantedAt;
        /// Seconds since the Unix epoch; 0 = no expiry.
        uint64 expiresAt;
        /// Seconds since the Unix epoch; 0 = not revoked.
        uint64 revokedAt;
        bool allowWrite;
    }

    mapping(bytes32 => Consent) private consents;
    uint256 public consentCount;

    event ConsentGranted(
        bytes32 indexed consentId,
        bytes32 indexed patient,
        bytes32 indexed grantee,
        bytes32 scopeHash,
        uint64 purposes,
        bool allowWrite,
        uint64 grantedAt,
        uint64 expiresAt
    );
    event ConsentRevoked(bytes32 indexed consentId, uint64 revokedAt);

    error ConsentExists(bytes32 consentId);
    error UnknownConsent(bytes32 consentId);
    error AlreadyRevoked(bytes32 consentId);
    error EmptyPurposes(bytes32 consentId);
    error ZeroGrantTime(bytes32 consentId);

    function grant(
        bytes32 consentId,
        bytes32 patient,
        bytes32 grantee,
        bytes32 scopeHash,
        uint64 purposes,
        bool allowWrite,
        uint64 grantedAt,
        uint64 expiresAt
    ) external onlyWriter {
        if (consents[consentId].grantedAt != 0) revert ConsentExists(consentId);
        if (purposes == 0) revert EmptyPurposes(consentId);
        if (grantedAt == 0) revert ZeroGrantTime(consentId);
        consents[consentId] = Consent(patient, grantee, scopeHash, purposes, grantedAt, expiresAt, 0, allowWrite);
        consentCount += 1;
        emit ConsentGranted(consentId, patient, grantee, scopeHash, purposes, allowWrite, grantedAt, expiresAt);
    }

    function revoke(bytes32 consentId, uint64 revokedAt) external onlyWriter {
        Consent storage consent = consents[consentId];
        if (consent.grantedAt == 0) revert UnknownConsent(consentId);
        if (consent.revokedAt != 0) revert AlreadyRevoked(consentId);
        consent.revokedAt = revokedAt;
        emit ConsentRevoked(consentId, revokedAt);
    }

    /// The consent's terms; grantedAt == 0 means no such consent.
    function consentOf(bytes32 consentId) external view returns (Consent memory) {
        return consents[consentId];
    }

    /// Whether the consent is in force at `at` (seconds since the Unix epoch).
    function isActive(bytes32 consentId, uint64 at) external view returns (bool) {
        Consent storage consent = consents[consentId];
        if (consent.grantedAt == 0 || consent.revokedAt != 0) return false;
        return consent.expiresAt == 0 || at < consent.expiresAt;
    }
}
