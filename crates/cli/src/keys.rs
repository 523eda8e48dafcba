//! Key files under `<data-dir>/keys/`, readable by the owner only.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use meditrustal_app::JwtSecret;

/// Creates `dir` (and parents) if missing; on Unix the directory is mode 0700.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating directory {}", dir.display()))
}

/// The access-token signing key: `MEDITRUSTAL_JWT_SECRET` (base64) when given — every replica
/// of a deployment must share it — else `<data-dir>/keys/jwt-hmac.key`, generated on first use.
pub fn jwt_secret(data_dir: &Path, from_env: Option<&str>) -> anyhow::Result<JwtSecret> {
    let bytes = match from_env {
        Some(encoded) => STANDARD
            .decode(encoded.trim())
            .context("MEDITRUSTAL_JWT_SECRET is not valid base64")?,
        None => read_or_create_key(&data_dir.join("keys").join("jwt-hmac.key"))?,
    };
    JwtSecret::new(bytes).with_context(|| {
        format!(
            "the JWT secret must be at least {} bytes",
            JwtSecret::MIN_LEN
        )
    })
}

/// The ledger's Ed25519 signing key, `<data-dir>/keys/ledger.ed25519` (a 32-byte seed,
/// generated on first use). Its public key is what verifiers trust.
pub fn ledger_key(data_dir: &Path) -> anyhow::Result<meditrustal_ledger::SigningKey> {
    let seed = read_or_create_key(&data_dir.join("keys").join("ledger.ed25519"))?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| anyhow::anyhow!("keys/ledger.ed25519 must hold 32 bytes"))?;
    Ok(meditrustal_ledger::SigningKey::from_bytes(&seed))
}

/// The key-encryption keys: `MEDITRUSTAL_MASTER_KEY` (base64) when given, else the key
/// directory under `<data-dir>/keys/`, generated on first start.
pub fn key_ring(data_dir: &Path) -> anyhow::Result<meditrustal_vault::KeyRing> {
    match std::env::var(meditrustal_vault::MASTER_KEY_ENV) {
        Ok(encoded) => meditrustal_vault::KeyRing::from_master_key(&encoded)
            .context("MEDITRUSTAL_MASTER_KEY is not a valid base64 256-bit key"),
        Err(_) => meditrustal_vault::KeyDirectory::in_data_dir(data_dir)
            .load_or_generate(&meditrustal_vault::OsRandom)
            .context("loading the key-encryption keys"),
    }
}

fn read_or_create_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        check_owner_only(path)?;
        let text =
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return STANDARD
            .decode(text.trim())
            .with_context(|| format!("{} is not valid base64", path.display()));
    }
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|err| anyhow::anyhow!("OS random source: {err}"))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{}", STANDARD.encode(&key))?;
    file.sync_all()?;
    Ok(key)
}

/// A key file others can read is a leaked key; refuse it rather than run with it.
fn check_owner_only(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by group or others (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("meditrustal-keys-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_key_is_generated_once_and_reused() {
        let dir = temp_dir("reuse");
        let first = read_or_create_key(&dir.join("keys/k")).unwrap();
        let second = read_or_create_key(&dir.join("keys/k")).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("keys/k"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_key_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("perm");
        read_or_create_key(&dir.join("k")).unwrap();
        fs::set_permissions(dir.join("k"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_or_create_key(&dir.join("k")).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn short_secrets_from_the_environment_are_refused() {
        let dir = temp_dir("env");
        assert!(jwt_secret(&dir, Some(&STANDARD.encode([1u8; 16]))).is_err());
        assert!(jwt_secret(&dir, Some("%%%")).is_err());
        assert!(jwt_secret(&dir, Some(&STANDARD.encode([1u8; 32]))).is_ok());
    }
}
