//! Consistent database snapshots for `meditrustal backup` / `restore`.
//!
//! * **SQLite**: `VACUUM INTO` writes a compacted copy of the database as of one read
//!   transaction (a running server's WAL writes are not in it, nor half in it). Restore copies
//!   that file to where the database URL points.
//! * **PostgreSQL**: every table of the schema is exported with `COPY … TO STDOUT` (text
//!   format) inside ONE `REPEATABLE READ READ ONLY` transaction, so all tables are read at the
//!   same snapshot. Restore migrates the empty target with this binary's migrations and
//!   `COPY … FROM STDIN`s each table in foreign-key order in one transaction. No `pg_dump` is
//!   needed, so the client tool's version cannot mismatch the server's; the schema itself
//!   comes from the migrations, so the snapshot records the migration version and restore
//!   refuses a snapshot of another schema version.
//!
//! Table names come from the database catalogue, never from input; they are quoted as
//! identifiers all the same.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::{Backend, StoreError};

/// The file `VACUUM INTO` writes, relative to the snapshot directory.
pub const SQLITE_FILE: &str = "database.sqlite";
/// The directory of PostgreSQL table exports, relative to the snapshot directory.
pub const POSTGRES_DIR: &str = "postgres";
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// What a snapshot holds; stored in the backup manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSnapshot {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The newest migration applied to the source database.
    pub schema_version: i64,
    /// Tables and their row counts, by name.
    pub tables: BTreeMap<String, u64>,
}

/// Why a snapshot could not be taken or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the target database is not empty ({0}); restore only into an empty database")]
    TargetNotEmpty(String),
    #[error("the snapshot is of a {snapshot} database; the target is {target}")]
    BackendMismatch { snapshot: String, target: String },
    #[error(
        "the snapshot has schema version {snapshot}, this binary migrates to {target}; restore with the release that took it"
    )]
    SchemaMismatch { snapshot: i64, target: i64 },
    #[error("the snapshot lacks table {0}")]
    MissingTable(String),
}

impl From<sqlx::Error> for SnapshotError {
    fn from(err: sqlx::Error) -> Self {
        SnapshotError::Store(StoreError::Database(err))
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let path = path.to_owned();
    move |source| SnapshotError::Io {
        action,
        path,
        source,
    }
}

/// Reports each table (or the SQLite file) as it is done.
pub trait SnapshotProgress: Send + Sync {
    fn tables(&self, total: u64);
    fn table_done(&self, name: &str, rows: u64);
}

/// Takes a consistent snapshot of the database at `url` into `dir` (which must exist).
pub async fn dump(
    url: &str,
    dir: &Path,
    progress: &dyn SnapshotProgress,
) -> Result<DatabaseSnapshot, SnapshotError> {
    match backend_of(url)? {
        Backend::Sqlite => dump_sqlite(url, dir, progress).await,
        Backend::Postgres => dump_postgres(url, dir, progress).await,
    }
}

/// Restores a snapshot from `dir` into the EMPTY database at `url` (see [`ensure_empty`]).
pub async fn restore(
    url: &str,
    dir: &Path,
    snapshot: &DatabaseSnapshot,
    progress: &dyn SnapshotProgress,
) -> Result<(), SnapshotError> {
    let target = backend_of(url)?;
    let target_name = backend_name(target);
    if snapshot.backend != target_name {
        return Err(SnapshotError::BackendMismatch {
            snapshot: snapshot.backend.clone(),
            target: target_name.to_owned(),
        });
    }
    ensure_empty(url).await?;
    match target {
        Backend::Sqlite => restore_sqlite(url, dir, snapshot, progress).await,
        Backend::Postgres => restore_postgres(url, dir, snapshot, progress).await,
    }
}

/// Fails with [`SnapshotError::TargetNotEmpty`] unless the database at `url` is empty: no
/// SQLite file (nor its WAL), no table in the PostgreSQL schema.
pub async fn ensure_empty(url: &str) -> Result<(), SnapshotError> {
    match backend_of(url)? {
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url).map_err(StoreError::from)?;
            let path = options.get_filename();
            // A leftover write-ahead log would be replayed into the restored file.
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                let candidate = PathBuf::from(name);
                if std::fs::symlink_metadata(&candidate).is_ok() {
                    return Err(SnapshotError::TargetNotEmpty(format!(
                        "{} exists",
                        candidate.display()
                    )));
                }
            }
            Ok(())
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(url).await?;
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
                 ORDER BY tablename LIMIT 5",
            )
            .fetch_all(&mut conn)
            .await?;
            conn.close().await?;
            if names.is_empty() {
                Ok(())
            } else {
                Err(SnapshotError::TargetNotEmpty(format!(
                    "tables: {}",
                    names.join(", ")
                )))
            }
        }
    }
}

pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// `"name"` with embedded quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn count(rows: i64) -> u64 {
    u64::try_from(rows).unwrap_or(0)
}

// ---- SQLite --------------------------------------------------------------------------

async fn dump_sqlite(
    url: &str,
    dir: &Path,
    progress: &dyn SnapshotProgress,
) -> Result<DatabaseSnapshot, SnapshotError> {
    let options = SqliteConnectOptions::from_str(url).map_err(StoreError::from)?;
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let target = dir.join(SQLITE_FILE);
    let target_text = target
        .to_str()
        .ok_or_else(|| SnapshotError::Io {
            action: "naming",
            path: target.clone(),
            source: std::io::Error::other("the backup path is not valid UTF-8"),
        })?
        .to_owned();
    progress.tables(1);
    sqlx::query("VACUUM INTO $1")
        .bind(&target_text)
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    File::open(&target)
        .and_then(|file| file.sync_all())
        .map_err(io("syncing", &target))?;

    // Describe the copy, not the live database: that is what the snapshot holds.
    let copy = SqliteConnectOptions::new()
        .filename(&target)
        .read_only(true);
    let mut conn = SqliteConnection::connect_with(&copy).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> $1 ORDER BY name",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut conn)
    .await?;
    let mut tables = BTreeMap::new();
    for name in names {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote_ident(&name)))
            .fetch_one(&mut conn)
            .await?;
        tables.insert(name, count(rows));
    }
    let schema_version = schema_version_sqlite(&mut conn).await?;
    conn.close().await?;
    progress.table_done(SQLITE_FILE, tables.values().sum());
    Ok(DatabaseSnapshot {
        backend: "sqlite".to_owned(),
        schema_version,
        tables,
    })
}

async fn schema_version_sqlite(conn: &mut SqliteConnection) -> Result<i64, SnapshotError> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?;
    Ok(version.unwrap_or(0))
}

async fn restore_sqlite(
    url: &str,
    dir: &Path,
    snapshot: &DatabaseSnapshot,
    progress: &dyn SnapshotProgress,
) -> Result<(), SnapshotError> {
    let options = SqliteConnectOptions::from_str(url).map_err(StoreError::from)?;
    let target = options.get_filename().to_owned();
    let source = dir.join(SQLITE_FILE);
    progress.tables(1);
    let mut from = File::open(&source).map_err(io("opening", &source))?;
    // create_new: never overwrite a database, even one created since the caller looked.
    let mut to = File::options()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::AlreadyExists => {
                SnapshotError::TargetNotEmpty(format!("{} exists", target.display()))
            }
            _ => SnapshotError::Io {
                action: "creating",
                path: target.clone(),
                source: err,
            },
        })?;
    std::io::copy(&mut from, &mut to).map_err(io("writing", &target))?;
    to.sync_all().map_err(io("syncing", &target))?;
    drop(to);

    let mut conn =
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&target)).await?;
    let version = schema_version_sqlite(&mut conn).await?;
    conn.close().await?;
    if version != snapshot.schema_version {
        return Err(SnapshotError::SchemaMismatch {
            snapshot: snapshot.schema_version,
            target: version,
        });
    }
    progress.table_done(SQLITE_FILE, snapshot.tables.values().sum());
    Ok(())
}

// ---- PostgreSQL ----------------------------------------------------------------------

async fn user_tables(conn: &mut PgConnection) -> Result<Vec<String>, SnapshotError> {
    Ok(sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename <> $1 ORDER BY tablename",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await?)
}

async fn schema_version_postgres(conn: &mut PgConnection) -> Result<i64, SnapshotError> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?;
    Ok(version.unwrap_or(0))
}

async fn dump_postgres(
    url: &str,
    dir: &Path,
    progress: &dyn SnapshotProgress,
) -> Result<DatabaseSnapshot, SnapshotError> {
    let mut conn = PgConnection::connect(url).await?;
    let tables_dir = dir.join(POSTGRES_DIR);
    std::fs::create_dir_all(&tables_dir).map_err(io("creating", &tables_dir))?;
    // One snapshot for every table: rows committed while the export runs are in no table.
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut conn)
        .await?;
    let schema_version = schema_version_postgres(&mut conn).await?;
    let names = user_tables(&mut conn).await?;
    progress.tables(names.len() as u64);
    let mut tables = BTreeMap::new();
    for name in names {
        let path = tables_dir.join(format!("{name}.copy"));
        let mut out = BufWriter::new(File::create(&path).map_err(io("creating", &path))?);
        let mut stream = conn
            .copy_out_raw(&format!("COPY {} TO STDOUT", quote_ident(&name)))
            .await?;
        let mut rows = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            rows += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            out.write_all(&chunk).map_err(io("writing", &path))?;
        }
        drop(stream);
        out.into_inner()
            .map_err(|err| err.into_error())
            .and_then(|file| file.sync_all())
            .map_err(io("syncing", &path))?;
        progress.table_done(&name, rows);
        tables.insert(name, rows);
    }
    sqlx::query("COMMIT").execute(&mut conn).await?;
    conn.close().await?;
    Ok(DatabaseSnapshot {
        backend: "postgres".to_owned(),
        schema_version,
        tables,
    })
}

async fn restore_postgres(
    url: &str,
    dir: &Path,
    snapshot: &DatabaseSnapshot,
    progress: &dyn SnapshotProgress,
) -> Result<(), SnapshotError> {
    crate::connect(url).await?.migrate().await?;

    let mut conn = PgConnection::connect(url).await?;
    let version = schema_version_postgres(&mut conn).await?;
    if version != snapshot.schema_version {
        return Err(SnapshotError::SchemaMismatch {
            snapshot: snapshot.schema_version,
            target: version,
        });
    }
    let order = foreign_key_order(&mut conn).await?;
    for name in &order {
        if !snapshot.tables.contains_key(name) {
            return Err(SnapshotError::MissingTable(name.clone()));
        }
    }
    progress.tables(order.len() as u64);
    let mut tx = conn.begin().await?;
    for name in &order {
        let path = dir.join(POSTGRES_DIR).join(format!("{name}.copy"));
        let mut file = File::open(&path).map_err(io("opening", &path))?;
        let mut copy = tx
            .copy_in_raw(&format!("COPY {} FROM STDIN", quote_ident(name)))
            .await?;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let read = file.read(&mut buffer).map_err(io("reading", &path))?;
            if read == 0 {
                break;
            }
            copy.send(&buffer[..read]).await?;
        }
        let rows = copy.finish().await?;
        progress.table_done(name, rows);
    }
    reset_sequences(&mut tx).await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

/// Tables ordered so that every table comes after the tables it references.
async fn foreign_key_order(conn: &mut PgConnection) -> Result<Vec<String>, SnapshotError> {
    let names = user_tables(conn).await?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut needs: BTreeMap<String, BTreeSet<String>> = names
        .iter()
        .map(|name| (name.clone(), BTreeSet::new()))
        .collect();
    for (table, referenced) in edges {
        let (table, referenced) = (unquote(&table), unquote(&referenced));
        if table != referenced
            && let Some(set) = needs.get_mut(&table)
        {
            set.insert(referenced);
        }
    }
    let mut order = Vec::with_capacity(names.len());
    let mut placed = BTreeSet::new();
    while order.len() < names.len() {
        let ready: Vec<String> = needs
            .iter()
            .filter(|(name, deps)| !placed.contains(*name) && deps.is_subset(&placed))
            .map(|(name, _)| name.clone())
            .collect();
        if ready.is_empty() {
            // A cycle of foreign keys: keep the remaining tables in name order; COPY reports
            // a violation if the data really needs another order.
            order.extend(needs.keys().filter(|n| !placed.contains(*n)).cloned());
            break;
        }
        for name in ready {
            placed.insert(name.clone());
            order.push(name);
        }
    }
    Ok(order)
}

/// `regclass::text` quotes names that need it.
fn unquote(name: &str) -> String {
    name.strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map_or_else(|| name.to_owned(), |n| n.replace("\"\"", "\""))
}

/// COPY does not advance sequences: move each past the largest value restored.
async fn reset_sequences(conn: &mut PgConnection) -> Result<(), SnapshotError> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() \
         AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (table, column) in columns {
        let statement = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)",
            column = quote_ident(&column),
            table = quote_ident(&table),
        );
        sqlx::query(&statement)
            .bind(quote_ident(&table))
            .bind(&column)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
