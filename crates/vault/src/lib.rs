//! `meditrustal-vault`: encrypted off-chain storage of medical record versions.
//!
//! Each record version is sealed with **envelope encryption**: a fresh random 256-bit
//! data key and a random 96-bit nonce encrypt the plaintext in place with AES-256-GCM;
//! the data key is wrapped with AES-256-KW (RFC 3394) under a key-encryption key (KEK)
//! from the [`KeyRing`]. The ciphertext goes to an [`object_store`] (local directory by
//! default, any S3-compatible server in production) under a content-derived key, and
//! the caller (the SQL layer) stores the returned [`SealedRecord`]: object key, wrapped
//! data key, KEK id, nonce, plaintext SHA-256 and ciphertext length. This crate never
//! touches SQL.
//!
//! # Invariants
//! * **Binding** (DESIGN §3.4): the AEAD associated data is an unambiguous encoding of
//!   record id ‖ patient id ‖ version ([`RecordBinding`]); a ciphertext moved to another
//!   record, patient or version, or any modified byte, fails to decrypt.
//! * **Atomic writes** (DESIGN §3.3): objects are written before metadata, under
//!   `records/xx/yy/<sha256 of ciphertext>`; a crash leaves at most an orphan object,
//!   which [`Vault::list_objects`] and [`Vault::delete_object`] let a collector remove.
//! * **Tamper evidence**: [`Vault::get_record`] fails distinctly for a missing object,
//!   an authentication failure and a plaintext hash mismatch; [`Vault::check`] reports
//!   every difference for `meditrustal verify`.
//! * **Crypto-shredding** (DESIGN §3.7): a data key exists only wrapped, in the metadata
//!   row. Destroying that row's `wrapped_key` makes the object permanently unreadable
//!   even where copies of the object survive (backups, replicas); the ledger keeps only
//!   hashes and needs no rewrite. [`Vault::delete_object`] removes the ciphertext too.
//! * **Secrets** (DESIGN §3.6): key material is zeroized on drop and never appears in
//!   `Debug` output or error messages; KEK files are refused unless private (0600 in a
//!   0700 directory).
//! * **KEK rotation**: the KEK id is stored with every wrapped key, so older KEKs stay
//!   in the ring until [`Vault::rewrap`] / [`KeyRing::rewrap`] has moved each data key.
//!
//! Records are limited to [`MAX_RECORD_BYTES`] (25 MiB); `put_record` encrypts the
//! caller's buffer in place and hands it to the store without copying it.
//!
//! # Example
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use meditrustal_vault::{KeyDirectory, OsRandom, RecordBinding, StorageConfig, Vault};
//!
//! let data_dir = tempfile::tempdir()?;
//! // Embedded default: KEK in <data-dir>/keys (or KeyRing::from_master_key), objects in <data-dir>/objects.
//! let keys = KeyDirectory::in_data_dir(data_dir.path()).load_or_generate(&OsRandom)?;
//! let vault = Vault::open(&StorageConfig::local_in_data_dir(data_dir.path()), keys)?;
//!
//! let binding = RecordBinding::new("rec-1", "pat-1", 1);
//! let sealed = vault.put_record("主诉：咳嗽3天".as_bytes().to_vec(), &binding).await?;
//! // ... the SQL layer stores `sealed` in the record version's row, the ledger its
//! // `content_sha256_hex()`; later:
//! let plaintext = vault.get_record(&sealed, &binding).await?;
//! assert_eq!(plaintext, "主诉：咳嗽3天".as_bytes());
//! assert!(vault.check(&sealed, &binding).await?.is_ok());
//! # Ok(())
//! # }
//! ```

mod binding;
mod check;
mod envelope;
mod kek;
mod key_dir;
mod keyring;
mod object_key;
mod random;
mod storage;
mod vault;

pub use binding::{BindingError, RecordBinding};
pub use check::{CheckReport, Discrepancy};
pub use envelope::{
    DATA_KEY_LEN, DataKey, EnvelopeError, NONCE_LEN, TAG_LEN, WRAPPED_KEY_LEN, WrappedDataKey,
};
pub use kek::{KEK_LEN, Kek, KekError, KekId};
pub use key_dir::{KeyDirError, KeyDirectory};
pub use keyring::{KeyRing, KeyRingError, MASTER_KEY_ENV};
pub use object_key::{InvalidObjectKey, ObjectKey, RECORDS_PREFIX};
/// Re-exported so callers can build their own store or inspect storage errors.
pub use object_store;
pub use random::{OsRandom, RandomError, RandomSource};
pub use storage::{S3Addressing, S3Config, StorageConfig, StorageConfigError};
pub use vault::{
    KeyReload, MAX_BLOB_BYTES, MAX_CIPHERTEXT_BYTES, MAX_RECORD_BYTES, SealedBlob, SealedRecord,
    StoredObject, Vault, VaultError,
};
