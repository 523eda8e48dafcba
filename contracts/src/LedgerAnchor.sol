// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Writers.sol";

/// Signed tree heads of the platform's RFC 9162 ledger. Once a root for a tree size is
/// here, the operator can no longer present a different history of that size: anyone holding
/// the ledger's entries recomputes the root and compares.
contract LedgerAnchor is Writers {
    struct Anchor {
        uint64 treeSize;
        uint64 timestampMs;
        bytes32 root;
        /// Ed25519 public key of the ledger's signing key.
        bytes32 signer;
    }

    Anchor[] private anchors;

    /// The Ed25519 signature travels in the event only: storing 64 bytes per anchor would
    /// double its gas, and the event log is as durable as storage.
    event Anchored(
        uint256 indexed index, uint64 treeSize, bytes32 root, uint64 timestampMs, bytes32 signer, bytes signature
    );

    error TreeNotGrowing(uint64 latestSize, uint64 givenSize);
    error BadSignatureLength(uint256 length);
    error NoSuchAnchor(uint256 index);

    function anchor(uint64 treeSize, bytes32 root, uint64 timestampMs, bytes32 signer, bytes calldata signature)
        external
        onlyWriter
    {
        if (signature.length != 64) revert BadSignatureLength(signature.length);
        uint256 count = anchors.length;
        if (count > 0 && anchors[count - 1].treeSize >= treeSize) {
            revert TreeNotGrowing(anchors[count - 1].treeSize, treeSize);
        }
        anchors.push(Anchor(treeSize, timestampMs, root, signer));
        emit Anchored(count, treeSize, root, timestampMs, signer, signature);
    }

    function anchorCount() external view returns (uint256) {
        return anchors.length;
    }

    function anchorAt(uint256 index) external view returns (Anchor memory) {
        if (index >= anchors.length) revert NoSuchAnchor(index);
        return anchors[index];
    }

    /// The newest anchor, or an all-zero one when nothing is anchored yet.
    function latest() external view returns (Anchor memory) {
        if (anchors.length == 0) return Anchor(0, 0, bytes32(0), bytes32(0));
        return anchors[anchors.length - 1];
    }
}
