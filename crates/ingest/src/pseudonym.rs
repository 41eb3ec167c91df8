//! Keyed pseudonymisation of the unit of privacy: HMAC-SHA-256 under a secret key, truncated to
//! 64 bits. The raw identifier is hashed where it is read and never stored.
//!
//! Truncation is safe for privacy: if two units ever shared a pseudonym (probability about
//! n²/2⁶⁵, 4·10⁻⁷ for four million units) they would be bounded together as one unit, which
//! removes contributions but never lets one real unit contribute more than the bounds allow.

use std::fmt;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::IngestError;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The environment variable that may hold the key (as text of at least 32 bytes).
pub const KEY_ENV_VAR: &str = "CELLGUARD_PSEUDONYM_KEY";

/// A secret pseudonymisation key. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PseudonymKey(<{} bytes redacted>)", self.0.len())
    }
}

impl PseudonymKey {
    /// Wraps key bytes; errors when shorter than [`MIN_KEY_BYTES`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<PseudonymKey, IngestError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(IngestError::key(format!(
                "the key has {} bytes; at least {MIN_KEY_BYTES} are required",
                bytes.len()
            )));
        }
        Ok(PseudonymKey(bytes))
    }

    /// Reads a key file. A single trailing newline is not part of the key.
    pub fn from_file(path: &Path) -> Result<PseudonymKey, IngestError> {
        let mut bytes = std::fs::read(path).map_err(|e| IngestError::io(path, "read the key file", e))?;
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        Self::from_bytes(bytes).map_err(|e| IngestError::key(format!("{}: {e}", path.display())))
    }

    /// Reads the key from [`KEY_ENV_VAR`], if set.
    pub fn from_env() -> Option<Result<PseudonymKey, IngestError>> {
        let value = std::env::var_os(KEY_ENV_VAR)?;
        Some(Self::from_bytes(value.into_encoded_bytes()).map_err(|e| IngestError::key(format!("{KEY_ENV_VAR}: {e}"))))
    }
}

/// Computes pseudonyms. Cloning is cheap and each thread should own one: the keyed HMAC state
/// is computed once and copied per identifier, so hashing an identifier costs two SHA-256
/// compressions.
#[derive(Clone)]
pub struct Pseudonymiser {
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymiser(<keyed>)")
    }
}

impl Pseudonymiser {
    /// Prepares the keyed state.
    pub fn new(key: &PseudonymKey) -> Pseudonymiser {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = match <Hmac<Sha256> as Mac>::new_from_slice(&key.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA-256 accepts keys of every length"),
        };
        Pseudonymiser { keyed }
    }

    /// The 64-bit pseudonym of an identifier (the first 8 bytes of HMAC-SHA-256, big-endian).
    pub fn pseudonym(&self, identifier: &[u8]) -> u64 {
        let mut mac = self.keyed.clone();
        mac.update(identifier);
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_stable() {
        let k1 = PseudonymKey::from_bytes(vec![1; 32]).unwrap();
        let k2 = PseudonymKey::from_bytes(vec![2; 32]).unwrap();
        let (p1, p2) = (Pseudonymiser::new(&k1), Pseudonymiser::new(&k2));
        assert_eq!(p1.pseudonym(b"person-1"), p1.pseudonym(b"person-1"));
        assert_ne!(p1.pseudonym(b"person-1"), p1.pseudonym(b"person-2"));
        assert_ne!(p1.pseudonym(b"person-1"), p2.pseudonym(b"person-1"));
        // RFC 4231 test case 6 pins the construction to standard HMAC-SHA-256.
        let rfc = Pseudonymiser::new(&PseudonymKey::from_bytes(vec![0xaa; 131]).unwrap());
        let id = b"Test Using Larger Than Block-Size Key - Hash Key First";
        assert_eq!(rfc.pseudonym(id), 0x60e4_3159_1ee0_b67f);
    }

    #[test]
    fn short_keys_are_refused_and_debug_is_redacted() {
        let err = PseudonymKey::from_bytes(b"short".to_vec()).unwrap_err().to_string();
        assert!(err.contains("at least 32"), "{err}");
        let key = PseudonymKey::from_bytes(b"0123456789abcdef0123456789abcdefSECRET".to_vec()).unwrap();
        assert!(!format!("{key:?}").contains("SECRET"));
    }
}
