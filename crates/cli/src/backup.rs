//! `meditrustal backup DIR` and `meditrustal restore DIR`.
//!
//! A backup directory holds:
//!
//! ```text
//! DIR/database.sqlite        SQLite: the database as of one read transaction (VACUUM INTO)
//! DIR/postgres/<table>.copy  PostgreSQL: every table, COPY text format, one REPEATABLE READ snapshot
//! DIR/objects/records/…      every object of the vault (ciphertexts, as stored)
//! DIR/keys/…                 the key directory (KEKs, ledger signing key, JWT key), mode 0600
//! DIR/manifest.json          written last: schema version, row counts, SHA-256 of every file
//! ```
//!
//! Order matters for consistency: the database snapshot is taken first, then the objects and
//! keys are copied. Objects are immutable and written before the rows that name them, and key
//! files are only added (until `keys retire`), so everything the snapshot references is still
//! there when it is copied; objects written later are harmless orphans (`gc`).
//!
//! Restore checks every hash of the manifest before writing anything, refuses a target that
//! is not empty (database, objects, keys), then writes keys, objects and the database last.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use futures_util::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use meditrustal_store::snapshot::{self, DatabaseSnapshot, SnapshotProgress};
use meditrustal_vault::object_store::path::Path as ObjectPath;
use meditrustal_vault::object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use meditrustal_vault::{RECORDS_PREFIX, StorageConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bad_input::BadInput;
use crate::config::Settings;
use crate::maintenance::{INTERRUPTED_STATUS, interrupted};

const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "meditrustal-backup/1";
const OBJECTS_DIR: &str = "objects";
const KEYS_DIR: &str = "keys";

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Directory to write the backup to; must not exist or be empty.
    dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A directory written by `meditrustal backup`.
    dir: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    meditrustal_version: String,
    created_at: String,
    database: DatabaseSnapshot,
    objects: u64,
    object_bytes: u64,
    /// Names of the key files (never their content).
    key_files: Vec<String>,
    /// Every file of the backup but the manifest, with its SHA-256.
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    path: String,
    bytes: u64,
    sha256: String,
}

pub async fn backup(settings: &Settings, args: BackupArgs) -> anyhow::Result<ExitCode> {
    tokio::select! {
        outcome = take_backup(settings, &args.dir) => outcome.map(|()| ExitCode::SUCCESS),
        () = interrupted() => {
            eprintln!(
                "backup interrupted: {} is incomplete (no manifest.json); delete it",
                args.dir.display()
            );
            Ok(ExitCode::from(INTERRUPTED_STATUS))
        }
    }
}

pub async fn restore(settings: &Settings, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    tokio::select! {
        outcome = run_restore(settings, &args.dir) => outcome.map(|()| ExitCode::SUCCESS),
        () = interrupted() => {
            eprintln!(
                "restore interrupted: the target is partly written; empty it and restore again"
            );
            Ok(ExitCode::from(INTERRUPTED_STATUS))
        }
    }
}

async fn take_backup(settings: &Settings, dir: &Path) -> anyhow::Result<()> {
    let keys_dir = settings.data_dir.join(KEYS_DIR);
    if !keys_dir.join("ledger.ed25519").exists() {
        return Err(BadInput::new(format!(
            "no ledger key in {}: is --data-dir the data directory of a MediTrustAl deployment?",
            keys_dir.display()
        ))
        .into());
    }
    if fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(BadInput::new(format!(
            "{} is not empty; back up into a new directory",
            dir.display()
        ))
        .into());
    }
    crate::keys::create_private_dir(dir)?;

    let bar = TableBar::new("database");
    let database = snapshot::dump(&settings.database_url, dir, &bar)
        .await
        .context("taking the database snapshot")?;
    bar.done();

    let store = settings
        .storage
        .build()
        .context("opening the object store")?;
    let (objects, object_bytes) = copy_objects_out(store.as_ref(), &dir.join(OBJECTS_DIR)).await?;
    let key_files = copy_key_files(&keys_dir, &dir.join(KEYS_DIR))?;

    let files = hash_tree(dir)?;
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        meditrustal_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        database,
        objects,
        object_bytes,
        key_files,
        files,
    };
    write_manifest(dir, &manifest)?;
    let rows: u64 = manifest.database.tables.values().sum();
    println!(
        "backup written to {}: {} database ({} tables, {rows} rows, schema {}), {} objects ({:.1} MiB), {} key files, {} files hashed",
        dir.display(),
        manifest.database.backend,
        manifest.database.tables.len(),
        manifest.database.schema_version,
        manifest.objects,
        manifest.object_bytes as f64 / (1024.0 * 1024.0),
        manifest.key_files.len(),
        manifest.files.len(),
    );
    if manifest
        .key_files
        .iter()
        .any(|name| name.starts_with("kek-"))
    {
        println!(
            "note: the backup holds the key-encryption keys; keep it as private as the data directory"
        );
    }
    Ok(())
}

async fn run_restore(settings: &Settings, dir: &Path) -> anyhow::Result<()> {
    let manifest = read_manifest(dir)?;
    check_hashes(dir, &manifest)?;

    // Refuse before writing anything.
    let keys_dir = settings.data_dir.join(KEYS_DIR);
    if fs::read_dir(&keys_dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(BadInput::new(format!(
            "{} is not empty; restore only into an empty data directory",
            keys_dir.display()
        ))
        .into());
    }
    snapshot::ensure_empty(&settings.database_url)
        .await
        .map_err(|err| BadInput::new(format!("{err}")))?;
    crate::keys::create_private_dir(&settings.data_dir)?;
    let store = settings
        .storage
        .build()
        .context("opening the object store")?;
    let prefix = ObjectPath::from(RECORDS_PREFIX);
    if let Some(found) = store.list(Some(&prefix)).next().await {
        let found = found.context("listing the object store")?;
        return Err(BadInput::new(format!(
            "the object store already holds {}; restore only into an empty one",
            found.location
        ))
        .into());
    }

    copy_key_files(&dir.join(KEYS_DIR), &keys_dir)?;
    copy_objects_in(
        store.as_ref(),
        &dir.join(OBJECTS_DIR),
        &manifest,
        &settings.storage,
    )
    .await?;
    let bar = TableBar::new("database");
    snapshot::restore(&settings.database_url, dir, &manifest.database, &bar)
        .await
        .context("restoring the database")?;
    bar.done();
    let rows: u64 = manifest.database.tables.values().sum();
    println!(
        "restored {} database ({rows} rows), {} objects and {} key files from {} (taken {}); run `meditrustal verify` next",
        manifest.database.backend,
        manifest.objects,
        manifest.key_files.len(),
        dir.display(),
        manifest.created_at,
    );
    Ok(())
}

// ---- objects -------------------------------------------------------------------------

async fn copy_objects_out(store: &dyn ObjectStore, to: &Path) -> anyhow::Result<(u64, u64)> {
    let prefix = ObjectPath::from(RECORDS_PREFIX);
    let mut locations = Vec::new();
    let mut listing = store.list(Some(&prefix));
    while let Some(meta) = listing.next().await {
        locations.push(meta.context("listing the object store")?.location);
    }
    let bar = count_bar("objects", locations.len() as u64);
    let mut bytes_total = 0u64;
    for location in &locations {
        let bytes = store
            .get(location)
            .await
            .with_context(|| format!("reading object {location}"))?
            .bytes()
            .await
            .with_context(|| format!("reading object {location}"))?;
        let path = to.join(location.as_ref());
        write_synced(&path, &bytes)?;
        bytes_total += bytes.len() as u64;
        bar.inc(1);
    }
    bar.finish();
    Ok((locations.len() as u64, bytes_total))
}

async fn copy_objects_in(
    store: &dyn ObjectStore,
    from: &Path,
    manifest: &Manifest,
    storage: &StorageConfig,
) -> anyhow::Result<()> {
    let prefix = format!("{OBJECTS_DIR}/");
    let objects: Vec<&str> = manifest
        .files
        .iter()
        .filter_map(|file| file.path.strip_prefix(&prefix))
        .collect();
    let bar = count_bar("objects", objects.len() as u64);
    for key in objects {
        let bytes = fs::read(from.join(key)).with_context(|| format!("reading object {key}"))?;
        store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .with_context(|| format!("writing object {key}"))?;
        if let StorageConfig::Local { root } = storage {
            // The local store renames into place without syncing; a restore must be durable.
            fs::File::open(root.join(key))
                .and_then(|file| file.sync_all())
                .with_context(|| format!("syncing object {key}"))?;
        }
        bar.inc(1);
    }
    bar.finish();
    Ok(())
}

// ---- keys ----------------------------------------------------------------------------

/// Copies the regular files of a key directory (not their content to any output), owner-only.
fn copy_key_files(from: &Path, to: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(names);
    };
    crate::keys::create_private_dir(to)?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let meta = fs::symlink_metadata(entry.path())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !meta.is_file() || name.ends_with(".tmp") {
            continue;
        }
        let content = zeroize::Zeroizing::new(
            fs::read(entry.path()).with_context(|| format!("reading key file {name}"))?,
        );
        write_private(&to.join(&name), &content)?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}

fn write_private(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(content)?;
    file.sync_all()?;
    Ok(())
}

fn write_synced(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut file =
        fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(content)?;
    file.sync_all()?;
    Ok(())
}

// ---- manifest ------------------------------------------------------------------------

fn relative_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            relative_files(root, &path, out)?;
        } else if meta.is_file() {
            out.push(path.strip_prefix(root)?.to_owned());
        }
    }
    Ok(())
}

fn sha256_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let read = std::io::Read::read(&mut file, &mut buffer)
            .with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn hash_tree(dir: &Path) -> anyhow::Result<Vec<FileEntry>> {
    let mut paths = Vec::new();
    relative_files(dir, dir, &mut paths)?;
    paths.retain(|path| path != Path::new(MANIFEST));
    paths.sort();
    let bar = count_bar("hashing", paths.len() as u64);
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let (bytes, sha256) = sha256_file(&dir.join(&path))?;
        let path = path
            .to_str()
            .context("a backup file name is not UTF-8")?
            .replace(std::path::MAIN_SEPARATOR, "/");
        files.push(FileEntry {
            path,
            bytes,
            sha256,
        });
        bar.inc(1);
    }
    bar.finish();
    Ok(files)
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    write_synced(&tmp, serde_json::to_string_pretty(manifest)?.as_bytes())?;
    fs::rename(&tmp, dir.join(MANIFEST)).context("renaming the manifest into place")?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .context("syncing the backup directory")?;
    Ok(())
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(|err| {
        BadInput::new(format!(
            "{}: {err} (an interrupted backup has no manifest)",
            path.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|err| {
        BadInput::new(format!(
            "{} is not a backup manifest: {err}",
            path.display()
        ))
    })?;
    if manifest.format != FORMAT {
        return Err(BadInput::new(format!(
            "{} has format {}; this release reads {FORMAT}",
            path.display(),
            manifest.format
        ))
        .into());
    }
    Ok(manifest)
}

/// Every listed file must exist with its size and SHA-256, and nothing may be added.
fn check_hashes(dir: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let bar = count_bar("checking", manifest.files.len() as u64);
    for file in &manifest.files {
        if file
            .path
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            bail!("manifest names an unsafe path {}", file.path);
        }
        let (bytes, sha256) = sha256_file(&dir.join(&file.path))?;
        if bytes != file.bytes || sha256 != file.sha256 {
            bail!(
                "{} does not match the manifest (SHA-256 {sha256}, expected {}): the backup is damaged",
                file.path,
                file.sha256
            );
        }
        bar.inc(1);
    }
    bar.finish();
    let mut present = Vec::new();
    relative_files(dir, dir, &mut present)?;
    let listed = manifest.files.len() + 1;
    if present.len() != listed {
        bail!(
            "{} holds {} files, the manifest lists {}: the backup was changed",
            dir.display(),
            present.len(),
            listed
        );
    }
    Ok(())
}

// ---- progress ------------------------------------------------------------------------

fn count_bar(label: &'static str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

struct TableBar {
    bar: ProgressBar,
}

impl TableBar {
    fn new(label: &'static str) -> TableBar {
        let bar = count_bar(label, 0);
        TableBar { bar }
    }

    fn done(&self) {
        self.bar.finish();
    }
}

impl SnapshotProgress for TableBar {
    fn tables(&self, total: u64) {
        self.bar.set_length(total);
    }

    fn table_done(&self, _name: &str, _rows: u64) {
        self.bar.inc(1);
    }
}
