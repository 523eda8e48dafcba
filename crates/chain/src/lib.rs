//! EVM adapter of the ledger: writes signed tree heads (anchor mode) and, in mirror mode,
//! record-version commitments and consent changes to the Solidity contracts in `contracts/`,
//! and reads them back so `meditrustal verify --chain` can compare chain and database.
//!
//! Everything written is pseudonymous: parties are keys derived from DIDs, records are
//! salted commitments, scopes are hashes (see `docs/chain.md`).

mod bindings;
mod client;
mod error;
mod terms;

pub use alloy::primitives::Address;
pub use client::{Anchor, Chain, ChainConfig, Contracts, TxOutcome};
pub use error::ChainError;
pub use terms::{ConsentTerms, RecordCommitment, pseudonym, record_key};
