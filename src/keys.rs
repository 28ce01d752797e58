//! The keys that open SOPS-encrypted files in the desired state, found as
//! the `sops` CLI finds them: age identities in `SOPS_AGE_KEY` (key-file
//! text) and in the file `SOPS_AGE_KEY_FILE` names, else sops's default key
//! file (`$XDG_CONFIG_HOME/sops/age/keys.txt`, `~/.config/sops/age/keys.txt`),
//! and, for the controller, the swarm secret `sops-age-key` mounted at
//! [`CONTROLLER_KEY_FILE`] (docs/operations.md, "Secrets").
//!
//! A file encrypted to AWS KMS keys is opened through crates/aws (one
//! `kms:Decrypt` in the key's region, with the standard credential chain:
//! the instance profile on a manager), tried after the age identities.
//!
//! Read once per load; a key file that cannot be read or parsed is an
//! error only for a file that needs a key, so a desired state without SOPS
//! files never depends on it. Identities are never printed.

use std::path::PathBuf;

use std::path::Path;

use swarmkeeper_model::sops::{AgeKeys, DataKey, DataKeys, KmsKey, MasterKeys, NoKeys};
use swarmkeeper_model::{LoadOutcome, SourceTree, Variables, load_tree_with};

/// Where the controller's service mounts the swarm secret `sops-age-key`.
pub const CONTROLLER_KEY_FILE: &str = "/run/secrets/sops-age-key";

/// Load and validate the desired state in `tree` with the keys of `env`.
pub fn load_tree(tree: &dyn SourceTree, env: &Variables) -> LoadOutcome {
    load_tree_with(tree, env, &Keys::from_environment(env))
}

/// [`load_tree`] of a directory.
pub fn load_dir(dir: &Path, env: &Variables) -> LoadOutcome {
    load_tree(&swarmkeeper_model::DirTree::new(dir), env)
}

/// Identities found in the environment, and what went wrong finding them.
pub struct Keys {
    age: Vec<AgeKeys>,
    problems: Vec<String>,
}

impl Keys {
    pub fn from_environment(env: &Variables) -> Self {
        let mut keys = Keys {
            age: Vec::new(),
            problems: Vec::new(),
        };
        if let Some(text) = env.get("SOPS_AGE_KEY").filter(|t| !t.trim().is_empty()) {
            keys.add(AgeKeys::parse(text, "SOPS_AGE_KEY"));
        }
        let file = env
            .get("SOPS_AGE_KEY_FILE")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        let explicit = file.is_some();
        let file = file.or_else(|| {
            let config = env
                .get("XDG_CONFIG_HOME")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .or_else(|| env.get("HOME").map(|h| PathBuf::from(h).join(".config")))?;
            Some(config.join("sops/age/keys.txt"))
        });
        // The controller's swarm secret, when no variable names a file.
        if !explicit && Path::new(CONTROLLER_KEY_FILE).exists() {
            let source = format!("the swarm secret sops-age-key ({CONTROLLER_KEY_FILE})");
            match std::fs::read_to_string(CONTROLLER_KEY_FILE) {
                Ok(text) => keys.add(AgeKeys::parse(&text, source)),
                Err(e) => keys.problems.push(format!("{source} cannot be read: {e}")),
            }
        }
        if let Some(path) = file {
            let source = if explicit {
                format!("SOPS_AGE_KEY_FILE ({})", path.display())
            } else {
                format!("sops's default key file ({})", path.display())
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => keys.add(AgeKeys::parse(&text, source)),
                // The default file is optional; a named one must be there.
                Err(e) if explicit => keys.problems.push(format!("{source} cannot be read: {e}")),
                Err(_) => {}
            }
        }
        keys
    }

    fn add(&mut self, parsed: Result<AgeKeys, String>) {
        match parsed {
            Ok(k) => self.age.push(k),
            Err(e) => self.problems.push(e),
        }
    }
}

impl DataKeys for Keys {
    fn open(&self, keys: &MasterKeys) -> Result<DataKey, String> {
        let mut why = self.problems.clone();
        for age in &self.age {
            match age.try_open(keys) {
                Ok(Some(key)) => return Ok(key),
                Ok(None) => why.push(age.no_match(keys)),
                Err(e) => why.push(e),
            }
        }
        for k in &keys.kms {
            match kms_data_key(k) {
                Ok(key) => return Ok(key),
                Err(e) => why.push(format!("KMS key {}: {e}", k.arn)),
            }
        }
        if why.is_empty() {
            return NoKeys.open(keys);
        }
        Err(why.join("; "))
    }
}

/// One `kms:Decrypt` of a SOPS data key, in the key's region, with the
/// process's AWS credentials (the instance profile on a manager). On a
/// thread of its own with its own runtime: the load is synchronous and may
/// run inside the caller's runtime.
fn kms_data_key(k: &KmsKey) -> Result<DataKey, String> {
    if k.role.is_some() {
        return Err("the file asks to assume a role first, which swarmkeeper does not do: give the process credentials that may use the key".to_owned());
    }
    // arn:aws:kms:<region>:<account>:key/<id>
    let region = k.arn.split(':').nth(3).filter(|r| !r.is_empty()).map(str::to_owned);
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("no runtime for the KMS call: {e}"))?;
            runtime.block_on(async {
                let aws = swarmkeeper_aws::Aws::connect(region.as_deref()).await;
                aws.sops_data_key(&k.arn, &k.enc, &k.context)
                    .await
                    .map(DataKey)
                    .map_err(|e| e.to_string())
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the KMS call panicked".to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        format!("{}/tests/fixtures/sops/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    fn open(env: &[(&str, &str)], file: &str) -> Result<Vec<u8>, String> {
        let env: Variables = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let bytes = std::fs::read(fixture(file)).expect("fixture");
        let keys = Keys::from_environment(&env);
        swarmkeeper_model::sops::decrypt(file, &bytes, &keys)
            .map(|d| d.expect("a sops file").content)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn identities_come_from_the_key_file_or_the_variable() {
        let key_file = fixture("test-age-key.txt");
        let clear = std::fs::read(fixture("clear/password.txt")).expect("clear");
        assert_eq!(
            open(&[("SOPS_AGE_KEY_FILE", &key_file)], "password.txt"),
            Ok(clear.clone())
        );
        let text = std::fs::read_to_string(&key_file).expect("key");
        assert_eq!(open(&[("SOPS_AGE_KEY", &text)], "password.txt"), Ok(clear));
    }

    #[test]
    fn a_missing_key_file_or_a_wrong_key_is_said_clearly() {
        let err = open(&[("SOPS_AGE_KEY_FILE", "/nonexistent/keys.txt")], "password.txt").expect_err("no key");
        assert!(
            err.contains("SOPS_AGE_KEY_FILE (/nonexistent/keys.txt) cannot be read"),
            "{err}"
        );
        let other = fixture("other-age-key.txt");
        let err = open(&[("SOPS_AGE_KEY_FILE", &other)], "password.txt").expect_err("wrong key");
        assert!(
            err.contains(&format!("no identity in SOPS_AGE_KEY_FILE ({other}) matches")),
            "{err}"
        );
        assert!(!err.contains("AGE-SECRET-KEY"), "{err}");
        let err = open(&[("HOME", "/nonexistent")], "password.txt").expect_err("no key at all");
        assert!(err.contains("set SOPS_AGE_KEY_FILE"), "{err}");
    }
}
