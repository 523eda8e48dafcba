use alloy::contract::Error as ContractError;
use alloy::transports::{RpcError, TransportErrorKind};

/// What can go wrong talking to the chain. `Unreachable` is the one the platform turns into a
/// 503: the node did not answer, so nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("the chain node at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the chain rejected {call}: {reason}")]
    Rejected { call: &'static str, reason: String },
    #[error("transaction of {call} was mined but reverted")]
    Reverted { call: &'static str },
    #[error("chain configuration: {0}")]
    Config(String),
}

impl ChainError {
    pub(crate) fn from_contract(url: &str, call: &'static str, error: ContractError) -> Self {
        match error {
            ContractError::TransportError(rpc) => Self::from_rpc(url, call, rpc),
            ContractError::PendingTransactionError(pending) => Self::Unreachable {
                url: url.to_string(),
                reason: pending.to_string(),
            },
            other => Self::Rejected {
                call,
                reason: other.to_string(),
            },
        }
    }

    pub(crate) fn from_rpc(
        url: &str,
        call: &'static str,
        error: RpcError<TransportErrorKind>,
    ) -> Self {
        match error {
            RpcError::Transport(kind) => Self::Unreachable {
                url: url.to_string(),
                reason: kind.to_string(),
            },
            other => Self::Rejected {
                call,
                reason: other.to_string(),
            },
        }
    }
}
