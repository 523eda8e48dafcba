// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Writers.sol";

/// Commitments of record versions per pseudonymous patient. A commitment is
/// SHA-256(salt || SHA-256(content)) with a random salt kept off-chain, never the plain hash
/// of the content: a lab value has few enough possibilities to be guessed from a plain hash.
contract RecordRegistry is Writers {
    /// recordId => version => commitment
    mapping(bytes32 => mapping(uint32 => bytes32)) private commitments;
    /// recordId => pseudonymous patient key
    mapping(bytes32 => bytes32) public patientOf;
    uint256 public commitmentCount;

    event RecordCommitted(bytes32 indexed patient, bytes32 indexed recordId, uint32 version, bytes32 commitment);

    error LengthMismatch();
    error AlreadyCommitted(bytes32 recordId, uint32 version);
    error PatientMismatch(bytes32 recordId, bytes32 registered, bytes32 given);
    error ZeroCommitment(bytes32 recordId, uint32 version);

    /// Commits a batch of record versions in one transaction (one per ledger batch).
    function commit(
        bytes32[] calldata patients,
        bytes32[] calldata recordIds,
        uint32[] calldata versions,
        bytes32[] calldata values
    ) external onlyWriter {
        uint256 n = recordIds.length;
        if (patients.length != n || versions.length != n || values.length != n) revert LengthMismatch();
        for (uint256 i = 0; i < n; i++) {
            _commitOne(patients[i], recordIds[i], versions[i], values[i]);
        }
        commitmentCount += n;
    }

    function _commitOne(bytes32 patient, bytes32 recordId, uint32 version, bytes32 value) private {
        if (value == bytes32(0)) revert ZeroCommitment(recordId, version);
        if (commitments[recordId][version] != bytes32(0)) revert AlreadyCommitted(recordId, version);
        bytes32 registered = patientOf[recordId];
        if (registered == bytes32(0)) {
            patientOf[recordId] = patient;
        } else if (registered != patient) {
            revert PatientMismatch(recordId, registered, patient);
        }
        commitments[recordId][version] = value;
        emit RecordCommitted(patient, recordId, version, value);
    }

    /// The commitment of a record version, or zero when none was committed.
    function commitmentOf(bytes32 recordId, uint32 version) external view returns (bytes32) {
        return commitments[recordId][version];
    }
}
