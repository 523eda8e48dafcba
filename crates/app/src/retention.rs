//! Retention: records whose category's retention period has passed since their last change
//! are erased (crypto-shredded, `pipl-art47-retention-expired`), unless on legal hold.
//! A dry run lists what is due; `execute` erases it, each erasure decided by the policy
//! (an administrator runs it) and on the ledger like any other.

use std::collections::BTreeMap;

use meditrustal_domain::{RecordCategory, RecordId};
use time::{Duration, OffsetDateTime};

use crate::access::Facts;
use crate::erasure::ErasureBasis;
use crate::policy::{Action, Actor, Resource};
use crate::progress::{ScanPhase, VerifyProgress};
use crate::{App, AppError};

/// Record versions read per query while scanning.
const PAGE_SIZE: u32 = 512;

/// How long each category is kept after its last change; categories not listed are kept
/// indefinitely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub periods: BTreeMap<RecordCategory, Duration>,
}

/// A record past its retention period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionDue {
    pub record: RecordId,
    pub category: RecordCategory,
    pub last_change: OffsetDateTime,
    /// On legal hold: due, but kept.
    pub held: bool,
}

/// What a retention run found and did.
#[derive(Debug, Clone, Default)]
pub struct RetentionReport {
    pub records_scanned: u64,
    pub due: Vec<RetentionDue>,
    pub erased: Vec<RecordId>,
    /// Records whose erasure failed, with why (the run goes on).
    pub failed: Vec<(RecordId, String)>,
}

impl App {
    /// Finds the records past their period and, with `execute`, erases those not on hold.
    pub async fn run_retention(
        &self,
        actor: &Actor,
        policy: &RetentionPolicy,
        execute: bool,
        progress: &dyn VerifyProgress,
    ) -> Result<RetentionReport, AppError> {
        let no_facts = Facts(Vec::new(), Vec::new());
        self.decide_with(
            actor,
            Action::RunRetention,
            Resource::System,
            None,
            &no_facts,
            actor.did.clone(),
            None,
        )
        .await?;
        let now = self.clock.now();
        let mut report = RetentionReport::default();
        progress.start(ScanPhase::RecordVersions, None);
        let mut after = None;
        let mut last_record = None;
        loop {
            let page = self.store.record_versions_after(after, PAGE_SIZE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some((last.record_id, last.version));
            for version in &page {
                if last_record == Some(version.record_id) {
                    continue;
                }
                last_record = Some(version.record_id);
                report.records_scanned += 1;
                let Some(meta) = self.store.record(version.record_id).await? else {
                    continue;
                };
                let Some(period) = policy.periods.get(&meta.category) else {
                    continue;
                };
                if meta.erasure.is_none() && meta.updated_at + *period <= now {
                    report.due.push(RetentionDue {
                        record: meta.id,
                        category: meta.category,
                        last_change: meta.updated_at,
                        held: meta.hold.is_some(),
                    });
                }
            }
            progress.advance(page.len() as u64);
        }
        progress.finish(ScanPhase::RecordVersions);
        if !execute {
            return Ok(report);
        }
        let erasable: Vec<&RetentionDue> = report.due.iter().filter(|d| !d.held).collect();
        progress.start(ScanPhase::ErasingRecords, Some(erasable.len() as u64));
        let mut erased = Vec::new();
        let mut failed = Vec::new();
        for due in erasable {
            let reason = format!("retention period of {} passed", due.category.as_str());
            match self
                .erase_record_as(
                    actor,
                    due.record,
                    Some(&reason),
                    ErasureBasis::RetentionExpired,
                )
                .await
            {
                Ok(_) => {
                    tracing::info!(record = %due.record, category = due.category.as_str(), "erased: retention period passed");
                    erased.push(due.record);
                }
                // A failure is reported and the run goes on: one record must not keep the
                // others past their period.
                Err(err) => {
                    tracing::warn!(record = %due.record, error = %err, "retention erasure failed");
                    failed.push((due.record, err.to_string()));
                }
            }
            progress.advance(1);
        }
        progress.finish(ScanPhase::ErasingRecords);
        report.erased = erased;
        report.failed = failed;
        Ok(report)
    }
}
