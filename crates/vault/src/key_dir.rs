//! KEKs kept as files, for the embedded default (DESIGN §2):
//!
//! ```text
//! <data-dir>/keys/              mode 0700
//! <data-dir>/keys/kek-<id>.key  mode 0600, the key as standard base64 and a newline
//! <data-dir>/keys/active-kek    mode 0600, the id of the KEK that wraps new data keys
//! ```
//!
//! Loading refuses key files that group or others may access at all, a key directory
//! that group or others may write, anything that is not a regular file (symlinks
//! included), and a file whose content does not hash to the id in its name. Other files
//! in the directory (e.g. the ledger's signing key) are ignored.

use crate::kek::{Kek, KekError, KekId};
use crate::keyring::KeyRing;
use crate::random::RandomSource;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const ACTIVE_FILE: &str = "active-kek";
const KEY_PREFIX: &str = "kek-";
const KEY_SUFFIX: &str = ".key";
/// Key files are ~45 bytes; anything much larger is not a key file.
const MAX_KEY_FILE_BYTES: u64 = 256;

/// Why the key directory could not be loaded or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyDirError {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key file readable or writable by group or others.
    #[error(
        "{path} has mode {mode:o}; key files must not be accessible by group or others (chmod 600)"
    )]
    InsecureFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key directory writable by group or others (anyone could swap keys).
    #[error(
        "{path} has mode {mode:o}; the key directory must not be writable by group or others (chmod 700)"
    )]
    InsecureDirectory {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a regular file or directory (e.g. a symlink).
    #[error("{path} is not a regular {expected}")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// `file` or `directory`.
        expected: &'static str,
    },
    /// A key file that is implausibly large.
    #[error("{path} is {len} bytes; a key file holds one base64 key")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// A key file whose content is not a valid KEK.
    #[error("{path}: {source}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: KekError,
    },
    /// A key file whose key does not match the id in its name.
    #[error("{path} holds key {actual}, not the key its name says")]
    IdMismatch {
        /// The file.
        path: PathBuf,
        /// The id derived from the content.
        actual: KekId,
    },
    /// Several key files and no `active-kek` file saying which wraps new keys.
    #[error("{dir} holds several key files but no `active-kek` file naming the active one")]
    NoActiveKek {
        /// The key directory.
        dir: PathBuf,
    },
    /// `active-kek` names a key that has no file.
    #[error("`active-kek` names key {id}, but {dir} has no kek-{id}.key")]
    ActiveKekMissing {
        /// The named id.
        id: KekId,
        /// The key directory.
        dir: PathBuf,
    },
    /// Generating a new KEK failed (no randomness).
    #[error("generating a key-encryption key failed: {0}")]
    Generate(KekError),
    /// The directory holds no key and `load` (not `load_or_generate`) was used.
    #[error("{dir} holds no key-encryption key")]
    Empty {
        /// The key directory.
        dir: PathBuf,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeyDirError {
    let path = path.to_path_buf();
    move |source| KeyDirError::Io {
        action,
        path,
        source,
    }
}

/// The key directory, normally `<data-dir>/keys`.
#[derive(Debug, Clone)]
pub struct KeyDirectory {
    dir: PathBuf,
}

impl KeyDirectory {
    /// `<data_dir>/keys`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::new(data_dir.join("keys"))
    }

    /// An explicit key directory.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The directory path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Path of the file for `id`.
    pub fn key_path(&self, id: &KekId) -> PathBuf {
        self.dir.join(format!("{KEY_PREFIX}{id}{KEY_SUFFIX}"))
    }

    /// Loads every KEK, or on first start creates the directory (0700) and a first
    /// KEK (0600) and makes it active.
    pub fn load_or_generate(&self, rng: &dyn RandomSource) -> Result<KeyRing, KeyDirError> {
        if !self.dir.exists() {
            create_private_dir(&self.dir)?;
        }
        match self.load() {
            Err(KeyDirError::Empty { .. }) => {
                self.rotate(rng)?;
                self.load()
            }
            other => other,
        }
    }

    /// Loads every KEK in the directory; fails if there is none.
    pub fn load(&self) -> Result<KeyRing, KeyDirError> {
        check_directory(&self.dir)?;
        let mut keks = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io("reading directory", &self.dir))? {
            let entry = entry.map_err(io("reading directory", &self.dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(id_from_file_name) else {
                continue;
            };
            keks.push(read_key_file(&entry.path(), &id)?);
        }
        let active = self.read_active()?;
        let active = match (active, keks.len()) {
            (_, 0) => {
                return Err(KeyDirError::Empty {
                    dir: self.dir.clone(),
                });
            }
            (Some(id), _) => id,
            (None, 1) => {
                keks.first()
                    .map(|k| k.id().clone())
                    .ok_or_else(|| KeyDirError::Empty {
                        dir: self.dir.clone(),
                    })?
            }
            (None, _) => {
                return Err(KeyDirError::NoActiveKek {
                    dir: self.dir.clone(),
                });
            }
        };
        let position = keks.iter().position(|k| k.id() == &active).ok_or_else(|| {
            KeyDirError::ActiveKekMissing {
                id: active.clone(),
                dir: self.dir.clone(),
            }
        })?;
        let mut ring = KeyRing::new(keks.swap_remove(position));
        for kek in keks {
            ring.add_retired(kek);
        }
        Ok(ring)
    }

    /// Generates a new KEK file and makes it active (KEK rotation). Existing KEK files
    /// stay so older records can still be read and re-wrapped.
    pub fn rotate(&self, rng: &dyn RandomSource) -> Result<KekId, KeyDirError> {
        check_directory(&self.dir)?;
        let kek = Kek::generate(rng).map_err(KeyDirError::Generate)?;
        let path = self.key_path(kek.id());
        let mut content = kek.to_base64();
        content.push('\n');
        write_private_file(&path, content.as_bytes(), true)?;
        self.write_active(kek.id())?;
        Ok(kek.id().clone())
    }

    fn read_active(&self) -> Result<Option<KekId>, KeyDirError> {
        let path = self.dir.join(ACTIVE_FILE);
        if fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let text = read_private_file(&path)?;
        KekId::parse(text.trim())
            .map(Some)
            .map_err(|source| KeyDirError::BadKey { path, source })
    }

    /// Replaces `active-kek` atomically (write a temporary file, fsync, rename).
    fn write_active(&self, id: &KekId) -> Result<(), KeyDirError> {
        let tmp = self.dir.join(format!("{ACTIVE_FILE}.tmp"));
        let path = self.dir.join(ACTIVE_FILE);
        write_private_file(&tmp, format!("{id}\n").as_bytes(), false)?;
        fs::rename(&tmp, &path).map_err(io("renaming", &tmp))?;
        sync_dir(&self.dir)
    }
}

fn id_from_file_name(name: &str) -> Option<KekId> {
    let id = name.strip_prefix(KEY_PREFIX)?.strip_suffix(KEY_SUFFIX)?;
    KekId::parse(id).ok()
}

fn read_key_file(path: &Path, expected: &KekId) -> Result<Kek, KeyDirError> {
    let text = read_private_file(path)?;
    let kek = Kek::from_base64(&text).map_err(|source| KeyDirError::BadKey {
        path: path.to_path_buf(),
        source,
    })?;
    if kek.id() != expected {
        return Err(KeyDirError::IdMismatch {
            path: path.to_path_buf(),
            actual: kek.id().clone(),
        });
    }
    Ok(kek)
}

/// Reads a small file after checking it is a regular file private to its owner.
fn read_private_file(path: &Path) -> Result<Zeroizing<String>, KeyDirError> {
    let link_meta = fs::symlink_metadata(path).map_err(io("inspecting", path))?;
    if !link_meta.file_type().is_file() {
        return Err(KeyDirError::NotRegular {
            path: path.to_path_buf(),
            expected: "file",
        });
    }
    let mut file = File::open(path).map_err(io("opening", path))?;
    // Check the opened handle too, so a file swapped after the first check is caught.
    let meta = file.metadata().map_err(io("inspecting", path))?;
    check_file_mode(path, &meta)?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyDirError::FileTooLarge {
            path: path.to_path_buf(),
            len: meta.len(),
        });
    }
    let mut text = Zeroizing::new(String::with_capacity(MAX_KEY_FILE_BYTES as usize));
    (&mut file)
        .take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(io("reading", path))?;
    Ok(text)
}

fn write_private_file(path: &Path, content: &[u8], create_new: bool) -> Result<(), KeyDirError> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io("creating", path))?;
    let meta = file.metadata().map_err(io("inspecting", path))?;
    check_file_mode(path, &meta)?;
    file.write_all(content).map_err(io("writing", path))?;
    file.sync_all().map_err(io("syncing", path))?;
    drop(file);
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), KeyDirError> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(io("creating", parent))?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io("creating", dir))
}

fn check_directory(dir: &Path) -> Result<(), KeyDirError> {
    let meta = fs::symlink_metadata(dir).map_err(io("inspecting", dir))?;
    if !meta.is_dir() {
        return Err(KeyDirError::NotRegular {
            path: dir.to_path_buf(),
            expected: "directory",
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(KeyDirError::InsecureDirectory {
                path: dir.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

fn check_file_mode(path: &Path, meta: &fs::Metadata) -> Result<(), KeyDirError> {
    if !meta.is_file() {
        return Err(KeyDirError::NotRegular {
            path: path.to_path_buf(),
            expected: "file",
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyDirError::InsecureFile {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Makes a new or renamed directory entry durable.
fn sync_dir(dir: &Path) -> Result<(), KeyDirError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn first_start_generates_a_private_key_and_later_starts_load_it() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        let ring = keys.load_or_generate(&OsRandom).unwrap();
        let id = ring.active_id().clone();
        assert_eq!(mode(keys.path()), 0o700);
        assert_eq!(mode(&keys.key_path(&id)), 0o600);
        assert_eq!(mode(&keys.path().join("active-kek")), 0o600);

        let again = keys.load_or_generate(&OsRandom).unwrap();
        assert_eq!(again.active_id(), &id);
        assert_eq!(again.ids().count(), 1);
    }

    #[test]
    fn rotation_adds_a_new_active_key_and_keeps_the_old() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        let first = keys
            .load_or_generate(&OsRandom)
            .unwrap()
            .active_id()
            .clone();
        let second = keys.rotate(&OsRandom).unwrap();
        let ring = keys.load().unwrap();
        assert_eq!(ring.active_id(), &second);
        assert!(ring.contains(&first));
        assert_ne!(first, second);
    }

    #[test]
    fn key_files_accessible_by_group_or_others_are_refused() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        let id = keys
            .load_or_generate(&OsRandom)
            .unwrap()
            .active_id()
            .clone();
        let path = keys.key_path(&id);
        for bad in [0o640, 0o604, 0o660, 0o644, 0o610] {
            chmod(&path, bad);
            match keys.load() {
                Err(KeyDirError::InsecureFile { mode, .. }) => assert_eq!(mode, bad),
                other => panic!("mode {bad:o}: expected InsecureFile, got {other:?}"),
            }
        }
        chmod(&path, 0o400);
        keys.load().unwrap();
    }

    #[test]
    fn a_group_writable_key_directory_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        keys.load_or_generate(&OsRandom).unwrap();
        chmod(keys.path(), 0o770);
        let err = keys.load().unwrap_err();
        assert!(
            matches!(err, KeyDirError::InsecureDirectory { mode: 0o770, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 700"));
    }

    #[test]
    fn wrong_length_and_renamed_key_files_are_refused() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        let id = keys
            .load_or_generate(&OsRandom)
            .unwrap()
            .active_id()
            .clone();
        let path = keys.key_path(&id);
        fs::write(&path, "c2hvcnQ=\n").unwrap(); // 5 bytes
        let err = keys.load().unwrap_err();
        assert!(
            matches!(
                err,
                KeyDirError::BadKey {
                    source: KekError::WrongLength { actual: 5, .. },
                    ..
                }
            ),
            "{err}"
        );

        let other = Kek::from_bytes(Zeroizing::new([3u8; 32]));
        fs::write(&path, format!("{}\n", other.to_base64().as_str())).unwrap();
        assert!(matches!(keys.load(), Err(KeyDirError::IdMismatch { .. })));
    }

    #[test]
    fn symlinked_key_files_are_refused() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        let id = keys
            .load_or_generate(&OsRandom)
            .unwrap()
            .active_id()
            .clone();
        let path = keys.key_path(&id);
        let moved = data.path().join("elsewhere.key");
        fs::rename(&path, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &path).unwrap();
        assert!(matches!(keys.load(), Err(KeyDirError::NotRegular { .. })));
    }

    #[test]
    fn several_keys_without_an_active_pointer_are_ambiguous() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        keys.load_or_generate(&OsRandom).unwrap();
        keys.rotate(&OsRandom).unwrap();
        fs::remove_file(keys.path().join("active-kek")).unwrap();
        assert!(matches!(keys.load(), Err(KeyDirError::NoActiveKek { .. })));
    }

    #[test]
    fn an_active_pointer_to_a_missing_key_is_reported() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        let id = keys
            .load_or_generate(&OsRandom)
            .unwrap()
            .active_id()
            .clone();
        keys.rotate(&OsRandom).unwrap();
        let active = keys.load().unwrap().active_id().clone();
        fs::remove_file(keys.key_path(&active)).unwrap();
        match keys.load() {
            Err(KeyDirError::ActiveKekMissing { id: missing, .. }) => assert_eq!(missing, active),
            other => panic!("expected ActiveKekMissing, got {other:?}"),
        }
        assert_ne!(id, active);
    }

    #[test]
    fn load_without_keys_is_an_error_and_other_files_are_ignored() {
        let data = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::in_data_dir(data.path());
        create_private_dir(keys.path()).unwrap();
        fs::write(keys.path().join("ledger.ed25519"), b"not a kek").unwrap();
        assert!(matches!(keys.load(), Err(KeyDirError::Empty { .. })));
        keys.load_or_generate(&OsRandom).unwrap();
    }
}
