//! Progress of the long maintenance scans (`verify`, `gc`, `keys rotate`), reported through a small trait so
//! the command-line adapter can draw bars without this crate knowing how.

/// Which part of a scan is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanPhase {
    /// Reading and re-hashing every ledger leaf.
    LedgerLeaves,
    /// Going through every record version (decrypting it for `verify`).
    RecordVersions,
    /// Listing the objects in the vault (`gc`).
    VaultObjects,
    /// Deleting orphan objects (`gc --apply`).
    DeletingOrphans,
    /// Erasing records past their retention period (`retention run --execute`).
    ErasingRecords,
    /// Re-wrapping data keys under a new key-encryption key (`keys rotate`).
    RewrappingKeys,
    /// Re-wrapping the data keys of derived items (NLP results, observations, alerts,
    /// correction proposals, export archives) under a new key-encryption key.
    RewrappingDerived,
}

impl ScanPhase {
    /// A short label for progress displays.
    pub fn label(self) -> &'static str {
        match self {
            ScanPhase::LedgerLeaves => "ledger leaves",
            ScanPhase::RecordVersions => "record versions",
            ScanPhase::VaultObjects => "vault objects",
            ScanPhase::DeletingOrphans => "deleting orphans",
            ScanPhase::ErasingRecords => "erasing records",
            ScanPhase::RewrappingKeys => "re-wrapping keys",
            ScanPhase::RewrappingDerived => "re-wrapping derived data keys",
        }
    }
}

/// Receives progress of a scan. Calls come from the scanning task, in order: `start`, any
/// number of `advance`, `finish`, then the next phase.
pub trait VerifyProgress: Send + Sync {
    /// A phase begins; `total` is how many items it will go through, when known beforehand.
    fn start(&self, phase: ScanPhase, total: Option<u64>);
    /// `items` more items of the current phase are done.
    fn advance(&self, items: u64);
    /// The current phase is done.
    fn finish(&self, phase: ScanPhase);
}

/// Progress that goes nowhere (tests, scripts).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl VerifyProgress for NoProgress {
    fn start(&self, _phase: ScanPhase, _total: Option<u64>) {}
    fn advance(&self, _items: u64) {}
    fn finish(&self, _phase: ScanPhase) {}
}
