//! SOPS files in a desired state: compose secrets and configs, service and
//! stack env files, decrypted at load with age identities; what cannot be
//! decrypted is an error at the reference, naming the problem; cleartext
//! never reaches the sources (what diagnostics show) nor a message.

use std::path::{Path, PathBuf};

use swarmkeeper_model::sops::{AgeKeys, DataKeys, NoKeys};
use swarmkeeper_model::{LoadOutcome, Variables, load_dir, load_dir_with};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/sops");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).expect("fixture")
}

fn keys(file: &str) -> AgeKeys {
    AgeKeys::parse(
        &String::from_utf8(fixture(file)).expect("text"),
        format!("SOPS_AGE_KEY_FILE ({file})"),
    )
    .expect("identities")
}

const COMPOSE: &str = "\
services:
  db:
    image: postgres:16
    env_file: db.env
    environment:
      PGDATA: /var/lib/postgresql/data
      DSN: postgres://app:${DB_PASSWORD}@db/app
    secrets: [pw]
    configs: [settings]
secrets:
  pw:
    file: secrets/password.txt
configs:
  settings:
    file: settings.yaml
";

/// A desired-state directory with the fixtures in place of cleartext.
fn dir(tag: &str, edit: impl Fn(&Path)) -> PathBuf {
    let d = std::env::temp_dir().join(format!("swarmkeeper-sops-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("secrets")).expect("dir");
    std::fs::write(
        d.join("swarmkeeper.yaml"),
        "version: 1\nstacks:\n  app:\n    compose: app.yml\n",
    )
    .expect("root");
    std::fs::write(d.join("app.yml"), COMPOSE).expect("compose");
    std::fs::write(d.join("secrets/password.txt"), fixture("password.txt")).expect("secret");
    std::fs::write(d.join("settings.yaml"), fixture("app.yaml")).expect("config");
    std::fs::write(d.join("db.env"), fixture("app.env")).expect("env");
    edit(&d);
    d
}

fn load(d: &Path, keys: &dyn DataKeys) -> LoadOutcome {
    load_dir_with(d, &Variables::new(), keys)
}

fn messages(outcome: &LoadOutcome) -> Vec<String> {
    outcome
        .diagnostics
        .iter()
        .map(|d| {
            let r = d.resolve(&outcome.sources);
            format!(
                "{} {}: {} ({})",
                r.code,
                r.position().unwrap_or_default(),
                r.message,
                r.help.clone().unwrap_or_default()
            )
        })
        .collect()
}

const CLEARTEXT: [&str; 4] = [
    "correct horse battery staple",
    "s3cr3t-yaml-value",
    "s3cr3t-env-value",
    "line one",
];

fn assert_no_cleartext(outcome: &LoadOutcome) {
    for (_, file) in outcome.sources.iter() {
        for c in CLEARTEXT {
            assert!(
                !file.text.contains(c),
                "{} holds cleartext",
                file.display_path.display()
            );
        }
    }
    for m in messages(outcome) {
        for c in CLEARTEXT {
            assert!(!m.contains(c), "{m}");
        }
    }
}

#[test]
fn secrets_configs_and_env_files_decrypt_in_memory() {
    let d = dir("ok", |_| {});
    let outcome = load(&d, &keys("test-age-key.txt"));
    assert_no_cleartext(&outcome);
    let state = outcome
        .state
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", messages(&outcome)));
    let compose = &state.stacks["app"].compose;
    let secret = compose.secrets["pw"].content.as_ref().expect("content");
    assert_eq!(secret.0, fixture("clear/password.txt"));
    let config =
        String::from_utf8(compose.configs["settings"].content.as_ref().expect("content").0.clone()).expect("text");
    assert!(config.contains("\"s3cr3t-yaml-value\""), "{config}");
    assert!(!config.contains("sops"), "{config}");
    let db = &compose.services["db"];
    let env = |k: &str| db.environment.get(k).cloned().flatten();
    assert_eq!(env("POSTGRES_PASSWORD").as_deref(), Some("s3cr3t-env-value"));
    assert_eq!(env("MULTI").as_deref(), Some("line one\nline two"));
    // Keys from an encrypted env file are sensitive whatever their name; so
    // is a value interpolated from an encrypted stack env file.
    for k in ["POSTGRES_PASSWORD", "MULTI", "EMPTY"] {
        assert!(db.sensitive_env.contains(k), "{k}: {:?}", db.sensitive_env);
    }
    assert!(!db.sensitive_env.contains("PGDATA"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_value_interpolated_from_an_encrypted_stack_env_file_is_sensitive() {
    let d = dir("interp", |d| {
        std::fs::write(d.join("stack.env"), fixture("app.env")).expect("env");
        std::fs::write(
            d.join("swarmkeeper.yaml"),
            "version: 1\nstacks:\n  app:\n    compose: app.yml\n    env_file: stack.env\n",
        )
        .expect("root");
        std::fs::write(
            d.join("app.yml"),
            COMPOSE
                .replace("${DB_PASSWORD}", "${POSTGRES_PASSWORD}")
                .replace("    env_file: db.env\n", ""),
        )
        .expect("compose");
    });
    let outcome = load(&d, &keys("test-age-key.txt"));
    let state = outcome
        .state
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", messages(&outcome)));
    let db = &state.stacks["app"].compose.services["db"];
    assert_eq!(
        db.environment["DSN"].as_deref(),
        Some("postgres://app:s3cr3t-env-value@db/app")
    );
    assert!(db.sensitive_env.contains("DSN"), "{:?}", db.sensitive_env);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn without_a_key_each_encrypted_file_is_an_error_at_its_reference() {
    let d = dir("nokey", |_| {});
    for outcome in [load(&d, &NoKeys), load_dir(&d, &Variables::new())] {
        assert!(outcome.state.is_none());
        assert_no_cleartext(&outcome);
        let m = messages(&outcome);
        let keyed: Vec<&String> = m.iter().filter(|m| m.starts_with("sops-key")).collect();
        assert_eq!(keyed.len(), 3, "{m:#?}");
        assert!(
            keyed.iter().any(|m| m.contains("app.yml:12:11")
                && m.contains("`secrets.pw.file`: secrets/password.txt is SOPS-encrypted and cannot be decrypted")
                && m.contains("set SOPS_AGE_KEY_FILE")),
            "{m:#?}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_wrong_key_names_the_key_file_and_the_recipients() {
    let d = dir("wrong", |_| {});
    let outcome = load(&d, &keys("other-age-key.txt"));
    let m = messages(&outcome);
    assert!(
        m.iter().any(
            |m| m.contains("no identity in SOPS_AGE_KEY_FILE (other-age-key.txt) matches")
                && m.contains("age1atfmcqg2pl8fsgv64gq2q5uxpwu0gqlvp8px4044tx292xa5hehs2w6hyx")
        ),
        "{m:#?}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_tampered_file_is_an_error_naming_the_mac() {
    let d = dir("tampered", |d| {
        let text = String::from_utf8(fixture("app.yaml")).expect("text");
        let edited = text.replace("port_unencrypted: 8080", "port_unencrypted: 9090");
        std::fs::write(d.join("settings.yaml"), edited).expect("edit");
    });
    let outcome = load(&d, &keys("test-age-key.txt"));
    assert!(outcome.state.is_none());
    let m = messages(&outcome);
    assert!(
        m.iter().any(|m| m.starts_with("sops-tampered")
            && m.contains("`configs.settings.file`: settings.yaml is SOPS-encrypted and its MAC does not match")
            && m.contains("sops edit")),
        "{m:#?}"
    );
    assert_no_cleartext(&outcome);
    let _ = std::fs::remove_dir_all(&d);
}

/// A desired state whose credentials are written in swarmkeeper.yaml
/// itself, encrypted in place (`--encrypted-regex '^(url|password)$'`).
fn sealed_root(tag: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let d = std::env::temp_dir().join(format!("swarmkeeper-sops-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    let text = String::from_utf8(fixture("swarmkeeper.yaml")).expect("text");
    std::fs::write(d.join("swarmkeeper.yaml"), edit(text)).expect("root");
    d
}

const ROOT_CLEARTEXT: [&str; 2] = ["s3cr3t-registry-password", "s3cr3tSlackToken"];

#[test]
fn values_encrypted_in_swarmkeeper_yaml_are_sealed_credentials() {
    use swarmkeeper_model::config::SecretSource;
    use swarmkeeper_model::config::types::Sealed;
    let d = sealed_root("root", |t| t);
    let outcome = load(&d, &keys("test-age-key.txt"));
    let state = outcome
        .state
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", messages(&outcome)));
    let registry = &state.config.registries["registry.example.com"];
    assert_eq!(registry.username.as_deref(), Some("deploy"));
    assert_eq!(
        registry.password,
        Some(SecretSource::Sealed(Sealed("s3cr3t-registry-password".into())))
    );
    assert_eq!(
        state.config.notifications["ops"].url,
        SecretSource::Sealed(Sealed(
            "https://hooks.slack.example/services/T000/B000/s3cr3tSlackToken".into()
        ))
    );
    // Neither the sources nor the state's serialisation hold a cleartext.
    let shown = serde_json::to_string(&state.config).expect("serialises");
    for c in ROOT_CLEARTEXT {
        assert!(!shown.contains(c), "{shown}");
        for (_, file) in outcome.sources.iter() {
            assert!(!file.text.contains(c));
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_encrypted_swarmkeeper_yaml_without_its_key_or_edited_is_refused_and_findings_hide_values() {
    let d = sealed_root("root-nokey", |t| t);
    let m = messages(&load(&d, &NoKeys));
    assert!(
        m.iter()
            .any(|m| m.starts_with("sops-key swarmkeeper.yaml:1:1") && m.contains("set SOPS_AGE_KEY_FILE")),
        "{m:#?}"
    );
    let d2 = sealed_root("root-edited", |t| t.replace("username: deploy", "username: intruder"));
    let m = messages(&load(&d2, &keys("test-age-key.txt")));
    assert!(
        m.iter().any(|m| m.starts_with("sops-tampered") && m.contains("MAC")),
        "{m:#?}"
    );
    // A finding about an encrypted value does not show it.
    let d3 = std::env::temp_dir().join(format!("swarmkeeper-sops-{}-root-finding", std::process::id()));
    let _ = std::fs::remove_dir_all(&d3);
    std::fs::create_dir_all(&d3).expect("dir");
    std::fs::write(d3.join("swarmkeeper.yaml"), fixture("swarmkeeper-invalid.yaml")).expect("root");
    let found = messages(&load(&d3, &keys("test-age-key.txt")));
    assert!(
        found
            .iter()
            .any(|m| m.contains("notifications.ops.type") && m.contains("(sensitive)")),
        "{found:#?}"
    );
    assert!(found.iter().all(|m| !m.contains("s3cr3t-not-a-type")), "{found:#?}");
    for d in [d, d2, d3] {
        let _ = std::fs::remove_dir_all(&d);
    }
}
