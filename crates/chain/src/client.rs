use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, FixedBytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;

use crate::bindings::{ConsentRegistry, LedgerAnchor, RecordRegistry};
use crate::error::ChainError;
use crate::terms::{ConsentTerms, RecordCommitment};

/// Where the chain is and who writes to it.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    pub rpc_url: String,
    /// Hex secp256k1 private key of the writer account. Never logged.
    pub signer_key: String,
}

/// Addresses of the three deployed contracts (`<data-dir>/chain-contracts.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    pub ledger_anchor: Address,
    pub record_registry: Address,
    pub consent_registry: Address,
}

/// A signed tree head as anchored on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub tree_size: u64,
    pub root: [u8; 32],
    pub timestamp_ms: u64,
    /// The ledger's Ed25519 public key.
    pub signer: [u8; 32],
}

/// What a mined transaction cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxOutcome {
    pub tx_hash: [u8; 32],
    pub block_number: u64,
    pub gas_used: u64,
}

/// How long a sent transaction may take to be mined before the write counts as failed.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to the chain with a local signing key. Cheap to clone; one nonce counter is
/// shared by every clone so concurrent writers never reuse a nonce.
#[derive(Clone)]
pub struct Chain {
    url: String,
    provider: DynProvider,
    writer: Address,
    /// The next nonce to use, `None` when it must be asked of the node. Held only while a
    /// transaction is signed and sent, so transactions pipeline while their receipts are
    /// awaited. Forgotten after any failed send: a nonce taken by a transaction that never
    /// reached the node would leave a gap that stalls every later one.
    next_nonce: std::sync::Arc<Mutex<Option<u64>>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("url", &self.url)
            .field("writer", &self.writer)
            .finish()
    }
}

impl Chain {
    /// Builds the client. Nothing is sent until the first call.
    pub fn connect(config: &ChainConfig) -> Result<Self, ChainError> {
        let signer: PrivateKeySigner = config.signer_key.trim().parse().map_err(|_| {
            ChainError::Config("the chain signing key is not a hex secp256k1 private key".into())
        })?;
        let url = config
            .rpc_url
            .parse()
            .map_err(|_| ChainError::Config(format!("`{}` is not a URL", config.rpc_url)))?;
        let writer = signer.address();
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url)
            .erased();
        Ok(Self {
            url: config.rpc_url.clone(),
            provider,
            writer,
            next_nonce: Default::default(),
        })
    }

    /// The account this client writes with.
    pub fn writer(&self) -> Address {
        self.writer
    }

    /// The node's chain id; also a cheap reachability check.
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.provider
            .get_chain_id()
            .await
            .map_err(|e| ChainError::from_rpc(&self.url, "eth_chainId", e))
    }

    /// Whether all three contracts have code at their addresses (false on a fresh or a
    /// different chain).
    pub async fn is_deployed(&self, contracts: &Contracts) -> Result<bool, ChainError> {
        for address in [
            contracts.ledger_anchor,
            contracts.record_registry,
            contracts.consent_registry,
        ] {
            let code = self
                .provider
                .get_code_at(address)
                .await
                .map_err(|e| ChainError::from_rpc(&self.url, "eth_getCode", e))?;
            if code.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Deploys the three contracts with this client's account as owner and writer.
    pub async fn deploy(&self) -> Result<Contracts, ChainError> {
        Ok(Contracts {
            ledger_anchor: self
                .deployed(
                    "deploy LedgerAnchor",
                    LedgerAnchor::deploy_builder(&self.provider),
                )
                .await?,
            record_registry: self
                .deployed(
                    "deploy RecordRegistry",
                    RecordRegistry::deploy_builder(&self.provider),
                )
                .await?,
            consent_registry: self
                .deployed(
                    "deploy ConsentRegistry",
                    ConsentRegistry::deploy_builder(&self.provider),
                )
                .await?,
        })
    }

    /// Writes a signed tree head. The contract refuses a tree size not larger than the last.
    pub async fn anchor(
        &self,
        contracts: &Contracts,
        head: &Anchor,
        signature: &[u8; 64],
    ) -> Result<TxOutcome, ChainError> {
        let contract = LedgerAnchor::new(contracts.ledger_anchor, &self.provider);
        let call = contract.anchor(
            head.tree_size,
            FixedBytes(head.root),
            head.timestamp_ms,
            FixedBytes(head.signer),
            Bytes::copy_from_slice(signature),
        );
        self.transact("anchor", call).await
    }

    /// Every anchor on chain, oldest first.
    pub async fn anchors(&self, contracts: &Contracts) -> Result<Vec<Anchor>, ChainError> {
        let contract = LedgerAnchor::new(contracts.ledger_anchor, &self.provider);
        let count = contract
            .anchorCount()
            .call()
            .await
            .map_err(|e| self.contract_error("anchorCount", e))?;
        let count = u64::try_from(count).map_err(|_| ChainError::Rejected {
            call: "anchorCount",
            reason: "count out of range".into(),
        })?;
        let mut anchors = Vec::new();
        for index in 0..count {
            let a = contract
                .anchorAt(alloy::primitives::U256::from(index))
                .call()
                .await
                .map_err(|e| self.contract_error("anchorAt", e))?;
            anchors.push(Anchor {
                tree_size: a.treeSize,
                root: a.root.0,
                timestamp_ms: a.timestampMs,
                signer: a.signer.0,
            });
        }
        Ok(anchors)
    }

    /// Commits a batch of record versions in one transaction.
    pub async fn commit_records(
        &self,
        contracts: &Contracts,
        batch: &[RecordCommitment],
    ) -> Result<TxOutcome, ChainError> {
        let contract = RecordRegistry::new(contracts.record_registry, &self.provider);
        let call = contract.commit(
            batch.iter().map(|r| FixedBytes(r.patient)).collect(),
            batch.iter().map(|r| FixedBytes(r.record_id)).collect(),
            batch.iter().map(|r| r.version).collect(),
            batch.iter().map(|r| FixedBytes(r.commitment)).collect(),
        );
        self.transact("commit records", call).await
    }

    /// The commitment of a record version on chain, `None` when there is none.
    pub async fn commitment_of(
        &self,
        contracts: &Contracts,
        record_id: [u8; 32],
        version: u32,
    ) -> Result<Option<[u8; 32]>, ChainError> {
        let value = RecordRegistry::new(contracts.record_registry, &self.provider)
            .commitmentOf(FixedBytes(record_id), version)
            .call()
            .await
            .map_err(|e| self.contract_error("commitmentOf", e))?;
        Ok((value != FixedBytes::ZERO).then_some(value.0))
    }

    /// Registers a granted consent and waits until it is mined.
    pub async fn grant_consent(
        &self,
        contracts: &Contracts,
        terms: &ConsentTerms,
    ) -> Result<TxOutcome, ChainError> {
        let contract = ConsentRegistry::new(contracts.consent_registry, &self.provider);
        let call = contract.grant(
            FixedBytes(terms.consent_id),
            FixedBytes(terms.patient),
            FixedBytes(terms.grantee),
            FixedBytes(terms.scope_hash),
            terms.purposes,
            terms.allow_write,
            terms.granted_at,
            terms.expires_at,
        );
        self.transact("grant consent", call).await
    }

    /// Registers a revocation and waits until it is mined.
    pub async fn revoke_consent(
        &self,
        contracts: &Contracts,
        consent_id: [u8; 32],
        revoked_at: u64,
    ) -> Result<TxOutcome, ChainError> {
        let contract = ConsentRegistry::new(contracts.consent_registry, &self.provider);
        let call = contract.revoke(FixedBytes(consent_id), revoked_at);
        self.transact("revoke consent", call).await
    }

    /// A consent's terms on chain, `None` when the chain has never seen it.
    pub async fn consent_of(
        &self,
        contracts: &Contracts,
        consent_id: [u8; 32],
    ) -> Result<Option<ConsentTerms>, ChainError> {
        let c = ConsentRegistry::new(contracts.consent_registry, &self.provider)
            .consentOf(FixedBytes(consent_id))
            .call()
            .await
            .map_err(|e| self.contract_error("consentOf", e))?;
        Ok((c.grantedAt != 0).then_some(ConsentTerms {
            consent_id,
            patient: c.patient.0,
            grantee: c.grantee.0,
            scope_hash: c.scopeHash.0,
            purposes: c.purposes,
            allow_write: c.allowWrite,
            granted_at: c.grantedAt,
            expires_at: c.expiresAt,
            revoked_at: c.revokedAt,
        }))
    }

    /// Signs and sends one transaction under the nonce lock, then waits for its receipt
    /// outside it.
    async fn send<P: Provider, D: CallDecoder>(
        &self,
        call: &'static str,
        builder: CallBuilder<P, D>,
    ) -> Result<TransactionReceipt, ChainError> {
        let pending = {
            let mut next = self.next_nonce.lock().await;
            let nonce = match *next {
                Some(nonce) => nonce,
                None => self
                    .provider
                    .get_transaction_count(self.writer)
                    .pending()
                    .await
                    .map_err(|e| ChainError::from_rpc(&self.url, call, e))?,
            };
            match builder.nonce(nonce).send().await {
                Ok(pending) => {
                    *next = Some(nonce + 1);
                    pending
                }
                Err(error) => {
                    *next = None;
                    return Err(self.contract_error(call, error));
                }
            }
        };
        pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .map_err(|e| ChainError::Unreachable {
                url: self.url.clone(),
                reason: e.to_string(),
            })
    }

    async fn transact<P: Provider, D: CallDecoder>(
        &self,
        call: &'static str,
        builder: CallBuilder<P, D>,
    ) -> Result<TxOutcome, ChainError> {
        let receipt = self.send(call, builder).await?;
        self.mined(call, receipt)
    }

    async fn deployed<P: Provider, D: CallDecoder>(
        &self,
        call: &'static str,
        builder: CallBuilder<P, D>,
    ) -> Result<Address, ChainError> {
        let receipt = self.send(call, builder).await?;
        self.mined(call, receipt.clone())?;
        receipt
            .contract_address
            .ok_or(ChainError::Reverted { call })
    }

    fn mined(
        &self,
        call: &'static str,
        receipt: TransactionReceipt,
    ) -> Result<TxOutcome, ChainError> {
        if !receipt.status() {
            return Err(ChainError::Reverted { call });
        }
        Ok(TxOutcome {
            tx_hash: receipt.transaction_hash.0,
            block_number: receipt.block_number.unwrap_or_default(),
            gas_used: receipt.gas_used,
        })
    }

    fn contract_error(&self, call: &'static str, error: alloy::contract::Error) -> ChainError {
        ChainError::from_contract(&self.url, call, error)
    }
}
