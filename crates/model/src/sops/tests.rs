//! Decrypting files the real `sops` CLI wrote (tests/fixtures/sops, made by
//! its `make` script from clear/ with the TEST age key).

use super::tree::{Format, parse_yaml};
use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../tests/fixtures/sops/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn keys(file: &str) -> AgeKeys {
    let text = String::from_utf8(fixture(file)).expect("text");
    AgeKeys::parse(&text, format!("SOPS_AGE_KEY_FILE ({file})")).expect("identities")
}

fn open(name: &str) -> Result<Option<Decrypted>, SopsError> {
    decrypt(name, &fixture(name), &keys("test-age-key.txt"))
}

fn clear_tree(name: &str) -> tree::Value {
    let text = String::from_utf8(fixture(&format!("clear/{name}"))).expect("text");
    match Format::of(name) {
        Format::Yaml => parse_yaml(&text).expect("yaml"),
        _ => {
            let mut de = serde_json::Deserializer::from_str(&text);
            serde::Deserialize::deserialize(&mut de).expect("json")
        }
    }
}

#[test]
fn a_binary_file_decrypts_to_the_same_bytes() {
    let d = open("password.txt").expect("decrypts").expect("is sops");
    assert_eq!(d.content, fixture("clear/password.txt"));
}

#[test]
fn yaml_and_json_files_decrypt_to_the_same_values() {
    for name in ["app.yaml", "app.json"] {
        let d = open(name).expect("decrypts").expect("is sops");
        let text = String::from_utf8(d.content).expect("text");
        let back = match Format::of(name) {
            Format::Yaml => parse_yaml(&text).expect("emitted YAML parses"),
            _ => {
                let mut de = serde_json::Deserializer::from_str(&text);
                serde::Deserialize::deserialize(&mut de).expect("emitted JSON parses")
            }
        };
        assert_eq!(back, clear_tree(name), "{name}: {text}");
    }
}

#[test]
fn a_dotenv_file_decrypts_to_the_same_variables() {
    let d = open("app.env").expect("decrypts").expect("is sops");
    assert_eq!(
        d.pairs,
        [
            ("POSTGRES_PASSWORD".to_owned(), "s3cr3t-env-value".to_owned()),
            ("MULTI".to_owned(), "line one\nline two".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]
    );
    let clear: Vec<String> = String::from_utf8(fixture("clear/app.env"))
        .expect("text")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let emitted: Vec<String> = String::from_utf8(d.content)
        .expect("text")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(emitted, clear);
}

#[test]
fn a_file_for_two_recipients_opens_with_either_key() {
    let with_test = decrypt(
        "two-recipients.yaml",
        &fixture("two-recipients.yaml"),
        &keys("test-age-key.txt"),
    );
    let with_other = decrypt(
        "two-recipients.yaml",
        &fixture("two-recipients.yaml"),
        &keys("other-age-key.txt"),
    );
    let a = with_test.expect("test key").expect("sops").content;
    let b = with_other.expect("other key").expect("sops").content;
    assert_eq!(a, b);
}

#[test]
fn a_wrong_key_says_which_identities_and_recipients() {
    let err = decrypt(
        "other-key-only.txt",
        &fixture("other-key-only.txt"),
        &keys("test-age-key.txt"),
    )
    .expect_err("the test key is not a recipient");
    let SopsError::Key(msg) = &err else { panic!("{err:?}") };
    assert!(
        msg.starts_with("no identity in SOPS_AGE_KEY_FILE (test-age-key.txt) matches"),
        "{msg}"
    );
    let other = String::from_utf8(fixture("other-age-key.txt")).expect("text");
    let recipient = other
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("recipient line");
    assert!(msg.contains(recipient), "{msg}");
    let err = decrypt("password.txt", &fixture("password.txt"), &NoKeys).expect_err("no keys");
    assert!(err.to_string().contains("set SOPS_AGE_KEY_FILE"), "{err}");
}

#[test]
fn a_removed_key_or_an_edited_cleartext_value_fails_the_mac() {
    let text = String::from_utf8(fixture("app.yaml")).expect("text");
    // A key removed (the whole line).
    let removed: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("user:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        decrypt("app.yaml", removed.as_bytes(), &keys("test-age-key.txt")).err(),
        Some(SopsError::Mac)
    );
    // An unencrypted value edited.
    let edited = text.replace("port_unencrypted: 8080", "port_unencrypted: 8081");
    assert_ne!(edited, text);
    assert_eq!(
        decrypt("app.yaml", edited.as_bytes(), &keys("test-age-key.txt")).err(),
        Some(SopsError::Mac)
    );
    let err = SopsError::Mac.to_string();
    assert!(
        err.contains("MAC does not match") && err.contains("changed after encryption"),
        "{err}"
    );
}

#[test]
fn a_flipped_byte_in_a_value_or_a_value_moved_to_another_key_is_refused() {
    let text = String::from_utf8(fixture("app.yaml")).expect("text");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("password: ENC["))
        .expect("password line");
    let data = line
        .split("data:")
        .nth(1)
        .expect("data")
        .split(',')
        .next()
        .expect("b64");
    let mut bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).expect("b64");
    bytes[0] ^= 1;
    let flipped = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    let tampered = text.replace(data, &flipped);
    let err = decrypt("app.yaml", tampered.as_bytes(), &keys("test-age-key.txt")).expect_err("tampered");
    assert!(
        matches!(&err, SopsError::Value { path, .. } if path == "database.password"),
        "{err:?}"
    );
    assert!(err.to_string().contains("changed after encryption"), "{err}");
    // The user's value under the password's key: the key path is authenticated.
    let user = text
        .lines()
        .find(|l| l.trim_start().starts_with("user: ENC["))
        .expect("user line");
    let swapped = text.replace(
        line,
        &format!("    password: {}", user.trim_start().trim_start_matches("user: ")),
    );
    assert!(matches!(
        decrypt("app.yaml", swapped.as_bytes(), &keys("test-age-key.txt")),
        Err(SopsError::Value { .. })
    ));
}

#[test]
fn plain_files_are_not_sops_and_errors_show_no_value() {
    assert!(open_plain("clear/app.yaml").is_none());
    assert!(open_plain("clear/password.txt").is_none());
    assert!(open_plain("clear/app.env").is_none());
    for e in [
        SopsError::Mac,
        SopsError::Key("x".into()),
        SopsError::Value {
            path: "a.b".into(),
            why: "w".into(),
        },
    ] {
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }
}

fn open_plain(name: &str) -> Option<Decrypted> {
    let base = name.rsplit('/').next().expect("name");
    decrypt(base, &fixture(name), &keys("test-age-key.txt")).expect("not an error")
}

#[test]
fn metadata_flattened_in_dotenv_reads_back() {
    let tree = Format::Dotenv.parse(&fixture("app.env")).expect("parses");
    assert_eq!(tree.meta.keys.age.len(), 1);
    assert!(
        tree.meta.keys.age[0]
            .enc
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n")
    );
    assert!(tree.meta.keys.age[0].recipient.starts_with("age1"));
}
