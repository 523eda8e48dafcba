//! The vault: seal a record version, store the ciphertext under its content address,
//! and read, check, list and delete those objects.

use crate::binding::{BindingError, RecordBinding};
use crate::check::{CheckReport, Discrepancy};
use crate::envelope::{
    self, DataKey, EnvelopeError, NONCE_LEN, TAG_LEN, WrappedDataKey, open_in_place, seal_in_place,
};
use crate::kek::KekId;
use crate::keyring::{KeyRing, KeyRingError};
use crate::object_key::{ObjectKey, RECORDS_PREFIX};
use crate::random::{OsRandom, RandomError, RandomSource};
use crate::storage::{StorageConfig, StorageConfigError};
use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use zeroize::Zeroize as _;

/// Largest plaintext a record version may have: 25 MiB.
pub const MAX_RECORD_BYTES: usize = 25 * 1024 * 1024;
/// Largest object the vault will download (a maximal record plus its tag).
pub const MAX_CIPHERTEXT_BYTES: u64 = (MAX_RECORD_BYTES + TAG_LEN) as u64;

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The record binding cannot be encoded.
    #[error(transparent)]
    Binding(#[from] BindingError),
    /// A plaintext or object over the size limit.
    #[error("{what} is {size} bytes; the limit is {max} bytes")]
    TooLarge {
        /// `record` or `object`.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// No object at the key the metadata names (deleted, lost, or never written).
    #[error("object {object_key} is missing from the object store")]
    ObjectMissing {
        /// The missing key.
        object_key: ObjectKey,
    },
    /// The metadata names a KEK this process does not hold.
    #[error("key-encryption key {kek_id} is not in the key ring")]
    UnknownKek {
        /// The KEK id from the metadata.
        kek_id: KekId,
    },
    /// The wrapped data key does not unwrap under its KEK (wrong KEK or corrupted wrapped key).
    #[error("the data key does not unwrap under key-encryption key {kek_id}")]
    KeyUnwrap {
        /// The KEK that was tried.
        kek_id: KekId,
    },
    /// AES-GCM authentication failed: the object was modified, or the metadata or binding
    /// belong to another record, patient or version.
    #[error(
        "object {object_key} failed authentication (tampered, or bound to another record, patient or version)"
    )]
    Decrypt {
        /// The object that failed.
        object_key: ObjectKey,
    },
    /// The object decrypted, but its plaintext does not have the stored SHA-256.
    #[error("object {object_key} decrypted but its SHA-256 is {actual}, not the stored {expected}")]
    HashMismatch {
        /// The object.
        object_key: ObjectKey,
        /// Stored hash (hex).
        expected: String,
        /// Computed hash (hex).
        actual: String,
    },
    /// An object under `records/` whose name is not a content address.
    #[error("object store holds `{path}`, which is not a record object key")]
    ForeignObject {
        /// The path found.
        path: String,
    },
    /// Generating a key or nonce failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// Any other envelope failure (AES-GCM refusing to encrypt).
    #[error(transparent)]
    Envelope(EnvelopeError),
    /// The object store failed (unreachable, denied, …).
    #[error("object store: {0}")]
    Storage(#[source] object_store::Error),
    /// The object was written but could not be flushed to disk (local backend).
    #[error("flushing object {object_key} to disk: {source}")]
    Durability {
        /// The object.
        object_key: ObjectKey,
        /// The OS error.
        source: std::io::Error,
    },
    /// The object store could not be built.
    #[error(transparent)]
    Config(#[from] StorageConfigError),
    /// Reloading the key ring (to find a KEK added by a rotation) failed.
    #[error("reloading the key ring: {0}")]
    KeyReload(String),
}

impl From<KeyRingError> for VaultError {
    fn from(e: KeyRingError) -> Self {
        match e {
            KeyRingError::UnknownKek { kek_id } => Self::UnknownKek { kek_id },
            KeyRingError::Envelope(e) => envelope_to_vault(e),
        }
    }
}

/// What the SQL layer stores for one record version (besides its own columns).
/// Destroying `wrapped_key` makes the object unreadable (crypto-shredding, DESIGN §3.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SealedRecord {
    /// Where the ciphertext is stored.
    pub object_key: ObjectKey,
    /// The wrapped data key and the id of the KEK that wrapped it.
    #[serde(flatten)]
    pub data_key: WrappedDataKey,
    /// AES-GCM nonce (hex in serialised form).
    #[serde(with = "hex::serde")]
    pub nonce: [u8; NONCE_LEN],
    /// SHA-256 of the plaintext (hex in serialised form); what the ledger records.
    #[serde(with = "hex::serde")]
    pub content_sha256: [u8; 32],
    /// Ciphertext length in bytes, tag included.
    pub ciphertext_len: u64,
}

impl SealedRecord {
    /// The plaintext SHA-256 as lowercase hex.
    pub fn content_sha256_hex(&self) -> String {
        hex::encode(self.content_sha256)
    }
}

/// One object found by [`Vault::list_objects`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct StoredObject {
    /// Its key.
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
    /// When it was written. A garbage collector must spare objects younger than the
    /// longest write (object, then metadata commit) it may be racing.
    pub last_modified: SystemTime,
}

/// Loads the key ring again (from the key directory), for [`Vault::with_key_reload`].
pub type KeyReload = Box<dyn Fn() -> Result<KeyRing, String> + Send + Sync>;

/// Envelope-encrypted record storage over an object store.
pub struct Vault {
    store: Arc<dyn ObjectStore>,
    /// Swapped whole when the ring is reloaded; readers keep the ring they started with.
    keys: RwLock<Arc<KeyRing>>,
    reload: Option<KeyReload>,
    rng: Arc<dyn RandomSource>,
    /// Root of a local-filesystem store, whose writes must be fsynced by us:
    /// `object_store`'s local backend renames into place without syncing.
    fsync_root: Option<PathBuf>,
    /// Directories whose own entry in their parent is known to be durable.
    durable_dirs: Arc<DurableDirs>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.store.to_string())
            .field("keys", &self.keys())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A vault over `store`, wrapping with `keys`, drawing keys and nonces from `rng`.
    pub fn new(store: Arc<dyn ObjectStore>, keys: KeyRing, rng: Arc<dyn RandomSource>) -> Self {
        Self {
            store,
            keys: RwLock::new(Arc::new(keys)),
            reload: None,
            rng,
            fsync_root: None,
            durable_dirs: Arc::default(),
        }
    }

    /// A vault over the configured store with the OS random generator. For the local
    /// backend every written object (and its directories) is fsynced before
    /// `put_record` returns, so a metadata row committed afterwards never points at an
    /// object lost in a power cut (DESIGN §3.3).
    pub fn open(config: &StorageConfig, keys: KeyRing) -> Result<Self, VaultError> {
        let mut vault = Self::new(config.build()?, keys, Arc::new(OsRandom));
        if let StorageConfig::Local { root } = config {
            vault.fsync_root = Some(root.clone());
        }
        Ok(vault)
    }

    /// The key ring now (for re-wrapping and reporting KEK ids).
    pub fn keys(&self) -> Arc<KeyRing> {
        match self.keys.read() {
            Ok(ring) => Arc::clone(&ring),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Lets the vault reload its key ring: when a record names a KEK the ring lacks (another
    /// process rotated keys) and on [`Vault::reload_keys`]. Running servers thereby read
    /// records re-wrapped under a new KEK without a restart.
    pub fn with_key_reload(mut self, reload: KeyReload) -> Self {
        self.reload = Some(reload);
        self
    }

    /// Loads the key ring again if a reload function was given; returns whether the active
    /// KEK or the set of KEKs changed. A failed reload keeps the current ring.
    pub fn reload_keys(&self) -> Result<bool, VaultError> {
        let Some(reload) = &self.reload else {
            return Ok(false);
        };
        let fresh = reload().map_err(VaultError::KeyReload)?;
        let current = self.keys();
        let changed = fresh.active_id() != current.active_id() || !fresh.ids().eq(current.ids());
        if changed {
            match self.keys.write() {
                Ok(mut ring) => *ring = Arc::new(fresh),
                Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
            }
        }
        Ok(changed)
    }

    /// Unwraps with the current ring; a KEK it lacks triggers one reload and a retry.
    fn unwrap_data_key(&self, wrapped: &WrappedDataKey) -> Result<DataKey, VaultError> {
        match self.keys().unwrap(wrapped) {
            Err(KeyRingError::UnknownKek { .. }) if self.reload.is_some() => {
                self.reload_keys()?;
                Ok(self.keys().unwrap(wrapped)?)
            }
            other => Ok(other?),
        }
    }

    /// Encrypts `plaintext` in place under a fresh data key bound to `binding` and
    /// stores it. Give `plaintext` [`TAG_LEN`] bytes of spare capacity to avoid a
    /// reallocation (which would leave a plaintext copy in freed memory).
    pub async fn put_record(
        &self,
        mut plaintext: Vec<u8>,
        binding: &RecordBinding<'_>,
    ) -> Result<SealedRecord, VaultError> {
        if plaintext.len() > MAX_RECORD_BYTES {
            return Err(VaultError::TooLarge {
                what: "record",
                size: plaintext.len() as u64,
                max: MAX_RECORD_BYTES as u64,
            });
        }
        let aad = binding.associated_data()?;
        let content_sha256: [u8; 32] = Sha256::digest(&plaintext).into();
        let data_key = DataKey::generate(self.rng.as_ref()).map_err(envelope_to_vault)?;
        let nonce = envelope::generate_nonce(self.rng.as_ref()).map_err(envelope_to_vault)?;
        let wrapped = self.keys().wrap(&data_key)?;

        plaintext.reserve_exact(TAG_LEN);
        let mut ciphertext = plaintext;
        seal_in_place(&data_key, &nonce, &aad, &mut ciphertext).map_err(envelope_to_vault)?;
        let object_key = ObjectKey::for_ciphertext(&ciphertext);
        let ciphertext_len = ciphertext.len() as u64;

        let payload = PutPayload::from(Bytes::from(ciphertext));
        self.store
            .put_opts(&object_key.to_path(), payload, PutOptions::default())
            .await
            .map_err(VaultError::Storage)?;
        self.make_durable(&object_key).await?;
        Ok(SealedRecord {
            object_key,
            data_key: wrapped,
            nonce,
            content_sha256,
            ciphertext_len,
        })
    }

    /// Reads, authenticates and decrypts a record version and checks its SHA-256.
    /// Distinct errors: [`VaultError::ObjectMissing`], [`VaultError::Decrypt`],
    /// [`VaultError::HashMismatch`] (and key errors: `UnknownKek`, `KeyUnwrap`).
    pub async fn get_record(
        &self,
        record: &SealedRecord,
        binding: &RecordBinding<'_>,
    ) -> Result<Vec<u8>, VaultError> {
        let aad = binding.associated_data()?;
        let data_key = self.unwrap_data_key(&record.data_key)?;
        let mut buffer = self.fetch(&record.object_key).await?;
        open_in_place(&data_key, &record.nonce, &aad, &mut buffer).map_err(|_| {
            VaultError::Decrypt {
                object_key: record.object_key.clone(),
            }
        })?;
        let actual: [u8; 32] = Sha256::digest(&buffer).into();
        if actual != record.content_sha256 {
            buffer.zeroize();
            return Err(VaultError::HashMismatch {
                object_key: record.object_key.clone(),
                expected: hex::encode(record.content_sha256),
                actual: hex::encode(actual),
            });
        }
        Ok(buffer)
    }

    /// Verifies one record version for `meditrustal verify`: the object exists, its
    /// bytes still hash to their content address and length, the data key unwraps, the
    /// ciphertext authenticates under `binding`, and the plaintext has the stored
    /// SHA-256. Compare `record.content_sha256` with the ledger separately (or pass a
    /// record whose hash came from the ledger). `Err` means the check could not run
    /// (storage unreachable, bad binding); differences are in the report.
    pub async fn check(
        &self,
        record: &SealedRecord,
        binding: &RecordBinding<'_>,
    ) -> Result<CheckReport, VaultError> {
        let aad = binding.associated_data()?;
        let mut report = CheckReport::new(record.object_key.clone());
        let mut buffer = match self.fetch(&record.object_key).await {
            Ok(bytes) => bytes,
            Err(VaultError::ObjectMissing { .. }) => {
                report.push(Discrepancy::ObjectMissing);
                return Ok(report);
            }
            Err(VaultError::TooLarge { size, .. }) => {
                report.push(Discrepancy::ObjectTooLarge { size });
                return Ok(report);
            }
            Err(other) => return Err(other),
        };
        let address = hex::encode(Sha256::digest(&buffer));
        if address != record.object_key.ciphertext_sha256_hex() {
            report.push(Discrepancy::CiphertextAddressMismatch {
                actual_sha256: address,
            });
        }
        if buffer.len() as u64 != record.ciphertext_len {
            report.push(Discrepancy::CiphertextLengthMismatch {
                expected: record.ciphertext_len,
                actual: buffer.len() as u64,
            });
        }
        let data_key = match self.unwrap_data_key(&record.data_key) {
            Ok(key) => key,
            Err(VaultError::UnknownKek { kek_id }) => {
                report.push(Discrepancy::UnknownKek { kek_id });
                return Ok(report);
            }
            Err(_) => {
                report.push(Discrepancy::KeyUnwrapFailed {
                    kek_id: record.data_key.kek_id.clone(),
                });
                return Ok(report);
            }
        };
        if open_in_place(&data_key, &record.nonce, &aad, &mut buffer).is_err() {
            report.push(Discrepancy::DecryptFailed);
            return Ok(report);
        }
        let actual = hex::encode(Sha256::digest(&buffer));
        buffer.zeroize();
        if actual != record.content_sha256_hex() {
            report.push(Discrepancy::PlaintextHashMismatch {
                expected: record.content_sha256_hex(),
                actual,
            });
        }
        Ok(report)
    }

    /// Re-wraps a record's data key under `new_kek` (KEK rotation); returns the
    /// metadata to store. The object is untouched.
    pub fn rewrap(
        &self,
        record: &SealedRecord,
        new_kek: &KekId,
    ) -> Result<SealedRecord, VaultError> {
        let data_key = self.keys().rewrap(&record.data_key, new_kek)?;
        Ok(SealedRecord {
            data_key,
            ..record.clone()
        })
    }

    /// Deletes a ciphertext object. Deleting a missing object succeeds, so a garbage
    /// collector or an erasure can be retried.
    pub async fn delete_object(&self, key: &ObjectKey) -> Result<(), VaultError> {
        let location = key.to_path();
        let mut results = self
            .store
            .delete_stream(futures_util::stream::once(async move { Ok(location) }).boxed());
        while let Some(result) = results.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(VaultError::Storage(e)),
            }
        }
        Ok(())
    }

    /// Whether the object store answers: lists at most one object under `records/`.
    pub async fn probe(&self) -> Result<(), VaultError> {
        let prefix = Path::from(RECORDS_PREFIX);
        match self.store.list(Some(&prefix)).next().await {
            Some(Err(err)) => Err(VaultError::Storage(err)),
            Some(Ok(_)) | None => Ok(()),
        }
    }

    /// Every object under `records/`, for a garbage collector that deletes objects no
    /// metadata row points to. Anything there that is not a content address is yielded
    /// as [`VaultError::ForeignObject`] and the listing goes on.
    pub fn list_objects(&self) -> BoxStream<'static, Result<StoredObject, VaultError>> {
        let prefix = Path::from(RECORDS_PREFIX);
        self.store
            .list(Some(&prefix))
            .map(|item| {
                let meta = item.map_err(VaultError::Storage)?;
                let key = ObjectKey::parse(meta.location.as_ref()).map_err(|_| {
                    VaultError::ForeignObject {
                        path: meta.location.to_string(),
                    }
                })?;
                Ok(StoredObject {
                    key,
                    size: meta.size,
                    last_modified: meta.last_modified.into(),
                })
            })
            .boxed()
    }

    /// Flushes a freshly written local object and the directory entries leading to it.
    async fn make_durable(&self, key: &ObjectKey) -> Result<(), VaultError> {
        let Some(root) = self.fsync_root.clone() else {
            return Ok(());
        };
        let path = root.join(key.as_str());
        let durable_dirs = Arc::clone(&self.durable_dirs);
        let flush = move || fsync_file_and_parents(&path, &root, &durable_dirs);
        let result = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(flush)
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(_) => flush(),
        };
        result.map_err(|source| VaultError::Durability {
            object_key: key.clone(),
            source,
        })
    }

    /// Downloads an object, refusing objects over the size limit before reading them.
    async fn fetch(&self, key: &ObjectKey) -> Result<Vec<u8>, VaultError> {
        let result = match self
            .store
            .get_opts(&key.to_path(), GetOptions::default())
            .await
        {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(VaultError::ObjectMissing {
                    object_key: key.clone(),
                });
            }
            Err(e) => return Err(VaultError::Storage(e)),
        };
        if result.meta.size > MAX_CIPHERTEXT_BYTES {
            return Err(VaultError::TooLarge {
                what: "object",
                size: result.meta.size,
                max: MAX_CIPHERTEXT_BYTES,
            });
        }
        let bytes = result.bytes().await.map_err(VaultError::Storage)?;
        Ok(Vec::from(bytes))
    }
}

/// Directories of a local store whose entry in their parent has been fsynced since this
/// process started. A new object only adds an entry to its own directory; the directories
/// above it change only when one of theirs was created, which this remembers having made
/// durable, so steady-state writes pay two fsyncs (file and directory) instead of five.
#[derive(Debug, Default)]
struct DurableDirs(std::sync::Mutex<std::collections::HashSet<PathBuf>>);

impl DurableDirs {
    fn contains(&self, dir: &std::path::Path) -> bool {
        self.0.lock().is_ok_and(|dirs| dirs.contains(dir))
    }

    fn insert(&self, dir: &std::path::Path) {
        if let Ok(mut dirs) = self.0.lock() {
            dirs.insert(dir.to_path_buf());
        }
    }
}

/// Fsyncs the file, then each directory upwards that may hold a new entry: its own
/// directory always, a directory's parent only while the directory is not yet known to be
/// durable there. Directories are remembered only after their parent's fsync succeeded, so
/// a concurrent writer that does not find one remembered fsyncs the parent itself.
fn fsync_file_and_parents(
    file: &std::path::Path,
    root: &std::path::Path,
    durable_dirs: &DurableDirs,
) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    let mut changed = Vec::new();
    let mut dir = file.parent();
    while let Some(d) = dir {
        changed.push(d);
        if d == root || durable_dirs.contains(d) {
            break;
        }
        dir = d.parent();
    }
    for d in &changed {
        std::fs::File::open(d)?.sync_all()?;
    }
    // Every directory but the topmost had its parent fsynced above.
    for d in changed.iter().rev().skip(1) {
        durable_dirs.insert(d);
    }
    Ok(())
}

/// Small derived data (an NLP result, observations, an alert's detail) sealed like a record
/// version but kept inline in its SQL row instead of in the object store: there is no
/// object to orphan or collect, and destroying the row's wrapped key shreds it the same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SealedBlob {
    /// The wrapped data key and the id of the KEK that wrapped it.
    #[serde(flatten)]
    pub data_key: WrappedDataKey,
    /// AES-GCM nonce (hex in serialised form).
    #[serde(with = "hex::serde")]
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext ‖ tag (hex in serialised form).
    #[serde(with = "hex::serde")]
    pub ciphertext: Vec<u8>,
}

/// Inline blobs are for small derived data; larger content belongs in a record.
pub const MAX_BLOB_BYTES: usize = 4 * 1024 * 1024;

impl Vault {
    /// Encrypts `plaintext` under a fresh data key bound to `binding` and returns it whole
    /// (nothing is stored). Bind it to something other than a record version's binding
    /// (e.g. `"<record id>/nlp"`) so the two can never be swapped.
    pub fn seal_blob(
        &self,
        mut plaintext: Vec<u8>,
        binding: &RecordBinding<'_>,
    ) -> Result<SealedBlob, VaultError> {
        if plaintext.len() > MAX_BLOB_BYTES {
            return Err(VaultError::TooLarge {
                what: "blob",
                size: plaintext.len() as u64,
                max: MAX_BLOB_BYTES as u64,
            });
        }
        let aad = binding.associated_data()?;
        let data_key = DataKey::generate(self.rng.as_ref()).map_err(envelope_to_vault)?;
        let nonce = envelope::generate_nonce(self.rng.as_ref()).map_err(envelope_to_vault)?;
        let wrapped = self.keys().wrap(&data_key)?;
        plaintext.reserve_exact(TAG_LEN);
        seal_in_place(&data_key, &nonce, &aad, &mut plaintext).map_err(envelope_to_vault)?;
        Ok(SealedBlob {
            data_key: wrapped,
            nonce,
            ciphertext: plaintext,
        })
    }

    /// Authenticates and decrypts a [`SealedBlob`] sealed under `binding`.
    pub fn open_blob(
        &self,
        blob: &SealedBlob,
        binding: &RecordBinding<'_>,
    ) -> Result<Vec<u8>, VaultError> {
        let aad = binding.associated_data()?;
        let data_key = self.unwrap_data_key(&blob.data_key)?;
        let mut buffer = blob.ciphertext.clone();
        open_in_place(&data_key, &blob.nonce, &aad, &mut buffer).map_err(envelope_to_vault)?;
        Ok(buffer)
    }
}

fn envelope_to_vault(e: EnvelopeError) -> VaultError {
    match e {
        EnvelopeError::UnwrapFailed { kek_id } => VaultError::KeyUnwrap { kek_id },
        EnvelopeError::Random(r) => VaultError::Random(r),
        other => VaultError::Envelope(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kek::Kek;
    use crate::random::fixed::CountingRandom;
    use object_store::memory::InMemory;

    // The in-memory store is object_store's own reference backend, used here only for
    // fast unit tests of the crypto paths; tests/ runs everything on the filesystem and
    // on a real S3 server.
    fn vault() -> Vault {
        let rng = Arc::new(CountingRandom::default());
        let keys = KeyRing::new(Kek::generate(rng.as_ref()).unwrap());
        Vault::new(Arc::new(InMemory::new()), keys, rng)
    }

    #[test]
    fn directories_are_remembered_once_their_parent_is_synced() {
        let root = tempfile::tempdir().unwrap();
        let object = |name: &str| {
            let path = root.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"x").unwrap();
            path
        };
        let dirs = DurableDirs::default();
        let remembered = |dirs: &DurableDirs| {
            let mut names: Vec<String> = dirs
                .0
                .lock()
                .unwrap()
                .iter()
                .map(|d| d.strip_prefix(root.path()).unwrap().display().to_string())
                .collect();
            names.sort();
            names
        };

        fsync_file_and_parents(&object("records/ab/cd/1"), root.path(), &dirs).unwrap();
        assert_eq!(
            remembered(&dirs),
            ["records", "records/ab", "records/ab/cd"]
        );
        // A sibling directory: only it and `ab` (its new entry) need a sync.
        fsync_file_and_parents(&object("records/ab/ce/2"), root.path(), &dirs).unwrap();
        assert_eq!(
            remembered(&dirs),
            ["records", "records/ab", "records/ab/cd", "records/ab/ce"]
        );
        // A failed sync remembers nothing.
        let missing = root.path().join("records/zz/yy/3");
        assert!(fsync_file_and_parents(&missing, root.path(), &dirs).is_err());
        assert_eq!(remembered(&dirs).len(), 4);
    }

    const BINDING: RecordBinding<'static> = RecordBinding {
        record_id: "rec-1",
        patient_id: "pat-1",
        version: 1,
    };

    #[test]
    fn blobs_round_trip_and_stay_bound() {
        let v = vault();
        let blob = v.seal_blob(b"{\"news2\":9}".to_vec(), &BINDING).unwrap();
        assert_ne!(&blob.ciphertext[..11], b"{\"news2\":9}");
        assert_eq!(v.open_blob(&blob, &BINDING).unwrap(), b"{\"news2\":9}");
        let other = RecordBinding::new("rec-1/nlp", "pat-1", 1);
        assert!(v.open_blob(&blob, &other).is_err());
        let mut tampered = blob.clone();
        tampered.ciphertext[0] ^= 1;
        assert!(v.open_blob(&tampered, &BINDING).is_err());
        let json = serde_json::to_string(&blob).unwrap();
        assert_eq!(serde_json::from_str::<SealedBlob>(&json).unwrap(), blob);
    }

    fn ring(active: u8, others: &[u8]) -> KeyRing {
        let kek = |byte: u8| Kek::from_bytes(zeroize::Zeroizing::new([byte; 32]));
        let mut ring = KeyRing::new(kek(active));
        for byte in others {
            ring.add_retired(kek(*byte));
        }
        ring
    }

    #[tokio::test]
    async fn a_kek_added_elsewhere_is_reloaded_on_first_use() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let rng = Arc::new(CountingRandom::default());
        // The server started before the rotation: it holds only the old KEK (1).
        let server = Vault::new(Arc::clone(&store), ring(1, &[]), rng.clone())
            .with_key_reload(Box::new(|| Ok(ring(2, &[1]))));
        let without_reload = Vault::new(Arc::clone(&store), ring(1, &[]), rng.clone());
        let rotator = Vault::new(Arc::clone(&store), ring(2, &[1]), rng);
        let new_id = rotator.keys().active_id().clone();

        let sealed = server
            .put_record(b"BNP 450 pg/mL".to_vec(), &BINDING)
            .await
            .unwrap();
        let rewrapped = rotator.rewrap(&sealed, &new_id).unwrap();
        assert_eq!(
            rewrapped.object_key, sealed.object_key,
            "ciphertext untouched"
        );
        assert_ne!(rewrapped.data_key, sealed.data_key);

        assert!(matches!(
            without_reload.get_record(&rewrapped, &BINDING).await,
            Err(VaultError::UnknownKek { .. })
        ));
        assert_eq!(
            server.get_record(&rewrapped, &BINDING).await.unwrap(),
            b"BNP 450 pg/mL"
        );
        // The reload also moved new writes to the new KEK; the old record still reads.
        assert_eq!(server.keys().active_id(), &new_id);
        let next = server
            .put_record(b"NT-proBNP".to_vec(), &BINDING)
            .await
            .unwrap();
        assert_eq!(next.data_key.kek_id, new_id);
        assert!(server.check(&sealed, &BINDING).await.unwrap().is_ok());
        assert!(!server.reload_keys().unwrap(), "nothing changed since");
    }

    #[tokio::test]
    async fn round_trip_and_metadata() {
        let v = vault();
        let sealed = v
            .put_record(b"HbA1c 7.2%".to_vec(), &BINDING)
            .await
            .unwrap();
        assert_eq!(sealed.ciphertext_len, 10 + TAG_LEN as u64);
        assert_eq!(
            sealed.content_sha256,
            <[u8; 32]>::from(Sha256::digest(b"HbA1c 7.2%"))
        );
        assert_eq!(&sealed.data_key.kek_id, v.keys().active_id());
        assert_eq!(
            v.get_record(&sealed, &BINDING).await.unwrap(),
            b"HbA1c 7.2%"
        );
        assert!(v.check(&sealed, &BINDING).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn wrong_record_patient_or_version_fails_to_decrypt() {
        let v = vault();
        let sealed = v.put_record(b"note".to_vec(), &BINDING).await.unwrap();
        for wrong in [
            RecordBinding::new("rec-2", "pat-1", 1),
            RecordBinding::new("rec-1", "pat-2", 1),
            RecordBinding::new("rec-1", "pat-1", 2),
        ] {
            let err = v.get_record(&sealed, &wrong).await.unwrap_err();
            assert!(
                matches!(err, VaultError::Decrypt { .. }),
                "{wrong:?}: {err}"
            );
            let report = v.check(&sealed, &wrong).await.unwrap();
            assert_eq!(report.discrepancies, vec![Discrepancy::DecryptFailed]);
        }
    }

    fn fixed_kek(byte: u8) -> Kek {
        Kek::from_bytes(zeroize::Zeroizing::new([byte; 32]))
    }

    #[tokio::test]
    async fn wrong_kek_and_unknown_kek_are_distinct_errors() {
        let v = vault();
        let sealed = v.put_record(b"note".to_vec(), &BINDING).await.unwrap();

        let unknown = Vault::new(
            v.store.clone(),
            KeyRing::new(fixed_kek(7)),
            Arc::new(OsRandom),
        );
        assert!(matches!(
            unknown.get_record(&sealed, &BINDING).await,
            Err(VaultError::UnknownKek { .. })
        ));

        // The metadata claims a KEK this process holds, but that KEK did not wrap the key.
        let other_id = fixed_kek(7).id().clone();
        let mut forged = sealed.clone();
        forged.data_key.kek_id = other_id.clone();
        assert!(matches!(
            unknown.get_record(&forged, &BINDING).await,
            Err(VaultError::KeyUnwrap { ref kek_id }) if *kek_id == other_id
        ));
        let report = unknown.check(&forged, &BINDING).await.unwrap();
        assert_eq!(
            report.discrepancies,
            vec![Discrepancy::KeyUnwrapFailed { kek_id: other_id }]
        );
    }

    #[tokio::test]
    async fn rewrap_then_read_works_with_the_new_kek_alone() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let rng: Arc<dyn RandomSource> = Arc::new(CountingRandom::default());
        let before = Vault::new(store.clone(), KeyRing::new(fixed_kek(8)), rng.clone());
        let sealed = before.put_record(b"note".to_vec(), &BINDING).await.unwrap();

        // During rotation: the new KEK is active, the old one retired.
        let mut ring = KeyRing::new(fixed_kek(9));
        ring.add_retired(fixed_kek(8));
        let rotating = Vault::new(store.clone(), ring, rng.clone());
        let new_id = rotating.keys().active_id().clone();
        let rewrapped = rotating.rewrap(&sealed, &new_id).unwrap();
        assert_eq!(rewrapped.data_key.kek_id, new_id);
        assert_eq!(rewrapped.object_key, sealed.object_key);
        assert_eq!(rewrapped.nonce, sealed.nonce);

        // After rotation the old KEK is gone: only re-wrapped rows stay readable.
        let after = Vault::new(store, KeyRing::new(fixed_kek(9)), rng);
        assert_eq!(
            after.get_record(&rewrapped, &BINDING).await.unwrap(),
            b"note"
        );
        assert!(matches!(
            after.get_record(&sealed, &BINDING).await,
            Err(VaultError::UnknownKek { .. })
        ));
    }

    #[tokio::test]
    async fn oversized_records_are_refused_before_any_work() {
        let v = vault();
        let err = v
            .put_record(vec![0u8; MAX_RECORD_BYTES + 1], &BINDING)
            .await
            .unwrap_err();
        assert!(matches!(err, VaultError::TooLarge { what: "record", .. }));
        assert_eq!(v.list_objects().count().await, 0);
    }

    #[tokio::test]
    async fn stored_hash_mismatch_is_its_own_error() {
        let v = vault();
        let mut sealed = v.put_record(b"note".to_vec(), &BINDING).await.unwrap();
        sealed.content_sha256[0] ^= 1;
        assert!(matches!(
            v.get_record(&sealed, &BINDING).await,
            Err(VaultError::HashMismatch { .. })
        ));
        let report = v.check(&sealed, &BINDING).await.unwrap();
        assert!(matches!(
            report.discrepancies.as_slice(),
            [Discrepancy::PlaintextHashMismatch { .. }]
        ));
    }

    #[tokio::test]
    async fn local_writes_are_flushed_or_the_put_fails() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig::Local {
            root: dir.path().join("objects"),
        };
        let keys = KeyRing::new(fixed_kek(5));
        let v = Vault::open(&config, keys).unwrap();
        assert_eq!(
            v.fsync_root.as_deref(),
            Some(dir.path().join("objects").as_path())
        );
        let sealed = v.put_record(b"note".to_vec(), &BINDING).await.unwrap();
        assert!(
            dir.path()
                .join("objects")
                .join(sealed.object_key.as_str())
                .is_file()
        );

        // If the object is not where the flush expects it, the write is not acknowledged.
        let mut misdirected = Vault::open(&config, KeyRing::new(fixed_kek(5))).unwrap();
        misdirected.fsync_root = Some(dir.path().join("elsewhere"));
        let err = misdirected
            .put_record(b"other".to_vec(), &BINDING)
            .await
            .unwrap_err();
        assert!(matches!(err, VaultError::Durability { .. }), "{err}");
    }

    #[test]
    fn vault_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let v = vault();
        let sealed_put = v.put_record(Vec::new(), &BINDING);
        assert_send(&sealed_put);
        let key = ObjectKey::for_ciphertext(b"");
        assert_send(&v.delete_object(&key));
    }

    #[test]
    fn sealed_record_serialises_to_flat_snake_case_hex() {
        let record = SealedRecord {
            object_key: ObjectKey::for_ciphertext(b"abc"),
            data_key: WrappedDataKey {
                kek_id: KekId::parse("0123456789abcdef").unwrap(),
                wrapped_key: [0xab; 40],
            },
            nonce: [1; 12],
            content_sha256: [2; 32],
            ciphertext_len: 17,
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["kek_id"], "0123456789abcdef");
        assert_eq!(json["wrapped_key"], "ab".repeat(40));
        assert_eq!(json["nonce"], "01".repeat(12));
        assert_eq!(json["content_sha256"], "02".repeat(32));
        assert_eq!(json["ciphertext_len"], 17);
        let back: SealedRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }
}
