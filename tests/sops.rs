//! swarmkeeper reads the SOPS format that others read, not only what its
//! own code would write: the fixtures (tests/fixtures/sops, written by the
//! real `sops` CLI) decrypt to the same values with sops-age, an
//! independent implementation from the npm registry (tests/lab/npm, which
//! tests/lab/up installs), as with swarmkeeper's loader, and both equal
//! the cleartext the fixtures were made from. Files the real sops CLI
//! encrypts to a KMS key of moto reach a service as their cleartext.

mod common;

use std::path::PathBuf;
use std::process::Command;

use swarmkeeper_model::sops::{self, AgeKeys};
use swarmkeeper_model::{Diagnostics, Sources, yaml};

fn fixtures() -> PathBuf {
    common::repo_root().join("tests/fixtures/sops")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A YAML or JSON document as JSON (plain YAML scalars typed as YAML's core schema types them).
fn as_json(name: &str, text: &str) -> serde_json::Value {
    if name.ends_with(".json") {
        return serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    }
    let mut sources = Sources::default();
    let id = sources.add(name, text.to_owned());
    let mut diags = Diagnostics::default();
    let node = yaml::parse(id, sources.get(id), &mut diags).unwrap_or_else(|| panic!("{name}: {diags:?}"));
    yaml::to_json(&node)
}

/// What swarmkeeper's loader makes of a fixture, as sops-age shows it.
fn swarmkeeper_view(name: &str, keys: &AgeKeys) -> serde_json::Value {
    let decrypted = sops::decrypt(name, &read(name), keys)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name} is not SOPS-encrypted"));
    let text = String::from_utf8(decrypted.content.clone()).expect("UTF-8 cleartext");
    if name.ends_with(".env") {
        let pairs = decrypted
            .pairs
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)));
        return serde_json::Value::Object(pairs.collect());
    }
    if name.ends_with(".yaml") || name.ends_with(".json") {
        return as_json(name, &text);
    }
    // A binary file: sops keeps it as `{"data": ...}`.
    serde_json::json!({ "data": text })
}

/// The cleartext a fixture was made from, in the same view.
fn clear_view(name: &str, clear: &str) -> serde_json::Value {
    let text = String::from_utf8(read(&format!("clear/{clear}"))).expect("text");
    if name.ends_with(".env") {
        let pairs = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.replace("\\n", "\n"))));
        return serde_json::Value::Object(pairs.collect());
    }
    if name.ends_with(".yaml") || name.ends_with(".json") {
        return as_json(name, &text);
    }
    serde_json::json!({ "data": text })
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_fixtures_decrypt_to_the_same_values_with_an_independent_sops_implementation() {
    let lab = common::lab("the_fixtures_decrypt_to_the_same_values_with_an_independent_sops_implementation");
    let script = lab
        .get("SWARMKEEPER_LAB_SOPS_DECRYPT")
        .expect("lab.env names SWARMKEEPER_LAB_SOPS_DECRYPT: rerun tests/lab/up");
    let key_file = fixtures().join("test-age-key.txt");
    let key_text = String::from_utf8(read("test-age-key.txt")).expect("text");
    let keys = AgeKeys::parse(&key_text, "the TEST age key").expect("identities");
    // (fixture, the clear file it was made from)
    let cases = [
        ("app.yaml", "app.yaml"),
        ("app.json", "app.json"),
        ("app.env", "app.env"),
        ("password.txt", "password.txt"),
        ("two-recipients.yaml", "app.yaml"),
        ("swarmkeeper.yaml", "swarmkeeper.yaml"),
    ];
    let paths: Vec<PathBuf> = cases.iter().map(|(f, _)| fixtures().join(f)).collect();
    let out = Command::new("node")
        .arg(script)
        .arg(&key_file)
        .args(&paths)
        .output()
        .expect("run node (tests/lab/up installs Node.js when missing)");
    assert!(
        out.status.success(),
        "sops-age failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sops-age prints JSON");
    for ((name, clear), path) in cases.iter().zip(&paths) {
        let key = path.to_string_lossy();
        let independent = &theirs[key.as_ref()];
        let ours = swarmkeeper_view(name, &keys);
        assert_eq!(&ours, independent, "{name}: swarmkeeper and sops-age disagree");
        assert_eq!(
            ours,
            clear_view(name, clear),
            "{name}: not the cleartext it was made from"
        );
    }
}

/// The real sops CLI (tests/lab/up puts it in the lab's venv) against moto.
fn sops_cli(lab: &std::collections::BTreeMap<String, String>, args: &[&str]) -> Vec<u8> {
    let sops = lab
        .get("SWARMKEEPER_LAB_SOPS")
        .expect("lab.env names SWARMKEEPER_LAB_SOPS: rerun tests/lab/up");
    let out = Command::new(sops).args(args).envs(lab).output().expect("run sops");
    assert!(
        out.status.success(),
        "sops {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn files_encrypted_to_a_kms_key_reach_the_service_as_their_cleartext_and_an_unusable_key_is_said() {
    let lab =
        common::lab("files_encrypted_to_a_kms_key_reach_the_service_as_their_cleartext_and_an_unusable_key_is_said");
    let _serial = common::serial();
    common::reset(&lab, &[]);
    let arn = common::boto(
        &lab,
        "print(json.dumps(boto3.client('kms', **kw).create_key(Description='swarmkeeper sops test')['KeyMetadata']['Arn']))",
    );
    let arn = arn.as_str().expect("an ARN").to_owned();
    let clear = |name: &str| fixtures().join("clear").join(name).to_string_lossy().into_owned();
    let secret = sops_cli(&lab, &["encrypt", "--kms", &arn, &clear("password.txt")]);
    let env = sops_cli(&lab, &["encrypt", "--kms", &arn, &clear("app.env")]);
    assert!(
        String::from_utf8_lossy(&secret).contains(&arn),
        "sops wrote no KMS entry"
    );
    let dir = common::DesiredDir::new("sops-kms");
    dir.write("pw.txt", &String::from_utf8(secret).expect("text"));
    dir.write("app.env", &String::from_utf8(env).expect("text"));
    dir.stacks(&[(
        "kms",
        "services:\n  app:\n    image: swarmkeeper-lab/web:1\n    env_file: ./app.env\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./pw.txt\n",
    )]);
    // No age identity at all: the KMS key alone opens the files.
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
            .args(args)
            .envs(&lab)
            .env("NO_COLOR", "1")
            .env("HOME", dir.path.join("no-home"))
            .env_remove("SOPS_AGE_KEY_FILE")
            .env_remove("SOPS_AGE_KEY")
            .output()
            .expect("run swarmkeeper");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, said) = run(&["reconcile", &dir.arg()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        !said.contains("correct horse") && !said.contains("s3cr3t-env-value"),
        "{said}"
    );
    let want = String::from_utf8(read("clear/password.txt")).expect("text");
    common::eventually(60, "the task to read the decrypted secret", || {
        let ps = common::docker(
            &lab,
            &["ps", "-q", "--filter", "label=com.docker.swarm.service.name=kms_app"],
        );
        ps.stdout
            .lines()
            .find(|id| common::docker(&lab, &["exec", id, "cat", "/run/secrets/pw"]).stdout == want)
            .map(|_| ())
    });
    let env = common::docker(
        &lab,
        &[
            "service",
            "inspect",
            "kms_app",
            "--format",
            "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
        ],
    );
    assert!(env.stdout.contains("POSTGRES_PASSWORD=s3cr3t-env-value"), "{env:?}");

    // A key KMS does not have (moto ignores a disabled key, so the file is
    // pointed at a key that does not exist): an error at the file naming
    // the key, nothing applied.
    let gone = format!(
        "{}/00000000-0000-0000-0000-000000000000",
        arn.rsplit_once('/').expect("key/").0
    );
    let text = std::fs::read_to_string(dir.path.join("pw.txt")).expect("pw.txt");
    dir.write("pw.txt", &text.replace(&arn, &gone));
    let (code, said) = run(&["validate", &dir.arg()]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("sops-key") && said.contains(&format!("KMS key {gone}")),
        "{said}"
    );
    common::reset(&lab, &[]);
}
