use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::{Backend, StoreError, sql_store};

/// The production backend.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Ledger commits of this process queue to one writer task (group commit).
    commits: tokio::sync::mpsc::Sender<crate::group_commit::Job>,
}

impl PostgresStore {
    const MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            // 16 for requests, one kept by the ledger writer.
            .max_connections(17)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        let (commits, jobs) = tokio::sync::mpsc::channel(crate::group_commit::QUEUE_DEPTH);
        tokio::spawn(write_batches(pool.clone(), jobs));
        Ok(PostgresStore { pool, commits })
    }

    const BEGIN_WRITE: &'static str = "BEGIN";

    /// A transaction-scoped advisory lock: every ledger append of every replica queues here,
    /// which gives the log its total order; it is released at commit or rollback.
    async fn lock_ledger(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LEDGER_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Arbitrary but fixed: "MTAL" in ASCII.
const LEDGER_LOCK_KEY: i64 = 0x4D54_414C;

impl crate::sql_backend::SqlBackend for PostgresStore {
    type Db = sqlx::Postgres;
}

sql_store!(PostgresStore, Backend::Postgres);
crate::data_sql::data_store!(PostgresStore);
crate::cdss::cdss_store!(PostgresStore);
crate::chain::chain_store!(PostgresStore);
crate::research::research_store!(PostgresStore);
crate::fhir::fhir_store!(PostgresStore);
