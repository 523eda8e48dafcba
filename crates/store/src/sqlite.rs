use std::str::FromStr;
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
    /// Ledger commits queue to one writer task (group commit, see `group_commit`). SQLite has
    /// one writer at a time anyway; one process per database file, as the embedded default is.
    commits: tokio::sync::mpsc::Sender<crate::group_commit::Job>,
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
        let (commits, jobs) = tokio::sync::mpsc::channel(crate::group_commit::QUEUE_DEPTH);
        tokio::spawn(write_batches(pool.clone(), jobs));
        Ok(SqliteStore { pool, commits })
    }

    /// IMMEDIATE takes SQLite's write lock up front: a batch reads the tree size before it
    /// writes, and a deferred transaction could not upgrade if another connection wrote first.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    async fn lock_ledger(_conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
        Ok(())
    }
}

impl crate::sql_backend::SqlBackend for SqliteStore {
    type Db = sqlx::Sqlite;
}

sql_store!(SqliteStore, Backend::Sqlite);
crate::data_sql::data_store!(SqliteStore);
crate::cdss::cdss_store!(SqliteStore);
crate::chain::chain_store!(SqliteStore);
crate::research::research_store!(SqliteStore);
crate::fhir::fhir_store!(SqliteStore);
