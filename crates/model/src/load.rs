//! Loading a desired-state directory: read `swarmkeeper.yaml`, every stack's
//! compose and env files, interpolate, decode, validate.
//!
//! Files come through a [`SourceTree`] (a directory, or a git commit held
//! in memory); the loader only reads. The outcome holds every diagnostic; the desired state is returned only
//! when there is no error, so nothing can act on a state that failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compose::ComposeFile;
use crate::compose::decode::{FileAccess, decode_compose};
use crate::config::{Config, StackRef, decode_config};
use crate::decode::Decoder;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::envfile::parse_env_file;
use crate::interpolate::{InterpolationError, Variables, interpolate};
use crate::source::{Sources, Span};
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
pub fn load_tree(tree: &dyn SourceTree, environment: &Variables) -> LoadOutcome {
    let mut loader = Loader {
        tree,
        sources: Sources::default(),
        diags: Diagnostics::default(),
    };
    let state = loader.load(environment);
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
    sources: Sources,
    diags: Diagnostics,
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
        let text = match self.tree.read(Path::new(ROOT_FILE)).map(String::from_utf8) {
            Ok(Ok(t)) => t,
            Ok(Err(_)) => {
                self.diags.error_help(
                    "not-utf8",
                    None,
                    format!("{ROOT_FILE} is not UTF-8 text"),
                    "save the file as UTF-8",
                );
                return None;
            }
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        "missing-root-file",
                        None,
                        format!("cannot read {}/{ROOT_FILE}: {e}", self.tree.describe()),
                    )
                    .with_help("a desired-state directory holds swarmkeeper.yaml at its root; `swarmkeeper schema` describes it"),
                );
                return None;
            }
        };
        let id = self.sources.add(ROOT_FILE, text);
        let node = yaml::parse(id, self.sources.get(id), &mut self.diags)?;
        let config = decode_config(&node, &mut Decoder::new(&mut self.diags))?;

        let mut stacks = BTreeMap::new();
        for (name, stack_ref) in &config.stacks {
            if let Some(stack) = self.load_stack(name, stack_ref, environment) {
                stacks.insert(name.clone(), stack);
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
        if let Some(env_file) = &stack_ref.env_file {
            let at = stack_ref.env_file_at.or(at);
            let what = format!("stacks.{name}.env_file");
            let rel = self.inside_root(Path::new(""), &env_file.to_string_lossy(), at, &what)?;
            let text = self.read_text(&rel, at, &format!("stacks.{name}.env_file"))?;
            let id = self.sources.add(rel, text);
            for (k, v, _) in parse_env_file(id, &self.sources, &mut self.diags) {
                vars.insert(k, v);
            }
        }
        vars.extend(environment.iter().map(|(k, v)| (k.clone(), v.clone())));

        let text = self.read_text(&compose_rel, at, &format!("stacks.{name}.compose"))?;
        let id = self.sources.add(compose_rel.clone(), text);
        let mut node = yaml::parse(id, self.sources.get(id), &mut self.diags)?;
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
            }
        }
        Some(Stack {
            name: name.to_owned(),
            compose_path: compose_rel,
            compose: decoded?,
        })
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
        if Path::new(path).is_absolute() {
            escape(&mut self.diags, "is an absolute path");
            return None;
        }
        match normalise(&base.join(path)) {
            Some(out) => Some(out),
            None => {
                escape(&mut self.diags, "points outside the desired-state directory");
                None
            }
        }
    }

    fn read_bytes(&mut self, rel: &Path, at: Option<Span>, what: &str) -> Option<Vec<u8>> {
        match self.tree.read(rel) {
            Ok(b) => Some(b),
            Err(ReadError::Escapes) => {
                self.diags.error_help(
                    "path-escapes",
                    at,
                    format!(
                        "`{what}`: `{}` is a link that points outside the desired-state directory",
                        rel.display()
                    ),
                    "keep every referenced file inside the desired-state directory, with a relative path",
                );
                None
            }
            Err(e) => {
                let help = if e == ReadError::NotFound {
                    format!(
                        "create {} in the desired-state directory, or fix the path",
                        rel.display()
                    )
                } else {
                    "check the file's permissions".to_owned()
                };
                self.diags.error_help(
                    "missing-file",
                    at,
                    format!("`{what}`: cannot read {}: {e}", rel.display()),
                    help,
                );
                None
            }
        }
    }

    fn read_text(&mut self, rel: &Path, at: Option<Span>, what: &str) -> Option<String> {
        let bytes = self.read_bytes(rel, at, what)?;
        match String::from_utf8(bytes) {
            Ok(t) => Some(t),
            Err(_) => {
                self.diags.error_help(
                    "not-utf8",
                    at,
                    format!("`{what}`: {} is not UTF-8 text", rel.display()),
                    "save the file as UTF-8",
                );
                None
            }
        }
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
    fn read_env_file(&mut self, path: &str, span: Span, d: &mut Decoder) -> Option<Vec<(String, String)>> {
        let before = self.loader.diags.len();
        let rel = self
            .loader
            .inside_root(&self.base.clone(), path, Some(span), "env_file");
        let text = rel
            .as_ref()
            .and_then(|rel| self.loader.read_text(rel, Some(span), "env_file"));
        move_new_diags(&mut self.loader.diags, before, d);
        let (rel, text) = (rel?, text?);
        let id = self.loader.sources.add(rel, text);
        Some(
            parse_env_file(id, &self.loader.sources, d.diags)
                .into_iter()
                .map(|(k, v, _)| (k, v))
                .collect(),
        )
    }

    fn read_file(&mut self, path: &str, span: Span, what: &str, d: &mut Decoder) -> Option<(PathBuf, Vec<u8>)> {
        let before = self.loader.diags.len();
        let rel = self.loader.inside_root(&self.base.clone(), path, Some(span), what);
        let bytes = rel
            .as_ref()
            .and_then(|rel| self.loader.read_bytes(rel, Some(span), what));
        move_new_diags(&mut self.loader.diags, before, d);
        Some((rel?, bytes?))
    }
}

/// Diagnostics the loader recorded while a decoder is active belong to it.
fn move_new_diags(from: &mut Diagnostics, before: usize, d: &mut Decoder) {
    let all: Vec<Diagnostic> = std::mem::take(from).into_iter().collect();
    let (old, new) = all.split_at(before.min(all.len()));
    for x in old {
        from.push(x.clone());
    }
    for x in new {
        d.diags.push(x.clone());
    }
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
