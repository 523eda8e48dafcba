//! The EVM chain from the command line: `--chain-*` settings shared by `serve` and
//! `verify --chain`, `meditrustal chain deploy|status`, and the anchoring loop `serve` runs.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use meditrustal_app::chain_client::{Address, Chain, ChainConfig, Contracts};
use meditrustal_app::{App, ChainLink, ChainMode};
use serde::{Deserialize, Serialize};

use crate::bad_input::BadInput;
use crate::config::Settings;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Signed tree heads only (one transaction per anchor).
    Anchor,
    /// Tree heads, every record version's commitment and every consent change.
    Mirror,
}

#[derive(Debug, Clone, Args)]
pub struct ChainArgs {
    /// JSON-RPC URL of the EVM node (Ganache in development, a Besu node in a consortium).
    /// Without it the ledger stays in the database only.
    #[arg(long, env = "MEDITRUSTAL_CHAIN_RPC")]
    pub chain_rpc: Option<String>,
    /// What goes on chain.
    #[arg(
        long,
        env = "MEDITRUSTAL_CHAIN_MODE",
        value_enum,
        default_value = "anchor"
    )]
    pub chain_mode: ModeArg,
    /// The deployed contracts' addresses [default: <data-dir>/chain-contracts.json, written
    /// by `meditrustal chain deploy`].
    #[arg(long, env = "MEDITRUSTAL_CHAIN_CONTRACTS")]
    pub chain_contracts: Option<PathBuf>,
    /// Anchor once the ledger grew by this many entries…
    #[arg(long, env = "MEDITRUSTAL_ANCHOR_EVERY_ENTRIES", default_value_t = 1000)]
    pub anchor_every_entries: u64,
    /// …or this many seconds passed with any growth.
    #[arg(long, env = "MEDITRUSTAL_ANCHOR_EVERY_SECS", default_value_t = 10)]
    pub anchor_every_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Deploy the contracts (on a development chain) and write their addresses to the
    /// contracts file. The signing key (MEDITRUSTAL_CHAIN_KEY or <data-dir>/keys/chain.key)
    /// becomes their owner and writer.
    Deploy(ChainArgs),
    /// Show the anchored tree size, the ledger's size and the mirror's backlog.
    Status(ChainArgs),
}

/// The contracts file: where the three contracts live on which chain.
#[derive(Debug, Serialize, Deserialize)]
struct ContractsFile {
    chain_id: u64,
    ledger_anchor: String,
    record_registry: String,
    consent_registry: String,
}

impl ChainArgs {
    fn contracts_path(&self, settings: &Settings) -> PathBuf {
        self.chain_contracts
            .clone()
            .unwrap_or_else(|| settings.data_dir.join("chain-contracts.json"))
    }

    fn client(&self, settings: &Settings) -> anyhow::Result<Option<Chain>> {
        let Some(rpc_url) = self.chain_rpc.clone() else {
            return Ok(None);
        };
        let signer_key = signer_key(&settings.data_dir)?;
        Ok(Some(Chain::connect(&ChainConfig {
            rpc_url,
            signer_key,
        })?))
    }

    /// The chain link for the app, `None` without `--chain-rpc`.
    pub async fn link(&self, settings: &Settings) -> anyhow::Result<Option<ChainLink>> {
        let Some(chain) = self.client(settings)? else {
            return Ok(None);
        };
        let path = self.contracts_path(settings);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            BadInput::new(format!(
                "cannot read the contracts file {}: {e} (run `meditrustal chain deploy` first)",
                path.display()
            ))
        })?;
        let file: ContractsFile =
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        let chain_id = chain.chain_id().await?;
        if chain_id != file.chain_id {
            return Err(BadInput::new(format!(
                "the node is chain {chain_id} but {} was deployed on chain {}",
                path.display(),
                file.chain_id
            ))
            .into());
        }
        let contracts = Contracts {
            ledger_anchor: address(&file.ledger_anchor)?,
            record_registry: address(&file.record_registry)?,
            consent_registry: address(&file.consent_registry)?,
        };
        let mode = match self.chain_mode {
            ModeArg::Anchor => ChainMode::Anchor,
            ModeArg::Mirror => ChainMode::Mirror,
        };
        Ok(Some(ChainLink {
            chain,
            contracts,
            mode,
        }))
    }
}

fn address(text: &str) -> anyhow::Result<Address> {
    Address::from_str(text)
        .map_err(|e| BadInput::new(format!("`{text}` is not a contract address: {e}")).into())
}

/// The writer's key: MEDITRUSTAL_CHAIN_KEY, else `<data-dir>/keys/chain.key`. Never printed.
fn signer_key(data_dir: &Path) -> anyhow::Result<String> {
    if let Ok(key) = std::env::var("MEDITRUSTAL_CHAIN_KEY")
        && !key.trim().is_empty()
    {
        return Ok(key);
    }
    let path = data_dir.join("keys").join("chain.key");
    std::fs::read_to_string(&path).map_err(|_| {
        BadInput::new(format!(
            "no chain signing key: set MEDITRUSTAL_CHAIN_KEY or write the hex key to {}",
            path.display()
        ))
        .into()
    })
}

pub async fn run(settings: &Settings, command: ChainCommand) -> anyhow::Result<()> {
    match command {
        ChainCommand::Deploy(args) => deploy(settings, &args).await,
        ChainCommand::Status(args) => status(settings, &args).await,
    }
}

async fn deploy(settings: &Settings, args: &ChainArgs) -> anyhow::Result<()> {
    let chain = args
        .client(settings)?
        .ok_or_else(|| BadInput::new("--chain-rpc is required"))?;
    let chain_id = chain.chain_id().await?;
    let contracts = chain.deploy().await?;
    let file = ContractsFile {
        chain_id,
        ledger_anchor: contracts.ledger_anchor.to_string(),
        record_registry: contracts.record_registry.to_string(),
        consent_registry: contracts.consent_registry.to_string(),
    };
    let path = args.contracts_path(settings);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&file)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("deployed on chain {chain_id} by {}:", chain.writer());
    println!("  LedgerAnchor     {}", file.ledger_anchor);
    println!("  RecordRegistry   {}", file.record_registry);
    println!("  ConsentRegistry  {}", file.consent_registry);
    println!("addresses written to {}", path.display());
    Ok(())
}

async fn status(settings: &Settings, args: &ChainArgs) -> anyhow::Result<()> {
    let app = crate::maintenance::open_existing_app(settings).await?;
    let link = args
        .link(settings)
        .await?
        .ok_or_else(|| BadInput::new("--chain-rpc is required"))?;
    let app = app.with_chain(link);
    let status = app.chain_status().await?;
    println!("{}", serde_json::to_string_pretty(&status)?);
    Ok(())
}

/// The chain writer of `serve`: anchors when the ledger grew by `anchor_every_entries`
/// (checked every second) or at least every `anchor_every_secs` with any growth, and
/// mirrors the record backlog. Failures are logged and retried: the backlog is the
/// database, so nothing is lost while the chain is away.
pub fn spawn_writer(app: App, args: &ChainArgs) {
    let every_entries = args.anchor_every_entries.max(1);
    let every = Duration::from_secs(args.anchor_every_secs.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_forced = tokio::time::Instant::now();
        let mut failing = false;
        loop {
            tick.tick().await;
            let min_growth = if last_forced.elapsed() >= every {
                last_forced = tokio::time::Instant::now();
                1
            } else {
                every_entries
            };
            match app.sync_chain(min_growth).await {
                Ok(sync) => {
                    if failing {
                        tracing::info!("chain reachable again");
                    }
                    failing = false;
                    if sync.backlog > 0 {
                        tracing::info!(
                            backlog = sync.backlog,
                            "record versions waiting for the chain mirror"
                        );
                    }
                }
                Err(err) if !failing => {
                    failing = true;
                    tracing::warn!(%err, "chain writer failed; retrying every second");
                }
                Err(_) => {}
            }
        }
    });
}
