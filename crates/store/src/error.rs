/// What can go wrong in the store. Callers map these once, at the edge.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken; `field` names it (`username`, `email`, …).
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    #[error("stored value in {table}.{column} is not valid")]
    Corrupt {
        table: &'static str,
        column: &'static str,
    },
    /// A conditional write found the row changed meanwhile (already revoked, decided, or a
    /// newer version): the whole change was rolled back.
    #[error("the {what} was changed meanwhile")]
    Stale { what: &'static str },
    #[error("a change must append at least one ledger entry")]
    EmptyChange,
    /// The transaction of a group commit failed; every change in it was rolled back.
    #[error("commit failed: {0}")]
    BatchFailed(String),
    #[error("the ledger writer has stopped")]
    WriterStopped,
    #[error("ledger: {0}")]
    Ledger(#[from] meditrustal_ledger::PlanError),
    #[error("database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Maps a unique-constraint violation on insert to the field it concerns. Both backends
    /// name the constraint or column in the message (`users.username`, `users_email_key`).
    pub(crate) fn from_insert(err: sqlx::Error) -> StoreError {
        let unique = err
            .as_database_error()
            .filter(|db| db.is_unique_violation())
            .map(|db| db.constraint().unwrap_or_default().to_owned() + " " + db.message());
        match unique {
            Some(text) if text.contains("username") => StoreError::Conflict { field: "username" },
            Some(text) if text.contains("email") => StoreError::Conflict { field: "email" },
            Some(text) if text.contains("did") => StoreError::Conflict { field: "did" },
            _ => StoreError::Database(err),
        }
    }
}
