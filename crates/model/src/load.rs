//! Loading a desired-state directory: read `swarmkeeper.yaml`, every stack's
//! compose and env files, interpolate, decode, validate.
//!
//! Files come through a [`SourceTree`] (a directory, or a git commit held
//! in memory); the loader only reads. The outcome holds every diagnostic; the desired state is returned only
//! when there is no error, so nothing can act on a state that failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compose::ComposeFile;
use crate::compose::decode::{EnvFileVars, FileAccess, decode_compose};
use crate::config::{Config, StackRef, decode_config};
use crate::decode::Decoder;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::sops::{self, DataKeys, NoKeys};
use crate::source::{FileId, Sources, Span};
use crate::syntax::envfile::parse_env_file;
use crate::syntax::interpolate::{InterpolationError, Variables, interpolate};
use crate::tree::{DirTree, ReadError, SourceTree, normalise};
use crate::validate::validate;
use crate::yaml::{self, Node, Value};

/// The name of the root file of a desired-state directory.
pub const ROOT_FILE: &str = "swarmkeeper.yaml";

/// A validated desired state: nothing in it failed a check.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredState {
    pub config: Config,
    pub stacks: BTreeMap<String, Stack>,
    /// A digest of every file read: the state's revision when it does not
    /// come from a git commit.
    pub revision: String,
}

/// One stack: its compose file decoded with the stack's variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub name: String,
    /// Compose file path relative to the desired-state directory.
    pub compose_path: PathBuf,
    pub compose: ComposeFile,
}

/// Everything a load found, with the files it read (for rendering).
#[derive(Debug)]
pub struct LoadOutcome {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    /// `Some` only when no diagnostic is an error.
    pub state: Option<DesiredState>,
}

/// Load and validate the directory `root`. `environment` is the process
/// environment (passed in, so tests and the controller decide what it is);
/// it takes precedence over a stack's env file, as with docker compose.
pub fn load_dir(root: &Path, environment: &Variables) -> LoadOutcome {
    load_tree(&DirTree::new(root), environment)
}

/// Load and validate the files of `tree` (a directory or a snapshot).
/// A SOPS-encrypted file is an error saying how to give a key.
pub fn load_tree(tree: &dyn SourceTree, environment: &Variables) -> LoadOutcome {
    load_tree_with(tree, environment, &NoKeys)
}

/// [`load_dir`], decrypting SOPS-encrypted files with `keys`.
pub fn load_dir_with(root: &Path, environment: &Variables, keys: &dyn DataKeys) -> LoadOutcome {
    load_tree_with(&DirTree::new(root), environment, keys)
}

/// [`load_tree`], decrypting SOPS-encrypted files (compose configs and
/// secrets, env files) in memory with `keys`. Decrypted bytes go into the
/// state's contents and variables only: never into `sources` (what
/// diagnostics show) nor the revision digest.
pub fn load_tree_with(tree: &dyn SourceTree, environment: &Variables, keys: &dyn DataKeys) -> LoadOutcome {
    let mut loader = Loader {
        tree,
        keys,
        sources: Sources::default(),
        diags: Diagnostics::default(),
        declared: Declared::default(),
        total_bytes: 0,
        over_total: false,
    };
    let state = loader.load(environment);
    if let Some(state) = &state
        && !loader.diags.has_errors()
    {
        check_declared(&loader.declared, state, &mut loader.diags);
    }
    if state.is_none() && !loader.diags.has_errors() {
        // A failed load always says why.
        let at = loader
            .sources
            .iter()
            .next()
            .map(|(id, _)| loader.sources.span_at(id, 0, 0));
        internal_error(
            &mut loader.diags,
            at,
            "the desired state did not load, and no error says why".into(),
        );
    }
    let diagnostics = std::mem::take(&mut loader.diags).sorted();
    let revision = revision(&loader.sources);
    let state = if diagnostics.has_errors() {
        None
    } else {
        state.map(|s| DesiredState { revision, ..s })
    };
    LoadOutcome {
        sources: loader.sources,
        diagnostics,
        state,
    }
}

struct Loader<'t> {
    tree: &'t dyn SourceTree,
    keys: &'t dyn DataKeys,
    sources: Sources,
    diags: Diagnostics,
    /// What the root file declares (see [`check_declared`]).
    declared: Declared,
    total_bytes: u64,
    over_total: bool,
}

impl Loader<'_> {
    fn load(&mut self, environment: &Variables) -> Option<DesiredState> {
        if !self.tree.exists() {
            self.diags.push(
                Diagnostic::error(
                    "no-directory",
                    None,
                    format!("{} is not a directory", self.tree.describe()),
                )
                .with_help("pass the desired-state directory, the one holding swarmkeeper.yaml"),
            );
            return None;
        }
        let root = Path::new(ROOT_FILE);
        let bytes = match self.tree.read(root) {
            Ok(bytes) => bytes,
            Err(ReadError::NotFound) => {
                self.diags.push(
                    Diagnostic::error(
                        "missing-root-file",
                        None,
                        format!("cannot read {}/{ROOT_FILE}: {}", self.tree.describe(), ReadError::NotFound),
                    )
                    .with_help("a desired-state directory holds swarmkeeper.yaml at its root; `swarmkeeper schema` describes it"),
                );
                return None;
            }
            Err(e) => {
                // The file exists but cannot be used: point at it.
                let id = self.sources.add(ROOT_FILE, String::new());
                let at = self.sources.span_at(id, 0, 0);
                self.read_error(root, &e, Some(at), ROOT_FILE);
                return None;
            }
        };
        self.count_bytes(bytes.len(), None)?;
        let id = self.add_text(root, bytes, ROOT_FILE)?;
        let mut node = match yaml::parse_document(id, self.sources.get(id), &mut self.diags) {
            yaml::Parsed::Document(node) => node,
            yaml::Parsed::Failed => return None,
            yaml::Parsed::Empty => {
                self.diags.push(yaml::empty_file(
                    id,
                    self.sources.get(id),
                    "start swarmkeeper.yaml with `version: 1` and declare what it manages; `swarmkeeper schema` describes the format",
                ));
                return None;
            }
        };
        // Values written SOPS-encrypted in swarmkeeper.yaml (`sops encrypt
        // --encrypted-regex …`): decrypted in the tree, the source keeps the
        // ciphertext, and no message shows a cleartext.
        let sealed = match sops::decrypt_node(&mut node, self.keys) {
            Ok(sealed) => sealed.unwrap_or_default(),
            Err(e) => {
                let at = Some(self.sources.span_at(id, 0, 0));
                self.diags
                    .error_help(sops_code(&e), at, format!("{ROOT_FILE} {e}"), e.help());
                return None;
            }
        };
        self.declared = declared_sections(&node);
        let mut decoder = Decoder::new(&mut self.diags);
        decoder.sealed = sealed.iter().map(|(span, _)| *span).collect();
        let config = decode_config(&node, &mut decoder);
        let cleartexts: Vec<String> = sealed.into_iter().map(|(_, v)| v).collect();
        self.diags.redact(&cleartexts);
        let config = config?;

        let mut stacks = BTreeMap::new();
        for (name, stack_ref) in &config.stacks {
            let errors = self.diags.error_count();
            match self.load_stack(name, stack_ref, environment) {
                Some(stack) => {
                    stacks.insert(name.clone(), stack);
                }
                None if self.diags.error_count() == errors => internal_error(
                    &mut self.diags,
                    stack_ref.declared_at,
                    format!("stack `{name}` did not load, and no error says why"),
                ),
                None => {}
            }
        }
        let state = DesiredState {
            config,
            stacks,
            revision: String::new(),
        };
        validate(&state, &mut self.diags);
        Some(state)
    }

    fn load_stack(&mut self, name: &str, stack_ref: &StackRef, environment: &Variables) -> Option<Stack> {
        let at = stack_ref.compose_at.or(stack_ref.declared_at);
        let what = format!("stacks.{name}.compose");
        let compose_rel = self.inside_root(Path::new(""), &stack_ref.compose.to_string_lossy(), at, &what)?;
        let mut vars = Variables::new();
        // Values of a SOPS-encrypted stack env file: an environment value
        // that holds one is sensitive.
        let mut sealed: Vec<String> = Vec::new();
        if let Some(env_file) = &stack_ref.env_file {
            let at = stack_ref.env_file_at.or(at);
            let what = format!("stacks.{name}.env_file");
            let rel = self.inside_root(Path::new(""), &env_file.to_string_lossy(), at, &what)?;
            let (id, parsed) = self.env_file(&rel, at, &what)?;
            if parsed.vars.is_empty() {
                self.diags.warning_help(
                    "empty-env-file",
                    Some(self.sources.span_at(id, 0, 0)),
                    format!("`stacks.{name}.env_file` sets no variable"),
                    "add KEY=value lines, or remove `env_file` from the stack",
                );
            }
            for (k, v) in parsed.vars {
                if parsed.sensitive && !v.is_empty() {
                    sealed.push(v.clone());
                }
                vars.insert(k, v);
            }
        }
        vars.extend(environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        // `$PWD` is the compose file's directory, as for `docker stack
        // deploy` run where the file is (the idiom `file: $PWD/…` assumes
        // it), whatever directory swarmkeeper runs in.
        let compose_dir = compose_rel.parent().map(Path::to_path_buf).unwrap_or_default();
        vars.insert(
            "PWD".to_owned(),
            self.root_on_disk().join(compose_dir).to_string_lossy().into_owned(),
        );

        let id = self.read_text(&compose_rel, at, &format!("stacks.{name}.compose"))?;
        let mut node = match yaml::parse_document(id, self.sources.get(id), &mut self.diags) {
            yaml::Parsed::Document(node) => node,
            yaml::Parsed::Failed => return None,
            yaml::Parsed::Empty => {
                self.diags.push(yaml::empty_file(
                    id,
                    self.sources.get(id),
                    &format!(
                        "declare the stack's services here; to remove stack `{name}` on purpose, delete `stacks.{name}` from swarmkeeper.yaml"
                    ),
                ));
                return None;
            }
        };
        interpolate_tree(&mut node, &vars, name, &mut self.diags);

        let base = compose_rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut files = StackFiles { loader: self, base };
        let mut diags = Diagnostics::default();
        let mut decoded = decode_compose(&node, &mut Decoder::new(&mut diags), &mut files);
        self.diags.extend(diags);
        // `KEY` without a value takes the deploying environment's value, as
        // with docker stack deploy; unknown keys stay bare.
        for svc in decoded.iter_mut().flat_map(|f| f.services.values_mut()) {
            for (key, value) in svc.environment.iter_mut() {
                if value.is_none() {
                    *value = vars.get(key).cloned();
                }
                if value
                    .as_deref()
                    .is_some_and(|v| sealed.iter().any(|s| v.contains(s.as_str())))
                {
                    svc.sensitive_env.insert(key.clone());
                }
            }
        }
        Some(Stack {
            name: name.to_owned(),
            compose_path: compose_rel,
            compose: decoded?,
        })
    }

    /// The tree's absolute path, or where a snapshot stands in for it.
    fn root_on_disk(&self) -> PathBuf {
        self.tree
            .absolute_root()
            .unwrap_or_else(|| PathBuf::from(crate::tree::SNAPSHOT_ROOT))
    }

    /// Resolve `path` (relative to `base`, itself relative to the root) to
    /// a path relative to the root, refusing anything that leaves it.
    fn inside_root(&mut self, base: &Path, path: &str, at: Option<Span>, what: &str) -> Option<PathBuf> {
        let escape = |diags: &mut Diagnostics, why: &str| {
            diags.error_help(
                "path-escapes",
                at,
                format!("`{what}`: `{path}` {why}"),
                "keep every referenced file inside the desired-state directory, with a relative path",
            );
        };
        let (base, path) = if Path::new(path).is_absolute() {
            // Only a path under the tree itself (`$PWD/…`) is a file of it.
            match Path::new(path).strip_prefix(self.root_on_disk()) {
                Ok(rel) => (PathBuf::new(), rel.to_string_lossy().into_owned()),
                Err(_) => {
                    escape(
                        &mut self.diags,
                        "is an absolute path outside the desired-state directory",
                    );
                    return None;
                }
            }
        } else {
            (base.to_path_buf(), path.to_owned())
        };
        match normalise(&base.join(&path)) {
            Some(out) => Some(out),
            None => {
                escape(&mut self.diags, "points outside the desired-state directory");
                None
            }
        }
    }

    fn read_bytes(&mut self, rel: &Path, at: Option<Span>, what: &str) -> Option<Vec<u8>> {
        match self.tree.read(rel) {
            Ok(b) => {
                self.count_bytes(b.len(), at)?;
                Some(b)
            }
            Err(e) => {
                self.read_error(rel, &e, at, what);
                None
            }
        }
    }

    /// Count the bytes of one more file against [`MAX_TOTAL_BYTES`].
    fn count_bytes(&mut self, len: usize, at: Option<Span>) -> Option<()> {
        self.total_bytes = self.total_bytes.saturating_add(len as u64);
        if self.total_bytes <= MAX_TOTAL_BYTES {
            return Some(());
        }
        if !self.over_total {
            self.over_total = true;
            let at = at.or_else(|| self.sources.iter().next().map(|(id, _)| self.sources.span_at(id, 0, 0)));
            self.diags.error_help(
                "too-large",
                at,
                format!(
                    "the desired state's files hold more than {} MiB together; this file is not read",
                    MAX_TOTAL_BYTES / (1024 * 1024)
                ),
                "keep large data out of the desired-state directory (images and volumes hold data; configs and secrets are small)",
            );
        }
        None
    }

    fn read_error(&mut self, rel: &Path, e: &ReadError, at: Option<Span>, what: &str) {
        let (code, help) = match e {
            ReadError::Escapes => (
                "path-escapes",
                "keep every referenced file inside the desired-state directory, with a relative path".to_owned(),
            ),
            ReadError::NotFound => (
                "missing-file",
                format!(
                    "create {} in the desired-state directory, or fix the path",
                    rel.display()
                ),
            ),
            ReadError::NotRegular(_) => (
                "not-a-file",
                format!(
                    "replace {} with a regular file (a link to a regular file inside the directory is fine)",
                    rel.display()
                ),
            ),
            ReadError::TooLarge(_) => (
                "file-too-large",
                "keep large data out of the desired-state directory: a file holds at most 8 MiB".to_owned(),
            ),
            ReadError::Other(_) => ("missing-file", "check the file's permissions".to_owned()),
        };
        let message = match e {
            ReadError::Escapes => format!(
                "`{what}`: `{}` is a link that points outside the desired-state directory",
                rel.display()
            ),
            _ => format!("`{what}`: cannot read {}: {e}", rel.display()),
        };
        self.diags.error_help(code, at, message, help);
    }

    /// An env file's variables, decrypted when it is SOPS-encrypted (then
    /// its ciphertext is the source, never its cleartext).
    fn env_file(&mut self, rel: &Path, at: Option<Span>, what: &str) -> Option<(FileId, EnvFileVars)> {
        let bytes = self.read_bytes(rel, at, what)?;
        let name = rel.to_string_lossy().into_owned();
        if !sops::is_encrypted(&name, &bytes) {
            let id = self.add_text(rel, bytes, what)?;
            let vars = parse_env_file(id, &self.sources, &mut self.diags)
                .into_iter()
                .map(|(k, v, _)| (k, v))
                .collect();
            return Some((id, EnvFileVars { vars, sensitive: false }));
        }
        let decrypted = self.unseal(rel, &bytes, at, what)?;
        let id = self.add_text(rel, bytes, what)?;
        let vars = if sops::Format::of(&name) == sops::Format::Dotenv {
            decrypted.pairs
        } else {
            // A binary SOPS file holding KEY=value lines: parsed apart, so
            // that no diagnostic shows a line of cleartext.
            let mut scratch = Sources::default();
            let text = String::from_utf8_lossy(&decrypted.content).into_owned();
            let sid = scratch.add(rel, text);
            let mut diags = Diagnostics::default();
            let vars = parse_env_file(sid, &scratch, &mut diags);
            let bad: Vec<String> = diags
                .iter()
                .filter(|d| d.severity == crate::Severity::Error)
                .filter_map(|d| d.span.map(|s| s.line.to_string()))
                .collect();
            if !bad.is_empty() {
                self.diags.error_help(
                    "invalid-env-file",
                    at,
                    format!(
                        "`{what}`: {} decrypts to lines that are not KEY=value (line {}); their text is not shown",
                        rel.display(),
                        bad.join(", ")
                    ),
                    "fix them with `sops edit`",
                );
                return None;
            }
            vars.into_iter().map(|(k, v, _)| (k, v)).collect()
        };
        Some((id, EnvFileVars { vars, sensitive: true }))
    }

    /// Decrypt a SOPS file, or record why not at `at`.
    fn unseal(&mut self, rel: &Path, bytes: &[u8], at: Option<Span>, what: &str) -> Option<sops::Decrypted> {
        match sops::decrypt(&rel.to_string_lossy(), bytes, self.keys) {
            Ok(Some(d)) => Some(d),
            Ok(None) => Some(sops::Decrypted {
                content: bytes.to_vec(),
                pairs: Vec::new(),
            }),
            Err(e) => {
                let code = sops_code(&e);
                self.diags
                    .error_help(code, at, format!("`{what}`: {} {e}", rel.display()), e.help());
                None
            }
        }
    }

    /// Read a text file and register it as a source.
    fn read_text(&mut self, rel: &Path, at: Option<Span>, what: &str) -> Option<FileId> {
        let bytes = self.read_bytes(rel, at, what)?;
        self.add_text(rel, bytes, what)
    }

    /// Register a file's bytes as a source if they are text (UTF-8, no NUL;
    /// a leading byte-order mark is dropped), else record why not, at the
    /// offending byte.
    fn add_text(&mut self, rel: &Path, mut bytes: Vec<u8>, what: &str) -> Option<FileId> {
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        match String::from_utf8(bytes) {
            Ok(text) => {
                let nul = text.find('\0');
                let id = self.sources.add(rel, text);
                if let Some(at) = nul {
                    let span = self.sources.span_at(id, at, 1);
                    self.diags.error_help(
                        "not-text",
                        Some(span),
                        format!("`{what}`: {} holds a NUL byte, so it is not a text file", rel.display()),
                        "save the file as plain UTF-8 text (YAML, or KEY=value lines for env files)",
                    );
                    return None;
                }
                Some(id)
            }
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = self.sources.add(rel, text);
                let span = self.sources.span_at(id, valid, 1);
                self.diags.error_help(
                    "not-utf8",
                    Some(span),
                    format!("`{what}`: {} is not UTF-8 text", rel.display()),
                    "save the file as UTF-8",
                );
                None
            }
        }
    }
}

/// The most bytes all files of one desired state may hold together.
pub const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// The diagnostic code of a SOPS file that cannot be used.
fn sops_code(e: &sops::SopsError) -> &'static str {
    match e {
        sops::SopsError::Mac | sops::SopsError::Value { .. } => "sops-tampered",
        sops::SopsError::Key(_) => "sops-key",
        sops::SopsError::Format(_) => "sops-format",
    }
}

fn internal_error(diags: &mut Diagnostics, at: Option<Span>, message: String) {
    diags.error_help(
        "internal",
        at,
        format!("internal error: {message}"),
        "this is a bug in swarmkeeper: nothing was changed; please report it with the file",
    );
}

/// What the root file declares, by name, for the check that every declared
/// part made it into the state (see [`check_declared`]).
#[derive(Debug, Default)]
struct Declared {
    /// Non-null top-level sections, with their keys' spans.
    sections: Vec<(String, Span)>,
    /// Non-null `cluster.workers`.
    workers: Option<Span>,
    /// Keys of `stacks:` and `volumes:`, and how many routes.
    stacks: Vec<(String, Span)>,
    volumes: Vec<(String, Span)>,
    routes: usize,
}

fn declared_sections(node: &Node) -> Declared {
    let mut out = Declared::default();
    let named = |n: &Node| -> Vec<(String, Span)> {
        n.as_map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, _)| k.as_scalar().map(|s| (s.to_owned(), k.span)))
            .collect()
    };
    for (k, v) in node.as_map().unwrap_or_default() {
        let Some(key) = k.as_scalar() else { continue };
        if v.is_null() {
            continue;
        }
        out.sections.push((key.to_owned(), k.span));
        match key {
            "cluster" => out.workers = v.get("workers").filter(|w| !w.is_null()).map(|w| w.span),
            "stacks" => out.stacks = named(v),
            "volumes" => out.volumes = named(v),
            "routes" => out.routes = v.as_seq().map_or(0, <[Node]>::len),
            _ => {}
        }
    }
    out
}

/// An internal check: everything the root file declares is in a state
/// that passed validation. A part dropped without an error (a decoder that
/// returned nothing and said nothing) would read as "no longer declared"
/// and be destroyed; here it becomes an error instead.
fn check_declared(declared: &Declared, state: &DesiredState, diags: &mut Diagnostics) {
    let config = &state.config;
    for (section, at) in &declared.sections {
        let present = match section.as_str() {
            "cluster" => config.cluster.is_some(),
            "ingress" => config.ingress.is_some(),
            "maintenance" => config.maintenance.is_some(),
            "logging" => config.logging.is_some(),
            _ => true,
        };
        if !present {
            internal_error(
                diags,
                Some(*at),
                format!("section `{section}` is declared but did not load"),
            );
        }
    }
    if let (Some(at), Some(cluster)) = (declared.workers, &config.cluster)
        && cluster.workers.is_none()
    {
        internal_error(diags, Some(at), "`cluster.workers` is declared but did not load".into());
    }
    for (name, at) in &declared.stacks {
        if !state.stacks.contains_key(name) {
            internal_error(
                diags,
                Some(*at),
                format!("stack `{name}` is declared but is missing from the state"),
            );
        }
    }
    for (name, at) in &declared.volumes {
        if !config.volumes.contains_key(name) {
            internal_error(
                diags,
                Some(*at),
                format!("volume `{name}` is declared but is missing from the state"),
            );
        }
    }
    if declared.routes != config.routes.len() {
        internal_error(
            diags,
            declared.sections.iter().find(|(s, _)| s == "routes").map(|(_, at)| *at),
            format!(
                "{} routes are declared but {} loaded",
                declared.routes,
                config.routes.len()
            ),
        );
    }
}

impl LoadOutcome {
    /// The revision of what was read, valid or not.
    pub fn revision(&self) -> String {
        revision(&self.sources)
    }
}

/// Short digest of the files read, names and contents.
fn revision(sources: &Sources) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (_, file) in sources.iter() {
        hasher.update(file.display_path.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// File access for one stack: paths are relative to its compose file.
struct StackFiles<'a, 't> {
    loader: &'a mut Loader<'t>,
    base: PathBuf,
}

impl FileAccess for StackFiles<'_, '_> {
    fn read_env_file(&mut self, path: &str, span: Span, d: &mut Decoder) -> Option<EnvFileVars> {
        let before = self.loader.diags.len();
        let rel = self
            .loader
            .inside_root(&self.base.clone(), path, Some(span), "env_file");
        let vars = rel
            .as_ref()
            .and_then(|rel| self.loader.env_file(rel, Some(span), "env_file"));
        move_new_diags(&mut self.loader.diags, before, d);
        vars.map(|(_, v)| v)
    }

    fn read_file(&mut self, path: &str, span: Span, what: &str, d: &mut Decoder) -> Option<(PathBuf, Vec<u8>)> {
        let before = self.loader.diags.len();
        let rel = self.loader.inside_root(&self.base.clone(), path, Some(span), what);
        let bytes = rel
            .as_ref()
            .and_then(|rel| self.loader.read_bytes(rel, Some(span), what));
        // A SOPS-encrypted config or secret holds its cleartext, in memory.
        let bytes = match (&rel, bytes) {
            (Some(rel), Some(b)) => self.loader.unseal(rel, &b, Some(span), what).map(|d| d.content),
            _ => None,
        };
        move_new_diags(&mut self.loader.diags, before, d);
        Some((rel?, bytes?))
    }
}

/// Diagnostics the loader recorded while a decoder is active belong to it.
fn move_new_diags(from: &mut Diagnostics, before: usize, d: &mut Decoder) {
    d.diags.extend(from.split_off(before));
}

/// Interpolate every scalar value (not keys) of a compose tree in place.
fn interpolate_tree(node: &mut Node, vars: &Variables, stack: &str, diags: &mut Diagnostics) {
    match &mut node.value {
        Value::Scalar { text, plain } => {
            if !text.contains('$') {
                return;
            }
            match interpolate(text, vars) {
                Ok(r) => {
                    for var in r.unset {
                        diags.warning_help(
                            "unset-variable",
                            Some(node.span),
                            format!("variable `{var}` is not set; using an empty string"),
                            format!("set {var} in the environment or in `stacks.{stack}.env_file`, or give a default with `${{{var}:-value}}`"),
                        );
                    }
                    *text = r.value;
                    // An interpolated value is text, whatever it looks like.
                    *plain = false;
                }
                Err(InterpolationError::Required { var, message }) => diags.error_help(
                    "required-variable",
                    Some(node.span),
                    format!("variable `{var}` is required: {message}"),
                    format!("set {var} in the environment or in `stacks.{stack}.env_file`"),
                ),
                Err(InterpolationError::Invalid { template, why }) => diags.error_help(
                    "invalid-interpolation",
                    Some(node.span),
                    format!("invalid interpolation in `{template}`: {why}"),
                    "use $VAR, ${VAR}, ${VAR:-default} or ${VAR:?error}; write $$ for a literal $",
                ),
            }
        }
        Value::Seq(items) => {
            for item in items {
                interpolate_tree(item, vars, stack, diags);
            }
        }
        Value::Map(entries) => {
            for (_, v) in entries {
                interpolate_tree(v, vars, stack, diags);
            }
        }
    }
}
