//! Key-encryption-key rotation: every record version's data key is re-wrapped under the
//! vault's active KEK. Only the wrapped key and its KEK id in the sealed metadata change; the
//! ciphertext, its object, the content hash and the ledger commitment stay as they are, so
//! the ledger needs no entry and `verify` checks the same things before and after.
//!
//! Each version is one conditional update (the sealed text must still be what was read), so
//! the scan can stop at any row and be run again: versions already under the target KEK are
//! skipped.
//!
//! What was derived from records and sealed the same way (NLP results, observations, alert
//! details inline in their rows; correction proposals and export archives as vault objects)
//! is re-wrapped by a second scan, item by item, under the same rules.

use std::collections::BTreeMap;

use meditrustal_domain::RecordId;
use meditrustal_store::{DerivedKey, DerivedSealed, DerivedTable};
use meditrustal_vault::{KekId, SealedBlob, SealedRecord};
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

/// What a re-wrap pass over derived items (NLP results, observations, alerts, correction
/// proposals, export archives) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DerivedRewrapReport {
    pub target_kek: String,
    pub rewrapped: u64,
    /// Changed or removed between read and update; the next pass takes those still there.
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

impl App {
    /// How many derived items have a data key under a KEK other than the active one.
    pub async fn derived_items_to_rewrap(&self) -> Result<u64, AppError> {
        let ring = self.vault.keys();
        let mut total = 0;
        for id in ring.ids().filter(|id| *id != ring.active_id()) {
            total += self.store.derived_items_under_kek(id.as_str()).await?;
        }
        Ok(total)
    }

    /// Re-wraps the data key of every derived item not yet under the vault's active KEK.
    /// `total` sizes the progress bar (from [`App::derived_items_to_rewrap`]).
    pub async fn rewrap_derived_keys(
        &self,
        total: Option<u64>,
        progress: &dyn VerifyProgress,
    ) -> Result<DerivedRewrapReport, AppError> {
        let target = self.vault.keys().active_id().clone();
        let mut report = DerivedRewrapReport {
            target_kek: target.as_str().to_owned(),
            ..DerivedRewrapReport::default()
        };
        progress.start(ScanPhase::RewrappingDerived, total);
        for table in DerivedTable::ALL {
            let mut after: Option<DerivedKey> = None;
            loop {
                let page = self
                    .store
                    .derived_not_under_kek(table, target.as_str(), after, PAGE_SIZE)
                    .await?;
                let Some(last) = page.last() else {
                    break;
                };
                after = Some(last.key);
                for item in &page {
                    let text = self.rewrapped_text(item, &target)?;
                    if self
                        .store
                        .replace_derived_sealed(item.key, &item.sealed, &text)
                        .await?
                    {
                        report.rewrapped += 1;
                    } else {
                        report.changed_meanwhile += 1;
                    }
                    progress.advance(1);
                }
            }
        }
        progress.finish(ScanPhase::RewrappingDerived);
        Ok(report)
    }

    /// The item's sealed text with its data key wrapped under `target`; nothing else changes.
    fn rewrapped_text(&self, item: &DerivedSealed, target: &KekId) -> Result<String, AppError> {
        let key = item.key;
        let fail = |err: String| {
            AppError::Integrity(format!(
                "{} {} ({}): {err}; run `verify`",
                key.table.name(),
                key.id,
                key.version
            ))
        };
        let text = if key.table.holds_records() {
            let mut sealed: SealedRecord =
                serde_json::from_str(&item.sealed).map_err(|err| fail(err.to_string()))?;
            sealed.data_key = self
                .vault
                .keys()
                .rewrap(&sealed.data_key, target)
                .map_err(|err| fail(err.to_string()))?;
            serde_json::to_string(&sealed)
        } else {
            let mut sealed: SealedBlob =
                serde_json::from_str(&item.sealed).map_err(|err| fail(err.to_string()))?;
            sealed.data_key = self
                .vault
                .keys()
                .rewrap(&sealed.data_key, target)
                .map_err(|err| fail(err.to_string()))?;
            serde_json::to_string(&sealed)
        };
        text.map_err(|err| AppError::internal(err.to_string()))
    }
}

fn parse_sealed(text: &str, record: RecordId, version: u32) -> Result<SealedRecord, AppError> {
    serde_json::from_str(text).map_err(|err| {
        AppError::Integrity(format!(
            "record {record} v{version}: sealed metadata unreadable ({err}); run `verify`"
        ))
    })
}
