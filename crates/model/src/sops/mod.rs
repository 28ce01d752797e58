//! SOPS-encrypted files, decrypted in memory at load: compose `secrets:`
//! and `configs:` files (and env files), in the four forms the `sops` CLI
//! writes — YAML, JSON, dotenv, and binary (`{"data": …, "sops": …}`, for
//! any other extension; sops chooses the form by extension and so do we).
//!
//! What is checked, after getsops/sops (`sops.go`, `aes/cipher.go`,
//! `stores/`): each value is AES-256-GCM with its key path as additional
//! data ([`cipher`]); the file's MAC — SHA-512 over the cleartext values in
//! file order, stored encrypted with `lastmodified` as additional data —
//! must match, so a tampered value, a removed or added key, or a partly
//! edited file is refused. The data key comes from the file's master keys
//! through [`DataKeys`], which the caller provides: age identities
//! ([`AgeKeys`], pure) or AWS KMS (the binary, through crates/aws) — this
//! crate does no I/O for it.
//!
//! Cleartext leaves this module only as the decrypted content; errors
//! name files, keys and recipients, never values.

pub mod age;
pub mod cipher;
mod tree;

use std::collections::BTreeMap;

use sha2::{Digest, Sha512};

use cipher::{CipherError, ValueType};
pub use tree::Format;
use tree::{Scalar, Tree};

/// A file's master keys, as its `sops` metadata lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterKeys {
    pub age: Vec<AgeKey>,
    pub kms: Vec<KmsKey>,
    /// Kinds present that swarmkeeper cannot open (pgp, gcp_kms, azure_kv,
    /// hc_vault, hckms).
    pub unsupported: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeKey {
    pub recipient: String,
    /// The armored age file holding the data key.
    pub enc: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKey {
    pub arn: String,
    /// Base64 of the KMS ciphertext blob.
    pub enc: String,
    /// The encryption context SOPS passed to KMS.
    pub context: BTreeMap<String, String>,
    /// A role to assume first, if the file names one.
    pub role: Option<String>,
}

/// The data key of one file (32 bytes); `Debug` shows nothing of it, and
/// it is overwritten when dropped.
pub struct DataKey(pub [u8; 32]);

impl Drop for DataKey {
    fn drop(&mut self) {
        // Volatile writes so the compiler keeps them (what `zeroize` does).
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned `&mut u8`.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(sensitive)")
    }
}

/// What opens data keys: the caller's identities and key services.
pub trait DataKeys {
    /// The data key from one of `keys`, or why none opened (naming the
    /// recipients and keys tried, and where the identities came from).
    fn open(&self, keys: &MasterKeys) -> Result<DataKey, String>;
}

/// No identities at all: every SOPS file is an error saying how to give one.
pub struct NoKeys;

impl DataKeys for NoKeys {
    fn open(&self, keys: &MasterKeys) -> Result<DataKey, String> {
        Err(format!(
            "no key to decrypt it with: {}; set SOPS_AGE_KEY_FILE (a file of AGE-SECRET-KEY-1… lines) or SOPS_AGE_KEY{}",
            describe(keys),
            if keys.kms.is_empty() {
                ""
            } else {
                ", or give the process AWS credentials that may use the KMS key"
            }
        ))
    }
}

/// "recipients age1…, KMS keys arn:…" for messages.
pub fn describe(keys: &MasterKeys) -> String {
    let mut parts = Vec::new();
    if !keys.age.is_empty() {
        let r: Vec<&str> = keys.age.iter().map(|k| k.recipient.as_str()).collect();
        parts.push(format!("age recipients {}", r.join(", ")));
    }
    if !keys.kms.is_empty() {
        let r: Vec<&str> = keys.kms.iter().map(|k| k.arn.as_str()).collect();
        parts.push(format!("KMS keys {}", r.join(", ")));
    }
    if !keys.unsupported.is_empty() {
        parts.push(format!(
            "{} (not supported by swarmkeeper)",
            keys.unsupported.join(", ")
        ));
    }
    if parts.is_empty() {
        "the file lists no master key".to_owned()
    } else {
        format!("the file is encrypted to {}", parts.join("; "))
    }
}

/// age identities (from `SOPS_AGE_KEY_FILE` / `SOPS_AGE_KEY`, or the
/// controller's swarm secret), with where they came from for messages.
pub struct AgeKeys {
    identities: Vec<age::Identity>,
    source: String,
}

impl AgeKeys {
    /// `text`: key-file lines (`# …` comments allowed); `source` says where
    /// they came from ("SOPS_AGE_KEY_FILE (/path)").
    pub fn parse(text: &str, source: impl Into<String>) -> Result<Self, String> {
        let source = source.into();
        let identities = age::parse_identities(text).map_err(|e| format!("{source}: {e}"))?;
        if identities.is_empty() {
            return Err(format!("{source} holds no AGE-SECRET-KEY-1… line"));
        }
        Ok(Self { identities, source })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The data key, if an age entry opens with these identities: `Ok(None)`
    /// when none is for them.
    pub fn try_open(&self, keys: &MasterKeys) -> Result<Option<DataKey>, String> {
        for k in &keys.age {
            match age::decrypt(k.enc.as_bytes(), &self.identities) {
                Ok(bytes) => {
                    let key: [u8; 32] = bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| format!("the data key for {} is not 32 bytes", k.recipient))?;
                    return Ok(Some(DataKey(key)));
                }
                Err(age::AgeError::NoMatch) => {}
                Err(e) => return Err(format!("the age entry for {}: {e}", k.recipient)),
            }
        }
        Ok(None)
    }

    /// "no identity in … matches recipients …".
    pub fn no_match(&self, keys: &MasterKeys) -> String {
        let have: Vec<String> = self.identities.iter().map(age::Identity::recipient).collect();
        format!(
            "no identity in {} matches: {} (the identities there are for {})",
            self.source,
            describe(keys),
            have.join(", ")
        )
    }
}

impl DataKeys for AgeKeys {
    fn open(&self, keys: &MasterKeys) -> Result<DataKey, String> {
        self.try_open(keys)?.ok_or_else(|| self.no_match(keys))
    }
}

/// Why a SOPS file could not be used. `Display` is the message; never a
/// value of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SopsError {
    /// Looks like SOPS but is not well formed (or uses what is not supported).
    Format(String),
    /// No data key: the message from [`DataKeys::open`].
    Key(String),
    /// A value does not decrypt with the data key.
    Value { path: String, why: String },
    /// The MAC does not match the content.
    Mac,
}

impl std::fmt::Display for SopsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SopsError::Format(w) => write!(f, "is not a usable SOPS file: {w}"),
            SopsError::Key(w) => write!(f, "is SOPS-encrypted and cannot be decrypted: {w}"),
            SopsError::Value { path, why } => write!(
                f,
                "is SOPS-encrypted and its value at `{path}` does not decrypt: {why}"
            ),
            SopsError::Mac => f.write_str(
                "is SOPS-encrypted and its MAC does not match its content: it was changed after encryption (a value edited, a key added or removed, or a partial edit)",
            ),
        }
    }
}

impl SopsError {
    /// What to do next.
    pub fn help(&self) -> &'static str {
        match self {
            SopsError::Format(_) => {
                "write the file with the sops CLI (sops encrypt, sops edit); swarmkeeper reads age and AWS KMS master keys"
            }
            SopsError::Key(_) => {
                "give swarmkeeper an identity of a recipient (SOPS_AGE_KEY_FILE or SOPS_AGE_KEY; the controller: its swarm secret) or AWS credentials for the KMS key, or add your recipient with `sops updatekeys`"
            }
            SopsError::Value { .. } | SopsError::Mac => {
                "edit the file only with `sops edit`; restore it from git, or encrypt the cleartext again with `sops encrypt`"
            }
        }
    }
}

/// A decrypted file.
pub struct Decrypted {
    /// The cleartext as `sops decrypt` gives it (the data of a binary file;
    /// YAML, JSON or dotenv text for those forms).
    pub content: Vec<u8>,
    /// Key → value, for dotenv files (what an env file sets).
    pub pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decrypted({} bytes)", self.content.len())
    }
}

/// Whether `bytes` (of a file named `path`) is SOPS-encrypted.
pub fn is_encrypted(path: &str, bytes: &[u8]) -> bool {
    Format::of(path).is_encrypted(bytes)
}

/// Decrypt a SOPS file and verify its MAC. `Ok(None)`: not SOPS-encrypted.
pub fn decrypt(path: &str, bytes: &[u8], keys: &dyn DataKeys) -> Result<Option<Decrypted>, SopsError> {
    let format = Format::of(path);
    if !format.is_encrypted(bytes) {
        return Ok(None);
    }
    let tree = format.parse(bytes)?;
    let key = keys.open(&tree.meta.keys).map_err(SopsError::Key)?;
    let (clear, mac) = decrypt_tree(&tree, &key)?;
    verify_mac(&tree, &key, &mac)?;
    Ok(Some(format.emit(&clear)))
}

/// Decrypt, in place, a SOPS-encrypted YAML document already parsed into
/// `root` (`swarmkeeper.yaml` with some values encrypted): each `ENC[…]`
/// scalar gets its cleartext, the MAC is checked, the `sops` entry is
/// removed. Returns the spans of the decrypted scalars (their source text
/// is still the ciphertext) and their cleartexts, for the caller to keep
/// out of messages. `Ok(None)`: `root` is not SOPS-encrypted.
pub fn decrypt_node(
    root: &mut crate::yaml::Node,
    keys: &dyn DataKeys,
) -> Result<Option<Vec<(crate::source::Span, String)>>, SopsError> {
    let is_sops = root
        .get("sops")
        .is_some_and(|m| m.get("mac").is_some() && m.get("lastmodified").is_some());
    if !is_sops {
        return Ok(None);
    }
    let tree = tree::tree_of_node(root)?;
    let key = keys.open(&tree.meta.keys).map_err(SopsError::Key)?;
    let (clear, mac) = decrypt_tree(&tree, &key)?;
    verify_mac(&tree, &key, &mac)?;
    let crate::yaml::Value::Map(entries) = &mut root.value else {
        return Err(SopsError::Format("the top level is not a mapping".into()));
    };
    entries.retain(|(k, _)| k.as_scalar() != Some("sops"));
    let mut sealed = Vec::new();
    put_clear(root, &clear.root, &mut sealed);
    Ok(Some(sealed))
}

/// Walk `node` and the decrypted tree (made from it, so of the same shape)
/// together, putting each decrypted scalar's cleartext where its
/// ciphertext was.
fn put_clear(node: &mut crate::yaml::Node, clear: &tree::Value, sealed: &mut Vec<(crate::source::Span, String)>) {
    use crate::yaml::Value as Y;
    match (&mut node.value, clear) {
        (Y::Map(entries), tree::Value::Map(clear)) => {
            for ((_, v), (_, c)) in entries.iter_mut().zip(clear) {
                put_clear(v, c, sealed);
            }
        }
        (Y::Seq(items), tree::Value::Seq(clear)) => {
            for (v, c) in items.iter_mut().zip(clear) {
                put_clear(v, c, sealed);
            }
        }
        (Y::Scalar { text, plain }, tree::Value::Scalar(c)) if text.starts_with("ENC[AES256_GCM,") => {
            let value = tree::scalar_text(c);
            // A string reads as written; a number or a boolean as YAML types it.
            *plain = !matches!(c, Scalar::Str(_) | Scalar::Bytes(_));
            *text = value.clone();
            sealed.push((node.span, value));
        }
        _ => {}
    }
}

/// The stored MAC (encrypted, `lastmodified` as its additional data)
/// against the one computed over the cleartext.
fn verify_mac(tree: &Tree, key: &DataKey, mac: &str) -> Result<(), SopsError> {
    let stored = match cipher::decrypt(&tree.meta.mac, &key.0, &tree.meta.lastmodified) {
        Ok((m, _)) => m,
        Err(CipherError::Tag) => return Err(SopsError::Mac),
        Err(CipherError::Format(w)) => return Err(SopsError::Format(format!("`sops.mac`: {w}"))),
    };
    if stored != mac.as_bytes() {
        return Err(SopsError::Mac);
    }
    Ok(())
}

/// The decrypted tree and its MAC (upper-case hex of SHA-512, as sops).
fn decrypt_tree(tree: &Tree, key: &DataKey) -> Result<(Tree, String), SopsError> {
    let mut hash = Sha512::new();
    if tree.meta.mac_only_encrypted {
        hash.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    let mut out = tree.clone();
    let mut path = Vec::new();
    walk(&mut out.root, &mut path, &tree.meta, key, &mut hash)?;
    let mac: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
    Ok((out, mac))
}

/// sops.go's `MACOnlyEncryptedInitialization`.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b,
    0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

fn walk(
    node: &mut tree::Value,
    path: &mut Vec<String>,
    meta: &tree::Meta,
    key: &DataKey,
    hash: &mut Sha512,
) -> Result<(), SopsError> {
    match node {
        tree::Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                path.push(k.clone());
                walk(v, path, meta, key, hash)?;
                path.pop();
            }
        }
        tree::Value::Seq(items) => {
            for v in items.iter_mut() {
                walk(v, path, meta, key, hash)?;
            }
        }
        tree::Value::Null => {}
        tree::Value::Scalar(s) => {
            let encrypted = meta.should_encrypt(path);
            if encrypted {
                let Scalar::Str(text) = &*s else {
                    return Err(SopsError::Value {
                        path: path.join("."),
                        why: "a value that should be encrypted is not an ENC[…] string".into(),
                    });
                };
                let aad = format!("{}:", path.join(":"));
                let (plain, kind) = cipher::decrypt(text, &key.0, &aad).map_err(|e| SopsError::Value {
                    path: path.join("."),
                    why: match e {
                        CipherError::Tag => "it does not authenticate: it was changed after encryption (or moved to another key, or encrypted with another data key)".into(),
                        CipherError::Format(w) => w,
                    },
                })?;
                *s = Scalar::typed(plain, kind).map_err(|why| SopsError::Value {
                    path: path.join("."),
                    why,
                })?;
            }
            if !meta.mac_only_encrypted || encrypted {
                hash.update(s.mac_bytes());
            }
        }
    }
    Ok(())
}

impl Scalar {
    fn typed(plain: Vec<u8>, kind: ValueType) -> Result<Scalar, String> {
        let text = || String::from_utf8(plain.clone()).map_err(|_| "the cleartext is not UTF-8".to_owned());
        Ok(match kind {
            ValueType::Str | ValueType::Comment | ValueType::Time => Scalar::Str(text()?),
            ValueType::Bytes => Scalar::Bytes(plain),
            ValueType::Int => Scalar::Int(
                text()?
                    .parse()
                    .map_err(|_| "an `int` that is not an integer".to_owned())?,
            ),
            ValueType::Float => Scalar::Float(
                text()?
                    .parse()
                    .map_err(|_| "a `float` that is not a number".to_owned())?,
            ),
            ValueType::Bool => Scalar::Bool(match text()?.as_str() {
                "True" | "true" | "TRUE" | "1" | "t" | "T" => true,
                "False" | "false" | "FALSE" | "0" | "f" | "F" => false,
                _ => return Err("a `bool` that is neither True nor False".into()),
            }),
        })
    }

    /// sops's `ToBytes`: how a value enters the MAC.
    fn mac_bytes(&self) -> Vec<u8> {
        match self {
            Scalar::Str(s) => s.as_bytes().to_vec(),
            Scalar::Bytes(b) => b.clone(),
            Scalar::Int(i) => i.to_string().into_bytes(),
            Scalar::Float(f) => format_float(*f).into_bytes(),
            Scalar::Bool(true) => b"True".to_vec(),
            Scalar::Bool(false) => b"False".to_vec(),
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits that
/// read back as `f`, never an exponent (Rust's `Display` for f64 does the same).
fn format_float(f: f64) -> String {
    format!("{f}")
}

#[cfg(test)]
mod tests;
