//! Group commit: ledger changes queue to one writer task per store, which commits everything
//! queued while the previous transaction was syncing in ONE transaction — one durable sync and
//! one signed tree head for the batch instead of one per change. Each change runs in its own
//! savepoint, so a stale change fails alone and the others commit.

use meditrustal_ledger::{Hash, NodeId, SignedTreeHead, SigningKey};
use tokio::sync::oneshot;

use crate::{Change, Committed, LedgerEvent, StoreError};

/// Most changes in one transaction; bounds its size and the wait of the last one.
pub(crate) const MAX_BATCH: usize = 256;

/// Queue depth before `commit` callers wait (back-pressure).
pub(crate) const QUEUE_DEPTH: usize = 1024;

/// Rows per multi-row INSERT (ledger leaves and nodes, FHIR tokens): at most 8 bound values
/// a row keeps a statement well under both backends' limit on bound parameters.
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// The ledger rows of a batch's accepted changes, written together after their writes
/// (nothing in a change's writes reads the ledger tables).
#[derive(Default)]
pub(crate) struct LedgerRows {
    pub(crate) leaves: Vec<(u64, LedgerEvent)>,
    pub(crate) nodes: Vec<(NodeId, Hash)>,
}

impl LedgerRows {
    pub(crate) fn append(&mut self, other: LedgerRows) {
        self.leaves.extend(other.leaves);
        self.nodes.extend(other.nodes);
    }
}

pub(crate) struct Job {
    pub(crate) change: Change,
    pub(crate) signer: SigningKey,
    pub(crate) timestamp_ms: u64,
    pub(crate) reply: oneshot::Sender<Result<Committed, StoreError>>,
}

/// Per change, its first leaf index or its error; and the head after the batch.
pub(crate) struct BatchOutcome {
    pub(crate) firsts: Vec<Result<u64, StoreError>>,
    pub(crate) head: Option<SignedTreeHead>,
}

/// Hands each waiting caller its result. A failed transaction fails every change in it.
pub(crate) fn answer(batch: Vec<Job>, outcome: Result<BatchOutcome, StoreError>) {
    match outcome {
        Ok(BatchOutcome { firsts, head }) => {
            for (job, first) in batch.into_iter().zip(firsts) {
                let result = first.and_then(|first_leaf| {
                    let head = head.clone().ok_or(StoreError::EmptyChange)?;
                    Ok(Committed { first_leaf, head })
                });
                // A caller that gave up (timeout, disconnect) no longer listens: nothing to do.
                let _ = job.reply.send(result);
            }
        }
        Err(err) => {
            let message = err.to_string();
            for job in batch {
                let _ = job
                    .reply
                    .send(Err(StoreError::BatchFailed(message.clone())));
            }
        }
    }
}
