//! The server's sealing key for AK/SK secrets. A signature can only be checked with the secret
//! itself, so the server must be able to read it back; it is therefore sealed
//! (ChaCha20-Poly1305, the access key as associated data) with a key the server keeps outside
//! the database. A copy of the database alone holds no usable secret. Pure cryptography over
//! bytes: no store, no use cases.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::{Error, Result};

/// The server's sealing key.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self { key }
    }

    /// The key from its 64 hex characters (surrounding whitespace allowed).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| Error::invalid("the sealing key must be 64 hex characters"))?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(Self { key })
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.key)
    }

    /// A value that identifies the key without revealing it.
    pub fn check_value(&self) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"teamlabel sealing key check v1");
        hex::encode(mac.finalize().into_bytes())
    }

    /// Nonce (12 bytes) followed by the ciphertext of `secret`, bound to `access_key`.
    pub fn seal(&self, access_key: &str, secret: &[u8]) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: access_key.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 seals any message of this size");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The secret sealed for `access_key`; fails if it was sealed with another key or for
    /// another access key, or was altered.
    pub fn open(&self, access_key: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 12 {
            return None;
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        cipher
            .decrypt(
                Nonce::from_slice(&sealed[..12]),
                Payload {
                    msg: &sealed[12..],
                    aad: access_key.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_access_key() {
        let (a, b) = (Sealer::generate(), Sealer::generate());
        let sealed = a.seal("AK1", b"secret");
        assert_eq!(a.open("AK1", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(a.open("AK2", &sealed), None);
        assert_eq!(b.open("AK1", &sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(a.open("AK1", &tampered), None);
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn sealing_keys_round_trip_through_hex_and_have_distinct_check_values() {
        let a = Sealer::generate();
        let again = Sealer::from_hex(&format!("{}\n", a.to_hex())).unwrap();
        assert_eq!(a.check_value(), again.check_value());
        assert_ne!(a.check_value(), Sealer::generate().check_value());
        assert!(Sealer::from_hex("abcd").is_err());
        assert!(!a.check_value().contains(&a.to_hex()));
    }
}
