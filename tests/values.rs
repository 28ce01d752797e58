//! Configs and secrets whose bytes live in AWS (`x-swarmkeeper.source`), on
//! the lab's swarm and moto: a secret from an SSM SecureString parameter
//! and one from Secrets Manager reach the tasks; changing a value rolls
//! exactly the service that uses it; a reference to a value that does not
//! exist is an error naming it, and nothing changes.

mod common;

use std::collections::BTreeMap;

use common::{DesiredDir, boto, docker, eventually, reset, swarmkeeper};

const DB_PASSWORD: &str = "from-ssm-Passw0rd";
const DB_PASSWORD_2: &str = "from-ssm-Passw0rd-rotated";
const API_TOKEN: &str = "from-secrets-manager-token";
const API_TOKEN_2: &str = "from-secrets-manager-token-rotated";

/// The names of this run's values (moto is shared by every test).
struct Names {
    parameter: String,
    secret: String,
}

fn names() -> Names {
    let run = format!("vt-{}", std::process::id());
    Names {
        parameter: format!("/swarmkeeper-values/{run}/db-password"),
        secret: format!("swarmkeeper-values/{run}/api-token"),
    }
}

fn compose(parameter: &str, secret: &str) -> String {
    format!(
        "services:
  db:
    image: swarmkeeper-lab/web:1
    secrets: [db_password]
  api:
    image: swarmkeeper-lab/web:1
    secrets: [api_token]
  web:
    image: swarmkeeper-lab/web:1
secrets:
  db_password:
    x-swarmkeeper:
      source: ssm:{parameter}
  api_token:
    x-swarmkeeper:
      source: secretsmanager:{secret}
"
    )
}

fn put_parameter(lab: &BTreeMap<String, String>, name: &str, value: &str) {
    boto(
        lab,
        &format!(
            "boto3.client('ssm', **kw).put_parameter(Name='{name}', Value='{value}', Type='SecureString', Overwrite=True)\nprint('{{}}')"
        ),
    );
}

fn put_secret(lab: &BTreeMap<String, String>, name: &str, value: &str, create: bool) {
    let call = if create {
        format!("c.create_secret(Name='{name}', SecretString='{value}')")
    } else {
        format!("c.put_secret_value(SecretId='{name}', SecretString='{value}')")
    };
    boto(
        lab,
        &format!("c = boto3.client('secretsmanager', **kw)\n{call}\nprint('{{}}')"),
    );
}

/// Each service's spec, as JSON: it changes with an update, and only then
/// (the version index also moves when the engine records how a rolling
/// update went, so it cannot tell).
fn versions(lab: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    ["vals_db", "vals_api", "vals_web"]
        .iter()
        .map(|s| {
            let v = docker(lab, &["service", "inspect", s, "--format", "{{json .Spec}}"]);
            assert_eq!(v.code, Some(0), "{s}: {v:?}");
            ((*s).to_owned(), v.stdout.trim().to_owned())
        })
        .collect()
}

/// What a running task of `service` reads at /run/secrets/`secret`.
fn secret_in_task(lab: &BTreeMap<String, String>, service: &str, secret: &str, want: &str) {
    eventually(60, &format!("{service} to run with {secret} = its new value"), || {
        let ps = docker(
            lab,
            &[
                "ps",
                "-q",
                "--filter",
                &format!("label=com.docker.swarm.service.name={service}"),
            ],
        );
        ps.stdout
            .lines()
            .find(|id| {
                let cat = docker(lab, &["exec", id, "cat", &format!("/run/secrets/{secret}")]);
                cat.code == Some(0) && cat.stdout == want
            })
            .map(|_| ())
    });
}

fn apply(lab: &BTreeMap<String, String>, dir: &DesiredDir) {
    let run = swarmkeeper(lab, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn secrets_from_ssm_and_secrets_manager_reach_the_tasks_and_a_new_value_rolls_only_its_users() {
    let lab = common::lab("secrets_from_ssm_and_secrets_manager_reach_the_tasks_and_a_new_value_rolls_only_its_users");
    let _serial = common::serial();
    reset(&lab, &[]);
    let n = names();
    put_parameter(&lab, &n.parameter, DB_PASSWORD);
    put_secret(&lab, &n.secret, API_TOKEN, true);
    let dir = DesiredDir::new("values");
    dir.stacks(&[("vals", &compose(&n.parameter, &n.secret))]);

    apply(&lab, &dir);
    secret_in_task(&lab, "vals_db", "db_password", DB_PASSWORD);
    secret_in_task(&lab, "vals_api", "api_token", API_TOKEN);
    // Unchanged values: nothing to do, nothing written.
    let again = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run", "-o", "json"]);
    assert_eq!(again.code, Some(0), "{again:?}");
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("JSON plan");
    assert_eq!(report["api_calls"]["swarm"]["writes"], 0, "{report:#}");
    for value in [DB_PASSWORD, API_TOKEN] {
        assert!(
            !again.stdout.contains(value) && !again.stderr.contains(value),
            "{again:?}"
        );
    }

    // A new parameter value rolls the service that uses it, and no other.
    let before = versions(&lab);
    put_parameter(&lab, &n.parameter, DB_PASSWORD_2);
    let preview = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(preview.code, Some(2), "{preview:?}");
    assert!(!preview.stdout.contains(DB_PASSWORD_2), "{preview:?}");
    apply(&lab, &dir);
    let after = versions(&lab);
    assert_ne!(after["vals_db"], before["vals_db"], "db did not roll");
    assert_eq!(
        after["vals_api"], before["vals_api"],
        "a service that does not use the value rolled"
    );
    assert_eq!(
        after["vals_web"], before["vals_web"],
        "a service that does not use the value rolled"
    );
    secret_in_task(&lab, "vals_db", "db_password", DB_PASSWORD_2);

    // The same for a new version of the Secrets Manager secret.
    let before = after;
    put_secret(&lab, &n.secret, API_TOKEN_2, false);
    apply(&lab, &dir);
    let after = versions(&lab);
    assert_ne!(after["vals_api"], before["vals_api"], "api did not roll");
    assert_eq!(
        after["vals_db"], before["vals_db"],
        "a service that does not use the value rolled"
    );
    assert_eq!(
        after["vals_web"], before["vals_web"],
        "a service that does not use the value rolled"
    );
    secret_in_task(&lab, "vals_api", "api_token", API_TOKEN_2);

    // A parameter that does not exist: an error naming it and where it is
    // declared; nothing is written, no service changes.
    let missing = n.parameter.replace("db-password", "missing");
    dir.stacks(&[("vals", &compose(&missing, &n.secret))]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "-o", "json"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains(&format!("SSM parameter {missing} does not exist")),
        "{run:?}"
    );
    assert!(said.contains("secrets.db_password"), "{run:?}");
    assert_eq!(versions(&lab), after, "a failed read changed a service");
    reset(&lab, &[]);
}
