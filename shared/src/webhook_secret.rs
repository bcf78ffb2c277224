//! Webhook signing secrets and signatures (Standard Webhooks: `whsec_<base64 key>`,
//! HMAC-SHA256 over `{id}.{timestamp}.{body}`, header `v1,<base64>` entries separated by spaces).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// Why a text is not a webhook secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret starts with whsec_")]
    NoPrefix,
    #[error("the part after whsec_ is not base64: {0}")]
    NotBase64(String),
    #[error("the secret's key is {0} bytes; at least 16 are needed")]
    TooShort(usize),
}

/// The key bytes of a `whsec_…` secret, or why it is not one.
pub fn validate(secret: &str) -> Result<Vec<u8>, SecretError> {
    let b64 = secret.strip_prefix(PREFIX).ok_or(SecretError::NoPrefix)?;
    let key = STANDARD
        .decode(b64)
        .map_err(|e| SecretError::NotBase64(e.to_string()))?;
    if key.len() < 16 {
        return Err(SecretError::TooShort(key.len()));
    }
    Ok(key)
}

/// How a secret is named where its text must not appear (listings, logs, `--revoke`): the first
/// 16 hex digits of the SHA-256 of the whole `whsec_…` text.
pub fn fingerprint(secret: &str) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(secret.trim().as_bytes());
    hex::encode(&digest[..8])
}

/// A new secret from 32 bytes of the operating system's randomness: `whsec_` and their base64.
pub fn from_key(key: &[u8; 32]) -> String {
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The `v1,<base64>` signature of a message.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretError> {
    let key = validate(secret)?;
    // HMAC takes a key of any length; a validated key is at least 16 bytes.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SecretError::TooShort(key.len()))?;
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether any `v1,` signature in the header matches any of the secrets (constant-time compare).
pub fn verify(secrets: &[String], msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let candidates: Vec<Vec<u8>> = header
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b| STANDARD.decode(b).ok())
        .collect();
    for secret in secrets {
        let Ok(key) = validate(secret) else { continue };
        for sig in &candidates {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
                continue;
            };
            mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
            mac.update(body);
            if mac.verify_slice(sig).is_ok() {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's published example.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn matches_the_standard_webhooks_example() {
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(
            &[SECRET.into()],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
            &format!("v1,bogus {sig}")
        ));
        assert!(!verify(
            &[SECRET.into()],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265331,
            body,
            &sig
        ));
    }

    #[test]
    fn rejects_malformed_secrets() {
        assert!(validate("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(validate("whsec_!!!").is_err());
        assert!(validate("whsec_AAAA").is_err());
    }
}

#[cfg(test)]
mod fingerprint_tests {
    use super::*;

    #[test]
    fn fingerprints_are_pinned_and_new_secrets_validate() {
        // sha256("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), first 8 bytes (worked out outside Rust).
        assert_eq!(
            fingerprint("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            FINGERPRINT
        );
        let s = from_key(&[7u8; 32]);
        assert_eq!(s, "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=");
        assert_eq!(validate(&s), Ok(vec![7u8; 32]));
    }

    const FINGERPRINT: &str = "96ad2ccd81462a76";
}
