//! `verify`: proves the stored data is what the ledger says it is (DESIGN.md §3.4).
//!
//! Two passes, each paged so memory stays bounded by the log's hashes, not its content:
//! 1. **Ledger.** Every leaf is read in index order, must be canonical JSON, and is appended
//!    to a [`MemoryTree`]; whenever the recomputed tree reaches the size of a stored signed
//!    tree head, the head's root must equal the recomputed root, and every head's signature
//!    must verify under the ledger key. A gap in leaf indices, a head beyond the log and
//!    leaves after the last head are reported too.
//! 2. **Records.** Every record version's sealed metadata is checked by the vault (object
//!    present, untouched, bound to this record, patient and version, plaintext hash as
//!    stored), and its ledger leaf must be the `record.created`/`record.updated` entry of
//!    this record and version whose commitment equals `content_commitment(salt, hash)`.
//!    A ledger entry for a version that no row holds is reported as well.
//!    An erased record (crypto-shredded, PIPL Art. 47) has no content to check: its
//!    versions must still point at their ledger entries, its tombstone must have a
//!    `record.erased` entry, and it is counted as erased, not reported as tampered. A
//!    version without its data key whose record is not erased is reported.
//!
//! Every problem is collected, not just the first; nothing is written.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use meditrustal_domain::{RecordId, UserId};
use meditrustal_ledger::{LedgerEntry, MemoryTree, NodeId, SignedTreeHead};
use meditrustal_store::{LeafRow, RecordVersion};
use meditrustal_vault::{Discrepancy, RecordBinding, SealedRecord, VaultError};
use serde::{Deserialize, Serialize};

use crate::progress::{ScanPhase, VerifyProgress};
use crate::records::content_commitment;
use crate::{App, AppError};

/// Leaves and record versions read per query.
const PAGE_SIZE: u32 = 512;
/// Record versions decrypted at once: enough to overlap object reads with AES and SHA-256.
const VAULT_CHECK_CONCURRENCY: usize = 4;
/// Most leaves compared with their stored hashes to locate an altered leaf.
const MAX_LEAVES_TO_LOCATE: u64 = 4096;

/// One way the stored data differs from what the ledger proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerifyProblem {
    /// Leaf indices jump: these leaves are missing (deleted).
    LeavesMissing { first: u64, last: u64 },
    /// A leaf's bytes are not canonical JSON (they were edited outside the application).
    LeafNotCanonical { leaf_index: u64, reason: String },
    /// A leaf's entry no longer hashes to the leaf hash stored when it was appended.
    LeafAltered { leaf_index: u64 },
    /// The first signed tree head whose root differs from the root recomputed from the
    /// leaves; the log matched its heads up to `last_matching_size` leaves.
    TreeHeadRootMismatch {
        tree_size: u64,
        last_matching_size: u64,
    },
    /// Further heads after the first mismatch that differ too (they all cover the change).
    LaterTreeHeadsDiffer {
        count: u64,
        first_size: u64,
        last_size: u64,
    },
    /// A tree head whose signature does not verify under the ledger's public key.
    TreeHeadSignatureInvalid { tree_size: u64 },
    /// A tree head signs more leaves than the log holds (leaves at the end were deleted).
    TreeHeadBeyondLog { tree_size: u64, leaves: u64 },
    /// Leaves after the last signed tree head: appended without a commit signing them.
    LeavesUnsigned { first: u64, last: u64 },
    /// A record version whose record row is missing.
    RecordRowMissing { record: RecordId, version: u32 },
    /// A record version whose sealed metadata cannot be read.
    SealedUnreadable {
        record: RecordId,
        version: u32,
        reason: String,
    },
    /// The vault found the ciphertext differs from its metadata.
    Ciphertext {
        record: RecordId,
        version: u32,
        object_key: String,
        discrepancy: Discrepancy,
    },
    /// No ledger leaf at the version's leaf index.
    LedgerEntryMissing {
        record: RecordId,
        version: u32,
        leaf_index: u64,
    },
    /// The version's leaf is not the entry that records it (wrong kind, record or version).
    LedgerEntryMismatch {
        record: RecordId,
        version: u32,
        leaf_index: u64,
        field: &'static str,
        expected: String,
        found: String,
    },
    /// The content (hash and salt) no longer matches the commitment on the ledger.
    CommitmentMismatch {
        record: RecordId,
        version: u32,
        leaf_index: u64,
    },
    /// The ledger records a version that no record version row holds (deleted).
    VersionNotStored {
        record: String,
        version: u64,
        leaf_index: u64,
    },
    /// A version's data key is gone but its record has no erasure tombstone.
    KeyDestroyedWithoutErasure { record: RecordId, version: u32 },
    /// A record's tombstone says erased, but no `record.erased` ledger entry records it.
    ErasureNotOnLedger { record: RecordId },
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LeavesMissing { first, last } if first == last => {
                write!(f, "ledger leaf {first} is missing")
            }
            Self::LeavesMissing { first, last } => {
                write!(f, "ledger leaves {first}..={last} are missing")
            }
            Self::LeafNotCanonical { leaf_index, reason } => {
                write!(
                    f,
                    "ledger leaf {leaf_index} is not canonical JSON: {reason}"
                )
            }
            Self::LeafAltered { leaf_index } => write!(
                f,
                "ledger leaf {leaf_index} was altered: its entry no longer hashes to the leaf hash stored when it was appended"
            ),
            Self::TreeHeadRootMismatch {
                tree_size,
                last_matching_size,
            } => write!(
                f,
                "signed tree head at size {tree_size}: root differs from the root recomputed from the leaves (the log matches its heads up to size {last_matching_size}, so a leaf in {last_matching_size}..{tree_size} differs)"
            ),
            Self::LaterTreeHeadsDiffer {
                count,
                first_size,
                last_size,
            } => write!(
                f,
                "{count} later signed tree heads (sizes {first_size}..={last_size}) differ from the recomputed roots too"
            ),
            Self::TreeHeadSignatureInvalid { tree_size } => write!(
                f,
                "signed tree head at size {tree_size}: signature does not verify under the ledger key"
            ),
            Self::TreeHeadBeyondLog { tree_size, leaves } => write!(
                f,
                "signed tree head at size {tree_size}, but the log holds only {leaves} leaves"
            ),
            Self::LeavesUnsigned { first, last } => write!(
                f,
                "ledger leaves {first}..={last} come after the last signed tree head"
            ),
            Self::RecordRowMissing { record, version } => {
                write!(f, "record {record} v{version}: the record row is missing")
            }
            Self::SealedUnreadable {
                record,
                version,
                reason,
            } => write!(
                f,
                "record {record} v{version}: sealed metadata unreadable: {reason}"
            ),
            Self::Ciphertext {
                record,
                version,
                object_key,
                discrepancy,
            } => write!(
                f,
                "record {record} v{version}: object {object_key}: {discrepancy}"
            ),
            Self::LedgerEntryMissing {
                record,
                version,
                leaf_index,
            } => write!(
                f,
                "record {record} v{version}: its ledger leaf {leaf_index} is missing"
            ),
            Self::LedgerEntryMismatch {
                record,
                version,
                leaf_index,
                field,
                expected,
                found,
            } => write!(
                f,
                "record {record} v{version}: ledger leaf {leaf_index} has {field} {found}, expected {expected}"
            ),
            Self::CommitmentMismatch {
                record,
                version,
                leaf_index,
            } => write!(
                f,
                "record {record} v{version}: content hash and salt do not match the commitment in ledger leaf {leaf_index}"
            ),
            Self::VersionNotStored {
                record,
                version,
                leaf_index,
            } => write!(
                f,
                "ledger leaf {leaf_index} records record {record} v{version}, but no such version is stored"
            ),
            Self::KeyDestroyedWithoutErasure { record, version } => write!(
                f,
                "record {record} v{version}: its data key is gone but the record was never erased"
            ),
            Self::ErasureNotOnLedger { record } => write!(
                f,
                "record {record} is marked erased, but no record.erased ledger entry records it"
            ),
        }
    }
}

/// What `verify` went through and everything it found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub leaves: u64,
    pub tree_heads: u64,
    pub records: u64,
    pub versions: u64,
    /// Records erased by crypto-shredding (tombstones), included in `records`.
    pub erased_records: u64,
    /// Versions of erased records, included in `versions`: their leaves are checked,
    /// their content cannot be.
    pub erased_versions: u64,
    /// Plaintext bytes decrypted and hashed.
    pub content_bytes: u64,
    #[serde(serialize_with = "serialize_seconds", rename = "elapsed_seconds")]
    pub elapsed: Duration,
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    /// Whether everything checked.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn serialize_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The fields of a `record.created`/`record.updated` entry that bind a version.
#[derive(Debug, Deserialize)]
struct RecordEntryFields {
    kind: String,
    record: Option<String>,
    version: Option<u64>,
    commitment: Option<String>,
}

/// A record entry seen in the ledger pass, waiting for its version row.
#[derive(Debug)]
struct RecordLeaf {
    fields: RecordEntryFields,
    matched: bool,
}

fn is_record_kind(kind: &str) -> bool {
    kind == "record.created" || kind == "record.updated"
}

/// The ledger pass's state.
struct LedgerScan<'a> {
    tree: MemoryTree,
    heads: std::iter::Peekable<std::slice::Iter<'a, SignedTreeHead>>,
    next_index: u64,
    gap_seen: bool,
    /// Size of the last stored head when the scan began: leaves and versions appended
    /// after it (a server still running) belong to later commits and are left out.
    snapshot_size: u64,
    last_matching_size: u64,
    first_mismatch: Option<u64>,
    later_mismatches: Vec<u64>,
    record_leaves: HashMap<u64, RecordLeaf>,
    /// Records named by `record.erased` entries.
    erased_on_ledger: HashSet<String>,
    /// Erased records whose `record.erased` entry was not among the scanned leaves.
    erasures_unseen: Vec<RecordId>,
    problems: Vec<VerifyProblem>,
}

impl App {
    /// Checks the whole store against the ledger (module docs); every problem is in the
    /// report. `Err` means the check could not run (database or object store unreachable).
    pub async fn verify(&self, progress: &dyn VerifyProgress) -> Result<VerifyReport, AppError> {
        let started = Instant::now();
        let heads = self.store.tree_heads().await?;
        let mut scan = self.verify_ledger(&heads, progress).await?;
        let leaves = scan.tree.size();
        let mut report = VerifyReport {
            leaves,
            tree_heads: heads.len() as u64,
            records: 0,
            versions: 0,
            erased_records: 0,
            erased_versions: 0,
            content_bytes: 0,
            elapsed: Duration::ZERO,
            problems: Vec::new(),
        };
        self.verify_records(&mut scan, &mut report, progress)
            .await?;
        self.check_unseen_erasures(&mut scan).await?;
        let mut unmatched: Vec<(u64, RecordLeaf)> = scan
            .record_leaves
            .drain()
            .filter(|(_, leaf)| !leaf.matched)
            .collect();
        unmatched.sort_by_key(|(index, _)| *index);
        for (leaf_index, leaf) in unmatched {
            scan.problems.push(VerifyProblem::VersionNotStored {
                record: leaf.fields.record.unwrap_or_default(),
                version: leaf.fields.version.unwrap_or_default(),
                leaf_index,
            });
        }
        report.problems = scan.problems;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    async fn verify_ledger<'a>(
        &self,
        heads: &'a [SignedTreeHead],
        progress: &dyn VerifyProgress,
    ) -> Result<LedgerScan<'a>, AppError> {
        let key = self.ledger_key.verifying_key();
        let mut scan = LedgerScan {
            tree: MemoryTree::new(),
            heads: heads.iter().peekable(),
            next_index: 0,
            gap_seen: false,
            snapshot_size: heads.last().map_or(0, |h| h.head.tree_size),
            last_matching_size: 0,
            first_mismatch: None,
            later_mismatches: Vec::new(),
            record_leaves: HashMap::new(),
            erased_on_ledger: HashSet::new(),
            erasures_unseen: Vec::new(),
            problems: Vec::new(),
        };
        for head in heads {
            if head.verify(&key).is_err() {
                scan.problems.push(VerifyProblem::TreeHeadSignatureInvalid {
                    tree_size: head.head.tree_size,
                });
            }
        }
        progress.start(ScanPhase::LedgerLeaves, Some(scan.snapshot_size));
        self.check_heads_at_current_size(&mut scan).await;
        let mut first_after_snapshot = None;
        'pages: loop {
            let page = self.store.leaves(scan.next_index, PAGE_SIZE).await?;
            if page.is_empty() {
                break;
            }
            for row in page {
                if row.leaf_index >= scan.snapshot_size {
                    first_after_snapshot = Some(row.leaf_index);
                    break 'pages;
                }
                self.scan_leaf(&mut scan, row).await?;
                progress.advance(1);
            }
        }
        progress.finish(ScanPhase::LedgerLeaves);
        self.finish_ledger(&mut scan);
        if let Some(first) = first_after_snapshot {
            self.check_leaves_after_snapshot(&mut scan, first).await?;
        }
        Ok(scan)
    }

    /// Leaves past the snapshot are fine when a newer head signs them (a commit that
    /// landed during the scan); without one, nothing ever signed them.
    async fn check_leaves_after_snapshot(
        &self,
        scan: &mut LedgerScan<'_>,
        first: u64,
    ) -> Result<(), AppError> {
        let latest = self.store.latest_tree_head().await?;
        if latest.is_some_and(|head| head.head.tree_size > scan.snapshot_size) {
            return Ok(());
        }
        let mut last = first;
        loop {
            let page = self.store.leaves(last.saturating_add(1), PAGE_SIZE).await?;
            match page.last() {
                Some(row) => last = row.leaf_index,
                None => break,
            }
        }
        scan.problems
            .push(VerifyProblem::LeavesUnsigned { first, last });
        Ok(())
    }

    async fn scan_leaf(&self, scan: &mut LedgerScan<'_>, row: LeafRow) -> Result<(), AppError> {
        let leaf_index = row.leaf_index;
        if leaf_index != scan.next_index {
            scan.problems.push(VerifyProblem::LeavesMissing {
                first: scan.next_index,
                last: leaf_index.saturating_sub(1),
            });
            scan.gap_seen = true;
        }
        scan.next_index = leaf_index.saturating_add(1);
        scan.tree
            .append_entry(&row.entry)
            .map_err(|err| AppError::internal(format!("recomputing the ledger: {err}")))?;
        if let Err(err) = LedgerEntry::from_canonical_bytes(row.entry.clone()) {
            scan.problems.push(VerifyProblem::LeafNotCanonical {
                leaf_index,
                reason: err.to_string(),
            });
        }
        if let Ok(fields) = serde_json::from_slice::<RecordEntryFields>(&row.entry)
            && fields.kind == "record.erased"
            && let Some(record) = fields.record
        {
            scan.erased_on_ledger.insert(record);
        } else if let Ok(fields) = serde_json::from_slice::<RecordEntryFields>(&row.entry)
            && is_record_kind(&fields.kind)
        {
            scan.record_leaves.insert(
                leaf_index,
                RecordLeaf {
                    fields,
                    matched: false,
                },
            );
        }
        self.check_heads_at_current_size(scan).await;
        Ok(())
    }

    /// Compares every head signed at the tree's current size with the recomputed root.
    async fn check_heads_at_current_size(&self, scan: &mut LedgerScan<'_>) {
        let size = scan.tree.size();
        while let Some(head) = scan.heads.next_if(|h| h.head.tree_size <= size) {
            let tree_size = head.head.tree_size;
            // A head smaller than the current size was skipped over; only possible for
            // duplicate sizes, which the table's key rules out, so compare anyway.
            let root = scan.tree.root_at(tree_size).ok();
            if root == Some(head.head.root) {
                if scan.first_mismatch.is_none() {
                    scan.last_matching_size = tree_size;
                }
                continue;
            }
            if scan.first_mismatch.is_none() {
                scan.first_mismatch = Some(tree_size);
                scan.problems.push(VerifyProblem::TreeHeadRootMismatch {
                    tree_size,
                    last_matching_size: scan.last_matching_size,
                });
                if !scan.gap_seen {
                    let altered = self
                        .locate_altered_leaves(&scan.tree, scan.last_matching_size, tree_size)
                        .await;
                    scan.problems.extend(
                        altered
                            .into_iter()
                            .map(|leaf_index| VerifyProblem::LeafAltered { leaf_index }),
                    );
                }
            } else {
                scan.later_mismatches.push(tree_size);
            }
        }
    }

    /// Leaves in `from..to` whose recomputed hash differs from the one stored at append
    /// time. Best effort: when the stored hashes cannot be read, the head mismatch alone
    /// still names the range.
    async fn locate_altered_leaves(&self, tree: &MemoryTree, from: u64, to: u64) -> Vec<u64> {
        let to = to.min(from.saturating_add(MAX_LEAVES_TO_LOCATE));
        let ids: Vec<NodeId> = (from..to).map(NodeId::leaf).collect();
        let Ok(stored) = self.store.nodes(&ids).await else {
            return Vec::new();
        };
        (from..to)
            .filter(|&index| stored.get(&NodeId::leaf(index)).copied() != tree.leaf(index))
            .collect()
    }

    fn finish_ledger(&self, scan: &mut LedgerScan<'_>) {
        let leaves = scan.tree.size();
        if let (Some(&first_size), Some(&last_size)) =
            (scan.later_mismatches.first(), scan.later_mismatches.last())
        {
            scan.problems.push(VerifyProblem::LaterTreeHeadsDiffer {
                count: scan.later_mismatches.len() as u64,
                first_size,
                last_size,
            });
        }
        for head in scan.heads.by_ref() {
            scan.problems.push(VerifyProblem::TreeHeadBeyondLog {
                tree_size: head.head.tree_size,
                leaves,
            });
        }
    }

    async fn verify_records(
        &self,
        scan: &mut LedgerScan<'_>,
        report: &mut VerifyReport,
        progress: &dyn VerifyProgress,
    ) -> Result<(), AppError> {
        progress.start(
            ScanPhase::RecordVersions,
            Some(scan.record_leaves.len() as u64),
        );
        let mut after: Option<(RecordId, u32)> = None;
        let mut patients: HashMap<RecordId, Option<(UserId, bool)>> = HashMap::new();
        loop {
            let page = self.store.record_versions_after(after, PAGE_SIZE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some((last.record_id, last.version));
            // Versions come in record order: only a record continued from the last page
            // can be known already.
            let continued = page.first().map(|v| v.record_id);
            patients.retain(|id, _| Some(*id) == continued);
            for version in &page {
                if let Entry::Vacant(slot) = patients.entry(version.record_id) {
                    let meta = self.store.record(version.record_id).await?;
                    if let Some(meta) = meta.as_ref().filter(|m| m.erasure.is_some()) {
                        report.erased_records += 1;
                        if !scan.erased_on_ledger.contains(&meta.id.to_string()) {
                            scan.erasures_unseen.push(meta.id);
                        }
                    }
                    slot.insert(meta.map(|meta| (meta.patient, meta.erasure.is_some())));
                    report.records += 1;
                }
            }
            let checks = futures_util::stream::iter(page.iter().map(|version| {
                let patient = patients.get(&version.record_id).copied().flatten();
                self.check_ciphertext(version, patient)
            }))
            .buffered(VAULT_CHECK_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
            for (version, checked) in page.iter().zip(checks) {
                let checked = checked?;
                report.versions += 1;
                report.content_bytes += checked.content_bytes;
                scan.problems.extend(checked.problems);
                if checked.erased {
                    report.erased_versions += 1;
                    self.check_ledger_entry(scan, version, None).await?;
                } else if let Some(sealed) = checked.sealed {
                    self.check_ledger_entry(scan, version, Some(&sealed))
                        .await?;
                }
            }
            progress.advance(page.len() as u64);
        }
        progress.finish(ScanPhase::RecordVersions);
        Ok(())
    }

    async fn check_ciphertext(
        &self,
        version: &RecordVersion,
        record_row: Option<(UserId, bool)>,
    ) -> Result<CiphertextCheck, AppError> {
        let (record, number) = (version.record_id, version.version);
        let mut checked = CiphertextCheck::default();
        if version.is_erased() {
            if record_row.is_some_and(|(_, erased)| erased) {
                checked.erased = true;
            } else {
                checked
                    .problems
                    .push(VerifyProblem::KeyDestroyedWithoutErasure {
                        record,
                        version: number,
                    });
            }
            return Ok(checked);
        }
        let patient = record_row.map(|(patient, _)| patient);
        let sealed: SealedRecord = match serde_json::from_str(&version.sealed) {
            Ok(sealed) => sealed,
            Err(err) => {
                checked.problems.push(VerifyProblem::SealedUnreadable {
                    record,
                    version: number,
                    reason: err.to_string(),
                });
                return Ok(checked);
            }
        };
        let Some(patient) = patient else {
            checked.problems.push(VerifyProblem::RecordRowMissing {
                record,
                version: number,
            });
            checked.sealed = Some(sealed);
            return Ok(checked);
        };
        let (record_text, patient_text) = (record.to_string(), patient.to_string());
        let binding = RecordBinding::new(&record_text, &patient_text, u64::from(number));
        let report = match self.vault.check(&sealed, &binding).await {
            Ok(report) => report,
            Err(VaultError::Storage(err)) => {
                return Err(AppError::internal(format!(
                    "reading record {record} v{number} from the object store: {err}"
                )));
            }
            Err(err) => {
                checked.problems.push(VerifyProblem::SealedUnreadable {
                    record,
                    version: number,
                    reason: err.to_string(),
                });
                checked.sealed = Some(sealed);
                return Ok(checked);
            }
        };
        if report.is_ok() {
            checked.content_bytes = version.size_bytes;
        }
        let object_key = report.object_key.to_string();
        checked
            .problems
            .extend(report.discrepancies.into_iter().map(|discrepancy| {
                VerifyProblem::Ciphertext {
                    record,
                    version: number,
                    object_key: object_key.clone(),
                    discrepancy,
                }
            }));
        checked.sealed = Some(sealed);
        Ok(checked)
    }

    async fn check_ledger_entry(
        &self,
        scan: &mut LedgerScan<'_>,
        version: &RecordVersion,
        sealed: Option<&SealedRecord>,
    ) -> Result<(), AppError> {
        let (record, number, leaf_index) = (version.record_id, version.version, version.leaf_index);
        if leaf_index >= scan.snapshot_size {
            // Committed after the ledger pass began; its ledger entry was not scanned.
            return Ok(());
        }
        let mismatch = |field: &'static str, expected: String, found: String| {
            VerifyProblem::LedgerEntryMismatch {
                record,
                version: number,
                leaf_index,
                field,
                expected,
                found,
            }
        };
        let expected_kind = if number == 1 {
            "record.created"
        } else {
            "record.updated"
        };
        let Some(leaf) = scan.record_leaves.get_mut(&leaf_index) else {
            // Not a record entry: say what is there instead, if anything.
            let found = self.store.leaves(leaf_index, 1).await?;
            let problem = match found.into_iter().find(|row| row.leaf_index == leaf_index) {
                Some(row) => match serde_json::from_slice::<RecordEntryFields>(&row.entry) {
                    Ok(fields) => mismatch("kind", expected_kind.to_owned(), fields.kind),
                    Err(_) => mismatch(
                        "entry",
                        format!("a {expected_kind} entry"),
                        "bytes that are not a ledger entry".to_owned(),
                    ),
                },
                None => VerifyProblem::LedgerEntryMissing {
                    record,
                    version: number,
                    leaf_index,
                },
            };
            scan.problems.push(problem);
            return Ok(());
        };
        let fields = &leaf.fields;
        let mut problems = Vec::new();
        if fields.kind != expected_kind {
            problems.push(mismatch(
                "kind",
                expected_kind.to_owned(),
                fields.kind.clone(),
            ));
        }
        let record_text = record.to_string();
        if fields.record.as_deref() != Some(record_text.as_str()) {
            problems.push(mismatch(
                "record",
                record_text,
                fields.record.clone().unwrap_or_else(|| "none".to_owned()),
            ));
        }
        if fields.version != Some(u64::from(number)) {
            problems.push(mismatch(
                "version",
                number.to_string(),
                fields
                    .version
                    .map_or_else(|| "none".to_owned(), |v| v.to_string()),
            ));
        }
        // An erased version has neither content hash nor salt left to check.
        let commitment =
            sealed.map(|s| content_commitment(&version.commitment_salt, &s.content_sha256));
        if commitment.is_some() && fields.commitment.as_deref() != commitment.as_deref() {
            problems.push(VerifyProblem::CommitmentMismatch {
                record,
                version: number,
                leaf_index,
            });
        }
        // Matched only when it names this version, so a leaf naming another version is
        // still reported as that version's missing row.
        if fields.record.as_deref() == Some(record.to_string().as_str())
            && fields.version == Some(u64::from(number))
        {
            leaf.matched = true;
        }
        scan.problems.extend(problems);
        Ok(())
    }
}

/// What checking one version's ciphertext found.
#[derive(Default)]
struct CiphertextCheck {
    /// The parsed metadata, when readable (the ledger check needs its hash).
    sealed: Option<SealedRecord>,
    problems: Vec<VerifyProblem>,
    content_bytes: u64,
    /// The version belongs to an erased record and has no key left (nothing to check).
    erased: bool,
}

impl App {
    /// Erased records whose `record.erased` entry the ledger pass did not see: fine when
    /// the entry was appended after the pass began (a running server), reported otherwise.
    async fn check_unseen_erasures(&self, scan: &mut LedgerScan<'_>) -> Result<(), AppError> {
        if scan.erasures_unseen.is_empty() {
            return Ok(());
        }
        let mut unseen: HashSet<String> =
            scan.erasures_unseen.iter().map(|r| r.to_string()).collect();
        let mut next = scan.snapshot_size;
        loop {
            let page = self.store.leaves(next, PAGE_SIZE).await?;
            let Some(last) = page.last() else {
                break;
            };
            next = last.leaf_index.saturating_add(1);
            for row in &page {
                if let Ok(fields) = serde_json::from_slice::<RecordEntryFields>(&row.entry)
                    && fields.kind == "record.erased"
                    && let Some(record) = fields.record
                {
                    unseen.remove(&record);
                }
            }
        }
        for record in scan.erasures_unseen.drain(..) {
            if unseen.contains(&record.to_string()) {
                scan.problems
                    .push(VerifyProblem::ErasureNotOnLedger { record });
            }
        }
        Ok(())
    }
}
