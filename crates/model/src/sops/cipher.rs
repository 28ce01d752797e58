//! SOPS values: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM
//! with SOPS's 32-byte nonce and the value's key path (`a:b:`) as the
//! additional data (getsops/sops `aes/cipher.go`). An empty string is
//! stored as an empty string.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// AES-256-GCM with a 32-byte nonce, as SOPS uses it.
type SopsGcm = AesGcm<Aes256, U32>;

/// The type SOPS recorded for a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Str,
    Int,
    Float,
    Bool,
    Bytes,
    Time,
    Comment,
}

/// Why a value could not be decrypted (never containing the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CipherError {
    /// Not of the `ENC[AES256_GCM,…]` form.
    Format(String),
    /// Authentication failed: the value, its key path or the data key is not the one it was encrypted with.
    Tag,
}

/// Decrypt one value. `""` is `""`.
pub fn decrypt(value: &str, key: &[u8; 32], additional_data: &str) -> Result<(Vec<u8>, ValueType), CipherError> {
    if value.is_empty() {
        return Ok((Vec::new(), ValueType::Str));
    }
    let inner = value
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| CipherError::Format("not of the form ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]".into()))?;
    let mut data = None;
    let mut iv = None;
    let mut tag = None;
    let mut kind = None;
    for part in inner.split(',') {
        let (name, v) = part
            .split_once(':')
            .ok_or_else(|| CipherError::Format(format!("`{part}` has no `name:`")))?;
        let slot = match name {
            "data" => &mut data,
            "iv" => &mut iv,
            "tag" => &mut tag,
            "type" => &mut kind,
            other => return Err(CipherError::Format(format!("unknown field `{other}`"))),
        };
        *slot = Some(v);
    }
    let b64 = |field: &str, v: Option<&str>| -> Result<Vec<u8>, CipherError> {
        let v = v.ok_or_else(|| CipherError::Format(format!("no `{field}`")))?;
        STANDARD
            .decode(v)
            .map_err(|_| CipherError::Format(format!("`{field}` is not base64")))
    };
    let mut sealed = b64("data", data)?;
    let iv = b64("iv", iv)?;
    let tag = b64("tag", tag)?;
    let kind = match kind {
        Some("str") => ValueType::Str,
        Some("int") => ValueType::Int,
        Some("float") => ValueType::Float,
        Some("bool") => ValueType::Bool,
        Some("bytes") => ValueType::Bytes,
        Some("time") => ValueType::Time,
        Some("comment") => ValueType::Comment,
        Some(other) => return Err(CipherError::Format(format!("unknown type `{other}`"))),
        None => return Err(CipherError::Format("no `type`".into())),
    };
    if iv.len() != 32 || tag.len() != 16 {
        return Err(CipherError::Format(format!(
            "an iv of {} bytes and a tag of {} (expected 32 and 16)",
            iv.len(),
            tag.len()
        )));
    }
    sealed.extend_from_slice(&tag);
    let cipher = SopsGcm::new(GenericArray::from_slice(key));
    let plain = cipher
        .decrypt(
            GenericArray::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: additional_data.as_bytes(),
            },
        )
        .map_err(|_| CipherError::Tag)?;
    Ok((plain, kind))
}

/// Encrypt one value as SOPS does (used by tests to build files; the
/// loader never writes).
pub fn encrypt(plain: &[u8], kind: &str, key: &[u8; 32], iv: &[u8; 32], additional_data: &str) -> String {
    if plain.is_empty() {
        return String::new();
    }
    let cipher = SopsGcm::new(GenericArray::from_slice(key));
    let sealed = match cipher.encrypt(
        GenericArray::from_slice(iv),
        Payload {
            msg: plain,
            aad: additional_data.as_bytes(),
        },
    ) {
        Ok(s) => s,
        // AES-GCM fails only on inputs of more than 64 GiB.
        Err(_) => return String::new(),
    };
    let (data, tag) = sealed.split_at(sealed.len() - 16);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_the_path_is_authenticated() {
        let key = [7u8; 32];
        let enc = encrypt(b"hunter2", "str", &key, &[1u8; 32], "db:password:");
        assert_eq!(
            decrypt(&enc, &key, "db:password:"),
            Ok((b"hunter2".to_vec(), ValueType::Str))
        );
        assert_eq!(decrypt(&enc, &key, "db:user:"), Err(CipherError::Tag));
        assert_eq!(decrypt(&enc, &[8u8; 32], "db:password:"), Err(CipherError::Tag));
        assert_eq!(decrypt("", &key, "x:"), Ok((Vec::new(), ValueType::Str)));
        assert!(matches!(decrypt("hunter2", &key, "x:"), Err(CipherError::Format(_))));
    }
}
