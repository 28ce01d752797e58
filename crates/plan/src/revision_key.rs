//! The per-cluster key that names config and secret revisions.
//!
//! A revision's name is `<base>_<suffix>` where the suffix is the first
//! [`SUFFIX_LEN`] hex digits of HMAC-SHA256(key, kind ‖ base ‖ content):
//! stable for the same content under the same key (across runs and
//! replicas, which read the same key), different between clusters (keys),
//! and of no use for confirming a guessed secret offline without the key.
//! The kind and base name are in the MAC so that two objects with the same
//! content do not show it by sharing a suffix.
//!
//! Before keyed names, the suffix was an unsalted SHA-256 of the content
//! ([`legacy_suffix`]), also written in the revision's
//! `io.swarmkeeper.content-hash` label: [`crate::revisions`] uses it to
//! keep such a revision under its old name while its content is unchanged
//! (renaming it would roll every service that uses it).
//!
//! The key's bytes never appear in `Debug` output; its [`RevisionKey::id`]
//! (a MAC of a constant) is safe to show and labels what it named.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use swarmkeeper_model::compose::Content;

use crate::spec::FileKind;

/// Hex digits of the suffix in revision names (40 bits: enough to tell the
/// revisions of one object apart).
pub const SUFFIX_LEN: usize = 10;

/// Least key length accepted (bytes).
pub const MIN_KEY_LEN: usize = 16;

/// The key's bytes, shown nowhere. Empty for [`RevisionKey::provisional`].
#[derive(Clone, PartialEq, Eq)]
pub struct RevisionKey(Vec<u8>);

/// The suffix and id of a [`RevisionKey::provisional`] key (the words of
/// `convert::KNOWN_AFTER_APPLY`, which this vocabulary module cannot import).
pub const PROVISIONAL: &str = "(known after apply)";

impl std::fmt::Debug for RevisionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RevisionKey(id {})", self.id())
    }
}

/// A key shorter than [`MIN_KEY_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortKey(pub usize);

impl std::fmt::Display for ShortKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the revision key has {} bytes, at least {MIN_KEY_LEN} are needed: remove it and let swarmkeeper create a new one (docs/operations.md, \"Rotating the revision key\")",
            self.0
        )
    }
}

impl std::error::Error for ShortKey {}

fn hex(bytes: &[u8], len: usize) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()[..len].to_owned()
}

impl RevisionKey {
    pub fn new(bytes: Vec<u8>) -> Result<Self, ShortKey> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(ShortKey(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// The key of a plan made before the swarm has one (a dry run, or a
    /// swarm not formed yet): names read `<base>_(known after apply)`, as
    /// Terraform shows a value only the apply will know. Such a plan's swarm
    /// steps are never executed: the apply plans them again with the key.
    pub fn provisional() -> Self {
        Self(Vec::new())
    }

    pub fn is_provisional(&self) -> bool {
        self.0.is_empty()
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }

    /// A short public name of the key (8 hex digits of the MAC of a
    /// constant): labels the revisions it named and the key's config.
    pub fn id(&self) -> String {
        if self.is_provisional() {
            return PROVISIONAL.to_owned();
        }
        let mut m = self.mac();
        m.update(b"swarmkeeper revision key id");
        hex(&m.finalize().into_bytes(), 8)
    }

    /// The suffix of the revision of object `base` of `kind` with `content`.
    pub fn suffix(&self, kind: FileKind, base: &str, content: &Content) -> String {
        if self.is_provisional() {
            return PROVISIONAL.to_owned();
        }
        let mut m = self.mac();
        m.update(kind.word().as_bytes());
        m.update(&[0]);
        m.update(base.as_bytes());
        m.update(&[0]);
        m.update(&content.0);
        hex(&m.finalize().into_bytes(), SUFFIX_LEN)
    }
}

/// The suffix names had before keyed names: unsalted SHA-256 of the
/// content. Only compared with what old revisions carry, never given to a
/// new one.
pub fn legacy_suffix(content: &Content) -> String {
    hex(&Sha256::digest(&content.0), SUFFIX_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> RevisionKey {
        RevisionKey::new(vec![b; 32]).expect("long enough")
    }

    #[test]
    fn same_content_same_key_same_suffix_and_keys_differ() {
        let c = Content(b"hunter2".to_vec());
        assert_eq!(
            key(1).suffix(FileKind::Secret, "s_db", &c),
            key(1).suffix(FileKind::Secret, "s_db", &c)
        );
        assert_ne!(
            key(1).suffix(FileKind::Secret, "s_db", &c),
            key(2).suffix(FileKind::Secret, "s_db", &c)
        );
        assert_eq!(key(1).suffix(FileKind::Secret, "s_db", &c).len(), SUFFIX_LEN);
    }

    #[test]
    fn objects_with_equal_content_do_not_share_a_suffix() {
        let c = Content(b"same".to_vec());
        let k = key(3);
        assert_ne!(
            k.suffix(FileKind::Secret, "s_a", &c),
            k.suffix(FileKind::Secret, "s_b", &c)
        );
        assert_ne!(
            k.suffix(FileKind::Secret, "s_a", &c),
            k.suffix(FileKind::Config, "s_a", &c)
        );
    }

    #[test]
    fn a_provisional_key_names_nothing_yet() {
        let c = Content(b"hunter2".to_vec());
        let p = RevisionKey::provisional();
        assert_eq!(p.suffix(FileKind::Secret, "s_db", &c), "(known after apply)");
        assert!(p.is_provisional() && !key(1).is_provisional());
    }

    #[test]
    fn the_keyed_suffix_is_not_the_unsalted_hash() {
        let c = Content(b"hunter2".to_vec());
        assert_ne!(key(1).suffix(FileKind::Secret, "s_db", &c), legacy_suffix(&c));
        // The legacy suffix is what earlier versions wrote: sha256("hunter2").
        assert_eq!(legacy_suffix(&c), "f52fbd32b2");
    }

    #[test]
    fn short_keys_are_refused_and_debug_shows_no_bytes() {
        assert_eq!(RevisionKey::new(vec![7; 8]), Err(ShortKey(8)));
        let shown = format!("{:?}", key(0xab));
        assert!(!shown.contains("171") && !shown.contains("ab, ab"), "{shown}");
        assert!(shown.starts_with("RevisionKey(id "), "{shown}");
    }
}
