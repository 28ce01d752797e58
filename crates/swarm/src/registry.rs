//! Registries: the credentials the docker client would use for each one,
//! and digest lookups through the engine, as `docker stack deploy
//! --with-registry-auth --resolve-image` does them.
//!
//! - [`RegistryAuth`] reads the docker client configuration
//!   (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): `auths`
//!   entries, `credHelpers` per registry and the `credsStore` fallback,
//!   asking a helper (`docker-credential-NAME get`) only when an image of
//!   its registry is used, once per registry.
//! - [`Engine::look_up`] asks the engine for the digest of each tag
//!   (`GET /distribution/NAME/json`: the engine sends the registry a HEAD
//!   request, through its own proxy and registry settings) with the
//!   image's credentials, a few at a time, each bounded in time, digests
//!   kept for a minute ([`LookupCache`]).
//!
//! Credentials never leave this module but in the `X-Registry-Auth` header
//! of the engine calls that need them (lookups, service creates and
//! updates, as `--with-registry-auth` sends them); they are never part of
//! a plan, a log line or an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use futures_util::StreamExt as _;
use swarmkeeper_plan::images::{Lookup, Lookups, registry_of};

use crate::engine::Engine;

/// How long one digest lookup may take before it counts as unreachable.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Lookups in flight at once.
pub const LOOKUP_CONCURRENCY: usize = 8;
/// How long a digest found stays good for: a controller resyncing every
/// few seconds asks a registry about a followed tag at most this often.
pub const LOOKUP_CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a credential helper may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(20);

/// The key docker's configuration uses for Docker Hub.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// One registry's credentials: a user and password, or an identity token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub secret: String,
    /// The secret is an identity (refresh) token, not a password.
    pub token: bool,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}, <redacted>)", self.username)
    }
}

/// Where a registry's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Stored(Credential),
    /// `docker-credential-NAME`.
    Helper(String),
}

/// The credentials of every registry the docker client configuration
/// names, by registry host (`docker.io` for Docker Hub).
#[derive(Debug, Clone, Default)]
pub struct RegistryAuth {
    sources: BTreeMap<String, Source>,
    /// `credsStore`: asked for registries without an entry of their own.
    store: Option<String>,
    /// What helpers answered (None: they had nothing), per registry.
    asked: Arc<Mutex<BTreeMap<String, Option<Credential>>>>,
    /// Where the configuration was read from (for messages).
    pub origin: Option<PathBuf>,
}

/// The docker client configuration, as far as credentials go.
#[derive(serde::Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// A registry as docker's configuration names it (`https://host/v1/`,
/// `http://host`, `host`) → the host users write in image names.
pub fn registry_key(name: &str) -> String {
    let host = name
        .strip_prefix("https://")
        .or_else(|| name.strip_prefix("http://"))
        .unwrap_or(name);
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io".to_owned(),
        other => other.to_owned(),
    }
}

impl RegistryAuth {
    /// The configuration the docker client reads: `$DOCKER_CONFIG/config.json`,
    /// else `$HOME/.docker/config.json`. A missing file is no credentials.
    pub fn from_docker_config() -> Result<Self, String> {
        let dir = match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => match std::env::var_os("HOME") {
                Some(home) => Path::new(&home).join(".docker"),
                None => return Ok(Self::default()),
            },
        };
        Self::from_file(&dir.join("config.json"))
    }

    /// Reads one docker client configuration file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(format!(
                    "cannot read the docker client configuration {}: {e}",
                    path.display()
                ));
            }
        };
        let mut auth = Self::parse(&text)
            .map_err(|why| format!("the docker client configuration {} is not valid: {why}", path.display()))?;
        auth.origin = Some(path.to_owned());
        Ok(auth)
    }

    /// Parses the text of a `config.json`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: ConfigFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut sources = BTreeMap::new();
        for (name, entry) in file.auths {
            if let Some(credential) = entry.credential().map_err(|why| format!("auths.\"{name}\": {why}"))? {
                sources.insert(registry_key(&name), Source::Stored(credential));
            }
        }
        for (name, helper) in file.cred_helpers {
            sources.insert(registry_key(&name), Source::Helper(helper));
        }
        Ok(Self {
            sources,
            store: file.creds_store.filter(|s| !s.is_empty()),
            ..Self::default()
        })
    }

    /// Adds (or replaces) one registry's credentials.
    pub fn insert(&mut self, registry: &str, credential: Credential) {
        self.sources.insert(registry_key(registry), Source::Stored(credential));
    }

    /// Whether anything is configured for `registry`.
    pub fn knows(&self, registry: &str) -> bool {
        self.sources.contains_key(registry) || self.store.is_some()
    }

    /// The credentials for an image's registry, asking its helper if that
    /// is where they live. `Err` when the helper failed.
    pub async fn for_image(&self, image: &str) -> Result<Option<DockerCredentials>, String> {
        let registry = registry_of(image);
        let credential = match self.sources.get(&registry) {
            Some(Source::Stored(c)) => Some(c.clone()),
            Some(Source::Helper(helper)) => self.ask(helper, &registry).await?,
            None => match &self.store {
                Some(store) => self.ask(store, &registry).await?,
                None => None,
            },
        };
        Ok(credential.map(|c| docker_credentials(&registry, c)))
    }

    async fn ask(&self, helper: &str, registry: &str) -> Result<Option<Credential>, String> {
        if let Ok(asked) = self.asked.lock()
            && let Some(answer) = asked.get(registry)
        {
            return Ok(answer.clone());
        }
        let answer = run_helper(helper, registry).await?;
        if let Ok(mut asked) = self.asked.lock() {
            asked.insert(registry.to_owned(), answer.clone());
        }
        Ok(answer)
    }
}

impl AuthEntry {
    fn credential(self) -> Result<Option<Credential>, String> {
        if let Some(token) = self.identitytoken.filter(|t| !t.is_empty()) {
            return Ok(Some(Credential {
                username: self.username.unwrap_or_default(),
                secret: token,
                token: true,
            }));
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Ok(Some(Credential {
                username: username.clone(),
                secret: password.clone(),
                token: false,
            }));
        }
        let Some(auth) = self.auth.filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| "`auth` is not base64".to_owned())?;
        let decoded = String::from_utf8(decoded).map_err(|_| "`auth` is not text".to_owned())?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| "`auth` is not base64 of USER:PASSWORD".to_owned())?;
        Ok(Some(Credential {
            username: username.to_owned(),
            secret: password.to_owned(),
            token: false,
        }))
    }
}

fn docker_credentials(registry: &str, c: Credential) -> DockerCredentials {
    let serveraddress = if registry == "docker.io" {
        DOCKER_HUB_KEY.to_owned()
    } else {
        registry.to_owned()
    };
    if c.token {
        DockerCredentials {
            identitytoken: Some(c.secret),
            serveraddress: Some(serveraddress),
            ..DockerCredentials::default()
        }
    } else {
        DockerCredentials {
            username: Some(c.username),
            password: Some(c.secret),
            serveraddress: Some(serveraddress),
            ..DockerCredentials::default()
        }
    }
}

/// `docker-credential-HELPER get`, the registry on its standard input, as
/// the docker client runs it. "Not found" is no credentials, not an error.
async fn run_helper(helper: &str, registry: &str) -> Result<Option<Credential>, String> {
    use tokio::io::AsyncWriteExt as _;
    let program = format!("docker-credential-{helper}");
    let server = if registry == "docker.io" {
        DOCKER_HUB_KEY
    } else {
        registry
    };
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run the credential helper {program} for {registry}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .await
            .map_err(|e| format!("{program}: {e}"))?;
    }
    let output = tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            format!("the credential helper {program} did not answer for {registry} within {HELPER_TIMEOUT:?}")
        })?
        .map_err(|e| format!("{program}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!(
            "the credential helper {program} failed for {registry} ({}): {}",
            output.status,
            stdout.trim()
        ));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let answer: Answer = serde_json::from_str(&stdout)
        .map_err(|e| format!("the credential helper {program} answered for {registry} with no credentials: {e}"))?;
    Ok(Some(Credential {
        token: answer.username == "<token>",
        username: answer.username,
        secret: answer.secret,
    }))
}

/// Digests found lately, by image (failures are not kept: they are asked
/// again at the next plan).
#[derive(Debug, Clone, Default)]
pub struct LookupCache {
    found: Arc<Mutex<BTreeMap<String, (std::time::Instant, String)>>>,
}

impl LookupCache {
    fn get(&self, image: &str) -> Option<String> {
        let found = self.found.lock().ok()?;
        let (at, digest) = found.get(image)?;
        (at.elapsed() < LOOKUP_CACHE_TTL).then(|| digest.clone())
    }

    fn put(&self, image: &str, digest: &str) {
        if let Ok(mut found) = self.found.lock() {
            found.retain(|_, (at, _)| at.elapsed() < LOOKUP_CACHE_TTL);
            found.insert(image.to_owned(), (std::time::Instant::now(), digest.to_owned()));
        }
    }
}

/// What an engine's answer to a failed lookup means: its HTTP status (when
/// it answered) and message.
fn lookup_failure(status: Option<u16>, message: &str) -> Lookup {
    let message = message.trim().to_owned();
    match status {
        Some(401 | 403) => Lookup::Denied(message),
        Some(404) => Lookup::NotFound(message),
        Some(_) if message.contains("no basic auth credentials") || message.contains("unauthorized") => {
            Lookup::Denied(message)
        }
        Some(_) if message.contains("manifest unknown") => Lookup::NotFound(message),
        _ => Lookup::Unreachable(message),
    }
}

impl Engine {
    /// The digest each tag names now, by asking the engine (which asks the
    /// registry) with the image's credentials: at most
    /// [`LOOKUP_CONCURRENCY`] at once, each within [`LOOKUP_TIMEOUT`].
    /// Never fails: what could not be learned is in the answer.
    /// Digests found within [`LOOKUP_CACHE_TTL`] come from `cache`.
    pub async fn look_up(&self, images: &BTreeSet<String>, auth: &RegistryAuth, cache: &LookupCache) -> Lookups {
        let answers = futures_util::stream::iter(images.iter().cloned())
            .map(|image| async move {
                if let Some(digest) = cache.get(&image) {
                    return (image, Lookup::Digest(digest));
                }
                let lookup = self.look_up_one(&image, auth).await;
                if let Lookup::Digest(digest) = &lookup {
                    cache.put(&image, digest);
                }
                (image, lookup)
            })
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        answers.into_iter().collect()
    }

    async fn look_up_one(&self, image: &str, auth: &RegistryAuth) -> Lookup {
        let credentials = match auth.for_image(image).await {
            Ok(c) => c,
            Err(why) => return Lookup::Denied(why),
        };
        let name = image.to_owned();
        let call = self.call("GET /distribution/{name}/json", |d| async move {
            d.inspect_registry_image(&name, credentials).await
        });
        match tokio::time::timeout(LOOKUP_TIMEOUT, call).await {
            Err(_) => Lookup::Unreachable(format!("no answer within {LOOKUP_TIMEOUT:?}")),
            Ok(Err(crate::engine::EngineError::Api { status, message, .. })) => lookup_failure(status, &message),
            Ok(Err(other)) => Lookup::Unreachable(other.to_string()),
            Ok(Ok(inspect)) => match inspect.descriptor.digest {
                Some(digest) if digest.starts_with("sha256:") => Lookup::Digest(digest),
                other => Lookup::Unreachable(format!("the registry answered without a digest ({other:?})")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_keys_are_hosts_as_images_name_them() {
        for (key, host) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("http://10.213.0.1:45125", "10.213.0.1:45125"),
            ("https://ghcr.io/v2/", "ghcr.io"),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            ),
        ] {
            assert_eq!(registry_key(key), host, "{key}");
        }
    }

    #[tokio::test]
    async fn auths_entries_give_each_registry_its_credentials() {
        let auth = RegistryAuth::parse(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
                "10.213.0.1:45125": {"username": "lab", "password": "pw"},
                "ghcr.io": {"identitytoken": "tok"},
                "empty.example": {}
            }}"#,
        )
        .expect("parses");
        let hub = auth.for_image("nginx:1.27").await.expect("ok").expect("some");
        assert_eq!(
            (
                hub.username.as_deref(),
                hub.password.as_deref(),
                hub.serveraddress.as_deref()
            ),
            (Some("hub"), Some("secret"), Some(DOCKER_HUB_KEY))
        );
        let lab = auth
            .for_image("10.213.0.1:45125/lab/web:1")
            .await
            .expect("ok")
            .expect("some");
        assert_eq!(
            (lab.username.as_deref(), lab.password.as_deref()),
            (Some("lab"), Some("pw"))
        );
        let gh = auth.for_image("ghcr.io/org/app:1").await.expect("ok").expect("some");
        assert_eq!(gh.identitytoken.as_deref(), Some("tok"));
        assert!(auth.for_image("empty.example/app").await.expect("ok").is_none());
        assert!(auth.for_image("quay.io/x/y:1").await.expect("ok").is_none());
        assert!(!format!("{auth:?}").contains("pw"), "secrets stay out of Debug");
    }

    #[test]
    fn a_broken_auth_entry_is_an_error_naming_it() {
        let err = RegistryAuth::parse(r#"{"auths": {"r.example": {"auth": "bm9jb2xvbg=="}}}"#).expect_err("error");
        assert!(
            err.contains("auths.\"r.example\"") && err.contains("USER:PASSWORD"),
            "{err}"
        );
        assert!(RegistryAuth::parse("{").is_err());
    }

    #[tokio::test]
    async fn a_missing_helper_is_an_error_naming_it_and_the_registry() {
        let auth = RegistryAuth::parse(r#"{"credHelpers": {"r.example": "swarmkeeper-test-absent"}}"#).expect("parses");
        let err = auth.for_image("r.example/app:1").await.expect_err("error");
        assert!(
            err.contains("docker-credential-swarmkeeper-test-absent") && err.contains("r.example"),
            "{err}"
        );
    }

    #[test]
    fn the_cache_keeps_digests_for_a_while_and_nothing_else() {
        let cache = LookupCache::default();
        assert_eq!(cache.get("a:1"), None);
        cache.put("a:1", "sha256:aa");
        assert_eq!(cache.get("a:1").as_deref(), Some("sha256:aa"));
        assert_eq!(cache.get("a:2"), None);
        if let Ok(mut found) = cache.found.lock()
            && let Some(entry) = found.get_mut("a:1")
            && let Some(old) = std::time::Instant::now().checked_sub(LOOKUP_CACHE_TTL)
        {
            entry.0 = old;
        }
        assert_eq!(cache.get("a:1"), None, "expired");
    }

    #[test]
    fn engine_errors_map_to_what_they_mean() {
        let cases = [
            (Some(401), "unauthorized: authentication required", "denied"),
            (
                Some(500),
                "Head \"http://r/v2/a/manifests/1\": no basic auth credentials",
                "denied",
            ),
            (Some(404), "manifest unknown: manifest unknown", "not found"),
            (
                Some(500),
                "dial tcp 10.213.0.1:1: connect: connection refused",
                "unreachable",
            ),
            (None, "connection reset", "unreachable"),
        ];
        for (status, message, want) in cases {
            let got = match lookup_failure(status, message) {
                Lookup::Denied(_) => "denied",
                Lookup::NotFound(_) => "not found",
                Lookup::Unreachable(_) => "unreachable",
                Lookup::Digest(_) => "digest",
            };
            assert_eq!(got, want, "{status:?} {message}");
        }
    }
}
