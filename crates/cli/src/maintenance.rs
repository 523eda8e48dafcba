//! What `verify` and `gc` share: opening an existing deployment without changing it, and
//! drawing their progress.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use meditrustal_app::{App, AppError, AppParts, JwtSecret, ScanPhase, SystemClock, VerifyProgress};
use meditrustal_vault::{KeyDirectory, KeyRing, MASTER_KEY_ENV, Vault};

use crate::bad_input::BadInput;
use crate::config::Settings;

/// Opens the application over an existing data directory. Unlike `serve` it generates no
/// key and migrates nothing: checking a deployment with freshly made keys would report
/// every tree head as forged, and a maintenance command must not change what it checks.
pub async fn open_existing_app(settings: &Settings) -> anyhow::Result<App> {
    let ledger_key_path = settings.data_dir.join("keys").join("ledger.ed25519");
    if !ledger_key_path.exists() {
        return Err(BadInput::new(format!(
            "no ledger key at {}: is --data-dir the data directory of a MediTrustAl deployment?",
            ledger_key_path.display()
        ))
        .into());
    }
    let ledger_key = crate::keys::ledger_key(&settings.data_dir)?;
    let keys = existing_key_ring(&settings.data_dir)?;
    let vault = Vault::open(&settings.storage, keys).context("opening the record vault")?;
    let store = settings.open_store().await?;
    // Maintenance commands issue no tokens; a throwaway secret keeps them off the key file.
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret).map_err(|err| anyhow::anyhow!("OS random source: {err}"))?;
    let jwt_secret = JwtSecret::new(secret).context("building a throwaway token secret")?;
    Ok(App::new(AppParts {
        store,
        clock: Arc::new(SystemClock),
        jwt_secret,
        auth: settings.auth.clone(),
        vault,
        ledger_key,
    }))
}

fn existing_key_ring(data_dir: &Path) -> anyhow::Result<KeyRing> {
    match std::env::var(MASTER_KEY_ENV) {
        Ok(encoded) => KeyRing::from_master_key(&encoded)
            .context("MEDITRUSTAL_MASTER_KEY is not a valid base64 256-bit key"),
        Err(_) => KeyDirectory::in_data_dir(data_dir)
            .load()
            .context("loading the key-encryption keys"),
    }
}

/// Application errors with their detail: an operator running `verify` or `gc` is who the
/// detail is for (the HTTP adapter hides it from clients instead).
pub fn explain(err: AppError) -> anyhow::Error {
    match err {
        AppError::Internal(detail) | AppError::Integrity(detail) => anyhow::anyhow!(detail),
        other => anyhow::Error::new(other),
    }
}

/// One indicatif bar per phase, on stderr (hidden when stderr is not a terminal).
pub struct ProgressBars {
    current: Mutex<Option<ProgressBar>>,
    hidden: bool,
}

impl ProgressBars {
    pub fn new(hidden: bool) -> ProgressBars {
        ProgressBars {
            current: Mutex::new(None),
            hidden,
        }
    }

    /// Removes the bar being drawn (before printing after an interruption).
    pub fn clear(&self) {
        if let Some(bar) = self.bar() {
            bar.finish_and_clear();
        }
    }

    fn bar(&self) -> Option<ProgressBar> {
        self.current.lock().ok().and_then(|bar| bar.clone())
    }
}

impl VerifyProgress for ProgressBars {
    fn start(&self, phase: ScanPhase, total: Option<u64>) {
        if self.hidden {
            return;
        }
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::new(total),
                "{msg:>16} [{bar:40}] {pos}/{len} ({per_sec}, {eta})",
            ),
            None => (ProgressBar::new_spinner(), "{msg:>16} {spinner} {pos}"),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(phase.label());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar);
        }
    }

    fn advance(&self, items: u64) {
        if let Some(bar) = self.bar() {
            bar.inc(items);
        }
    }

    fn finish(&self, _phase: ScanPhase) {
        if let Ok(mut current) = self.current.lock()
            && let Some(bar) = current.take()
        {
            bar.finish();
        }
    }
}

/// Resolves on Ctrl-C. Both commands only read (gc's deletions are each complete or not
/// started), so stopping at any point is safe.
pub async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Exit status after Ctrl-C, as shells report SIGINT.
pub const INTERRUPTED_STATUS: u8 = 130;
