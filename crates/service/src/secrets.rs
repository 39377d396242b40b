//! Passwords and PINs: argon2id, hashed and verified on blocking threads
//! because argon2id is deliberately slow.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{Error, Result};

#[derive(Clone)]
pub struct Passwords {
    params: Params,
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self> {
        let params =
            Params::new(memory_kib, iterations, 1, None).map_err(|e| Error::Internal(format!("argon2 params: {e}")))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, secret: String) -> Result<String> {
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2.hash_password(secret.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await
        .map_err(|e| Error::Internal(format!("hashing task: {e}")))?
        .map_err(|e| Error::Internal(format!("hashing: {e}")))
    }

    /// Verifies on a blocking thread; parameters come from the stored hash.
    pub async fn verify(&self, secret: String, stored: String) -> bool {
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored).is_ok_and(|h| argon2.verify_password(secret.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false)
    }

    /// A hash to verify against when the account does not exist, so a wrong
    /// identifier costs the same time as a wrong password.
    pub async fn dummy_verify(&self, secret: String) {
        let _ = self.hash(secret).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_and_hashes_are_argon2id() {
        let passwords = Passwords::new(1024, 1).expect("params");
        let hash = passwords.hash("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(passwords.verify("correct horse".into(), hash.clone()).await);
        assert!(!passwords.verify("wrong horse".into(), hash).await);
    }
}
