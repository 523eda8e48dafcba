//! `meditrustal keys list|rotate|retire`: key-encryption-key rotation over the key directory.
//!
//! `rotate` makes a new KEK active (older ones stay in the directory), then re-wraps every
//! record version's data key under it, and the data keys of what was derived from records
//! (NLP results, observations, alerts, correction proposals, export archives); running servers pick the new KEK up by themselves
//! (they reload the key directory every few seconds and whenever a record names a KEK they
//! lack), so reads and writes go on during the rotation. `retire` deletes an old KEK once no
//! record version and no derived item uses it.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use meditrustal_app::{App, NoProgress};
use meditrustal_vault::{KekId, KeyDirectory, MASTER_KEY_ENV, OsRandom};

use crate::bad_input::BadInput;
use crate::config::Settings;
use crate::maintenance::{
    INTERRUPTED_STATUS, ProgressBars, explain, interrupted, open_existing_app,
};

/// How often `serve` reloads the key directory; `rotate` waits a little longer than this
/// before its last pass, so that no server still wraps new data keys under the old KEK.
pub const SERVER_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the key-encryption keys and how many record versions and derived items each wraps.
    List,
    /// Add a new key-encryption key, make it active and re-wrap every data key under it.
    Rotate {
        /// Do not add a key: finish an interrupted rotation to the active key.
        #[arg(long)]
        resume: bool,
        /// Wait this long after the first pass before the last one, so running servers have
        /// reloaded the key directory (they do every 10 s); `0s` when no server runs.
        #[arg(long, default_value = "15s", value_parser = crate::gc::parse_age)]
        settle: Duration,
    },
    /// Delete an old key-encryption key that no record version or derived item uses any more.
    Retire {
        /// The key id, as `keys list` prints it.
        id: String,
    },
}

pub async fn run(settings: &Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    if std::env::var_os(MASTER_KEY_ENV).is_some() {
        return Err(BadInput::new(format!(
            "{MASTER_KEY_ENV} is set: that single key cannot be rotated here; key rotation works \
             on the key directory <data-dir>/keys"
        ))
        .into());
    }
    let outcome = tokio::select! {
        outcome = run_command(settings, &command) => outcome,
        () = interrupted() => {
            if matches!(command, KeysCommand::Rotate { .. }) {
                eprintln!(
                    "rotation interrupted: every record stays readable; finish with `meditrustal keys rotate --resume`"
                );
            } else {
                eprintln!("interrupted; nothing was changed");
            }
            return Ok(ExitCode::from(INTERRUPTED_STATUS));
        }
    };
    outcome.map(|()| ExitCode::SUCCESS)
}

async fn run_command(settings: &Settings, command: &KeysCommand) -> anyhow::Result<()> {
    let directory = KeyDirectory::in_data_dir(&settings.data_dir);
    match command {
        KeysCommand::List => {
            let app = open_existing_app(settings).await?;
            list(&app).await
        }
        KeysCommand::Rotate { resume, settle } => {
            // Check the deployment (and that its keys load) before adding a key to it.
            open_existing_app(settings).await?;
            if !resume {
                let id = directory
                    .rotate(&OsRandom)
                    .context("adding a key-encryption key")?;
                println!("new key-encryption key {id} is active");
            }
            let app = open_existing_app(settings).await?;
            rotate(&app, *settle).await
        }
        KeysCommand::Retire { id } => {
            let id = KekId::parse(id).map_err(|err| BadInput::new(err.to_string()))?;
            let app = open_existing_app(settings).await?;
            retire(&app, &directory, &id).await
        }
    }
}

async fn list(app: &App) -> anyhow::Result<()> {
    let counts = app
        .data_keys_by_kek(&ProgressBars::new(false))
        .await
        .map_err(explain)?;
    let ring = app.vault().keys();
    for id in ring.ids() {
        let marker = if id == ring.active_id() {
            " (active)"
        } else {
            ""
        };
        let versions = counts.get(id.as_str()).copied().unwrap_or(0);
        let derived = app
            .store()
            .derived_items_under_kek(id.as_str())
            .await
            .context("counting derived items")?;
        println!("{id}{marker}: {versions} record versions, {derived} derived items");
    }
    for (id, versions) in &counts {
        if KekId::parse(id).is_ok_and(|id| !ring.contains(&id)) {
            println!("{id} (MISSING from the key directory): {versions} record versions");
        }
    }
    Ok(())
}

async fn rotate(app: &App, settle: Duration) -> anyhow::Result<()> {
    let bars = ProgressBars::new(false);
    let counts = app.data_keys_by_kek(&bars).await.map_err(explain)?;
    let target = app.vault().keys().active_id().clone();
    let to_do: u64 = counts
        .iter()
        .filter(|(id, _)| id.as_str() != target.as_str())
        .map(|(_, n)| n)
        .sum();
    let derived_to_do = app.derived_items_to_rewrap().await.map_err(explain)?;
    let first = app
        .rewrap_data_keys(Some(to_do), &bars)
        .await
        .map_err(explain)?;
    let first_derived = app
        .rewrap_derived_keys(Some(derived_to_do), &bars)
        .await
        .map_err(explain)?;
    // Servers that had not reloaded yet may have wrapped a few new data keys under the old
    // KEK meanwhile: one more pass once they all have.
    if !settle.is_zero() {
        eprintln!(
            "waiting {} s for running servers to load the new key",
            settle.as_secs()
        );
        tokio::time::sleep(settle).await;
    }
    let last = app
        .rewrap_data_keys(None, &NoProgress)
        .await
        .map_err(explain)?;
    let last_derived = app
        .rewrap_derived_keys(None, &NoProgress)
        .await
        .map_err(explain)?;
    let rewrapped = first.rewrapped + last.rewrapped;
    let derived = first_derived.rewrapped + last_derived.rewrapped;
    println!(
        "re-wrapped {rewrapped} data keys under {target}; {} record versions in all, {} changed meanwhile",
        last.versions, last.changed_meanwhile
    );
    println!(
        "re-wrapped {derived} derived data keys (NLP results, observations, alerts, correction \
         proposals, exports); {} changed meanwhile",
        last_derived.changed_meanwhile
    );
    if last.changed_meanwhile + last_derived.changed_meanwhile > 0 {
        println!("run `meditrustal keys rotate --resume` to finish the items changed meanwhile");
    }
    Ok(())
}

async fn retire(app: &App, directory: &KeyDirectory, id: &KekId) -> anyhow::Result<()> {
    let ring = app.vault().keys();
    if !ring.contains(id) {
        return Err(
            BadInput::new(format!("no key-encryption key {id} in the key directory")).into(),
        );
    }
    if ring.active_id() == id {
        return Err(
            BadInput::new(format!("{id} is the active key; rotate to a new key first")).into(),
        );
    }
    let counts = app
        .data_keys_by_kek(&ProgressBars::new(false))
        .await
        .map_err(explain)?;
    let in_use = counts.get(id.as_str()).copied().unwrap_or(0);
    if in_use > 0 {
        return Err(BadInput::new(format!(
            "{in_use} record versions still use {id}; run `meditrustal keys rotate --resume` first"
        ))
        .into());
    }
    // Derived data sealed under the key (NLP results, observations, alerts, correction
    // proposals, exports) keeps it alive too.
    let derived = app
        .store()
        .derived_items_under_kek(id.as_str())
        .await
        .context("counting derived data under the key")?;
    if derived > 0 {
        return Err(BadInput::new(format!(
            "{derived} derived items (NLP results, observations, alerts, correction proposals or \
             exports) are still sealed under {id}; run `meditrustal keys rotate --resume` first"
        ))
        .into());
    }
    let path = directory.key_path(id);
    std::fs::remove_file(&path).with_context(|| format!("deleting {}", path.display()))?;
    std::fs::File::open(directory.path())
        .and_then(|dir| dir.sync_all())
        .context("syncing the key directory")?;
    println!("retired key-encryption key {id}");
    Ok(())
}
