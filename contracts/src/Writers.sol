// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// Write access shared by the MediTrustAl registries: one owner (the consortium's
/// administrator) appoints writer accounts (each platform node's sequencer key). Reads are
/// public: anyone may verify what was written.
abstract contract Writers {
    address public owner;
    mapping(address => bool) public isWriter;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event WriterSet(address indexed account, bool allowed);

    error NotOwner(address caller);
    error NotWriter(address caller);
    error ZeroAddress();

    constructor() {
        owner = msg.sender;
        isWriter[msg.sender] = true;
        emit OwnershipTransferred(address(0), msg.sender);
        emit WriterSet(msg.sender, true);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyWriter() {
        if (!isWriter[msg.sender]) revert NotWriter(msg.sender);
        _;
    }

    function setWriter(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        isWriter[account] = allowed;
        emit WriterSet(account, allowed);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
