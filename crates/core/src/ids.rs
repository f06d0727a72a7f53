//! Identifier formats: generation and syntax checks. Project, user, sample and member ids are 32
//! lowercase hex characters; datasets (and later teams and tasks) use 19 alphanumerics, as the
//! provider's examples do. A leaf: it must not import a domain module.

use rand::{distributions::Alphanumeric, Rng, RngCore};

/// 32 lowercase hex characters from 16 random bytes.
pub fn new_hex32() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new sample id: 32 hex characters, the creation time in milliseconds (12) then 80 random
/// bits (20). Ids made one after another sort one after another, so a million new samples
/// append to the end of the id index instead of dirtying a random page of it each, which is
/// what an import's writes cost when ids were wholly random. The time is no secret: a sample
/// answers its `sample_time` anyway.
pub fn new_sample_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        & 0xFFFF_FFFF_FFFF;
    let mut tail = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut tail);
    format!("{ms:012x}{}", hex::encode(tail))
}

/// 19 random alphanumeric characters (the provider's dataset id form).
pub fn new_alnum19() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(19)
        .map(char::from)
        .collect()
}

pub fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Ids this server issues are short ASCII words; anything else cannot name a stored row.
pub fn is_plausible_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_documented_forms() {
        for _ in 0..100 {
            assert!(is_hex32(&new_hex32()));
            let (a, b) = (new_sample_id(), new_sample_id());
            assert!(is_hex32(&a) && is_hex32(&b) && a != b, "{a} {b}");
            assert!(a[..12] <= b[..12], "later ids sort later: {a} {b}");
            let a = new_alnum19();
            assert_eq!(a.len(), 19);
            assert!(is_plausible_id(&a));
        }
    }

    #[test]
    fn hex32_rejects_upper_case_and_wrong_lengths() {
        assert!(!is_hex32("012F99F3CF405860130B6ED2350C2228"));
        assert!(!is_hex32("012f99f3cf405860130b6ed2350c222"));
        assert!(!is_hex32("012f99f3cf405860130b6ed2350c2228a"));
        assert!(is_hex32("012f99f3cf405860130b6ed2350c2228"));
    }
}
