//! FHIR use cases the API cannot show: timing staged exactly (an object store that runs a
//! concurrent request just before the next write puts that request's commit between
//! another update's If-Match check and its commit), and what the search index keeps in the
//! database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use meditrustal_app::fhir_model::{ResourceType, SearchQuery};
use meditrustal_app::{Actor, FhirError, SystemClock};
use meditrustal_domain::{Purpose, Role};
use meditrustal_testkit::{TestBackend, TestDatabase, on_both_backends};
use meditrustal_vault::object_store::{self, path::Path};
use meditrustal_vault::{OsRandom, StorageConfig, Vault};
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use serde_json::{Value, json};

on_both_backends!(
    a_stale_if_match_caught_at_commit_is_a_version_mismatch,
    token_codes_are_stored_hashed_and_rehashed_after_an_upgrade,
);

/// Delegates to `inner`; once armed, the next write first runs the armed task.
struct Interleaving {
    inner: Arc<dyn ObjectStore>,
    before_next_put: Mutex<Option<BoxFuture<'static, ()>>>,
}

impl Interleaving {
    fn arm(&self, task: BoxFuture<'static, ()>) {
        *self.before_next_put.lock().unwrap() = Some(task);
    }
}

impl fmt::Debug for Interleaving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interleaving({:?})", self.inner)
    }
}

impl fmt::Display for Interleaving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interleaving({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for Interleaving {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let task = self.before_next_put.lock().unwrap().take();
        if let Some(task) = task {
            task.await;
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn observation(patient: &Actor, status: &str) -> Value {
    json!({"resourceType": "Observation", "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{}", patient.user_id)},
        "effectiveDateTime": "2024-01-10",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}})
}

async fn a_stale_if_match_caught_at_commit_is_a_version_mismatch(backend: TestBackend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let objects = Arc::new(Interleaving {
        inner: StorageConfig::local_in_data_dir(db.dir.path())
            .build()
            .unwrap(),
        before_next_put: Mutex::new(None),
    });
    let vault = Vault::new(objects.clone(), common::key_ring(&db), Arc::new(OsRandom));
    let store = common::migrated_store(&db).await;
    let app = common::app_with(store, vault, Arc::new(SystemClock));
    let patient = common::user(&app, "li.na", Role::Patient).await;
    let purpose = Some(Purpose::Treatment);
    let kind = ResourceType::Observation;
    let created = app
        .fhir_create(
            &patient,
            kind,
            observation(&patient, "preliminary"),
            purpose,
        )
        .await
        .unwrap();
    let id = created.resource["id"].as_str().unwrap().to_owned();

    // The concurrent update carries the same If-Match and commits while the other one
    // seals its content, after that one has checked the version.
    let concurrent = {
        let (app, patient, id) = (app.clone(), patient.clone(), id.clone());
        async move {
            let updated = app
                .fhir_update(
                    &patient,
                    kind,
                    &id,
                    observation(&patient, "final"),
                    Some(1),
                    purpose,
                )
                .await
                .unwrap();
            assert_eq!(updated.version, 2);
        }
    };
    objects.arm(Box::pin(concurrent));
    let refused = app
        .fhir_update(
            &patient,
            kind,
            &id,
            observation(&patient, "amended"),
            Some(1),
            purpose,
        )
        .await;
    assert!(
        matches!(refused, Err(FhirError::VersionMismatch { current: 2 })),
        "{refused:?}"
    );
    let current = app
        .fhir_read(&patient, kind, &id, None, purpose)
        .await
        .unwrap();
    assert_eq!(
        (current.version, current.resource["status"].clone()),
        (2, json!("final"))
    );
}

/// Runs SQL on the test database behind the application's back; returns the rows of the
/// first column as text (empty for statements).
async fn raw_sql(db: &TestDatabase, sql: &str) -> Vec<String> {
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
    }
}

async fn found_by_code(app: &meditrustal_app::App, patient: &Actor, code: &str) -> u64 {
    let pairs = [("code".to_owned(), code.to_owned())];
    let query = SearchQuery::parse(ResourceType::Observation, &pairs).unwrap();
    let page = app
        .fhir_search(
            patient,
            ResourceType::Observation,
            &query,
            Some(Purpose::Treatment),
        )
        .await
        .unwrap();
    page.total.unwrap()
}

async fn token_codes_are_stored_hashed_and_rehashed_after_an_upgrade(backend: TestBackend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let app = common::local_app(&db).await;
    let patient = common::user(&app, "zhao.min", Role::Patient).await;
    let kind = ResourceType::Observation;
    app.fhir_create(&patient, kind, observation(&patient, "final"), None)
        .await
        .unwrap();

    // The database holds neither the code nor the system, yet searches find them.
    let stored = raw_sql(&db, "SELECT system || ' ' || code FROM fhir_tokens").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        !stored[0].contains("8867") && !stored[0].contains("loinc"),
        "{stored:?}"
    );
    assert_eq!(
        found_by_code(&app, &patient, "http://loinc.org|8867-4").await,
        1
    );
    assert_eq!(found_by_code(&app, &patient, "8867-4").await, 1);
    assert_eq!(found_by_code(&app, &patient, "8480-6").await, 0);

    // What migration 0010 leaves of a resource indexed before: no tokens, not marked.
    raw_sql(&db, "DELETE FROM fhir_tokens").await;
    raw_sql(&db, "UPDATE fhir_resources SET tokens_hashed = 0").await;
    assert_eq!(found_by_code(&app, &patient, "8867-4").await, 0);

    // The next process (same database and keys) rehashes them and uses the same key.
    let restarted = common::local_app(&db).await;
    assert_eq!(restarted.hash_unhashed_fhir_tokens().await.unwrap(), 1);
    assert_eq!(restarted.hash_unhashed_fhir_tokens().await.unwrap(), 0);
    assert_eq!(
        found_by_code(&restarted, &patient, "http://loinc.org|8867-4").await,
        1
    );
    assert_eq!(found_by_code(&app, &patient, "8867-4").await, 1);
    let keys = raw_sql(&db, "SELECT sealed FROM fhir_index_keys").await;
    assert_eq!(keys.len(), 1);
}
