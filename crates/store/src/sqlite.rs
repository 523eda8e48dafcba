use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{Backend, StoreError, sql_store};

/// The embedded default: one SQLite file in write-ahead-log mode.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time; queueing ledger commits here (rather than letting
    /// transactions collide on SQLite's lock) keeps them ordered and free of busy errors.
    /// One process per database file, as the embedded default is.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    const MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://data/meditrustal.db`.
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit acknowledged to a client survives power loss, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    async fn exclusive_writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.writer.lock().await)
    }

    async fn lock_ledger(_tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<(), StoreError> {
        Ok(())
    }
}

impl crate::sql_backend::SqlBackend for SqliteStore {
    type Db = sqlx::Sqlite;
}

sql_store!(SqliteStore, Backend::Sqlite);
crate::data_sql::data_store!(SqliteStore);
