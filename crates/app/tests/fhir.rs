//! FHIR use cases where timing matters, staged exactly: an object store that runs a
//! concurrent request just before the next write puts that request's commit between
//! another update's If-Match check and its commit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use meditrustal_app::fhir_model::ResourceType;
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

on_both_backends!(a_stale_if_match_caught_at_commit_is_a_version_mismatch);

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
