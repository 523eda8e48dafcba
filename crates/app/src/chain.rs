//! The ledger on an EVM chain (docs/chain.md). `anchor` mode writes signed tree heads;
//! `mirror` mode also writes every record version's commitment (batched, from a durable
//! backlog: the record versions past the mirror's cursor) and every consent change (before
//! the database commits it, so a consent takes effect only once its transaction is mined).

use std::collections::BTreeSet;
use std::sync::Arc;

use meditrustal_chain::{
    Anchor, Chain, ChainError, ConsentTerms, Contracts, RecordCommitment, pseudonym, record_key,
};
use meditrustal_domain::{ConsentGrant, ConsentScope, Purpose};
use meditrustal_store::{ChainAnchorRow, MirroredVersion, Write};
use meditrustal_vault::SealedRecord;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{App, AppError};

/// The mirror's cursor name in `chain_cursors`.
const RECORD_CURSOR: &str = "records";
/// Record versions per mirror transaction (about 51,000 gas each on Ganache).
const MIRROR_BATCH: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainMode {
    /// Signed tree heads only.
    Anchor,
    /// Tree heads, record commitments and consent changes.
    Mirror,
}

/// A configured chain: the client, the deployed contracts and the mode.
#[derive(Debug, Clone)]
pub struct ChainLink {
    pub chain: Chain,
    pub contracts: Contracts,
    pub mode: ChainMode,
}

/// What one round of the chain writer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChainSync {
    /// Tree size anchored in this round, if any.
    pub anchored: Option<u64>,
    /// Record versions mirrored in this round.
    pub mirrored: u64,
    /// Record versions still waiting for the mirror.
    pub backlog: u64,
}

/// Where the chain writer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainStatus {
    pub mode: &'static str,
    /// Entries in the ledger.
    pub ledger_tree_size: u64,
    /// The largest tree size this node anchored.
    pub anchored_tree_size: u64,
    /// When that anchor was written; `None` before the first.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_anchored_at: Option<time::OffsetDateTime>,
    /// Record versions waiting for the mirror (mirror mode).
    pub mirror_backlog: u64,
}

/// A difference between the chain and this node's database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainDivergence {
    /// The chain's root for this size is not the ledger's.
    AnchorRootMismatch { tree_size: u64 },
    /// The chain anchors a size for which the ledger has no signed tree head.
    AnchorUnknownLocally { tree_size: u64 },
    /// The configured contracts have no code on this chain (a fresh or a different chain).
    ContractsMissing,
    /// This node anchored the size, but the chain does not have it (a reset or another chain).
    AnchorMissing { tree_size: u64 },
    /// A mirrored record version's commitment is absent from the chain.
    RecordMissing { record: Uuid, version: u32 },
    /// A mirrored record version's commitment on chain differs from the database's.
    RecordMismatch { record: Uuid, version: u32 },
    /// A consent in the database is absent from the chain.
    ConsentMissing { consent: Uuid },
    /// A consent's terms differ between chain and database; `fields` names them.
    ConsentMismatch {
        consent: Uuid,
        fields: Vec<&'static str>,
    },
}

impl std::fmt::Display for ChainDivergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AnchorRootMismatch { tree_size } => write!(
                f,
                "anchor at tree size {tree_size}: the chain's root differs from the ledger's"
            ),
            Self::AnchorUnknownLocally { tree_size } => write!(
                f,
                "anchor at tree size {tree_size}: no signed tree head of that size in the ledger"
            ),
            Self::ContractsMissing => write!(
                f,
                "the configured contracts are not on this chain (a fresh or a different chain)"
            ),
            Self::AnchorMissing { tree_size } => write!(
                f,
                "anchor at tree size {tree_size}: written by this node but missing on chain"
            ),
            Self::RecordMissing { record, version } => write!(
                f,
                "record {record} version {version}: commitment missing on chain"
            ),
            Self::RecordMismatch { record, version } => write!(
                f,
                "record {record} version {version}: commitment on chain differs from the database"
            ),
            Self::ConsentMissing { consent } => write!(f, "consent {consent}: missing on chain"),
            Self::ConsentMismatch { consent, fields } => write!(
                f,
                "consent {consent}: {} differ between chain and database",
                fields.join(", ")
            ),
        }
    }
}

/// The bit of each purpose in the consent registry: its position in `Purpose::ALL`.
pub fn purpose_bits(purposes: &BTreeSet<Purpose>) -> u64 {
    Purpose::ALL
        .iter()
        .enumerate()
        .filter(|(_, p)| purposes.contains(p))
        .fold(0, |bits, (i, _)| bits | (1u64 << i))
}

/// SHA-256 of the scope's JSON (sets serialise sorted, so the form is canonical).
fn scope_hash(scope: &ConsentScope) -> Result<[u8; 32], AppError> {
    let json =
        serde_json::to_vec(scope).map_err(|e| AppError::internal(format!("scope json: {e}")))?;
    Ok(Sha256::digest(&json).into())
}

fn seconds(at: time::OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp()).unwrap_or(0)
}

fn chain_error(err: ChainError) -> AppError {
    match err {
        ChainError::Unreachable { .. } => AppError::ChainUnavailable(err.to_string()),
        other => AppError::internal(format!("chain: {other}")),
    }
}

impl App {
    /// Connects the app to a chain; without it the ledger stays local.
    pub fn with_chain(mut self, link: ChainLink) -> App {
        self.chain = Some(Arc::new(link));
        self
    }

    pub fn chain_mode(&self) -> Option<ChainMode> {
        self.chain.as_ref().map(|link| link.mode)
    }

    /// The consent terms the registry holds for a database consent.
    async fn consent_terms(&self, consent: &ConsentGrant) -> Result<ConsentTerms, AppError> {
        let patient = self.patient_did(consent.patient).await?;
        let grantee = self
            .store
            .user_by_id(consent.grantee)
            .await?
            .ok_or(AppError::NotFound { what: "grantee" })?
            .did;
        Ok(ConsentTerms {
            consent_id: record_key(consent.id.as_bytes()),
            patient: pseudonym(patient.as_str()),
            grantee: pseudonym(grantee.as_str()),
            scope_hash: scope_hash(&consent.scope)?,
            purposes: purpose_bits(&consent.purposes),
            allow_write: consent.allow_write,
            granted_at: seconds(consent.created_at),
            expires_at: consent.expires_at.map_or(0, seconds),
            revoked_at: consent.revoked_at.map_or(0, seconds),
        })
    }

    /// In mirror mode, writes the change's consent grants and revocations on chain and waits
    /// until they are mined; called before the database commit, so an unreachable chain
    /// leaves the consent unchanged (503) rather than in force without its transaction.
    pub(crate) async fn mirror_consents(&self, writes: &[Write]) -> Result<(), AppError> {
        let Some(link) = self.chain.as_ref().filter(|l| l.mode == ChainMode::Mirror) else {
            return Ok(());
        };
        for write in writes {
            match write {
                Write::InsertConsent(consent) => {
                    let terms = self.consent_terms(consent).await?;
                    link.chain
                        .grant_consent(&link.contracts, &terms)
                        .await
                        .map_err(chain_error)?;
                }
                Write::RevokeConsent { id, at } => {
                    link.chain
                        .revoke_consent(&link.contracts, record_key(id.as_bytes()), seconds(*at))
                        .await
                        .map_err(chain_error)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub async fn chain_status(&self) -> Result<ChainStatus, AppError> {
        let Some(link) = self.chain.as_ref() else {
            return Err(AppError::internal("no chain is configured"));
        };
        let ledger_tree_size = self
            .store
            .latest_tree_head()
            .await?
            .map_or(0, |h| h.head.tree_size);
        let latest = self.store.latest_chain_anchor().await?;
        let anchored_tree_size = latest.as_ref().map_or(0, |a| a.tree_size);
        let mirror_backlog = match link.mode {
            ChainMode::Mirror => {
                let cursor = self.store.chain_cursor(RECORD_CURSOR).await?;
                self.store.count_versions_after_leaf(cursor).await?
            }
            ChainMode::Anchor => 0,
        };
        let mode = match link.mode {
            ChainMode::Anchor => "anchor",
            ChainMode::Mirror => "mirror",
        };
        Ok(ChainStatus {
            mode,
            ledger_tree_size,
            anchored_tree_size,
            last_anchored_at: latest.map(|a| a.anchored_at),
            mirror_backlog,
        })
    }

    /// One round of the chain writer: mirrors waiting record versions (mirror mode), then
    /// anchors the latest signed tree head if it grew by at least `min_growth` entries since
    /// the last anchor. Run by one node only (the ledger's sequencer).
    pub async fn sync_chain(&self, min_growth: u64) -> Result<ChainSync, AppError> {
        let Some(link) = self.chain.clone() else {
            return Ok(ChainSync::default());
        };
        let mut sync = ChainSync::default();
        if link.mode == ChainMode::Mirror {
            sync.mirrored = self.mirror_records(&link).await?;
            let cursor = self.store.chain_cursor(RECORD_CURSOR).await?;
            sync.backlog = self.store.count_versions_after_leaf(cursor).await?;
        }
        sync.anchored = self.anchor_latest(&link, min_growth.max(1)).await?;
        Ok(sync)
    }

    async fn mirror_records(&self, link: &ChainLink) -> Result<u64, AppError> {
        let mut mirrored = 0;
        loop {
            let cursor = self.store.chain_cursor(RECORD_CURSOR).await?;
            let versions = self.store.versions_after_leaf(cursor, MIRROR_BATCH).await?;
            let Some(last) = versions.last().map(|v| v.leaf_index) else {
                return Ok(mirrored);
            };
            // An erased version has no salt left: nothing to commit, nothing to link.
            let batch = versions
                .iter()
                .filter(|v| !v.sealed.is_empty())
                .map(|v| {
                    Ok(RecordCommitment {
                        patient: pseudonym(&v.patient_did),
                        record_id: record_key(v.record_id.0.as_bytes()),
                        version: v.version,
                        commitment: version_commitment(v)?,
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()?;
            if !batch.is_empty() {
                link.chain
                    .commit_records(&link.contracts, &batch)
                    .await
                    .map_err(chain_error)?;
            }
            self.store.set_chain_cursor(RECORD_CURSOR, last).await?;
            mirrored += batch.len() as u64;
        }
    }

    async fn anchor_latest(
        &self,
        link: &ChainLink,
        min_growth: u64,
    ) -> Result<Option<u64>, AppError> {
        let Some(head) = self.store.latest_tree_head().await? else {
            return Ok(None);
        };
        let anchored = self
            .store
            .chain_anchors()
            .await?
            .last()
            .map_or(0, |a| a.tree_size);
        if head.head.tree_size < anchored.saturating_add(min_growth) {
            return Ok(None);
        }
        let anchor = Anchor {
            tree_size: head.head.tree_size,
            root: head.head.root.0,
            timestamp_ms: head.head.timestamp_ms,
            signer: self.ledger_key.verifying_key().to_bytes(),
        };
        let outcome = link
            .chain
            .anchor(&link.contracts, &anchor, &head.signature.to_bytes())
            .await
            .map_err(chain_error)?;
        self.store
            .insert_chain_anchor(&ChainAnchorRow {
                tree_size: anchor.tree_size,
                root: anchor.root.to_vec(),
                tx_hash: outcome.tx_hash.to_vec(),
                block_number: outcome.block_number,
                anchored_at: self.clock.now(),
            })
            .await?;
        tracing::info!(
            tree_size = anchor.tree_size,
            gas = outcome.gas_used,
            "ledger anchored on chain"
        );
        Ok(Some(anchor.tree_size))
    }

    /// Compares the chain with the database: anchored roots with the ledger's signed tree
    /// heads (which plain `verify` checks against the recomputed tree), anchors this node
    /// wrote with those the chain has, and in mirror mode every mirrored record commitment
    /// and every consent.
    pub async fn verify_chain(&self) -> Result<Vec<ChainDivergence>, AppError> {
        let Some(link) = self.chain.clone() else {
            return Err(AppError::internal("no chain is configured"));
        };
        if !link
            .chain
            .is_deployed(&link.contracts)
            .await
            .map_err(chain_error)?
        {
            let mut problems = vec![ChainDivergence::ContractsMissing];
            problems.extend(self.store.chain_anchors().await?.into_iter().map(|a| {
                ChainDivergence::AnchorMissing {
                    tree_size: a.tree_size,
                }
            }));
            return Ok(problems);
        }
        let mut problems = self.verify_anchors(&link).await?;
        if link.mode == ChainMode::Mirror {
            problems.extend(self.verify_mirrored_records(&link).await?);
            problems.extend(self.verify_consents(&link).await?);
        }
        Ok(problems)
    }

    async fn verify_anchors(&self, link: &ChainLink) -> Result<Vec<ChainDivergence>, AppError> {
        let on_chain = link
            .chain
            .anchors(&link.contracts)
            .await
            .map_err(chain_error)?;
        let mut problems = Vec::new();
        for anchor in &on_chain {
            match self.store.tree_head(anchor.tree_size).await? {
                None => problems.push(ChainDivergence::AnchorUnknownLocally {
                    tree_size: anchor.tree_size,
                }),
                Some(head) if head.head.root.0 != anchor.root => {
                    problems.push(ChainDivergence::AnchorRootMismatch {
                        tree_size: anchor.tree_size,
                    })
                }
                Some(_) => {}
            }
        }
        let sizes: BTreeSet<u64> = on_chain.iter().map(|a| a.tree_size).collect();
        for written in self.store.chain_anchors().await? {
            if !sizes.contains(&written.tree_size) {
                problems.push(ChainDivergence::AnchorMissing {
                    tree_size: written.tree_size,
                });
            }
        }
        Ok(problems)
    }

    async fn verify_mirrored_records(
        &self,
        link: &ChainLink,
    ) -> Result<Vec<ChainDivergence>, AppError> {
        let Some(cursor) = self.store.chain_cursor(RECORD_CURSOR).await? else {
            return Ok(Vec::new());
        };
        let mut problems = Vec::new();
        let mut after = None;
        loop {
            let versions = self.store.versions_after_leaf(after, 500).await?;
            let Some(last) = versions.last().map(|v| v.leaf_index) else {
                break;
            };
            for v in versions
                .iter()
                .filter(|v| v.leaf_index <= cursor && !v.sealed.is_empty())
            {
                let expected = version_commitment(v)?;
                let key = record_key(v.record_id.0.as_bytes());
                let (record, version) = (v.record_id.0, v.version);
                match link
                    .chain
                    .commitment_of(&link.contracts, key, v.version)
                    .await
                    .map_err(chain_error)?
                {
                    None => problems.push(ChainDivergence::RecordMissing { record, version }),
                    Some(found) if found != expected => {
                        problems.push(ChainDivergence::RecordMismatch { record, version })
                    }
                    Some(_) => {}
                }
            }
            if last >= cursor {
                break;
            }
            after = Some(last);
        }
        Ok(problems)
    }

    async fn verify_consents(&self, link: &ChainLink) -> Result<Vec<ChainDivergence>, AppError> {
        let mut problems = Vec::new();
        for consent in self.store.consents(None, None).await? {
            let expected = self.consent_terms(&consent).await?;
            let found = link
                .chain
                .consent_of(&link.contracts, expected.consent_id)
                .await
                .map_err(chain_error)?;
            match found {
                None => problems.push(ChainDivergence::ConsentMissing {
                    consent: consent.id,
                }),
                Some(found) => {
                    let fields = differing_terms(&expected, &found);
                    if !fields.is_empty() {
                        problems.push(ChainDivergence::ConsentMismatch {
                            consent: consent.id,
                            fields,
                        });
                    }
                }
            }
        }
        Ok(problems)
    }
}

fn differing_terms(a: &ConsentTerms, b: &ConsentTerms) -> Vec<&'static str> {
    let checks = [
        ("patient", a.patient == b.patient),
        ("grantee", a.grantee == b.grantee),
        ("scope", a.scope_hash == b.scope_hash),
        ("purposes", a.purposes == b.purposes),
        ("allow_write", a.allow_write == b.allow_write),
        ("created_at", a.granted_at == b.granted_at),
        ("expires_at", a.expires_at == b.expires_at),
        ("revoked_at", a.revoked_at == b.revoked_at),
    ];
    checks
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(name, _)| name)
        .collect()
}

/// A record version's ledger content commitment as 32 bytes, from its salt and the content
/// hash in its sealed metadata (no decryption needed).
fn version_commitment(v: &MirroredVersion) -> Result<[u8; 32], AppError> {
    let sealed: SealedRecord = serde_json::from_str(&v.sealed)
        .map_err(|e| AppError::Integrity(format!("record {} sealed metadata: {e}", v.record_id)))?;
    let hex_commitment =
        crate::records::content_commitment(&v.commitment_salt, &sealed.content_sha256);
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_commitment, &mut out)
        .map_err(|e| AppError::internal(format!("commitment: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_map_to_their_position_bits() {
        let all: BTreeSet<Purpose> = Purpose::ALL.iter().copied().collect();
        assert_eq!(purpose_bits(&all), (1u64 << Purpose::ALL.len()) - 1);
        let first: BTreeSet<Purpose> = [Purpose::ALL[0]].into_iter().collect();
        assert_eq!(purpose_bits(&first), 1);
        assert_eq!(purpose_bits(&BTreeSet::new()), 0);
        // The order is on chain already: new purposes may only be appended (docs/chain.md).
        let research: BTreeSet<Purpose> = [Purpose::Research].into_iter().collect();
        assert_eq!(purpose_bits(&research), 0b1000);
        let treatment: BTreeSet<Purpose> = [Purpose::Treatment].into_iter().collect();
        assert_eq!(purpose_bits(&treatment), 0b0001);
    }

    #[test]
    fn differing_terms_names_each_changed_field() {
        let a = ConsentTerms {
            consent_id: [1; 32],
            patient: [2; 32],
            grantee: [3; 32],
            scope_hash: [4; 32],
            purposes: 1,
            allow_write: false,
            granted_at: 10,
            expires_at: 20,
            revoked_at: 0,
        };
        assert!(differing_terms(&a, &a).is_empty());
        let b = ConsentTerms {
            expires_at: 30,
            revoked_at: 15,
            ..a
        };
        assert_eq!(differing_terms(&a, &b), vec!["expires_at", "revoked_at"]);
    }
}
