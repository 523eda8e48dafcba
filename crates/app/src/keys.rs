//! Key-encryption-key rotation: every record version's data key is re-wrapped under the
//! vault's active KEK. Only the wrapped key and its KEK id in the sealed metadata change; the
//! ciphertext, its object, the content hash and the ledger commitment stay as they are, so
//! the ledger needs no entry and `verify` checks the same things before and after.
//!
//! Each version is one conditional update (the sealed text must still be what was read), so
//! the scan can stop at any row and be run again: versions already under the target KEK are
//! skipped.

use std::collections::BTreeMap;

use meditrustal_domain::RecordId;
use meditrustal_vault::SealedRecord;
use serde::Serialize;

use crate::progress::{ScanPhase, VerifyProgress};
use crate::{App, AppError};

const PAGE_SIZE: u32 = 500;

/// What a re-wrap pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RewrapReport {
    /// The KEK every data key now is (or should be) wrapped under.
    pub target_kek: String,
    pub versions: u64,
    pub rewrapped: u64,
    /// Already under the target KEK (an earlier, interrupted run; or written after rotation).
    pub already: u64,
    /// Changed by someone else between read and update; the next pass takes them.
    pub changed_meanwhile: u64,
}

impl App {
    /// How many record versions each KEK wraps (by KEK id).
    pub async fn data_keys_by_kek(
        &self,
        progress: &dyn VerifyProgress,
    ) -> Result<BTreeMap<String, u64>, AppError> {
        let mut counts = BTreeMap::new();
        progress.start(ScanPhase::RecordVersions, None);
        let mut after: Option<(RecordId, u32)> = None;
        loop {
            let page = self.store.record_versions_after(after, PAGE_SIZE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some((last.record_id, last.version));
            // An erased version has no data key left to count.
            for version in page.iter().filter(|v| !v.is_erased()) {
                let sealed = parse_sealed(&version.sealed, version.record_id, version.version)?;
                *counts
                    .entry(sealed.data_key.kek_id.as_str().to_owned())
                    .or_insert(0) += 1;
            }
            progress.advance(page.len() as u64);
        }
        progress.finish(ScanPhase::RecordVersions);
        Ok(counts)
    }

    /// Re-wraps every data key not yet under the vault's active KEK. `total` sizes the
    /// progress bar (from [`App::data_keys_by_kek`]).
    pub async fn rewrap_data_keys(
        &self,
        total: Option<u64>,
        progress: &dyn VerifyProgress,
    ) -> Result<RewrapReport, AppError> {
        let ring = self.vault.keys();
        let target = ring.active_id().clone();
        let mut report = RewrapReport {
            target_kek: target.as_str().to_owned(),
            ..RewrapReport::default()
        };
        progress.start(ScanPhase::RewrappingKeys, total);
        let mut after: Option<(RecordId, u32)> = None;
        loop {
            let page = self.store.record_versions_after(after, PAGE_SIZE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some((last.record_id, last.version));
            // An erased version has no data key left to re-wrap.
            for version in page.iter().filter(|v| !v.is_erased()) {
                report.versions += 1;
                let sealed = parse_sealed(&version.sealed, version.record_id, version.version)?;
                if sealed.data_key.kek_id == target {
                    report.already += 1;
                    continue;
                }
                let rewrapped = self.vault.rewrap(&sealed, &target).map_err(|err| {
                    AppError::internal(format!(
                        "record {} v{}: {err}",
                        version.record_id, version.version
                    ))
                })?;
                let text = serde_json::to_string(&rewrapped)
                    .map_err(|err| AppError::internal(err.to_string()))?;
                let replaced = self
                    .store
                    .replace_sealed(version.record_id, version.version, &version.sealed, &text)
                    .await?;
                if replaced {
                    report.rewrapped += 1;
                } else {
                    report.changed_meanwhile += 1;
                }
                progress.advance(1);
            }
        }
        progress.finish(ScanPhase::RewrappingKeys);
        Ok(report)
    }
}

fn parse_sealed(text: &str, record: RecordId, version: u32) -> Result<SealedRecord, AppError> {
    serde_json::from_str(text).map_err(|err| {
        AppError::Integrity(format!(
            "record {record} v{version}: sealed metadata unreadable ({err}); run `verify`"
        ))
    })
}
