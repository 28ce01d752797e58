//! age identities and the armored age files SOPS keeps a data key in (the
//! `enc` of each `sops.age` entry), opened with the `age` crate (rage).
//!
//! Only X25519 identities (`AGE-SECRET-KEY-1…`, what `age-keygen` writes
//! and SOPS reads from `SOPS_AGE_KEY_FILE`) are accepted: plugin and SSH
//! identities need programs or files swarmkeeper's image does not carry.
//! Nothing here ever puts a key's text into a message.

use std::io::Read;
use std::str::FromStr;

use ::age::armor::ArmoredReader;

/// One X25519 identity. `Debug` shows its public recipient only.
pub struct Identity(::age::x25519::Identity);

impl Identity {
    /// The recipient (`age1…`) this identity opens.
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.recipient())
    }
}

/// Why an age file did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgeError {
    /// None of the identities is a recipient of the file.
    NoMatch,
    /// The file is not a well-formed age file, or fails authentication.
    Invalid(String),
}

impl std::fmt::Display for AgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgeError::NoMatch => f.write_str("no identity matches"),
            AgeError::Invalid(why) => f.write_str(why),
        }
    }
}

/// The identities of a key file: `AGE-SECRET-KEY-1…` lines, blank lines and
/// `#` comments (as `age-keygen` writes them). A line of another kind is an
/// error naming its number, never its text.
pub fn parse_identities(text: &str) -> Result<Vec<Identity>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with("AGE-SECRET-KEY-1") {
            return Err(format!(
                "line {} is not an X25519 age identity (AGE-SECRET-KEY-1…); plugin and SSH identities are not supported",
                n + 1
            ));
        }
        let identity = ::age::x25519::Identity::from_str(line).map_err(|_| {
            format!(
                "line {} is not a valid age identity (a mistyped or truncated key)",
                n + 1
            )
        })?;
        out.push(Identity(identity));
    }
    Ok(out)
}

/// Decrypt an age file (armored or binary) with any of `identities`.
pub fn decrypt(file: &[u8], identities: &[Identity]) -> Result<Vec<u8>, AgeError> {
    let decryptor = ::age::Decryptor::new(ArmoredReader::new(file))
        .map_err(|e| AgeError::Invalid(format!("not a valid age file: {e}")))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| &i.0 as &dyn ::age::Identity))
        .map_err(|e| match e {
            ::age::DecryptError::NoMatchingKeys => AgeError::NoMatch,
            other => AgeError::Invalid(format!("the age file does not open: {other}")),
        })?;
    let mut out = Vec::new();
    reader
        .read_to_end(&mut out)
        .map_err(|e| AgeError::Invalid(format!("the age payload does not authenticate: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = include_str!("../../../../tests/fixtures/sops/test-age-key.txt");

    #[test]
    fn a_key_file_gives_its_identity_and_the_recipient_in_its_comment() {
        let ids = parse_identities(TEST_KEY).expect("parses");
        assert_eq!(ids.len(), 1);
        let comment = TEST_KEY
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .expect("comment");
        assert_eq!(ids[0].recipient(), comment);
        assert!(!format!("{:?}", ids[0]).contains("SECRET"));
    }

    #[test]
    fn a_bad_line_is_named_by_number_and_never_shown() {
        let err = parse_identities("# c\nAGE-SECRET-KEY-1NOTAKEY\n").expect_err("bad");
        assert!(err.starts_with("line 2 "), "{err}");
        assert!(!err.contains("NOTAKEY"), "{err}");
        let err = parse_identities("AGE-PLUGIN-YUBIKEY-1XYZ\n").expect_err("plugin");
        assert!(err.contains("not supported"), "{err}");
    }

    #[test]
    fn a_round_trip_through_the_crate_and_a_stranger_does_not_match() {
        let identity = ::age::x25519::Identity::generate();
        let recipient = identity.to_public();
        let stranger = ::age::x25519::Identity::generate();
        let sealed = ::age::encrypt(&recipient, b"data key").expect("encrypts");
        assert_eq!(decrypt(&sealed, &[Identity(identity)]), Ok(b"data key".to_vec()));
        assert_eq!(decrypt(&sealed, &[Identity(stranger)]), Err(AgeError::NoMatch));
        assert!(matches!(decrypt(b"not age", &[]), Err(AgeError::Invalid(_))));
    }
}
