//! What the application's integration tests share: an `App` over a fresh test database,
//! with fixed test keys.

#![allow(dead_code)]

use std::sync::Arc;

use meditrustal_app::{Actor, App, AppParts, AuthSettings, Clock, JwtSecret, SystemClock};
use meditrustal_domain::Role;
use meditrustal_ledger::SigningKey;
use meditrustal_store::Store;
use meditrustal_testkit::TestDatabase;
use meditrustal_vault::{KeyDirectory, KeyRing, OsRandom, StorageConfig, Vault};

/// The test database's store, migrated.
pub async fn migrated_store(db: &TestDatabase) -> Arc<dyn Store> {
    let store = meditrustal_store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// The key ring of the test's data directory (generated on first use).
pub fn key_ring(db: &TestDatabase) -> KeyRing {
    KeyDirectory::in_data_dir(db.dir.path())
        .load_or_generate(&OsRandom)
        .unwrap()
}

/// A vault on the local filesystem inside the test's data directory.
pub fn local_vault(db: &TestDatabase) -> Vault {
    Vault::open(
        &StorageConfig::local_in_data_dir(db.dir.path()),
        key_ring(db),
    )
    .unwrap()
}

/// An app over these parts, with fixed JWT and ledger keys.
pub fn app_with(store: Arc<dyn Store>, vault: Vault, clock: Arc<dyn Clock>) -> App {
    App::new(AppParts {
        store,
        clock,
        jwt_secret: JwtSecret::new(vec![7; 32]).unwrap(),
        auth: AuthSettings::default(),
        vault,
        ledger_key: SigningKey::from_bytes(&[9; 32]),
    })
}

/// An app over the test database, a local vault and the system clock.
pub async fn local_app(db: &TestDatabase) -> App {
    app_with(
        migrated_store(db).await,
        local_vault(db),
        Arc::new(SystemClock),
    )
}

/// The password of accounts made by [`user`].
pub const PASSWORD: &str = "Sturdy-Passphrase-42";

/// An active account `name` with `role`, as the actor it signs in as.
pub async fn user(app: &App, name: &str, role: Role) -> Actor {
    app.ensure_user(name, &format!("{name}@example.cn"), PASSWORD, role)
        .await
        .unwrap();
    app.act_as(name).await.unwrap()
}
