//! `gc`: removes vault objects that no record version references (DESIGN.md §3.3: a crash
//! between writing the ciphertext and committing its row leaves such an orphan).
//!
//! Order matters for safety: the objects are listed FIRST and the record versions read
//! AFTER, so any row committed before the listing finished is seen. An object whose row is
//! still being committed is spared by `min_age`: it must be older than the longest write
//! the collector may race (object written, then row committed).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt as _;
use meditrustal_domain::RecordId;
use meditrustal_vault::{SealedRecord, StoredObject, VaultError};
use serde::Serialize;

use crate::progress::{ScanPhase, VerifyProgress};
use crate::{App, AppError};

const PAGE_SIZE: u32 = 512;

/// What `gc` should do.
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Spare objects younger than this (they may belong to a commit in flight).
    pub min_age: Duration,
    /// Delete the orphans; otherwise only list them.
    pub apply: bool,
}

/// What `gc` found and did.
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    pub objects_scanned: u64,
    pub versions_scanned: u64,
    /// Unreferenced objects older than `min_age`, by key.
    pub orphans: Vec<StoredObject>,
    pub orphan_bytes: u64,
    /// Unreferenced objects spared because they are younger than `min_age`.
    pub young_orphans: u64,
    /// Paths under the records prefix that are not record objects; never deleted.
    pub foreign_objects: Vec<String>,
    /// How many orphans were deleted (0 on a dry run).
    pub deleted: u64,
}

impl App {
    /// Lists (and with `apply`, deletes) orphan objects; see the module docs.
    pub async fn collect_garbage(
        &self,
        options: GcOptions,
        progress: &dyn VerifyProgress,
    ) -> Result<GcReport, AppError> {
        let now: SystemTime = self.clock.now().into();
        let mut report = GcReport {
            objects_scanned: 0,
            versions_scanned: 0,
            orphans: Vec::new(),
            orphan_bytes: 0,
            young_orphans: 0,
            foreign_objects: Vec::new(),
            deleted: 0,
        };
        // Every object, keyed by its key; whether it is old enough to go.
        let mut unreferenced: HashMap<String, (StoredObject, bool)> = HashMap::new();
        progress.start(ScanPhase::VaultObjects, None);
        let mut listing = self.vault.list_objects();
        while let Some(item) = listing.next().await {
            match item {
                Ok(object) => {
                    let age = now
                        .duration_since(object.last_modified)
                        .unwrap_or(Duration::ZERO);
                    let old_enough = age >= options.min_age;
                    unreferenced.insert(object.key.as_str().to_owned(), (object, old_enough));
                }
                Err(VaultError::ForeignObject { path }) => report.foreign_objects.push(path),
                Err(err) => {
                    return Err(AppError::internal(format!("listing the vault: {err}")));
                }
            }
            report.objects_scanned += 1;
            progress.advance(1);
        }
        progress.finish(ScanPhase::VaultObjects);

        progress.start(ScanPhase::RecordVersions, None);
        let mut after: Option<(RecordId, u32)> = None;
        loop {
            let page = self.store.record_versions_after(after, PAGE_SIZE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some((last.record_id, last.version));
            for version in page.iter().filter(|v| !v.is_erased()) {
                // An erased version references no object any more (its own was deleted,
                // or is an orphan now). Any other row whose object cannot be named might
                // reference any object: deleting anything then could destroy a record, so
                // refuse outright.
                let sealed: SealedRecord =
                    serde_json::from_str(&version.sealed).map_err(|err| {
                        AppError::Integrity(format!(
                            "record {} v{}: sealed metadata unreadable ({err}); \
                             gc deletes nothing until `verify` passes",
                            version.record_id, version.version
                        ))
                    })?;
                unreferenced.remove(sealed.object_key.as_str());
            }
            report.versions_scanned += page.len() as u64;
            progress.advance(page.len() as u64);
        }
        // Correction proposals (PIPL Art. 46) are encrypted objects too.
        for request in self.store.correction_requests(None, None).await? {
            if request.proposal == meditrustal_store::ERASED_SEALED {
                continue;
            }
            let sealed: SealedRecord = serde_json::from_str(&request.proposal).map_err(|err| {
                AppError::Integrity(format!(
                    "correction request {}: sealed proposal unreadable ({err}); \
                     gc deletes nothing until it is repaired",
                    request.id
                ))
            })?;
            unreferenced.remove(sealed.object_key.as_str());
        }
        // So are finished exports' archives.
        for job in self.store.export_jobs(None).await? {
            let Some(sealed) = job.sealed else {
                continue;
            };
            let sealed: SealedRecord = serde_json::from_str(&sealed).map_err(|err| {
                AppError::Integrity(format!(
                    "export {}: sealed archive unreadable ({err}); gc deletes nothing until it is repaired",
                    job.id
                ))
            })?;
            unreferenced.remove(sealed.object_key.as_str());
        }
        // And research exports' files.
        for project in self.store.research_projects(None).await? {
            for job in self.store.research_exports(project.id).await? {
                let Some(sealed) = job.sealed else {
                    continue;
                };
                let sealed: SealedRecord = serde_json::from_str(&sealed).map_err(|err| {
                    AppError::Integrity(format!(
                        "research export {}: sealed file unreadable ({err}); gc deletes nothing until it is repaired",
                        job.id
                    ))
                })?;
                unreferenced.remove(sealed.object_key.as_str());
            }
        }
        progress.finish(ScanPhase::RecordVersions);

        for (object, old_enough) in unreferenced.into_values() {
            if old_enough {
                report.orphan_bytes += object.size;
                report.orphans.push(object);
            } else {
                report.young_orphans += 1;
            }
        }
        report
            .orphans
            .sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));

        if options.apply {
            progress.start(
                ScanPhase::DeletingOrphans,
                Some(report.orphans.len() as u64),
            );
            for object in &report.orphans {
                self.vault.delete_object(&object.key).await.map_err(|err| {
                    AppError::internal(format!("deleting object {}: {err}", object.key))
                })?;
                report.deleted += 1;
                progress.advance(1);
            }
            progress.finish(ScanPhase::DeletingOrphans);
        }
        Ok(report)
    }
}
