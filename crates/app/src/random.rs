use crate::AppError;

/// Bytes from the operating system's CSPRNG. Failure means the host cannot do cryptography
/// safely, so it is an internal error rather than something to work around.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|err| AppError::internal(format!("OS random source: {err}")))?;
    Ok(bytes)
}
